"""`partnerbot run` as a process, the outbox worker loop, and the scheduler's one job."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FrozenClock
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.scheduler import start_scheduler
from bot.store import outbox


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_serves_health_and_stops_cleanly_on_a_signal(tmp_path: Path, signum: int) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNERBOT_"))},
        "SLACK_BOT_TOKEN": "xoxb-process-test",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",  # never called: nothing to send
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "PORT": str(port),
        "LOG_FORMAT": "json",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        status: int | None = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                time.sleep(0.1)  # waiting for a process to start, not for time to pass
        assert status == 200, process.stderr.read() if process.poll() is not None else "no answer"
        assert body == {"ok": True, "db": "ok"}
        assert (tmp_path / "run.db").exists()  # migrations ran on start
    finally:
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    messages = [json.loads(line)["message"] for line in stderr.splitlines() if line.startswith("{")]
    assert "listening for Slack" in messages
    assert messages[-1] == "stopped"


async def test_the_outbox_worker_wakes_on_notify_and_stops_when_told(
    deps: Deps, fake_slack: FakeSlack, sessions: async_sessionmaker[AsyncSession]
) -> None:
    stop = asyncio.Event()
    worker = asyncio.create_task(deps.delivery.run(stop, poll_every=3600))
    async with sessions.begin() as session:
        await outbox.enqueue(
            session,
            team_id=fake_slack.team_id,
            key="hello:UALICE",
            method="chat.postMessage",
            payload={"channel": "UALICE", "text": "hello"},
            now=deps.clock.now(),
        )
    deps.delivery.notify()
    await fake_slack.wait_for(lambda: len(fake_slack.dms_to("UALICE")) == 1)
    stop.set()
    await asyncio.wait_for(worker, timeout=5)
    assert worker.done()
    assert worker.exception() is None


async def test_the_scheduler_runs_one_coalescing_tick_a_minute(
    deps: Deps, clock: FrozenClock
) -> None:
    scheduler = start_scheduler(deps)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        # The tick, and the launches Slack put off, looked at again every few seconds.
        assert set(jobs) == {"partnerbot-tick", "partnerbot-launches"}
        intervals = {name: job.trigger.interval.total_seconds() for name, job in jobs.items()}
        assert intervals == {"partnerbot-tick": 60, "partnerbot-launches": 5}
        assert all(job.coalesce is True and job.max_instances == 1 for job in jobs.values())
    finally:
        scheduler.shutdown(wait=False)
