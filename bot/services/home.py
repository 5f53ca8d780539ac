"""The App Home's one builder: everything a person's Home shows, gathered from the database and
rendered by `bot/blocks/home.py`. Every path that publishes a Home (the tab opened, a button,
a tour closed, themes suggested) builds it here, so no path shows less than another: the tour
cards, my commitments and the leader's pipelines are gathered here too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from slack_sdk.models.views import View
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.home import MAX_HOME_TOURS, TourCard, render_home
from bot.blocks.initiatives import (
    InitiativeCard,
    PipelineOutcome,
)
from bot.flows.outcomes import (
    InitiativeStatus,
    next_checkin_day,
)
from bot.flows.tour import (
    days_left,
    local_today,
)
from bot.models import (
    Initiative,
    Outcome,
    OutcomeShaper,
    PollStatus,
    Theme,
    Tour,
    TourStatus,
)

# Module imports, not names: bot.services.tour queues a leader's Home when a tour closes.
from bot.services import tour as tours
from bot.services.initiatives import backer_counts, card_from, owned
from bot.store import findings as findings_store
from bot.store import outbox
from bot.store import tours as store
from bot.store.tours import get_tour


async def home_view(
    session: AsyncSession, *, team_id: str, user_id: str, now: datetime, tz: str, command: str
) -> View:
    """The person's Home: what they own or are offered (check-in days in `tz`), and the tours
    they lead, newest first, each with its next step and, once outcomes are agreed, its
    pipeline and the "Weekly update…" button."""
    cards = await tour_cards(session, team_id=team_id, leader_id=user_id, now=now)
    mine = await commitments(session, team_id=team_id, user_id=user_id, now=now, tz=tz)
    pipelines: dict[int, list[PipelineOutcome]] = {}
    newest = sorted(cards, key=lambda card: card.tour_id, reverse=True)
    for card in newest[:MAX_HOME_TOURS]:
        if card.stage == "committed":
            tour = await get_tour(session, tour_id=card.tour_id, team_id=team_id)
            if tour is not None:
                pipelines[card.tour_id] = await pipeline(session, tour=tour)
    return render_home(
        user_id=user_id, command=command, tours=cards, commitments=mine, pipelines=pipelines
    )


async def queue_leader_home(
    session: AsyncSession, *, tour: Tour, key: str, now: datetime, command: str
) -> None:
    """Queue the tour's leader's Home through the outbox, in the transaction that changed it
    (the close, the suggested themes): the same view opening the tab would show."""
    view = await home_view(
        session,
        team_id=tour.team_id,
        user_id=tour.leader_id,
        now=now,
        tz=tour.leader_tz,
        command=command,
    )
    await outbox.enqueue(
        session,
        team_id=tour.team_id,
        key=key,
        method="views.publish",
        payload={"user_id": tour.leader_id, "view": view.to_dict()},
        now=now,
    )


async def tour_cards(
    session: AsyncSession, *, team_id: str, leader_id: str, now: datetime
) -> list[TourCard]:
    cards = []
    for tour in await store.tours_led_by(session, team_id=team_id, leader_id=leader_id):
        tally = await store.counts(session, tour_id=tour.id)
        cancelled = tour.status is TourStatus.CANCELLED  # only its counts are kept
        cards.append(
            TourCard(
                tour_id=tour.id,
                title=tour.title,
                status=tour.status.value,
                respondents=tour.answered_count or 0 if cancelled else tally.respondents,
                participants=tour.asked_count or 0 if cancelled else tally.participants,
                days_left=days_left(now, tour.close_date, tour.leader_tz),
                close_date=tour.close_date,
                anonymous=tour.anonymous,
                stage=await _stage(session, tour=tour),
                closed_on=tours.closed_on(tour) if tour.closed_at is not None else None,
            )
        )
    return cards


async def _stage(session: AsyncSession, *, tour: Tour) -> str:
    """Where the tour is in the process, for its App Home card."""
    if tour.status is TourStatus.OPEN:
        return "listening"
    poll = await findings_store.poll_of_tour(session, tour_id=tour.id)
    if poll is not None and poll.message_ts:
        if poll.status is PollStatus.OPEN:
            return "voting"
        committed = await session.scalar(select(func.count()).where(Outcome.tour_id == tour.id))
        if committed:
            return "committed"
        asked = await session.scalar(select(func.count()).where(OutcomeShaper.tour_id == tour.id))
        return "outcomes" if asked else "voted"
    if (
        tour.themes_suggested_at is not None
        and (await tours.visibility_of(session, tour=tour)).show_themes
    ):
        return "review"
    return "closed"


async def _cards(session: AsyncSession, initiatives: Sequence[Initiative]) -> list[InitiativeCard]:
    if not initiatives:
        return []
    outcome_ids = {i.outcome_id for i in initiatives}
    rows = await session.execute(
        select(Outcome.id, Theme.label, Outcome.statement)
        .join(Theme, Theme.id == Outcome.theme_id)
        .where(Outcome.id.in_(outcome_ids))
    )
    answers = {outcome_id: (label, statement) for outcome_id, label, statement in rows}
    backers = await backer_counts(session, [i.id for i in initiatives])
    return [
        card_from(
            i,
            theme_label=answers[i.outcome_id][0],
            outcome=answers[i.outcome_id][1],
            backers=backers.get(i.id, 0),
        )
        for i in initiatives
    ]


async def commitments(
    session: AsyncSession, *, team_id: str, user_id: str, now: datetime, tz: str
) -> list[InitiativeCard]:
    """What someone owns or is offered, with the day of each next check-in in their zone."""
    mine = await owned(
        session,
        team_id=team_id,
        user_id=user_id,
        statuses=(InitiativeStatus.OFFERED, InitiativeStatus.ACCEPTED),
    )
    today = local_today(now, tz)
    next_checkins = {
        i.id: (
            local_today(i.next_checkin_at, tz)
            if i.next_checkin_at is not None
            else next_checkin_day(
                committed_on=local_today(i.committed_at, tz),
                today=today,
                cadence_weeks=i.cadence_weeks,
                weekday=i.checkin_weekday,
            )
        )
        for i in mine
        if i.status is InitiativeStatus.ACCEPTED and i.committed_at is not None
    }
    return [
        replace(card, next_checkin=next_checkins.get(card.initiative_id))
        for card in await _cards(session, mine)
    ]


async def pipeline(session: AsyncSession, *, tour: Tour) -> list[PipelineOutcome]:
    """Themes → committed outcomes → initiatives, for the leader's Home."""
    rows = await session.execute(
        select(Theme.label, Outcome)
        .join(Outcome, Outcome.theme_id == Theme.id)
        .where(Theme.tour_id == tour.id)
        .order_by(Theme.position)
    )
    committed = rows.all()
    if not committed:
        return []
    initiatives = (
        await session.scalars(
            select(Initiative).where(Initiative.tour_id == tour.id).order_by(Initiative.id)
        )
    ).all()
    cards = await _cards(session, initiatives)
    by_outcome: dict[int, list[InitiativeCard]] = {}
    for initiative, card in zip(initiatives, cards, strict=True):
        by_outcome.setdefault(initiative.outcome_id, []).append(card)
    return [
        PipelineOutcome(
            theme_label=label,
            statement=outcome.statement,
            initiatives=by_outcome.get(outcome.id, []),
        )
        for label, outcome in committed
    ]
