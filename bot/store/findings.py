"""Step 2 queries and writes: themes and their quotes, reflections, the poll and its votes,
insights."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Answer,
    Insight,
    Poll,
    PollStatus,
    PollTally,
    Question,
    Reflection,
    Theme,
    ThemeQuote,
    ThemeSource,
    Tour,
    TourStatus,
    Vote,
)
from bot.store.inserts import upsert


async def tours_awaiting_suggestions(session: AsyncSession) -> list[int]:
    statement = select(Tour.id).where(
        Tour.status == TourStatus.CLOSED, Tour.themes_suggested_at.is_(None)
    )
    return list((await session.scalars(statement)).all())


async def answers_to_group(session: AsyncSession, *, tour_id: int) -> list[tuple[str, int, str]]:
    """(answer id, question position, text) of a tour's answers, by question and then by text:
    the grouping depends on the order it is given, and answer ids are random, so ordering by
    them would give the same answers different themes from one run to the next."""
    statement = (
        select(Answer.id, Question.position, Answer.text)
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.tour_id == tour_id, Answer.hidden.is_(False))
        .order_by(Question.position, Answer.text, Answer.id)
    )
    return [(row[0], row[1], row[2]) for row in (await session.execute(statement)).all()]


async def count_answers(session: AsyncSession, *, tour_id: int) -> int:
    statement = (
        select(func.count())
        .select_from(Answer)
        .where(Answer.tour_id == tour_id, Answer.hidden.is_(False))
    )
    return int(await session.scalar(statement) or 0)


async def themes_of(session: AsyncSession, *, tour_id: int, source: ThemeSource) -> list[Theme]:
    statement = (
        select(Theme)
        .where(Theme.tour_id == tour_id, Theme.source == source)
        .order_by(Theme.position)
    )
    return list((await session.scalars(statement)).all())


async def quotes_of(session: AsyncSession, *, theme_ids: Sequence[int]) -> dict[int, list[str]]:
    """Quote texts per theme, verbatim from the answers; hidden answers are never quoted."""
    statement = (
        select(ThemeQuote.theme_id, Answer.text)
        .join(Answer, Answer.id == ThemeQuote.answer_id)
        .where(ThemeQuote.theme_id.in_(theme_ids), Answer.hidden.is_(False))
        .order_by(ThemeQuote.theme_id, ThemeQuote.position)
    )
    quotes: dict[int, list[str]] = {theme_id: [] for theme_id in theme_ids}
    for theme_id, text in (await session.execute(statement)).all():
        quotes[theme_id].append(text)
    return quotes


async def quote_ids_of(session: AsyncSession, *, theme_id: int) -> list[str]:
    statement = (
        select(ThemeQuote.answer_id)
        .where(ThemeQuote.theme_id == theme_id)
        .order_by(ThemeQuote.position)
    )
    return list((await session.scalars(statement)).all())


async def add_theme(
    session: AsyncSession,
    *,
    tour_id: int,
    source: ThemeSource,
    position: int,
    label: str,
    summary: str,
    kind: str,
    answer_count: int,
    quote_ids: Sequence[str],
) -> Theme:
    theme = Theme(
        tour_id=tour_id,
        source=source,
        position=position,
        label=label,
        summary=summary,
        kind=kind,
        answer_count=answer_count,
    )
    session.add(theme)
    await session.flush()
    session.add_all(
        ThemeQuote(theme_id=theme.id, answer_id=answer_id, position=index)
        for index, answer_id in enumerate(quote_ids)
    )
    await session.flush()
    return theme


async def clear_themes(session: AsyncSession, *, tour_id: int, source: ThemeSource) -> None:
    await session.execute(delete(Theme).where(Theme.tour_id == tour_id, Theme.source == source))


async def reflection_of(session: AsyncSession, *, tour_id: int) -> Reflection | None:
    return await session.get(Reflection, tour_id)


async def save_reflection(
    session: AsyncSession,
    *,
    tour_id: int,
    insights: str | None,
    next_steps: str | None,
    involve: str | None,
) -> None:
    await upsert(
        session,
        Reflection,
        {"tour_id": tour_id, "insights": insights, "next_steps": next_steps, "involve": involve},
        conflict=("tour_id",),
        update=("insights", "next_steps", "involve"),
    )


async def poll_of_tour(session: AsyncSession, *, tour_id: int) -> Poll | None:
    return await session.scalar(select(Poll).where(Poll.tour_id == tour_id))


async def poll_by_message(
    session: AsyncSession, *, team_id: str, channel_id: str, message_ts: str
) -> Poll | None:
    statement = select(Poll).where(
        Poll.team_id == team_id, Poll.channel_id == channel_id, Poll.message_ts == message_ts
    )
    return await session.scalar(statement)


async def get_poll(
    session: AsyncSession, *, poll_id: int, team_id: str, lock: bool = False
) -> Poll | None:
    statement = select(Poll).where(Poll.id == poll_id, Poll.team_id == team_id)
    if lock:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def create_poll(
    session: AsyncSession,
    *,
    tour: Tour,
    budget: int,
    max_per_theme: int,
    hide_results: bool,
    allow_outsiders: bool,
    closes_at: datetime | None,
    now: datetime,
) -> Poll:
    assert tour.channel_id is not None
    poll = Poll(
        tour_id=tour.id,
        team_id=tour.team_id,
        channel_id=tour.channel_id,
        budget=budget,
        max_per_theme=max_per_theme,
        hide_results=hide_results,
        allow_outsiders=allow_outsiders,
        status=PollStatus.OPEN,
        created_at=now,
        closes_at=closes_at,
    )
    session.add(poll)
    await session.flush()
    return poll


async def polls_due_to_close(session: AsyncSession, *, now: datetime) -> list[Poll]:
    statement = (
        select(Poll)
        .where(Poll.status == PollStatus.OPEN, Poll.closes_at <= now)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(statement)).all())


async def votes_of(
    session: AsyncSession, *, poll_id: int, voter_id: str, lock: bool = False
) -> dict[int, int]:
    statement = select(Vote).where(Vote.poll_id == poll_id, Vote.voter_id == voter_id)
    if lock:
        statement = statement.with_for_update()
    return {vote.theme_id: vote.count for vote in (await session.scalars(statement)).all()}


async def set_votes(
    session: AsyncSession, *, poll_id: int, voter_id: str, theme_id: int, count: int
) -> None:
    await upsert(
        session,
        Vote,
        {"poll_id": poll_id, "voter_id": voter_id, "theme_id": theme_id, "count": count},
        conflict=("poll_id", "voter_id", "theme_id"),
        update=("count",),
    )


async def poll_totals(session: AsyncSession, *, poll_id: int) -> tuple[dict[int, int], int]:
    """Votes per theme, and how many people have at least one vote on the poll: from the
    votes while it is open, from the tallies once it has closed (`forget_voters`)."""
    totals: dict[int, int] = {}
    live = select(Vote.theme_id, func.sum(Vote.count)).where(Vote.poll_id == poll_id)
    for theme_id, total in (await session.execute(live.group_by(Vote.theme_id))).all():
        totals[theme_id] = int(total or 0)
    tallied = select(PollTally.theme_id, PollTally.votes).where(PollTally.poll_id == poll_id)
    for theme_id, votes in (await session.execute(tallied)).all():
        totals[theme_id] = totals.get(theme_id, 0) + votes
    voters = await session.scalar(
        select(func.count(func.distinct(Vote.voter_id))).where(
            Vote.poll_id == poll_id, Vote.count > 0
        )
    )
    counted = await session.scalar(select(Poll.voters).where(Poll.id == poll_id))
    return totals, int(voters or 0) + int(counted or 0)


async def forget_voters(session: AsyncSession, *, poll: Poll) -> None:
    """Keep a closing poll's votes as a tally per theme and a count of voters, and delete
    who cast them: once it has closed nobody needs to know, not even the bot."""
    totals, voters = await poll_totals(session, poll_id=poll.id)
    session.add_all(
        PollTally(poll_id=poll.id, theme_id=theme_id, votes=votes)
        for theme_id, votes in sorted(totals.items())
        if votes
    )
    poll.voters = voters
    await session.flush()
    await session.execute(delete(Vote).where(Vote.poll_id == poll.id))


async def add_insight(
    session: AsyncSession, *, tour_id: int, theme_id: int | None, text: str, now: datetime
) -> None:
    # The day only: a precise time could be matched with logs to tell who wrote it.
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    session.add(Insight(tour_id=tour_id, theme_id=theme_id, text=text, created_at=day))
    await session.flush()


async def insights_of(session: AsyncSession, *, tour_id: int) -> list[tuple[int | None, str]]:
    statement = (
        select(Insight.theme_id, Insight.text)
        .where(Insight.tour_id == tour_id)
        .order_by(Insight.id)
    )
    return [(row[0], row[1]) for row in (await session.execute(statement)).all()]
