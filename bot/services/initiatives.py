"""Step 4 in Slack, as units of work: proposals with their channel card, backing, the leader's
commitment under the cap with the owner's DM, the owner's answer back to the leader, quick wins,
and the lifecycle moves under the cap beneath them. What the App Home shows of them (my
commitments; the leader's pipeline) is bot/services/home.py. The caller owns the transaction;
Slack calls go through the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.initiatives import (
    InitiativeCard,
    OutcomeOption,
    render_accepted_for_leader,
    render_declined_for_leader,
    render_initiative_card,
    render_offer,
    render_offer_withdrawn,
)
from bot.flows.outcomes import (
    ACTIVE,
    DEFAULT_ACTIVE_CAP,
    InitiativeDraft,
    InitiativeEvent,
    InitiativeStatus,
    Refused,
    initiative_problems,
    next_status,
)
from bot.flows.working_hours import Away
from bot.models import (
    Initiative,
    InitiativeBacking,
    OutboxMessage,
    Outcome,
    OutcomeShaper,
    Participant,
    QuickWin,
    Theme,
    Tour,
)
from bot.services import working_hours
from bot.services.checkin_schedule import schedule_first
from bot.services.outcomes import OutcomeError
from bot.store import outbox
from bot.store.inserts import insert_if_absent

__all__ = ["Moved", "OutcomeError"]

# Tours older than the newest few are not offered for new proposals (the select stays short).
RECENT_TOURS = 20


async def get_initiative(
    session: AsyncSession, *, initiative_id: int, team_id: str, lock: bool = False
) -> tuple[Initiative, Tour] | None:
    """An initiative and its tour, only if the tour belongs to `team_id`."""
    query = (
        select(Initiative, Tour)
        .join(Tour, Tour.id == Initiative.tour_id)
        .where(Initiative.id == initiative_id, Tour.team_id == team_id)
    )
    if lock:
        query = query.with_for_update(of=Initiative)
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row else None


async def backer_counts(session: AsyncSession, initiative_ids: Sequence[int]) -> dict[int, int]:
    if not initiative_ids:
        return {}
    rows = await session.execute(
        select(InitiativeBacking.initiative_id, func.count())
        .where(InitiativeBacking.initiative_id.in_(initiative_ids))
        .group_by(InitiativeBacking.initiative_id)
    )
    return {initiative_id: int(count) for initiative_id, count in rows.all()}


def card_from(
    initiative: Initiative, *, theme_label: str, outcome: str, backers: int
) -> InitiativeCard:
    return InitiativeCard(
        initiative_id=initiative.id,
        tour_id=initiative.tour_id,
        title=initiative.title,
        theme_label=theme_label,
        outcome=outcome,
        implications=initiative.implications,
        tracking=initiative.tracking,
        first_quick_win=initiative.first_quick_win,
        proposer_id=initiative.proposer_id,
        suggested_owner_id=initiative.suggested_owner_id,
        status=initiative.status,
        backers=backers,
        owner_id=initiative.owner_id,
        due_date=initiative.due_date,
        cadence_weeks=initiative.cadence_weeks,
        decline_reason=initiative.decline_reason,
        progress=initiative.progress,
        last_status=initiative.last_status,
        checkin_weekday=initiative.checkin_weekday,
    )


async def card_of(session: AsyncSession, initiative: Initiative) -> InitiativeCard:
    row = (
        await session.execute(
            select(Theme.label, Outcome.statement)
            .join(Outcome, Outcome.theme_id == Theme.id)
            .where(Outcome.id == initiative.outcome_id)
        )
    ).one()
    backers = (await backer_counts(session, [initiative.id])).get(initiative.id, 0)
    return card_from(initiative, theme_label=row[0], outcome=row[1], backers=backers)


# --- who may propose, and for what ------------------------------------------------------------


async def tours_with_outcomes(session: AsyncSession, *, team_id: str) -> list[Tour]:
    """The team's tours that have committed outcomes, newest first."""
    with_outcomes = select(Outcome.tour_id).distinct()
    rows = await session.scalars(
        select(Tour)
        .where(Tour.team_id == team_id, Tour.id.in_(with_outcomes))
        .order_by(Tour.id.desc())
        .limit(RECENT_TOURS)
    )
    return list(rows.all())


async def took_part(session: AsyncSession, *, tour: Tour, user_id: str) -> bool:
    """Whether someone led, was asked in, or shaped outcomes for a tour (without Slack)."""
    if tour.leader_id == user_id:
        return True
    for model in (Participant, OutcomeShaper):
        found = await session.scalar(
            select(model.id).where(model.tour_id == tour.id, model.user_id == user_id).limit(1)
        )
        if found is not None:
            return True
    return False


async def outcome_options(session: AsyncSession, *, tour_ids: Sequence[int]) -> list[OutcomeOption]:
    if not tour_ids:
        return []
    rows = await session.execute(
        select(Outcome.id, Theme.label, Outcome.statement)
        .join(Theme, Theme.id == Outcome.theme_id)
        .where(Outcome.tour_id.in_(tour_ids))
        .order_by(Outcome.tour_id.desc(), Theme.position)
    )
    return [OutcomeOption(outcome_id=i, theme_label=label, statement=s) for i, label, s in rows]


async def propose(
    session: AsyncSession,
    *,
    team_id: str,
    outcome_id: int,
    proposer_id: str,
    draft: InitiativeDraft,
    suggested_owner_id: str | None,
    now: datetime,
) -> tuple[Initiative, Tour]:
    """Store a proposal for an outcome of this team's tours, and queue its card for the team
    channel (the outbox keeps Slack's timestamp, to redraw it as people back it)."""
    row = (
        await session.execute(
            select(Tour)
            .join(Outcome, Outcome.tour_id == Tour.id)
            .where(Outcome.id == outcome_id, Tour.team_id == team_id)
        )
    ).first()
    if row is None:
        raise OutcomeError({"outcome": "Pick one of the outcomes the team agreed."})
    tour = row[0]
    initiative = await propose_initiative(
        session,
        tour=tour,
        outcome_id=outcome_id,
        proposer_id=proposer_id,
        draft=draft,
        suggested_owner_id=suggested_owner_id,
        now=now,
    )
    if tour.channel_id:
        card = render_initiative_card(await card_of(session, initiative))
        await outbox.enqueue(
            session,
            team_id=tour.team_id,
            key=card_key(initiative.id),
            method="chat.postMessage",
            payload={"channel": tour.channel_id, **card.to_dict()},
            now=now,
        )
    return initiative, tour


def card_key(initiative_id: int) -> str:
    """The outbox key of a proposal's card in the team channel; its result holds the ts."""
    return f"initiative:{initiative_id}:card"


async def card_message(session: AsyncSession, *, initiative_id: int) -> tuple[str, str] | None:
    """(channel, ts) of the proposal's card, once Slack has it."""
    result = await session.scalar(
        select(OutboxMessage.result).where(OutboxMessage.idempotency_key == card_key(initiative_id))
    )
    if not result or not result.get("ts"):
        return None
    return str(result["channel"]), str(result["ts"])


def offer_key_prefix(initiative_id: int) -> str:
    return f"initiative:{initiative_id}:offer:"


async def offer_message(
    session: AsyncSession, *, initiative_id: int, team_id: str
) -> tuple[str, str] | None:
    """(channel, ts) of the latest offer of an initiative DMed to its owner, once Slack has
    it. Where a message about an initiative is redrawn is read from what we sent, never from
    the request: a signed request could otherwise name any message the bot may edit."""
    result = await session.scalar(
        select(OutboxMessage.result)
        .where(
            OutboxMessage.team_id == team_id,
            OutboxMessage.idempotency_key.startswith(offer_key_prefix(initiative_id)),
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    if not result or not result.get("ts") or not result.get("channel"):
        return None
    return str(result["channel"]), str(result["ts"])


async def toggle_backing(
    session: AsyncSession, *, initiative: Initiative, user_id: str
) -> tuple[bool, int]:
    """Back a proposal, or take the backing back; (backs it now, how many do)."""
    removed = await session.execute(
        delete(InitiativeBacking).where(
            InitiativeBacking.initiative_id == initiative.id, InitiativeBacking.user_id == user_id
        )
    )
    if getattr(removed, "rowcount", 0):
        count = (await backer_counts(session, [initiative.id])).get(initiative.id, 0)
        return False, count
    return True, await back(session, initiative=initiative, user_id=user_id)


async def active_count(session: AsyncSession, *, tour_id: int) -> int:
    count = await session.scalar(
        select(func.count()).where(Initiative.tour_id == tour_id, Initiative.status.in_(ACTIVE))
    )
    return int(count or 0)


# --- the leader commits; the owner answers ---------------------------------------------------


@dataclass(frozen=True)
class Commitment:
    owner_id: str
    due_date: date
    cadence_weeks: int
    title: str
    implications: str
    checkin_weekday: int = 0  # Monday


async def commit(
    session: AsyncSession,
    *,
    initiative: Initiative,
    tour: Tour,
    commitment: Commitment,
    today: date,
    now: datetime,
    cap: int,
    time_off: Away | None = None,
) -> Moved:
    """Offer a proposal (or a declined initiative) to an owner under the tour's cap, and DM
    them the offer, in their working hours and, when their Slack status says they are away
    (`time_off`), in their first working hours back. Problems by field raise OutcomeError."""
    problems: dict[str, str] = {}
    if not commitment.title.strip():
        problems["title"] = "Give the initiative a short title."
    if not commitment.implications.strip():
        problems["implications"] = "Say what the team will do differently."
    if commitment.due_date < today:
        problems["due"] = "That day has passed; pick a later one."
    if commitment.cadence_weeks not in (1, 2):
        problems["cadence"] = "Choose weekly or every two weeks."
    if not 0 <= commitment.checkin_weekday <= 4:
        problems["checkin_day"] = "Choose a weekday."
    if problems:
        raise OutcomeError(problems)
    moved = await commit_initiative(
        session,
        initiative=initiative,
        owner_id=commitment.owner_id,
        due_date=commitment.due_date,
        cadence_weeks=commitment.cadence_weeks,
        now=now,
        cap=cap,
    )
    if moved.refused is not None:
        return moved
    initiative.title = commitment.title.strip()
    initiative.checkin_weekday = commitment.checkin_weekday
    initiative.implications = commitment.implications.strip()
    card = await card_of(session, initiative)
    offer = render_offer(card=card, leader_id=tour.leader_id)
    await outbox.enqueue(
        session,
        team_id=tour.team_id,
        key=f"{offer_key_prefix(initiative.id)}{now.isoformat()}",
        method="chat.postMessage",
        payload={"channel": commitment.owner_id, **offer.to_dict()},
        now=now,
        # The offer waits for the owner's working hours, and for the end of their time off.
        not_before=(
            await working_hours.not_before(
                session,
                tour=tour,
                user_ids=[commitment.owner_id],
                now=now,
                time_off={commitment.owner_id: time_off} if time_off else None,
            )
        )[commitment.owner_id],
    )
    return moved


async def answer(
    session: AsyncSession,
    *,
    initiative: Initiative,
    tour: Tour,
    user_id: str,
    accept: bool,
    reason: str | None,
    now: datetime,
    owner_tz: str | None = None,
    default_tz: str = "UTC",
) -> Moved:
    """The owner accepts (their check-ins start, on their clock: `owner_tz`, or `default_tz`
    when Slack has none) or declines; the leader hears either way (a decline with a button to
    reassign). Only the owner can answer."""
    moved = await answer_offer(
        session, initiative=initiative, user_id=user_id, accept=accept, reason=reason
    )
    if moved.refused is not None:
        return moved
    if accept:
        schedule_first(initiative, tour, owner_tz=owner_tz, now=now, default_tz=default_tz)
    card = await card_of(session, initiative)
    payload: dict[str, object]
    if accept:
        payload = {"text": render_accepted_for_leader(card=card)}
    else:
        payload = render_declined_for_leader(card=card).to_dict()
    await outbox.enqueue(
        session,
        team_id=tour.team_id,
        key=f"initiative:{initiative.id}:answer:{now.isoformat()}",
        method="chat.postMessage",
        payload={"channel": tour.leader_id, **payload},
        now=now,
    )
    return moved


async def withdraw(
    session: AsyncSession, *, initiative: Initiative, tour: Tour, now: datetime
) -> Moved:
    """The leader takes back an offer its owner has not answered: the initiative closes, its
    place under the cap is free again, and the owner hears so."""
    if initiative.status is not InitiativeStatus.OFFERED:
        return Moved(initiative, Refused.NOT_ALLOWED)
    moved = await move(session, initiative=initiative, event=InitiativeEvent.STOP)
    if moved.refused is not None:
        return moved
    await outbox.enqueue(
        session,
        team_id=tour.team_id,
        key=f"initiative:{initiative.id}:withdrawn",
        method="chat.postMessage",
        payload={
            "channel": initiative.owner_id,
            "text": render_offer_withdrawn(title=initiative.title, leader_id=tour.leader_id),
        },
        now=now,
    )
    return moved


# --- quick wins and the App Home -------------------------------------------------------------


async def owned(
    session: AsyncSession,
    *,
    team_id: str,
    user_id: str,
    statuses: Sequence[InitiativeStatus] = (InitiativeStatus.ACCEPTED,),
) -> list[Initiative]:
    rows = await session.scalars(
        select(Initiative)
        .join(Tour, Tour.id == Initiative.tour_id)
        .where(
            Tour.team_id == team_id,
            Initiative.owner_id == user_id,
            Initiative.status.in_(statuses),
        )
        .order_by(Initiative.due_date, Initiative.id)
    )
    return list(rows.all())


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
    # Only a proposal is committed, and only a declined one reassigned: an offer still waiting
    # for its owner is not silently moved to someone else by a second, older form.
    if initiative.status is InitiativeStatus.PROPOSED:
        event = InitiativeEvent.COMMIT
    elif initiative.status is InitiativeStatus.DECLINED:
        event = InitiativeEvent.REASSIGN
    else:
        return Moved(initiative, Refused.NOT_ALLOWED)
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
