"""Steps 3 and 4 as units of work, without Slack yet (issue #5 adds the handlers): outcome
proposals and commitments, initiative proposals, backings, commitments under the cap, the
owner's answer, quick wins, and the chain back to the theme for the export."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows.outcomes import (
    ACTIVE,
    DEFAULT_ACTIVE_CAP,
    InitiativeDraft,
    InitiativeEvent,
    InitiativeStatus,
    OutcomeDraft,
    Refused,
    initiative_problems,
    next_status,
    outcome_problems,
)
from bot.models import (
    Initiative,
    InitiativeBacking,
    Outcome,
    OutcomeProposal,
    QuickWin,
    Theme,
    ThemeSource,
    Tour,
)
from bot.store.inserts import insert_if_absent


class OutcomeError(Exception):
    """A request that the rules refuse; `problems` are by field, for a modal."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


async def _final_theme(session: AsyncSession, *, tour: Tour, theme_id: int) -> Theme:
    theme = await session.scalar(
        select(Theme).where(
            Theme.id == theme_id, Theme.tour_id == tour.id, Theme.source == ThemeSource.FINAL
        )
    )
    if theme is None:
        raise OutcomeError({"theme": "That theme is not one of this tour's findings."})
    return theme


async def propose_outcome(
    session: AsyncSession,
    *,
    tour: Tour,
    theme_id: int,
    author_id: str,
    draft: OutcomeDraft,
    now: datetime,
) -> OutcomeProposal:
    await _final_theme(session, tour=tour, theme_id=theme_id)
    problems = outcome_problems(draft, today=now.date(), proposal=True)
    if problems:
        raise OutcomeError(problems)
    proposal = OutcomeProposal(
        tour_id=tour.id,
        theme_id=theme_id,
        author_id=author_id,
        statement=draft.statement.strip(),
        measure=draft.measure.strip(),
        created_at=now,
    )
    session.add(proposal)
    await session.flush()
    return proposal


async def proposals_by_theme(
    session: AsyncSession, *, tour: Tour
) -> dict[int, list[OutcomeProposal]]:
    """Every proposal for the tour's themes, oldest first: the leader sees them side by side."""
    rows = await session.scalars(
        select(OutcomeProposal)
        .where(OutcomeProposal.tour_id == tour.id)
        .order_by(OutcomeProposal.theme_id, OutcomeProposal.id)
    )
    grouped: dict[int, list[OutcomeProposal]] = {}
    for proposal in rows.all():
        grouped.setdefault(proposal.theme_id, []).append(proposal)
    return grouped


async def commit_outcome(
    session: AsyncSession,
    *,
    tour: Tour,
    theme_id: int,
    draft: OutcomeDraft,
    today: date,
    now: datetime,
) -> Outcome:
    """One outcome per theme; committing again rewrites it."""
    await _final_theme(session, tour=tour, theme_id=theme_id)
    problems = outcome_problems(draft, today=today)
    if problems:
        raise OutcomeError(problems)
    assert draft.target_date is not None
    outcome = await session.scalar(select(Outcome).where(Outcome.theme_id == theme_id))
    if outcome is None:
        outcome = Outcome(tour_id=tour.id, theme_id=theme_id, committed_at=now)
        session.add(outcome)
    outcome.statement = draft.statement.strip()
    outcome.partner = draft.partner.strip()
    outcome.measure = draft.measure.strip()
    outcome.target_date = draft.target_date
    outcome.committed_at = now
    await session.flush()
    return outcome


async def propose_initiative(
    session: AsyncSession,
    *,
    tour: Tour,
    outcome_id: int,
    proposer_id: str,
    draft: InitiativeDraft,
    suggested_owner_id: str | None,
    now: datetime,
) -> Initiative:
    outcome = await session.scalar(
        select(Outcome).where(Outcome.id == outcome_id, Outcome.tour_id == tour.id)
    )
    if outcome is None:
        raise OutcomeError({"outcome": "Pick one of the outcomes the team agreed."})
    problems = initiative_problems(draft)
    if problems:
        raise OutcomeError(problems)
    initiative = Initiative(
        tour_id=tour.id,
        outcome_id=outcome.id,
        title=draft.title.strip(),
        implications=draft.implications.strip(),
        tracking=draft.tracking.strip(),
        first_quick_win=draft.first_quick_win.strip() or None,
        proposer_id=proposer_id,
        suggested_owner_id=suggested_owner_id,
        status=InitiativeStatus.PROPOSED,
        created_at=now,
    )
    session.add(initiative)
    await session.flush()
    return initiative


async def back(session: AsyncSession, *, initiative: Initiative, user_id: str) -> int:
    """One backing per person (a second click changes nothing); returns the count."""
    await insert_if_absent(
        session, InitiativeBacking, {"initiative_id": initiative.id, "user_id": user_id}
    )
    count = await session.scalar(
        select(func.count()).where(InitiativeBacking.initiative_id == initiative.id)
    )
    return int(count or 0)


async def _active(session: AsyncSession, *, tour_id: int) -> int:
    count = await session.scalar(
        select(func.count()).where(Initiative.tour_id == tour_id, Initiative.status.in_(ACTIVE))
    )
    return int(count or 0)


@dataclass(frozen=True)
class Moved:
    initiative: Initiative
    refused: Refused | None = None


async def move(
    session: AsyncSession,
    *,
    initiative: Initiative,
    event: InitiativeEvent,
    cap: int = DEFAULT_ACTIVE_CAP,
) -> Moved:
    """Apply one lifecycle event under the tour's cap on active initiatives."""
    step = next_status(
        initiative.status,
        event,
        active=await _active(session, tour_id=initiative.tour_id),
        cap=cap,
    )
    if step.refused is None:
        initiative.status = step.status
    return Moved(initiative, step.refused)


async def commit_initiative(
    session: AsyncSession,
    *,
    initiative: Initiative,
    owner_id: str,
    due_date: date,
    cadence_weeks: int,
    now: datetime,
    cap: int = DEFAULT_ACTIVE_CAP,
) -> Moved:
    """The leader commits a proposal (or re-offers a declined one) to an owner."""
    event = (
        InitiativeEvent.COMMIT
        if initiative.status is InitiativeStatus.PROPOSED
        else InitiativeEvent.REASSIGN
    )
    moved = await move(session, initiative=initiative, event=event, cap=cap)
    if moved.refused is None:
        initiative.owner_id = owner_id
        initiative.due_date = due_date
        initiative.cadence_weeks = cadence_weeks
        initiative.decline_reason = None
        initiative.committed_at = now
    return moved


async def answer_offer(
    session: AsyncSession,
    *,
    initiative: Initiative,
    user_id: str,
    accept: bool,
    reason: str | None = None,
) -> Moved:
    """The owner accepts or declines; nobody else can answer for them."""
    if initiative.owner_id != user_id:
        return Moved(initiative, Refused.NOT_ALLOWED)
    event = InitiativeEvent.ACCEPT if accept else InitiativeEvent.DECLINE
    moved = await move(session, initiative=initiative, event=event)
    if moved.refused is None and not accept:
        initiative.decline_reason = (reason or "").strip() or None
    return moved


async def log_win(
    session: AsyncSession, *, initiative: Initiative, author_id: str, text: str, now: datetime
) -> QuickWin:
    win = QuickWin(
        initiative_id=initiative.id, author_id=author_id, text=text.strip(), logged_at=now
    )
    session.add(win)
    await session.flush()
    return win


@dataclass(frozen=True)
class ChainLink:
    """One initiative with everything it answers, for the export: theme → outcome → it."""

    theme: str
    outcome: str
    partner: str
    initiative: str
    status: str
    owner_id: str | None
    due_date: date | None
    implications: str


async def chain(session: AsyncSession, *, tour: Tour) -> Sequence[ChainLink]:
    rows = await session.execute(
        select(Theme.label, Outcome, Initiative)
        .join(Outcome, Outcome.theme_id == Theme.id)
        .join(Initiative, Initiative.outcome_id == Outcome.id)
        .where(Theme.tour_id == tour.id)
        .order_by(Theme.position, Initiative.id)
    )
    return [
        ChainLink(
            theme=label,
            outcome=outcome.statement,
            partner=outcome.partner,
            initiative=initiative.title,
            status=initiative.status.value,
            owner_id=initiative.owner_id,
            due_date=initiative.due_date,
            implications=initiative.implications,
        )
        for label, outcome, initiative in rows.all()
    ]
