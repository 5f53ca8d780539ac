"""`partnerbot run` as a process, the outbox worker loop, and the scheduler's one job."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import HEALTH_PATH
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.sandbox.bot_process import bot_env, partnerbot_run
from bot.sandbox.fake_slack import FakeSlack
from bot.scheduler import start_scheduler
from bot.store import outbox


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_run_serves_health_and_stops_cleanly_on_a_signal(tmp_path: Path, signum: int) -> None:
    async with FakeSlack() as fake, aiohttp.ClientSession() as http:
        env = bot_env(fake, "secret", f"sqlite:///{tmp_path / 'run.db'}")
        async with partnerbot_run(env, tmp_path, http) as bot:
            async with http.get(bot.url + HEALTH_PATH) as response:
                assert response.status == 200
                assert await response.json() == {"ok": True, "db": "ok", "slack": "ok"}
            assert (tmp_path / "run.db").exists()  # migrations ran on start
            bot.process.send_signal(signum)
            async with asyncio.timeout(30):
                code = await bot.process.wait()
                assert bot.reader is not None
                await bot.reader
    assert code == 0, "\n".join(bot.lines)
    messages = bot.log_messages()
    assert "listening for Slack" in messages
    assert messages[-1] == "stopped"


async def test_run_at_level_two_serves_and_warns_only_while_its_bytecode_is_not_cached(
    tmp_path: Path,
) -> None:
    """The image runs `partnerbot run` at PYTHONOPTIMIZE=2 (bot/interpreter.py). Started with
    no level-2 bytecode and not allowed to write any, it serves and warns that it compiled its
    modules at start; allowed to write them, the next start finds them cached and says only the
    level."""
    bytecode = tmp_path / "bytecode"  # an empty cache: nothing here was compiled at level 2
    messages = []
    async with FakeSlack() as fake, aiohttp.ClientSession() as http:
        for write in (False, True):
            env = bot_env(fake, "secret", f"sqlite:///{tmp_path / 'run.db'}")
            env |= {"PYTHONOPTIMIZE": "2", "PYTHONPYCACHEPREFIX": str(bytecode)}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            if not write:
                env["PYTHONDONTWRITEBYTECODE"] = "1"
            async with partnerbot_run(env, tmp_path, http) as bot:
                async with http.get(bot.url + HEALTH_PATH) as response:
                    assert response.status == 200
                bot.process.send_signal(signal.SIGTERM)
                async with asyncio.timeout(30):
                    assert await bot.process.wait() == 0, "\n".join(bot.lines)
                    assert bot.reader is not None
                    await bot.reader
            messages.append(bot.log_messages())
        # The second start wrote what it compiled: a third would find it all cached.
        assert any(bytecode.rglob("*.opt-2.pyc"))
    level = (
        "python optimisation level 2: asserts and docstrings stripped (PYTHONOPTIMIZE=0 keeps them)"
    )
    compiled = [m for m in messages[0] if "compiled at start" in m]
    assert level in messages[0], messages[0]
    assert len(compiled) == 1, messages[0]
    assert "compileall -o 2" in compiled[0]
    assert level in messages[1]
    assert not any("compiled at start" in m for m in messages[1])


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
