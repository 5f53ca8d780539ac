"""`partnerbot run` migrates in a short-lived child process, so Alembic's memory is not kept by
the bot for good; when the child cannot do it, the upgrade runs in the bot's process as before."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

import bot.migrate as migrate
from bot.migrate import current_revision, head_revision, upgrade_to_head_in_child

ROOT = Path(__file__).resolve().parents[1]

# Run as a file (a spawned child re-reads its parent's main module, which `-c` has not got).
PROBE = """
import json, sys
import bot.app, bot.cli, bot.scheduler

HEAVY = ("alembic", "numpy", "onnxruntime", "sqlalchemy.dialects.postgresql")
from bot.migrate import current_revision, upgrade_to_head_in_child

if __name__ == "__main__":
    upgrade_to_head_in_child(sys.argv[1])
    # Read before current_revision, which imports Alembic's MigrationContext itself.
    # (and a bot on SQLite has no use for SQLAlchemy's PostgreSQL dialect, ~2 MB)
    held = [m for m in HEAVY if m in sys.modules]
    print(json.dumps({"held": held, "revision": current_revision(sys.argv[1])}))
"""


def test_run_migrates_in_a_child_and_keeps_no_alembic(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, str(probe), url], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen == {"held": [], "revision": head_revision()}


class CannotStart:
    def __init__(self, *args: object, **kwargs: object) -> None:
        raise OSError(12, "Cannot allocate memory")


def test_when_the_child_cannot_start_the_upgrade_runs_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.setattr(migrate, "spawn_pool", CannotStart)
    with caplog.at_level(logging.INFO, logger="bot.migrate"):
        upgrade_to_head_in_child(url)
    assert current_revision(url) == head_revision()
    assert "running them in this process" in caplog.text
    assert "OSError" in caplog.text
