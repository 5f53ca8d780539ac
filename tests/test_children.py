"""A spawned child (the theme engine's, the migrations') ends when the bot does, even when the
bot is killed: otherwise it waits on its queue for good, holding the bot's stdout and stderr (a
supervisor reading them never sees them close) and its memory."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import time
from bot.children import spawn_pool

if __name__ == "__main__":
    pool = spawn_pool()
    pool.submit(time.sleep, 0).result()
    print(*pool._processes, flush=True)
    time.sleep(600)
"""


def test_the_child_exits_when_the_bot_is_killed(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    bot = subprocess.Popen(  # noqa: S603 - this interpreter, our own code
        [sys.executable, str(probe)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert bot.stdout is not None
    worker = int(bot.stdout.readline())
    bot.send_signal(signal.SIGKILL)
    # The pipes close only once every process holding them, the worker too, has exited.
    out, _ = bot.communicate(timeout=30)
    assert out == b""
    status = Path(f"/proc/{worker}/status")
    assert not status.exists() or "State:\tZ" in status.read_text()
