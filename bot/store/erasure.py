"""Erasure for operators (`partnerbot erase-person`, `partnerbot delete-tour`): what is removed,
what is kept with the person's id replaced, and how many rows each table lost or changed.

A person's rows fall in two kinds. Rows that exist only to say something about them (they were
asked, voted, backed, opted out; their named answers) are deleted. Rows that are the team's
shared work (a tour they led, an outcome proposal, an initiative, a quick win) stay, with their
id replaced by `ERASED`; the notes they wrote in check-ins are blanked. Answers in a closed
anonymous tour are kept: nothing links them to anyone any more.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows.tour import respondent_key
from bot.models import (
    Answer,
    Checkin,
    DmFocus,
    Initiative,
    InitiativeBacking,
    LoopOptOut,
    OutboxMessage,
    OutboxStatus,
    OutcomeProposal,
    OutcomeShaper,
    Participant,
    Poll,
    ProcessedEvent,
    QuickWin,
    Tour,
    TourKey,
    TourStatus,
    Vote,
)

# Not the shape of a Slack id, so no lookup or mention can resolve it.
ERASED = "erased"


def _mentions(column: ColumnElement[str] | Any, user_id: str) -> ColumnElement[bool]:
    found: ColumnElement[bool] = column.contains(user_id, autoescape=True)
    return found


async def erase_person(session: AsyncSession, *, user_id: str) -> Counter[str]:
    """Remove or unlink every row naming `user_id`, in every workspace; the counts say, per
    table, how many rows were deleted or changed."""
    done: Counter[str] = Counter()

    async def run(label: str, statement: Any) -> None:
        result = await session.execute(statement)
        done[label] += result.rowcount or 0  # type: ignore[attr-defined]

    # Answers that still name them: every answer of a named tour, and in an anonymous tour
    # that is still open (its key still exists) the answers under their key.
    named = select(Tour.id).where(Tour.anonymous.is_(False))
    await run(
        "answers",
        delete(Answer).where(Answer.tour_id.in_(named), Answer.respondent == user_id),
    )
    asked = await session.execute(
        select(Tour.id, TourKey.secret)
        .join(TourKey, TourKey.tour_id == Tour.id)
        .join(Participant, Participant.tour_id == Tour.id)
        .where(Tour.status == TourStatus.OPEN, Participant.user_id == user_id)
    )
    for tour_id, secret in asked.all():
        key = respondent_key(anonymous=True, user_id=user_id, secret=secret)
        await run(
            "answers", delete(Answer).where(Answer.tour_id == tour_id, Answer.respondent == key)
        )

    await run("participants", delete(Participant).where(Participant.user_id == user_id))
    await run("dm_focus", delete(DmFocus).where(DmFocus.user_id == user_id))
    await run("votes", delete(Vote).where(Vote.voter_id == user_id))
    await run("outcome_shapers", delete(OutcomeShaper).where(OutcomeShaper.user_id == user_id))
    await run(
        "initiative_backings",
        delete(InitiativeBacking).where(InitiativeBacking.user_id == user_id),
    )
    await run("loop_opt_outs", delete(LoopOptOut).where(LoopOptOut.user_id == user_id))
    await run(
        "processed_events",
        delete(ProcessedEvent).where(_mentions(ProcessedEvent.event_id, user_id)),
    )

    # A tour still being launched asks Slack about the people in its request later: one they
    # lead never starts (there is nobody to tell), and they leave the others' requests.
    launching = await session.scalars(select(Tour).where(Tour.status == TourStatus.LAUNCHING))
    for tour in launching.all():
        request = dict(tour.launch_request or {})
        if tour.leader_id == user_id:
            await run("tours", delete(Tour).where(Tour.id == tour.id))
        elif user_id in request.get("user_ids", []):
            request["user_ids"] = [one for one in request["user_ids"] if one != user_id]
            tour.launch_request = request
            done["tours"] += 1
    await session.flush()

    # Shared work stays; their name on it goes.
    await run("tours", update(Tour).where(Tour.leader_id == user_id).values(leader_id=ERASED))
    await run(
        "outcome_proposals",
        update(OutcomeProposal)
        .where(OutcomeProposal.author_id == user_id)
        .values(author_id=ERASED),
    )
    await run(
        "quick_wins",
        update(QuickWin).where(QuickWin.author_id == user_id).values(author_id=ERASED),
    )
    owned = select(Initiative.id).where(Initiative.owner_id == user_id)
    await run(
        "checkins",
        update(Checkin).where(Checkin.initiative_id.in_(owned)).values(note=None),
    )
    for column in (Initiative.proposer_id, Initiative.suggested_owner_id, Initiative.owner_id):
        await run(
            "initiatives", update(Initiative).where(column == user_id).values({column: ERASED})
        )

    await _erase_from_outbox(session, user_id=user_id, done=done)
    return done


async def _erase_from_outbox(session: AsyncSession, *, user_id: str, done: Counter[str]) -> None:
    """Messages to them, or about them once sent, are deleted; a message still to be sent to
    someone else keeps its text with their mention replaced."""
    rows = await session.scalars(
        select(OutboxMessage).where(
            or_(
                OutboxMessage.channel == user_id,
                _mentions(OutboxMessage.idempotency_key, user_id),
                _mentions(OutboxMessage.last_error, user_id),
                # JSON is text on both backends once cast; the id is plain ASCII.
                _mentions(cast(OutboxMessage.payload, Text), user_id),
            )
        )
    )
    for row in rows.all():
        waiting = row.status in (OutboxStatus.PENDING, OutboxStatus.SENDING)
        if row.channel == user_id or user_id in row.idempotency_key or not waiting:
            await session.delete(row)
        else:
            text = json.dumps(row.payload).replace(f"<@{user_id}>", "a former teammate")
            row.payload = json.loads(text.replace(user_id, ERASED))
            row.last_error = None
        done["outbox"] += 1
    await session.flush()


async def delete_tour(session: AsyncSession, *, tour_id: int) -> bool:
    """Delete a tour and everything that hangs off it (questions, participants, answers,
    themes, poll and votes, outcomes, initiatives and their check-ins) and the outbox rows it
    queued. False when there is no such tour."""
    tour = await session.get(Tour, tour_id)
    if tour is None:
        return False
    initiatives = (
        await session.scalars(select(Initiative.id).where(Initiative.tour_id == tour_id))
    ).all()
    polls = (await session.scalars(select(Poll.id).where(Poll.tour_id == tour_id))).all()
    # Outbox keys start with what they are about (see the services' `key=` arguments).
    prefixes = [
        f"tour:{tour_id}:",
        *(f"poll:{poll_id}:" for poll_id in polls),
        *(f"initiative:{initiative_id}:" for initiative_id in initiatives),
        *(f"checkin:{initiative_id}:" for initiative_id in initiatives),
    ]
    await session.execute(
        delete(OutboxMessage).where(
            or_(*(OutboxMessage.idempotency_key.startswith(p, autoescape=True) for p in prefixes))
        )
    )
    # Replies to people's DMs name no tour; those already sent to its participants have no
    # use left (their event claims keep replays out), and may be this tour's questions.
    asked = select(Participant.user_id).where(Participant.tour_id == tour_id)
    await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.idempotency_key.startswith("reply:"),
            OutboxMessage.channel.in_(asked),
            OutboxMessage.status.in_((OutboxStatus.SENT, OutboxStatus.FAILED)),
        )
    )
    # Everything else hangs off the tour by ON DELETE CASCADE (SQLite: foreign_keys=ON).
    await session.execute(delete(Tour).where(Tour.id == tour_id))
    return True
