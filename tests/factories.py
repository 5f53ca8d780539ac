"""Builders for the state tests start from, written straight to the database through `bot.store`
(the same writes the bot makes), so a test that needs "a closed tour with final themes" or
"an outcome committed with its initiatives" says so in one line instead of repeating the
launch → answer → close sequence or calling another test as its setup.

Each builder takes the caller's session and never commits; give only what the test is about,
the rest has plain defaults (`new_tour`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.flows.outcomes import InitiativeDraft, OutcomeDraft
from bot.flows.tour import respondent_key
from bot.models import Outcome, ThemeSource, Tour
from bot.store import outbox
from bot.store.findings import add_theme
from bot.store.tours import (
    NewTour,
    create_tour,
    get_participant,
    mark_closed,
    questions_of,
    save_answer,
    tour_secret,
)
from tests.conftest import START

DEFAULT_QUESTIONS = ["What's working well?", "What challenges?"]

_DEFAULT_TOUR = NewTour(
    team_id="T1",
    enterprise_id=None,
    leader_id="ULEAD",
    title="Tour",
    channel_id="CTEAM",
    anonymous=True,
    min_responses=3,
    close_date=START.date(),
    closes_at=START,
    leader_tz="UTC",
    reminders=False,
    questions=DEFAULT_QUESTIONS,
    invitees=[],
    skipped=0,
)


def new_tour(
    *,
    closes_at: datetime | None = None,
    invitees: Iterable[str] = (),
    tz: str = "UTC",
    **changes: Any,
) -> NewTour:
    """A tour as `/partner tour` would store it: T1, led by ULEAD, anonymous, closing at START
    (or `closes_at`, its date the close date), `invitees` in `tz`; any other field by name."""
    closes = START if closes_at is None else closes_at
    return replace(
        _DEFAULT_TOUR,
        close_date=closes.date(),
        closes_at=closes,
        invitees=[(user, tz) for user in invitees],
        **changes,
    )


async def stored_tour(
    session: AsyncSession,
    *,
    opened_at: datetime = START - timedelta(days=7),
    closed_at: datetime | None = None,
    **changes: Any,
) -> Tour:
    """A tour opened at `opened_at` (`new_tour`'s fields by name), closed at `closed_at` if
    given: its key destroyed as Close does."""
    tour = await create_tour(session, new_tour(**changes), now=opened_at)
    if closed_at is not None:
        await mark_closed(session, tour_id=tour.id, now=closed_at)
    return tour


async def answered(
    session: AsyncSession, tour: Tour, answers: Mapping[str, str], *, position: int = 0
) -> None:
    """Each invitee named in `answers` answered the question at `position` with their text,
    filed under their respondent key as the bot files it (the tour must still have its key)."""
    question = (await questions_of(session, tour_id=tour.id))[position]
    secret = await tour_secret(session, tour_id=tour.id) if tour.anonymous else None
    for user, text in answers.items():
        await save_answer(
            session,
            tour_id=tour.id,
            question_id=question.id,
            respondent=respondent_key(anonymous=tour.anonymous, user_id=user, secret=secret),
            text=text,
            message_ts=None,
        )
        participant = await get_participant(session, tour_id=tour.id, user_id=user)
        assert participant is not None, f"{user} was not invited"
        participant.responded = True


async def final_themes(
    session: AsyncSession,
    tour: Tour,
    labels: Sequence[str],
    *,
    kind: str = "challenge",
    answer_count: int = 3,
) -> list[int]:
    """The leader's final themes for a tour, in order; their ids."""
    return [
        (
            await add_theme(
                session,
                tour_id=tour.id,
                source=ThemeSource.FINAL,
                position=position,
                label=label,
                summary="",
                kind=kind,
                answer_count=answer_count,
                quote_ids=[],
            )
        ).id
        for position, label in enumerate(labels)
    ]


async def committed_outcome(
    session: AsyncSession,
    tour: Tour,
    theme_id: int,
    *,
    statement: str = "Finance hears about slips the day we know",
    partner: str = "Finance",
    measure: str = "9 in 10 within a day",
    target_date: date = date(2026, 6, 30),
    committed_at: datetime = START,
) -> Outcome:
    """An outcome the leader committed for one theme (step 3 done)."""
    outcome = Outcome(
        tour_id=tour.id,
        theme_id=theme_id,
        statement=statement,
        partner=partner,
        measure=measure,
        target_date=target_date,
        committed_at=committed_at,
    )
    session.add(outcome)
    await session.flush()
    return outcome


async def queued_dms(
    session: AsyncSession, *, people: Mapping[str, Iterable[str]], tag: str, now: datetime
) -> None:
    """A DM queued in the outbox for each person, by team ({team_id: user ids}), reading
    "<tag> for <user>", as the bot queues its own."""
    for team_id, users in people.items():
        for user in users:
            await outbox.enqueue(
                session,
                team_id=team_id,
                key=f"{tag}:{team_id}:{user}",
                method="chat.postMessage",
                payload={"channel": user, "text": f"{tag} for {user}"},
                now=now,
            )


OUTCOME = OutcomeDraft(
    statement="Finance hears about slips the day we know",
    partner="Finance",
    measure="9 in 10 slip notices within a day",
    target_date=date(2026, 6, 30),
)

PLAN = InitiativeDraft(
    title="Slip alerts",
    implications="We tell Finance before the standup ends",
    tracking="Count of notices per week",
    first_quick_win="A slip template",
)


async def closed_tour_with_themes(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[Tour, list[int]]:
    async with sessions.begin() as session:
        tour = await stored_tour(session, questions=["q"], closed_at=START)
        theme_ids = await final_themes(session, tour, ["Slips told late", "Unclear priorities"])
    return tour, theme_ids
