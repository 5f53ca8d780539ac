"""What a self-hoster builds from: the lock file pins every dependency with hashes, and the
Docker image installs exactly that on the Python the suite runs on."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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
