"""The scheduled step-2 job: a closed tour's answers grouped into themes, once, with the
optional LLM naming them when one is configured."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import scheduler
from bot.clock import FrozenClock
from bot.db import TICK_LOCK, exclusive
from bot.deps import Deps, build_deps
from bot.models import Theme, ThemeSource
from bot.sandbox.fake_slack import FakeSlack
from bot.scheduler import (
    minute_tick,
    scheduled_tick,
    suggest_pending_themes,
    suggest_themes_for,
)
from bot.settings import Settings
from bot.store.tours import (
    mark_closed,
)
from tests.conftest import START
from tests.factories import answered, stored_tour

TEXTS = [
    "Staging breaks every week.",
    "We wait half a day for staging to test.",
    "Staging data is stale and breaks tests.",
    "Priorities change weekly and nobody says why.",
    "Priorities shift without warning.",
    "Nobody knows the top priority this quarter.",
]


async def closed_tour(deps: Deps) -> int:
    async with deps.sessions.begin() as session:
        users = [f"U{n}" for n in range(len(TEXTS))]
        tour = await stored_tour(session, team_id="T00000001", invitees=users)
        await answered(session, tour, dict(zip(users, TEXTS, strict=True)), position=1)
        await mark_closed(session, tour_id=tour.id, now=START)
        return tour.id


async def themes(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Theme.label).where(Theme.source == ThemeSource.SUGGESTED).order_by(Theme.id)
        )
        return list(rows.all())


async def test_a_closed_tour_is_grouped_once(
    deps: Deps, sessions: async_sessionmaker[AsyncSession], fake_slack: FakeSlack
) -> None:
    await closed_tour(deps)
    assert await suggest_pending_themes(deps) == 1
    assert await suggest_pending_themes(deps) == 0  # the next tick finds nothing to do
    labels = await themes(sessions)
    assert 1 <= len(labels) <= 3
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Theme)) == len(labels)


@pytest.fixture
async def llm_stub() -> AsyncIterator[str]:
    """An OpenAI-compatible endpoint that names every cluster of the first theme."""

    async def completions(request: web.Request) -> web.Response:
        body = await request.json()
        clusters = json.loads(body["messages"][1]["content"])["clusters"]
        first = clusters[0]
        reply = {
            "themes": [
                {
                    "label": "Named by the LLM",
                    "summary": "One line from the model.",
                    "clusters": [first["cluster"]],
                    "quote_ids": [first["answers"][0]["id"]],
                }
            ]
        }
        return web.json_response({"choices": [{"message": {"content": json.dumps(reply)}}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    await runner.cleanup()


async def test_a_configured_llm_names_the_themes(
    settings: Settings,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    engine: object,
    llm_stub: str,
) -> None:
    with_llm = settings.model_copy(update={"llm_base_url": llm_stub, "llm_model": "stub"})
    deps = build_deps(with_llm, clock=clock)
    try:
        await closed_tour(deps)
        assert await suggest_pending_themes(deps) == 1
    finally:
        await deps.close()
    assert await themes(sessions) == ["Named by the LLM"]


async def test_a_failing_job_does_not_stop_the_others(
    deps: Deps, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import bot.scheduler as scheduler

    ran: list[str] = []

    async def broken(_deps: Deps) -> int:
        raise RuntimeError("a tour that cannot be grouped")

    async def fine(_deps: Deps) -> int:
        ran.append("fine")
        return 1

    monkeypatch.setattr(scheduler, "DUE_JOBS", (("broken", broken), ("fine", fine)))
    report = await scheduler.run_tick(deps)
    assert ran == ["fine"]
    assert report.failed == ["broken"]
    assert "broken FAILED" in report.summary()
    assert "scheduled job failed" in caplog.text


@pytest.mark.parametrize(
    ("jobs", "level"),
    [
        ((("quiet", 0),), logging.DEBUG),  # nothing was due: an idle minute says nothing at INFO
        ((("quiet", 0), ("busy", 2)), logging.INFO),  # something happened: said at INFO
    ],
)
async def test_the_minute_tick_logs_at_info_only_when_it_did_something(
    deps: Deps,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    jobs: tuple[tuple[str, int], ...],
    level: int,
) -> None:
    import bot.scheduler as scheduler

    def job(count: int) -> Callable[[Deps], Awaitable[int]]:
        async def run(_deps: Deps) -> int:
            return count

        return run

    monkeypatch.setattr(scheduler, "DUE_JOBS", tuple((name, job(n)) for name, n in jobs))
    caplog.set_level(logging.DEBUG, logger="bot.scheduler")
    await scheduler.scheduled_tick(deps)
    [record] = [record for record in caplog.records if record.getMessage() == "tick"]
    assert record.levelno == level


def test_apscheduler_says_nothing_per_run_below_debug(clean_env: object) -> None:
    from bot.logs import configure_logging

    configure_logging("INFO")
    executors = logging.getLogger("apscheduler.executors.default")
    assert not executors.isEnabledFor(logging.INFO)
    configure_logging("DEBUG")
    assert executors.isEnabledFor(logging.DEBUG)


def test_bolt_does_not_warn_that_the_token_from_the_environment_is_unused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.app import build_app

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    caplog.set_level(logging.DEBUG)
    deps = build_deps(settings)
    build_app(deps)
    assert not [record for record in caplog.records if "will be unused" in record.getMessage()]


@pytest.mark.parametrize("in_child", [True, False])
async def test_the_themes_are_grouped_where_the_setting_says(
    settings: Settings,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    engine: object,
    monkeypatch: pytest.MonkeyPatch,
    in_child: bool,
) -> None:
    """THEMES_IN_CHILD_PROCESS (on by default) sends the grouping to a child process; off, it
    runs in a thread of the bot's own process. The themes stored are the same either way."""
    import bot.themes.runner as runner

    assert Settings.model_fields["themes_in_child_process"].default is True
    children: list[int] = []
    real = runner._in_child

    def spy(answers: tuple[Any, ...], *args: Any) -> Any:
        children.append(len(answers))
        return real(answers, *args)

    monkeypatch.setattr(runner, "_in_child", spy)
    chosen = settings.model_copy(update={"themes_in_child_process": in_child})
    deps = build_deps(chosen, clock=clock)
    try:
        await closed_tour(deps)
        assert await suggest_pending_themes(deps) == 1
    finally:
        await deps.close()
    assert children == ([len(TEXTS)] if in_child else [])
    assert len(await themes(sessions)) == 2


# --- worker replicas side by side (PostgreSQL) --------------------------------------------------

on_postgres = pytest.mark.skipif(
    "postgresql" not in (os.environ.get("TEST_DATABASE_URL") or ""),
    reason="worker replicas run side by side on PostgreSQL only (SQLite: one process)",
)


@pytest.fixture
async def other_replica(settings: Settings, clock: FrozenClock) -> AsyncIterator[Deps]:
    """A second worker's dependencies: its own engine and connections, as another process."""
    replica = build_deps(settings, clock=clock)
    yield replica
    await replica.close()


@on_postgres
async def test_two_workers_ticking_together_run_the_jobs_once(
    deps: Deps, other_replica: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[Deps] = []
    in_job, both_started = asyncio.Event(), asyncio.Event()

    async def job(replica: Deps) -> int:
        ran.append(replica)
        in_job.set()
        # Hold the tick until the other replica's has had every chance to start its own.
        await asyncio.wait_for(both_started.wait(), timeout=5)
        return 1

    monkeypatch.setattr(scheduler, "DUE_JOBS", (("jobs run", job),))
    first = asyncio.create_task(scheduled_tick(deps))
    await asyncio.wait_for(in_job.wait(), timeout=5)  # the first tick holds the lock
    second = await scheduled_tick(other_replica)  # the other worker, the same minute
    both_started.set()
    reports = [await first, second]
    assert ran == [deps]
    assert [report.counts.get("jobs run") for report in reports] == [1, None]
    # The next minute, the other worker may tick: the lock went with the tick.
    assert (await scheduled_tick(other_replica)).counts["jobs run"] == 1


@on_postgres
async def test_a_tour_is_grouped_by_one_process_while_another_groups_it(
    deps: Deps, other_replica: Deps, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A web replica's Close now and a worker's tick reach the same closed tour: the engine runs
    once (and the answers go to an LLM once), in whichever process got there first."""
    tour_id = await closed_tour(deps)
    async with exclusive(other_replica.engine, tour_id) as grouping_elsewhere:
        assert grouping_elsewhere
        assert await suggest_themes_for(deps, tour_id) is False
        assert await themes(sessions) == []
    assert await suggest_themes_for(deps, tour_id) is True
    assert await themes(sessions)


async def test_on_sqlite_one_process_needs_no_lock(deps: Deps) -> None:
    if deps.engine.url.get_backend_name() != "sqlite":
        pytest.skip("SQLite only")
    async with (
        exclusive(deps.engine, TICK_LOCK) as first,
        exclusive(deps.engine, TICK_LOCK) as second,
    ):
        assert first
        assert second


async def test_a_minute_without_the_database_is_one_line_and_no_traceback(
    settings: Settings, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker whose PostgreSQL is down cannot ask whether another replica is ticking: it says
    so in one line and the next minute tries again (the scheduler keeps running)."""
    down = settings.model_copy(
        update={"database_url": "postgresql://partnerbot:hunter2@127.0.0.1:1/partnerbot"}
    )
    replica = build_deps(down, clock=clock)
    try:
        with caplog.at_level(logging.DEBUG, logger="bot.scheduler"):
            await minute_tick(replica)
    finally:
        await replica.close()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == ["tick skipped: the database did not answer"]
    assert warnings[0].exc_info is None
    assert "hunter2" not in caplog.text
