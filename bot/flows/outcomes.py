"""Steps 3 and 4 as rules: what a partner-focused outcome needs, what an initiative proposal
needs, how an initiative moves from proposed to done, and the cap on active initiatives.
Plain Python; dates come in as arguments. (Issue #5 builds the Slack side on these.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from bot.flows.poll import ranking
from bot.flows.review import MAX_FINAL_THEMES, Side

DEFAULT_ACTIVE_CAP = 3
MAX_ACTIVE_CAP = 10
CADENCES_WEEKS = (1, 2)  # weekly (default) or every two weeks
MAX_STATEMENT = 500
MAX_SHORT = 150


@dataclass(frozen=True)
class OutcomeDraft:
    """A partner-focused outcome as the leader commits it (or a direct report proposes it)."""

    statement: str  # what our business partners will notice
    partner: str  # who it serves
    measure: str  # how we will know, with a target
    target_date: date | None


def outcome_problems(draft: OutcomeDraft, *, today: date, proposal: bool = False) -> dict[str, str]:
    """Problems by field. A proposal needs only its statement and measure; a commitment needs
    everything, with a target date that has not passed."""
    problems: dict[str, str] = {}
    if not draft.statement.strip():
        problems["statement"] = "Say what your business partners will notice."
    elif len(draft.statement) > MAX_STATEMENT:
        problems["statement"] = f"Keep it under {MAX_STATEMENT} characters."
    if not draft.measure.strip():
        problems["measure"] = "Say how you'll measure it, with a target."
    if proposal:
        return problems
    if not draft.partner.strip():
        problems["partner"] = "Name the partner or stakeholder this outcome serves."
    elif len(draft.partner) > MAX_SHORT:
        problems["partner"] = f"Keep it under {MAX_SHORT} characters."
    if draft.target_date is None:
        problems["target_date"] = "Pick a target date."
    elif draft.target_date < today:
        problems["target_date"] = "That day has passed; pick a later one."
    return problems


# The sides worth an outcome by default: what the team said is hard (a "mixed" theme comes from
# before the sides were kept apart and holds challenges too). A strength is kept, not fixed.
TICKED_SIDES = frozenset({Side.CHALLENGE, Side.MIXED})


def outcome_theme_choices(
    themes: Sequence[tuple[int, str]],
    totals: Mapping[int, int],
    *,
    cap: int = MAX_FINAL_THEMES,  # themes the leader asks outcomes for at once
) -> tuple[list[tuple[int, int]], list[int]]:
    """ "Set outcomes": the posted themes as (theme id, votes), most votes first (a tie keeps
    the posted order), and the ids that start ticked: the challenges that received votes, the
    most voted first, at most `cap`. `themes` are (theme id, kind) in the posted order."""
    kinds = dict(themes)
    ranked = ranking([theme_id for theme_id, _ in themes], totals)
    ticked = [
        theme_id for theme_id, votes in ranked if votes > 0 and kinds[theme_id] in TICKED_SIDES
    ]
    return ranked, ticked[: max(cap, 0)]


@dataclass(frozen=True)
class InitiativeDraft:
    title: str
    implications: str  # what will we do differently?
    tracking: str  # how progress will be tracked
    first_quick_win: str


def initiative_problems(draft: InitiativeDraft) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not draft.title.strip():
        problems["title"] = "Give the initiative a short title."
    elif len(draft.title) > MAX_SHORT:
        problems["title"] = f"Keep the title under {MAX_SHORT} characters."
    if not draft.implications.strip():
        problems["implications"] = "Say what the team will do differently."
    if not draft.tracking.strip():
        problems["tracking"] = "Say how progress will be tracked."
    return problems


class InitiativeStatus(StrEnum):
    PROPOSED = "proposed"  # anyone proposed it; teammates may back it
    OFFERED = "offered"  # the leader committed it to an owner, who has not answered yet
    ACCEPTED = "accepted"  # the owner took it on: check-ins run
    DECLINED = "declined"  # the owner said no (with a reason): back to the leader
    DONE = "done"
    CLOSED = "closed"  # stopped without being done


# Taking a slot under the cap: offered to an owner, or accepted by one.
ACTIVE = frozenset({InitiativeStatus.OFFERED, InitiativeStatus.ACCEPTED})


class InitiativeEvent(StrEnum):
    COMMIT = "commit"  # the leader commits it, naming an owner
    ACCEPT = "accept"  # the owner accepts
    DECLINE = "decline"  # the owner declines
    REASSIGN = "reassign"  # the leader offers a declined one to someone else
    FINISH = "finish"  # the owner marks it done
    STOP = "stop"  # the leader closes it


TRANSITIONS: dict[tuple[InitiativeStatus, InitiativeEvent], InitiativeStatus] = {
    (InitiativeStatus.PROPOSED, InitiativeEvent.COMMIT): InitiativeStatus.OFFERED,
    (InitiativeStatus.OFFERED, InitiativeEvent.ACCEPT): InitiativeStatus.ACCEPTED,
    (InitiativeStatus.OFFERED, InitiativeEvent.DECLINE): InitiativeStatus.DECLINED,
    (InitiativeStatus.DECLINED, InitiativeEvent.REASSIGN): InitiativeStatus.OFFERED,
    (InitiativeStatus.OFFERED, InitiativeEvent.REASSIGN): InitiativeStatus.OFFERED,
    (InitiativeStatus.ACCEPTED, InitiativeEvent.FINISH): InitiativeStatus.DONE,
    (InitiativeStatus.PROPOSED, InitiativeEvent.STOP): InitiativeStatus.CLOSED,
    (InitiativeStatus.OFFERED, InitiativeEvent.STOP): InitiativeStatus.CLOSED,
    (InitiativeStatus.ACCEPTED, InitiativeEvent.STOP): InitiativeStatus.CLOSED,
    (InitiativeStatus.DECLINED, InitiativeEvent.STOP): InitiativeStatus.CLOSED,
}


class Refused(StrEnum):
    NOT_ALLOWED = "not_allowed"  # this event does not apply in this status
    CAP_REACHED = "cap_reached"


@dataclass(frozen=True)
class Step:
    status: InitiativeStatus
    refused: Refused | None = None


def next_status(status: InitiativeStatus, event: InitiativeEvent, *, active: int, cap: int) -> Step:
    """Where an initiative goes on `event`. A commit is refused once `cap` initiatives are
    already active; a reassignment keeps its slot, so the cap does not apply to it."""
    target = TRANSITIONS.get((status, event))
    if target is None:
        return Step(status, Refused.NOT_ALLOWED)
    if event is InitiativeEvent.COMMIT and active >= cap:
        return Step(status, Refused.CAP_REACHED)
    if event is InitiativeEvent.REASSIGN and status is InitiativeStatus.DECLINED and active >= cap:
        return Step(status, Refused.CAP_REACHED)
    return Step(target)


CHECKIN_WEEKDAY = 0  # Monday: the default check-in day (issue #6 makes the slot configurable)


def next_checkin_day(
    *, committed_on: date, today: date, cadence_weeks: int, weekday: int = CHECKIN_WEEKDAY
) -> date:
    """The day of an owner's next check-in, shown on their App Home: the first `weekday` after
    the day they were committed to, then every `cadence_weeks` weeks; the next one from today."""
    first = committed_on + timedelta(days=(weekday - committed_on.weekday() - 1) % 7 + 1)
    if today <= first:
        return first
    period = 7 * max(cadence_weeks, 1)
    behind = (today - first).days
    return first + timedelta(days=-(-behind // period) * period)
