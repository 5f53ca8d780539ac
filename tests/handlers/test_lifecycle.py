"""Slack removes the bot from the workspace (app_uninstalled, tokens_revoked): nothing more is
sent there, the queue is held and kept, and a re-install (a new token, a restart) sends it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FrozenClock
from bot.deps import Deps, build_deps
from bot.models import OutboxMessage, OutboxStatus, Workspace
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.scheduler import run_tick
from bot.settings import Settings
from tests.factories import queued_dms

TEAM = "T00000001"  # the fake's workspace
OTHER_TEAM = "T00000002"
PEOPLE = ["UALICE", "UBOB"]

UNINSTALLED: dict[str, Any] = {"type": "app_uninstalled"}
BOT_TOKEN_REVOKED: dict[str, Any] = {
    "type": "tokens_revoked",
    "tokens": {"oauth": [], "bot": ["UPARTNERBOT"]},
}
USER_TOKEN_REVOKED: dict[str, Any] = {
    "type": "tokens_revoked",
    "tokens": {"oauth": ["UALICE"], "bot": []},
}


async def queue_dms(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, *, team_id: str, tag: str
) -> None:
    async with sessions.begin() as session:
        await queued_dms(session, people={team_id: PEOPLE}, tag=tag, now=clock.now())


async def rows_of(
    sessions: async_sessionmaker[AsyncSession], team_id: str
) -> list[tuple[OutboxStatus, str]]:
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.team_id == team_id).order_by(OutboxMessage.id)
        )
        return [(row.status, row.payload.get("text", "")) for row in rows]


def posts(fake: FakeSlack) -> list[str]:
    return [str(call.args.get("text")) for call in fake.calls_to("chat.postMessage")]


@pytest.mark.parametrize("event", [UNINSTALLED, BOT_TOKEN_REVOKED], ids=lambda e: e["type"])
async def test_a_revoked_workspace_is_sent_nothing_and_its_queue_is_kept(
    event: dict[str, Any],
    slack: SignedSlack,
    deps: Deps,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await queue_dms(sessions, clock, team_id=TEAM, tag="before")
    answer = await slack.event(event)
    assert answer.status == 200
    assert await deps.inflight.wait_idle(timeout=5)
    await queue_dms(sessions, clock, team_id=TEAM, tag="after")  # the tick goes on deciding
    await queue_dms(sessions, clock, team_id=OTHER_TEAM, tag="elsewhere")

    # (The fake still takes the old token: only the bot's own holding keeps these back.)
    await deps.delivery.deliver_due()
    clock.advance(minutes=5)
    await run_tick(deps)

    assert posts(fake_slack) == ["elsewhere for UALICE", "elsewhere for UBOB"]
    assert await rows_of(sessions, TEAM) == [
        (OutboxStatus.PENDING, "before for UALICE"),
        (OutboxStatus.PENDING, "before for UBOB"),
        (OutboxStatus.PENDING, "after for UALICE"),
        (OutboxStatus.PENDING, "after for UBOB"),
    ]
    async with sessions() as session:
        workspace = await session.get(Workspace, TEAM)
    assert workspace is not None
    assert workspace.revoked_by == event["type"]
    # Held rows do not keep the worker awake, nor count as overdue in /metrics.
    assert await deps.delivery.next_wakeup() is None
    assert (await deps.delivery.backlog()).oldest_due_seconds == 0.0


async def test_a_revoked_user_token_changes_nothing(
    slack: SignedSlack,
    deps: Deps,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await queue_dms(sessions, clock, team_id=TEAM, tag="hello")
    await slack.event(USER_TOKEN_REVOKED)
    assert await deps.inflight.wait_idle(timeout=5)

    await deps.delivery.deliver_due()

    assert posts(fake_slack) == ["hello for UALICE", "hello for UBOB"]


async def test_a_reinstall_sends_what_was_held(
    slack: SignedSlack,
    deps: Deps,
    settings: Settings,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await queue_dms(sessions, clock, team_id=TEAM, tag="held")
    await slack.event(UNINSTALLED)
    assert await deps.inflight.wait_idle(timeout=5)
    fake_slack.bot_token = "xoxb-reinstalled"  # the old token is revoked
    # The old process, still running with the revoked token, sends nothing and asks nothing.
    await deps.delivery.deliver_due()
    assert not fake_slack.calls_to("chat.postMessage")

    # The operator re-installs the app, sets the new token and restarts the bot.
    restarted = build_deps(
        settings.model_copy(update={"slack_bot_token": SecretStr("xoxb-reinstalled")}),
        clock=clock,
    )
    stop = asyncio.Event()
    worker = asyncio.create_task(restarted.delivery.run(stop, poll_every=0.05))
    try:
        await fake_slack.wait_for(lambda: len(posts(fake_slack)) == 2)
    finally:
        stop.set()
        await restarted.delivery.shut_down(grace=1)
        await worker
        await restarted.close()

    assert sorted(posts(fake_slack)) == ["held for UALICE", "held for UBOB"]
    assert [call.ok for call in fake_slack.calls_to("auth.test")] == [True]
    assert [status for status, _ in await rows_of(sessions, TEAM)] == [OutboxStatus.SENT] * 2
    async with sessions() as session:
        workspace = await session.get(Workspace, TEAM)
    assert workspace is not None
    assert workspace.revoked_at is None


async def test_a_restart_with_nothing_revoked_asks_slack_nothing(
    deps: Deps, fake_slack: FakeSlack, sessions: async_sessionmaker[AsyncSession]
) -> None:
    assert await deps.delivery.reinstate_own_workspace()
    assert not fake_slack.calls_to("auth.test")
