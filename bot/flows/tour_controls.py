"""The leader's controls over an open tour (issue #18): cancel it, move its close date, add a
co-leader. What `/partner tour cancel|extend|co-lead` means, and what a new close date needs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class ControlVerb(StrEnum):
    CANCEL = "cancel"
    EXTEND = "extend"  # also shortens: any close date from today on
    CO_LEAD = "co-lead"


VERBS = {verb.value: verb for verb in ControlVerb} | {"colead": ControlVerb.CO_LEAD}
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_TOUR_ID = re.compile(r"^#?(\d{1,9})$")

USAGE = (
    "`tour cancel`, `tour extend <YYYY-MM-DD>` (a later or an earlier day) or "
    "`tour co-lead @someone`, followed by the tour's number if you lead more than one open tour."
)


def is_control(arguments: str) -> bool:
    """Whether the words after `tour` are one of the controls (otherwise: launch a tour)."""
    first = arguments.strip().split(" ", 1)[0].lower()
    return first in VERBS


@dataclass(frozen=True)
class Control:
    verb: ControlVerb
    tour_id: int | None = None  # None: the one open tour the person leads
    close_date: date | None = None
    user_id: str | None = None


@dataclass(frozen=True)
class ControlProblem:
    message: str


def parse_control(arguments: str) -> Control | ControlProblem:
    """`extend 2026-03-12 4` -> Control(EXTEND, tour_id=4, close_date=2026-03-12)."""
    words = arguments.split()
    if not words or words[0].lower() not in VERBS:
        return ControlProblem(f"Try {USAGE}")
    verb = VERBS[words[0].lower()]
    tour_id: int | None = None
    close_date: date | None = None
    user_id: str | None = None
    for word in words[1:]:
        if (found := _DATE.match(word)) is not None:
            try:
                close_date = date(int(found[1]), int(found[2]), int(found[3]))
            except ValueError:
                return ControlProblem(f"{word} is not a day on the calendar.")
        elif (found := _MENTION.match(word)) is not None:
            user_id = found[1]
        elif (found := _TOUR_ID.match(word)) is not None:
            tour_id = int(found[1])
        else:
            return ControlProblem(f"I don't understand “{word[:40]}”. Try {USAGE}")
    if verb is ControlVerb.EXTEND and close_date is None:
        return ControlProblem("Say the new close date: `tour extend 2026-03-12`.")
    if verb is ControlVerb.CO_LEAD and user_id is None:
        return ControlProblem("Say who: `tour co-lead @someone`.")
    return Control(verb, tour_id=tour_id, close_date=close_date, user_id=user_id)


def close_date_problem(new: date, *, current: date, today: date) -> str | None:
    """Why the tour cannot close on `new` (`today` in the leader's zone), or None."""
    if new < today:
        return "That day has passed; pick today or a later day."
    if new == current:
        return f"The tour already closes on {new.isoformat()}."
    return None
