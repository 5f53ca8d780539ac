"""A sent message's payload is purged after OUTBOX_RETENTION_DAYS, but the bot still finds
what it sent: a proposal's card and an owner's offer are redrawn at the channel and ts kept in
the outbox row's result."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks.initiatives import InitiativeAction
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.models import Initiative, OutboxMessage, OutboxStatus
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.scheduler import run_tick
from bot.services.initiatives import card_key, offer_key_prefix
from tests.journeys import (
    card_for,
    click,
    commit_values,
    drain_outbox,
    initiative_proposed,
    open_commit,
    rendered,
)


async def row_by_key(sessions: async_sessionmaker[AsyncSession], prefix: str) -> OutboxMessage:
    async with sessions() as session:
        row = await session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.idempotency_key.startswith(prefix))
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
    assert row is not None
    return row


async def purge_a_retention_later(deps: Deps, clock: FrozenClock) -> None:
    clock.advance(days=deps.settings.outbox_retention_days, hours=1)
    await run_tick(deps)


def updates_of(fake: FakeSlack, mark: int) -> list[str]:
    return [str(c.args["ts"]) for c in fake.calls[mark:] if c.method == "chat.update"]


async def test_a_card_and_an_offer_are_redrawn_after_their_payloads_are_purged(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await initiative_proposed(slack, fake_slack, deps, clock, sessions, team)
    card = card_for(fake_slack, "Slip alerts")

    await purge_a_retention_later(deps, clock)

    async with sessions() as session:
        initiative_id = await session.scalar(
            select(Initiative.id).where(Initiative.title == "Slip alerts")
        )
    assert initiative_id is not None
    row = await row_by_key(sessions, card_key(initiative_id))
    assert row.status == OutboxStatus.SENT
    assert row.payload == {}
    assert row.payload_purged_at == clock.now()
    assert row.result == {"channel": card["channel"], "ts": card["ts"]}
    # A teammate backs the proposal: its card is redrawn where it is.
    mark = len(fake_slack.calls)
    await click(slack, deps, "UT01", InitiativeAction.BACK, card)
    await deps.coalescer.flush()
    assert card["ts"] in updates_of(fake_slack, mark)
    assert "Back it (1)" in str(card_for(fake_slack, "Slip alerts")["blocks"])

    # The leader commits it to UT05, whose offer is purged in turn before they answer it.
    view = await open_commit(slack, fake_slack, deps, "Slip alerts")
    due = (clock.now() + timedelta(days=30)).date().isoformat()
    await slack.view_submission("ULEAD", view, commit_values("UT05", due))
    await deps.inflight.wait_idle(timeout=5)
    await drain_outbox(deps, clock)
    offer = next(m for m in reversed(fake_slack.dms_to("UT05")) if "Slip alerts" in rendered(m))
    await purge_a_retention_later(deps, clock)
    assert (await row_by_key(sessions, offer_key_prefix(initiative_id))).payload == {}
    mark = len(fake_slack.calls)
    await click(slack, deps, "UT05", InitiativeAction.ACCEPT, offer)
    assert offer["ts"] in updates_of(fake_slack, mark)
    answered = fake_slack.messages_in(offer["channel"])[-1]
    assert answered["ts"] == offer["ts"]
    assert "Slip alerts" in rendered(answered)
