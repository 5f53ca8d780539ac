"""What a self-hoster builds from: the lock file pins every dependency with hashes, the Docker
image installs exactly that on the Python the suite runs on, and docker-compose.yml runs
PostgreSQL, the migrations once, then web and worker apart."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _pins() -> dict[str, tuple[str, int]]:
    """Each pinned distribution in requirements.lock: its version and how many hashes it has."""
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pins = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9_.\-]+)==([^\s\\]+)", block)
        if match:
            pins[canonicalize_name(match[1])] = (match[2], block.count("--hash=sha256:"))
    return pins


def test_the_lock_pins_every_runtime_dependency_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = _pins()
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in requirements.lock: run `make lock`"
        version, _ = pins[name]
        assert requirement.specifier.contains(version), (
            f"requirements.lock pins {name}=={version}, outside {requirement.specifier}: "
            "run `make lock`"
        )
    assert all(hashes > 0 for _, hashes in pins.values())
    assert "file://" not in (ROOT / "requirements.lock").read_text(encoding="utf-8")


def test_the_image_installs_the_lock_on_the_python_the_suite_runs_on() -> None:
    """CI runs the suite on the oldest Python pyproject allows; the image uses that one too."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    oldest = re.fullmatch(r">=\s*(\d+\.\d+)", project["requires-python"])
    assert oldest is not None
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    bases = re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE)
    assert bases
    assert all(base == f"python:{oldest[1]}-slim" for base in bases), bases
    assert "--require-hashes" in dockerfile
    assert "-r requirements.lock" in dockerfile
    assert "--no-index" in dockerfile  # the final stage takes only the checked wheels


def test_the_image_runs_with_the_bytecode_of_the_level_it_runs_at() -> None:
    """The image runs Python at PYTHONOPTIMIZE=2 (bot/interpreter.py); with
    PYTHONDONTWRITEBYTECODE the bot writes no bytecode, so the build compiles it at that level,
    after the last install and before the level is switched on (pip runs at the default)."""
    final = (ROOT / "Dockerfile").read_text(encoding="utf-8").rsplit("\nFROM ", 1)[1]
    lines = [line.strip() for line in final.splitlines()]
    compile_at = next(i for i, line in enumerate(lines) if "-m compileall" in line)
    level_at = next(i for i, line in enumerate(lines) if line == "ENV PYTHONOPTIMIZE=2")
    install_at = max(i for i, line in enumerate(lines) if "pip install" in line)
    assert install_at < compile_at < level_at
    assert "-o 2" in lines[compile_at]
    assert "/usr/local/lib/python3" in lines[compile_at]  # the standard library and site-packages
    assert "PYTHONDONTWRITEBYTECODE=1" in final


def test_the_image_sets_what_the_memory_bench_measures_with() -> None:
    """bench/memory.py measures the bot as the image runs it: the same runtime settings."""
    bench = (ROOT / "bench" / "memory.py").read_text(encoding="utf-8")
    settings = re.search(r"^IMAGE_ENV = (\{.*\})$", bench, flags=re.MULTILINE)
    assert settings is not None
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for name, value in ast.literal_eval(settings[1]).items():
        assert f"ENV {name}={value}\n" in dockerfile, name


def _compose() -> dict[str, Any]:
    """docker-compose.yml as Compose reads it: YAML, with the `<<` merge keys applied."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(compose, dict)
    return compose


def test_compose_runs_postgresql_then_migrations_once_then_web_and_worker() -> None:
    """Docker is not installed where the suite runs (`docker compose config` would check this
    file): what the file must say, read as Compose reads it."""
    services = _compose()["services"]
    assert set(services) == {"db", "migrate", "web", "worker"}

    db = services["db"]
    assert db["image"].startswith("postgres:")
    volume = db["volumes"][0].split(":")
    assert volume[1] == "/var/lib/postgresql/data"
    assert volume[0] in _compose()["volumes"]  # a named volume: the data outlives the container
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])

    migrate = services["migrate"]
    assert migrate["command"] == ["partnerbot", "migrate"]
    assert migrate["restart"] == "no"  # runs once
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}

    for name, role in (("web", "web"), ("worker", "worker")):
        service = services[name]
        assert service["build"] == "."
        assert service["command"] == ["partnerbot", "run", "--role", role]
        assert service["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://partnerbot:")
        assert env["DATABASE_URL"].endswith("@db:5432/partnerbot")
        assert "${POSTGRES_PASSWORD" in env["DATABASE_URL"]  # no password in the file
        assert service["env_file"] == ".env"  # the Slack settings, from .env.example
        check = " ".join(service["healthcheck"]["test"])
        assert f"127.0.0.1:{env['PORT']}/healthz" in check
    # Slack reaches the web process only; the worker serves /healthz and /metrics inside.
    assert services["web"]["ports"] == ["3000:3000"]
    assert "ports" not in services["worker"]


def test_every_setting_compose_names_is_a_setting() -> None:
    known = {name.upper() for name in Settings.model_fields}
    for name in ("web", "worker"):
        assert set(_compose()["services"][name]["environment"]) <= known
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert "POSTGRES_PASSWORD=" in example  # compose refuses to start without it
