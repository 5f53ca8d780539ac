"""The one DM router: what a person's message to the bot is (a tour answer, a check-in reply, an
outcome proposal, or a question the bot answers with help) and which feature's service answers
it. The features do not import each other to route: they each answer their own kind of DM.

`answer_dm` is the one entry for a DM answer, from the handler: it owns how the answer is
persisted. The common case (the answer to the current question of an open tour, with another
question after it) is planned from a read and written in one trip (`answers.plan_dm_answer`,
`answers.write_planned_answer`, bot/store/together.py); anything else, or a plan overtaken by
another change, is routed here inside one write transaction with the event's claim. The
`dm_one_trip` setting turns the planned path off: every DM then takes the routed path."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks import Message
from bot.deps import Deps
from bot.errors import EventAlreadyProcessed
from bot.services import answers, checkins, outcomes
from bot.store import outbox
from bot.store import tours as tour_store
from bot.store.events import EventClaim, record_event

# A screenshot without a caption, say: nothing to file as an answer.
NOT_TEXT = (
    "I can only read text here. Type your answer as a message (a screenshot can't be stored "
    "with it)."
)


async def route_dm(
    session: AsyncSession,
    *,
    team_id: str,
    user_id: str,
    text: str,
    message_ts: str,
    now: datetime,
) -> Message:
    """Decide what one DM message is, have its feature apply it, and return the bot's reply."""
    if not text.strip():
        return Message(text=NOT_TEXT)
    open_tours = await tour_store.open_tours_for(session, team_id=team_id, user_id=user_id)
    # A check-in reply ("on track, 40%") to an initiative they own (step 4), unless a listening
    # tour is waiting for this person's next answer: that comes first.
    if not await tour_store.awaiting_answer(session, team_id=team_id, user_id=user_id):
        checkin = await checkins.dm_checkin(
            session, team_id=team_id, user_id=user_id, text=text, now=now
        )
        if checkin is not None:
            return checkin
    if open_tours:
        return await answers.answer_tour_dm(
            session,
            open_tours=open_tours,
            team_id=team_id,
            user_id=user_id,
            text=text,
            message_ts=message_ts,
        )
    # No tour to answer: perhaps a proposal for the outcomes the leader asked for (step 3),
    # or a check-in reply the bot could not read.
    try:
        proposal = await outcomes.dm_proposal(
            session, team_id=team_id, user_id=user_id, text=text, now=now
        )
    except outcomes.OutcomeError as refused:
        return Message(text=str(refused))
    if proposal is not None:
        return proposal
    unclear = await checkins.unclear_checkin(session, team_id=team_id, user_id=user_id)
    if unclear is not None:
        return unclear
    return await answers.no_tour_reply(session, team_id=team_id, user_id=user_id)


async def answer_dm(
    deps: Deps,
    *,
    team_id: str,
    user_id: str,
    text: str,
    message_ts: str,
    event: EventClaim | None,
) -> outbox.Queued:
    """Apply one DM message, claim its event and queue the bot's reply with it (sent later
    if rate-limited, never lost), in one transaction; the caller sends the reply at once.
    Raises EventAlreadyProcessed, with nothing written, for an event handled before. One
    whole unit of work: the caller may run it again when SQLite says "database is locked"."""
    now, lease_for = deps.clock.now(), deps.delivery.lease_for
    if deps.settings.dm_one_trip:
        # Work out the common case from a read, so the write transaction (SQLite's one write
        # lock) is a handful of statements in one trip.
        async with deps.engine.connect() as connection:
            plan = await answers.plan_dm_answer(
                connection, team_id=team_id, user_id=user_id, text=text, message_ts=message_ts
            )
            if plan is not None:
                queued = await answers.write_planned_answer(
                    connection,
                    plan,
                    team_id=team_id,
                    user_id=user_id,
                    event=event,
                    now=now,
                    lease_for=lease_for,
                )
                if queued is not None:
                    return queued
    async with deps.sessions.begin() as session:
        if event is not None and not await record_event(session, event):
            raise EventAlreadyProcessed(event.event_id)
        reply = await route_dm(
            session, team_id=team_id, user_id=user_id, text=text, message_ts=message_ts, now=now
        )
        return await answers.queue_reply(
            session,
            answers.reply_to(
                user_id, reply, team_id=team_id, source=event.event_id if event else None
            ),
            team_id=team_id,
            now=now,
            lease_for=lease_for,
        )
