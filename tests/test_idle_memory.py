"""What an idle `partnerbot run` keeps in memory (docs/PERFORMANCE.md, "Resident memory"): an
HTTP-mode bot imports none of the Socket Mode modules, a single-workspace bot does not load
`cryptography` (it encrypts nothing), and building the Bolt app reads no source file into
linecache. Each was measured in bench/memory.py's idle reading (~0.3, ~8 and ~0.5 MB)."""

from __future__ import annotations

import json
import linecache
import os
import subprocess
import sys
from pathlib import Path

from bot.app import build_app
from bot.deps import Deps

ROOT = Path(__file__).resolve().parents[1]

# Imported only when SLACK_APP_TOKEN is set (bot/app.py's serve).
SOCKET_MODE = ("bot.socket_client", "slack_bolt.adapter.socket_mode", "slack_sdk.socket_mode")

# Needed only to encrypt installations' tokens (OAuth mode): ~8 MB.
OAUTH_ONLY = ("cryptography",)

# What `partnerbot run --role all` imports and builds in HTTP mode, short of serving.
PROBE = """
import asyncio, json, sys

import bot.app, bot.cli, bot.db, bot.deps, bot.migrate, bot.scheduler
from bot.app import build_app
from bot.deps import build_deps
from bot.settings import get_settings

async def build():
    deps = build_deps(get_settings())
    try:
        build_app(deps)
    finally:
        await deps.close()

asyncio.run(build())
print(json.dumps(sorted(sys.modules)))
"""


def test_a_single_workspace_http_bot_imports_no_socket_mode_or_oauth_module(
    tmp_path: Path,
) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "DATABASE_", "PARTNERBOT_"))
    }
    env.update(
        SLACK_BOT_TOKEN="xoxb-idle-probe",
        SLACK_SIGNING_SECRET="idle-probe-secret",
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,  # no .env here: the settings are exactly the ones above
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stdout.splitlines()[-1])
    assert "slack_bolt.async_app" in modules  # the probe did its work
    held = [m for m in modules if m.startswith(SOCKET_MODE + OAUTH_ONLY)]
    assert held == []


def test_building_the_app_reads_no_source_file(deps: Deps) -> None:
    linecache.clearcache()
    build_app(deps)
    read = [name for name in linecache.cache if Path(name).is_file()]
    assert read == []
