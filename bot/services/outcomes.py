"""Step 3 as units of work: outcome proposals (by form or DM) and commitments, asking the
leader's direct reports, letting go. Step 4's initiatives are bot/services/initiatives.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks import Message
from bot.blocks.outcomes import (
    MAX_STATEMENT,
    CommittedOutcome,
    render_letting_go_offer,
    render_outcome_request,
    render_outcomes_announcement,
    render_pick_theme,
    render_proposal_closed,
    render_proposal_too_long,
)
from bot.flows.outcomes import (
    OutcomeDraft,
    outcome_problems,
)
from bot.flows.working_hours import Away
from bot.models import (
    Outcome,
    OutcomeProposal,
    OutcomeShaper,
    Reflection,
    Theme,
    ThemeSource,
    Tour,
)
from bot.services import working_hours
from bot.store import outbox
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


async def decided(session: AsyncSession, *, theme_id: int) -> bool:
    """Whether the leader has committed this theme's outcome (proposals then stay as they are)."""
    return await session.scalar(select(Outcome.id).where(Outcome.theme_id == theme_id)) is not None


async def propose_outcome(
    session: AsyncSession,
    *,
    tour: Tour,
    theme_id: int,
    author_id: str,
    draft: OutcomeDraft,
    now: datetime,
    require_measure: bool = True,
) -> OutcomeProposal:
    """A direct report's proposal for a theme not yet decided. A DM reply is one piece of text,
    so it may leave the measure to the statement (`require_measure=False`)."""
    theme = await _final_theme(session, tour=tour, theme_id=theme_id)
    if await decided(session, theme_id=theme_id):
        raise OutcomeError(
            {"theme": render_proposal_closed(theme_label=theme.label, leader_id=tour.leader_id)}
        )
    problems = outcome_problems(draft, today=now.date(), proposal=True)
    if not require_measure:
        problems.pop("measure", None)
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


async def edit_proposal(
    session: AsyncSession,
    *,
    tour: Tour,
    proposal_id: int,
    author_id: str,
    draft: OutcomeDraft,
    now: datetime,
) -> OutcomeProposal:
    """Change one's own proposal, until the leader decides its theme."""
    proposal = await session.scalar(
        select(OutcomeProposal)
        .where(OutcomeProposal.id == proposal_id, OutcomeProposal.tour_id == tour.id)
        .with_for_update()
    )
    if proposal is None or proposal.author_id != author_id:
        raise OutcomeError({"proposal": "You can change only your own proposals."})
    theme = await _final_theme(session, tour=tour, theme_id=proposal.theme_id)
    if await decided(session, theme_id=proposal.theme_id):
        raise OutcomeError(
            {"theme": render_proposal_closed(theme_label=theme.label, leader_id=tour.leader_id)}
        )
    problems = outcome_problems(draft, today=now.date(), proposal=True)
    if problems:
        raise OutcomeError(problems)
    proposal.statement = draft.statement.strip()
    proposal.measure = draft.measure.strip()
    return proposal


async def open_requests(
    session: AsyncSession, *, team_id: str, user_id: str
) -> list[tuple[Tour, Theme]]:
    """The themes someone was asked to propose outcomes for and the leader has not decided
    yet: those of the newest tour that still has any."""
    asked = await session.execute(
        select(Tour, OutcomeShaper.theme_ids)
        .join(OutcomeShaper, OutcomeShaper.tour_id == Tour.id)
        .where(Tour.team_id == team_id, OutcomeShaper.user_id == user_id)
        .order_by(Tour.id.desc())
        .limit(5)
    )
    for tour, theme_ids in asked.all():
        undecided = await session.scalars(
            select(Theme)
            .where(
                Theme.tour_id == tour.id,
                Theme.source == ThemeSource.FINAL,
                Theme.id.not_in(select(Outcome.theme_id).where(Outcome.tour_id == tour.id)),
            )
            .order_by(Theme.position)
        )
        themes = [theme for theme in undecided.all() if _was_asked(theme.id, theme_ids)]
        if themes:
            return [(tour, theme) for theme in themes]
    return []


def _was_asked(theme_id: int, theme_ids: str | None) -> bool:
    return theme_ids is None or str(theme_id) in theme_ids.split(",")


async def asked_theme_ids(session: AsyncSession, *, tour_id: int) -> set[int] | None:
    """Every theme the leader asked direct reports about (None: unknown, so all of them)."""
    rows = (
        await session.scalars(
            select(OutcomeShaper.theme_ids).where(OutcomeShaper.tour_id == tour_id)
        )
    ).all()
    if not rows or any(row is None for row in rows):
        return None
    return {int(part) for row in rows if row for part in row.split(",") if part.isdigit()}


async def dm_proposal(
    session: AsyncSession, *, team_id: str, user_id: str, text: str, now: datetime
) -> Message | None:
    """A DM from someone asked for outcomes (and not answering a listening tour): the offer to
    save it as a proposal, for which theme (nothing is stored until they press a button). None
    when the person has no open request."""
    requests = await open_requests(session, team_id=team_id, user_id=user_id)
    if not requests:
        return None
    if len(text) > MAX_STATEMENT:
        return Message(text=render_proposal_too_long())
    return render_pick_theme(
        text=text, themes=[(tour.id, theme.id, theme.label) for tour, theme in requests]
    )


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


# --- step 3 in Slack: asking direct reports, and committing ------------------------------------


async def shaper_ids(session: AsyncSession, *, tour_id: int) -> list[str]:
    rows = await session.scalars(
        select(OutcomeShaper.user_id)
        .where(OutcomeShaper.tour_id == tour_id)
        .order_by(OutcomeShaper.id)
    )
    return list(rows.all())


async def ask_shapers(
    session: AsyncSession,
    *,
    tour: Tour,
    user_ids: Sequence[str],
    theme_ids: Sequence[int],
    now: datetime,
    time_off: Mapping[str, Away] | None = None,
) -> int:
    """Ask each direct report, by DM, for outcomes on the chosen themes; returns how many
    were newly asked (asking someone again sends nothing twice). Someone away (`time_off`, by
    user id, from their Slack status) is asked once, in their first working hours back."""
    themes = {
        theme.id: theme.label
        for theme in await session.scalars(
            select(Theme).where(Theme.tour_id == tour.id, Theme.source == ThemeSource.FINAL)
        )
    }
    chosen = [(theme_id, themes[theme_id]) for theme_id in theme_ids if theme_id in themes]
    if not chosen:
        raise OutcomeError({"themes": "Pick at least one of the themes."})
    asked = 0
    # Each request waits for its recipient's working hours, and for the end of their time off.
    when = await working_hours.not_before(
        session, tour=tour, user_ids=list(dict.fromkeys(user_ids)), now=now, time_off=time_off
    )
    for user_id in dict.fromkeys(user_ids):
        if not await insert_if_absent(
            session,
            OutcomeShaper,
            {
                "tour_id": tour.id,
                "user_id": user_id,
                "asked_at": now,
                "theme_ids": ",".join(str(theme_id) for theme_id, _ in chosen),
            },
        ):
            continue
        asked += 1
        request = render_outcome_request(tour_id=tour.id, leader_id=tour.leader_id, themes=chosen)
        await outbox.enqueue(
            session,
            team_id=tour.team_id,
            key=f"tour:{tour.id}:outcome-request:{user_id}",
            method="chat.postMessage",
            payload={"channel": user_id, **request.to_dict()},
            now=now,
            not_before=when[user_id],
        )
    return asked


async def commit_outcomes(
    session: AsyncSession,
    *,
    tour: Tour,
    drafts: Mapping[int, OutcomeDraft],
    today: date,
    now: datetime,
) -> list[Outcome]:
    """Commit the outcomes the leader filled in (a theme left blank is skipped), announce them
    in the team channel with thanks to the people who proposed, and offer the leader the
    article's "letting go" questions once. Problems come back keyed `{theme_id}.{field}`."""
    problems: dict[str, str] = {}
    for theme_id, draft in drafts.items():
        for field_name, problem in outcome_problems(draft, today=today).items():
            problems[f"{theme_id}.{field_name}"] = problem
    if not drafts:
        problems["any"] = "Fill in at least one outcome."
    if problems:
        raise OutcomeError(problems)
    committed = [
        await commit_outcome(
            session, tour=tour, theme_id=theme_id, draft=draft, today=today, now=now
        )
        for theme_id, draft in drafts.items()
    ]
    labels = {
        theme.id: theme.label
        for theme in await session.scalars(select(Theme).where(Theme.tour_id == tour.id))
    }
    proposals = await proposals_by_theme(session, tour=tour)
    announcement = render_outcomes_announcement(
        tour_id=tour.id,
        leader_id=tour.leader_id,
        title=tour.title,
        outcomes=[
            CommittedOutcome(
                theme_label=labels.get(outcome.theme_id, ""),
                statement=outcome.statement,
                partner=outcome.partner,
                measure=outcome.measure,
                target_date=outcome.target_date,
                proposer_ids=[p.author_id for p in proposals.get(outcome.theme_id, [])],
            )
            for outcome in committed
        ],
    )
    if tour.channel_id:
        await outbox.enqueue(
            session,
            team_id=tour.team_id,
            key=f"tour:{tour.id}:outcomes-announced:{now.isoformat()}",
            method="chat.postMessage",
            payload={"channel": tour.channel_id, **announcement.to_dict()},
            now=now,
        )
    reflection = await session.get(Reflection, tour.id)
    if reflection is None:
        reflection = Reflection(tour_id=tour.id)
        session.add(reflection)
    if reflection.letting_go_offered_at is None:
        reflection.letting_go_offered_at = now
        offer = render_letting_go_offer(tour_id=tour.id)
        await outbox.enqueue(
            session,
            team_id=tour.team_id,
            key=f"tour:{tour.id}:letting-go",
            method="chat.postMessage",
            payload={"channel": tour.leader_id, **offer.to_dict()},
            now=now,
        )
    return committed


async def save_letting_go(
    session: AsyncSession, *, tour: Tour, answers: Sequence[str | None]
) -> None:
    reflection = await session.get(Reflection, tour.id)
    if reflection is None:
        reflection = Reflection(tour_id=tour.id)
        session.add(reflection)
    cleaned = [(answer or "").strip() or None for answer in answers]
    reflection.outcomes_matter, reflection.ways, reflection.possible = cleaned[:3]
