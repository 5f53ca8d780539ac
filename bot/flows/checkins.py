"""Step 4's schedule as rules: when an owner's check-in is due, which period it belongs to, when
the nudge and the "missed" mark follow, when the weekly update posts, and how a check-in reply
typed in a DM reads. Plain Python; instants come in as arguments.

Every due item belongs to a period of the owner's (or leader's) own calendar: the local week in
which its slot falls, as an ISO week ("2026-W11"). The period is part of the item's idempotency
key, so a tick repeated, two ticks at once, a bot down for hours or a DST change send each item
exactly once per period: late rather than never, within GRACE, and after that recorded as
skipped instead of sent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from bot.flows.tour import zone

GRACE = timedelta(hours=12)
CHECKIN_WEEKDAY = 0  # Monday
CHECKIN_TIME = time(10, 0)
DIGEST_WEEKDAY = 4  # Friday
DIGEST_TIME = time(15, 0)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def local_slot(day: date, at: time, tz_name: str) -> datetime:
    """`at` on `day` on the clock of `tz_name`, as a UTC instant.

    A time that does not exist that day (skipped by a spring-forward change) comes out as the
    same wall time on the old offset, that is just after the gap; a time that happens twice
    (autumn) is its first occurrence. Either way each local day has exactly one slot."""
    return datetime.combine(day, at, tzinfo=zone(tz_name)).astimezone(UTC)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def period_key(start: date) -> str:
    """ "2026-W11": the ISO week of a period's first day."""
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Slot:
    """One scheduled item: the period it belongs to (the Monday starting it, in local time)
    and the UTC instant it is due."""

    period: date
    due_at: datetime

    @property
    def key(self) -> str:
        return period_key(self.period)


def slot_in(period: date, *, weekday: int, at: time, tz_name: str) -> Slot:
    """The slot of the period starting on Monday `period`."""
    return Slot(period, local_slot(period + timedelta(days=weekday), at, tz_name))


def first_checkin(
    committed_at: datetime,
    *,
    tz_name: str,
    weekday: int = CHECKIN_WEEKDAY,
    at: time = CHECKIN_TIME,
) -> Slot:
    """The first check-in: the first `weekday` after the day the owner took it on (never the
    same day: they have only just accepted)."""
    accepted_on = committed_at.astimezone(zone(tz_name)).date()
    day = accepted_on + timedelta(days=(weekday - accepted_on.weekday() - 1) % 7 + 1)
    return slot_in(week_start(day), weekday=weekday, at=at, tz_name=tz_name)


def following(
    slot: Slot,
    *,
    cadence_weeks: int,
    tz_name: str,
    weekday: int = CHECKIN_WEEKDAY,
    at: time = CHECKIN_TIME,
) -> Slot:
    """The slot one cadence after `slot` (computed on the local calendar, so a DST change
    between the two moves the UTC instant, not the local time)."""
    period = slot.period + timedelta(weeks=max(cadence_weeks, 1))
    return slot_in(period, weekday=weekday, at=at, tz_name=tz_name)


def next_day_slot(due_at: datetime, *, tz_name: str, at: time = CHECKIN_TIME) -> datetime:
    """The same local time on the day after `due_at`'s local day: when the nudge goes, and
    after the nudge, when the period is marked missed."""
    local_day = due_at.astimezone(zone(tz_name)).date()
    return local_slot(local_day + timedelta(days=1), at, tz_name)


class Timing(StrEnum):
    EARLY = "early"  # not due yet
    ON_TIME = "on_time"  # due, and within the grace: send (late rather than never)
    STALE = "stale"  # more than GRACE late: record as skipped, send nothing


def timing(due_at: datetime, now: datetime) -> Timing:
    if now < due_at:
        return Timing.EARLY
    return Timing.ON_TIME if now - due_at <= GRACE else Timing.STALE


def first_digest(
    now: datetime,
    *,
    tz_name: str,
    weekday: int = DIGEST_WEEKDAY,
    at: time = DIGEST_TIME,
) -> Slot:
    """The next weekly update from `now`: this week's slot if it is still ahead, else next
    week's."""
    this_week = slot_in(
        week_start(now.astimezone(zone(tz_name)).date()), weekday=weekday, at=at, tz_name=tz_name
    )
    if this_week.due_at > now:
        return this_week
    return following(this_week, cadence_weeks=1, tz_name=tz_name, weekday=weekday, at=at)


# --- a check-in answered in a DM ---------------------------------------------------------------


class CheckinStatus(StrEnum):
    """What the owner says about their initiative this period."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    DONE = "done"


# A DM is read as a check-in only when it starts with a status: "on track, 40%". Anywhere else
# in a sentence the words mislead ("not done yet", "50% done", "should be done by Friday").
STATUS_WORDS: tuple[tuple[CheckinStatus, re.Pattern[str]], ...] = (
    (CheckinStatus.ON_TRACK, re.compile(r"^\W*on[ -]?track\b", re.I)),
    (CheckinStatus.AT_RISK, re.compile(r"^\W*at[ -]?risk\b", re.I)),
    (CheckinStatus.OFF_TRACK, re.compile(r"^\W*(off[ -]?track|blocked|stuck)\b", re.I)),
    (CheckinStatus.DONE, re.compile(r"^\W*(done|finished|completed?)\b", re.I)),
)
# What separates the status, the percentage and the note: "on track, 40% — waiting on legal".
NOTE_JOINERS = " \t\n,.;:!-–—*_"
PERCENT = re.compile(r"(?<![\d.])(\d{1,3})\s?%")
WIN = re.compile(r"\bwin\s*[:\-–—]\s*(?P<win>.+)$", re.I | re.S)


@dataclass(frozen=True)
class CheckinReply:
    """A check-in as typed: "on track, 40% — win: finance got the first alert"."""

    status: CheckinStatus | None
    progress: int | None
    note: str
    win: str | None


def read_checkin_reply(text: str) -> CheckinReply:
    """The status it starts with (None when it starts with none), a percentage (0 to 100), an
    optional "win: …" at the end, and what follows the status and percentage as the note.
    "Done" is read but never acted on from text alone: the owner confirms it with a button."""
    body = text.strip()
    win = None
    found_win = WIN.search(body)
    if found_win:
        win = found_win.group("win").strip() or None
        body = body[: found_win.start()].strip()
    status, note = None, body
    for candidate, words in STATUS_WORDS:
        found_status = words.search(body)
        if found_status:
            status, note = candidate, body[found_status.end() :]
            break
    progress = None
    found_percent = PERCENT.search(note)
    if found_percent and int(found_percent.group(1)) <= 100:
        progress = int(found_percent.group(1))
        if status is not None and not note[: found_percent.start()].strip(NOTE_JOINERS):
            note = note[found_percent.end() :]  # "on track, 40% — …": the rest is the note
    if status is CheckinStatus.DONE and progress is None:
        progress = 100
    if status is None:
        return CheckinReply(status=None, progress=progress, note=body, win=win)
    note = note.lstrip(NOTE_JOINERS).rstrip(" \t\n,;:-–—")
    return CheckinReply(status=status, progress=progress, note=note, win=win)
