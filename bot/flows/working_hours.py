"""When a non-urgent DM may reach someone: inside their working hours in their own time zone,
and not while their Slack status says they are away. Pure: zone, window, status and `now` in,
an instant (or "not now") out."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = (0, 1, 2, 3, 4)  # Monday to Friday, as date.weekday() counts
WHEN_BACK = "when back from time off"
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Statuses that mean "away": Slack's own suggestions and what people type, in several
# languages. Operators replace either list with AWAY_STATUS_EMOJI / AWAY_STATUS_WORDS.
DEFAULT_AWAY_EMOJI = (
    ":palm_tree:",
    "🌴",
    ":face_with_thermometer:",
    "🤒",
    ":desert_island:",
    ":beach_with_umbrella:",
    ":baby_bottle:",
)
DEFAULT_AWAY_WORDS = (
    "vacation",
    "vacationing",
    "holiday",
    "holidays",
    "out of office",
    "out of the office",
    "ooo",
    "on leave",
    "parental leave",
    "sick leave",
    "off sick",
    "urlaub",
    "krank",
    "vacances",
    "congé",
    "en congé",
    "vacaciones",
    "de vacaciones",
    "ferie",
    "férias",
    "vakantie",
    "verlof",
    "urlop",
)


def zone(name: str | None) -> ZoneInfo:
    """A Slack `tz` as a ZoneInfo; an unknown or missing one falls back to UTC."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class WorkingHours:
    """A tour's delivery window, the same wall-clock hours for everyone in their own zone."""

    start: time = time(9)
    end: time = time(18)
    days: tuple[int, ...] = WEEKDAYS

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError("working hours must start before they end")
        if not self.days or any(day not in range(7) for day in self.days):
            raise ValueError("working days must be weekday numbers 0 (Monday) to 6 (Sunday)")

    @classmethod
    def from_columns(cls, start_minute: int, end_minute: int, days: str) -> WorkingHours:
        """From a tour's columns: minutes after midnight, and days as digits ("01234")."""
        return cls(
            start=time(start_minute // 60, start_minute % 60),
            end=time(end_minute // 60, end_minute % 60) if end_minute < 24 * 60 else time.max,
            days=tuple(sorted({int(digit) for digit in days})),
        )


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    # A wall-clock time skipped by a DST change (02:30 on a spring-forward night) resolves
    # to the instant an hour later on the new offset: the first moment the window is open.
    return datetime.combine(day, clock, tz).astimezone(UTC)


def next_allowed(now: datetime, tz_name: str | None, hours: WorkingHours) -> datetime:
    """`now` if it is inside the window in that zone, else the instant the window next opens."""
    tz = zone(tz_name)
    today = now.astimezone(tz).date()
    # A window is at most a week away; the day before today covers a window that, in a zone
    # whose clocks just moved, still runs past local midnight.
    for offset in range(-1, 9):
        day = today + timedelta(days=offset)
        if day.weekday() not in hours.days:
            continue
        opens, closes = _at(day, hours.start, tz), _at(day, hours.end, tz)
        if now < opens:
            return opens
        if now < closes:
            return now
    raise AssertionError("a working day is always within a week")  # pragma: no cover


@dataclass(frozen=True)
class SlackStatus:
    """A person's Slack status as users.info gives it; `expiration` 0 means none."""

    emoji: str = ""
    text: str = ""
    expiration: int = 0

    @classmethod
    def of_user(cls, user: dict[str, object]) -> SlackStatus:
        profile = user.get("profile")
        profile = profile if isinstance(profile, dict) else {}
        expiration = profile.get("status_expiration") or 0
        return cls(
            emoji=str(profile.get("status_emoji") or ""),
            text=str(profile.get("status_text") or ""),
            expiration=int(expiration) if isinstance(expiration, int | float | str) else 0,
        )


@dataclass(frozen=True)
class Away:
    """Time off, read from a status: until when (None when the status sets no end)."""

    until: datetime | None


@dataclass(frozen=True)
class AwayWords:
    """What counts as an away status: emoji codes (or the characters) and words or phrases."""

    emoji: tuple[str, ...] = DEFAULT_AWAY_EMOJI
    words: tuple[str, ...] = DEFAULT_AWAY_WORDS

    def matches(self, status: SlackStatus) -> bool:
        emoji = status.emoji.strip().casefold()
        text = status.text.casefold()
        if emoji and any(emoji == e.casefold() for e in self.emoji):
            return True
        if any(e in text for e in self.emoji if not e.startswith(":")):
            return True
        return any(_phrase(word).search(text) for word in self.words if word.strip())


def _phrase(word: str) -> re.Pattern[str]:
    # Whole words only: "ooo" is away, "cooool" is not; spacing inside a phrase is loose.
    parts = [re.escape(part) for part in word.casefold().split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)")


def away(status: SlackStatus, *, now: datetime, words: AwayWords) -> Away | None:
    """Whether this status means the person is away now, and until when."""
    if status.expiration and status.expiration <= now.timestamp():
        return None  # Slack clears an expired status lazily; it no longer holds
    if not words.matches(status):
        return None
    until = datetime.fromtimestamp(status.expiration, UTC) if status.expiration else None
    return Away(until)


def prompt_not_before(
    now: datetime, tz_name: str | None, hours: WorkingHours, time_off: Away | None
) -> datetime | None:
    """When a prompt (an invitation, a reminder, a check-in) may reach this person: in their
    window, after their time off. None while they are away with no end in sight."""
    if time_off is None:
        return next_allowed(now, tz_name, hours)
    if time_off.until is None:
        return None
    return next_allowed(max(now, time_off.until), tz_name, hours)


def prompt_at(
    now: datetime, tz_name: str | None, hours: WorkingHours, time_off: Away | None
) -> datetime:
    """When a prompt is queued to go: `prompt_not_before`, or, away with no end set, their next
    window anyway (nothing would ever send it otherwise; it waits in their DM until they are
    back)."""
    return prompt_not_before(now, tz_name, hours, time_off) or next_allowed(now, tz_name, hours)


@dataclass(frozen=True)
class Timing:
    """How a fan-out will arrive, for the leader: how many at once, and the rest by when."""

    now: int
    later: tuple[tuple[str, int], ...]

    def sentence(self) -> str:
        if not self.later:
            return ""
        parts = [f"{self.now} now"] if self.now else []
        parts += [
            f"{count} {when}" + ("" if when == WHEN_BACK else " their time")
            for when, count in self.later
        ]
        return ", ".join(parts)


def when_label(now: datetime, at: datetime, tz_name: str | None) -> str:
    """`at` as its recipient would say it: "today at 09:00", "tomorrow at 09:00", "Monday at
    09:00" (within the week), else the date."""
    tz = zone(tz_name)
    local_now, local_at = now.astimezone(tz), at.astimezone(tz)
    days = (local_at.date() - local_now.date()).days
    clock = local_at.strftime("%H:%M")
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    if days < 7:
        return f"{DAY_NAMES[local_at.weekday()]} at {clock}"
    return f"on {local_at.date().isoformat()} at {clock}"


def timing(now: datetime, deliveries: Iterable[tuple[str | None, datetime | None]]) -> Timing:
    """Sum up when each recipient (zone, not-before) will be asked; None means "when back"."""
    at_once = 0
    later: Counter[str] = Counter()
    order: dict[str, datetime] = {}
    for tz_name, at in deliveries:
        if at is None:
            later[WHEN_BACK] += 1
            order.setdefault(WHEN_BACK, datetime.max.replace(tzinfo=UTC))
        elif at <= now:
            at_once += 1
        else:
            label = when_label(now, at, tz_name)
            later[label] += 1
            order[label] = min(order.get(label, at), at)
    ranked: Sequence[str] = sorted(later, key=lambda label: (order[label], label))
    return Timing(at_once, tuple((label, later[label]) for label in ranked))


_DAY_CODES = {name[:3].casefold(): number for number, name in enumerate(DAY_NAMES)}
_WINDOW = re.compile(
    r"^\s*(?P<days>[A-Za-z,\- ]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)


def _clock(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    if (hours, minutes) == (24, 0):
        return time.max
    return time(hours, minutes)


def parse_working_hours(text: str) -> WorkingHours:
    """ "Mon-Fri 09:00-18:00", "Mon,Wed,Fri 08:30-16:00", "Mon-Sun 00:00-24:00"; ValueError
    saying what is wrong otherwise."""
    found = _WINDOW.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not like 'Mon-Fri 09:00-18:00'")
    days: set[int] = set()
    for part in found["days"].replace(" ", "").split(","):
        ends = [_DAY_CODES.get(code.casefold()[:3]) for code in part.split("-")]
        if not ends or len(ends) > 2 or any(end is None for end in ends):
            raise ValueError(f"{part!r}: days are Mon, Tue, Wed, Thu, Fri, Sat, Sun")
        first, last = ends[0], ends[-1]
        assert first is not None
        assert last is not None
        day = first
        days.add(day)
        while day != last:  # "Fri-Mon" wraps over the weekend
            day = (day + 1) % 7
            days.add(day)
    try:
        start, end = _clock(found["start"]), _clock(found["end"])
    except ValueError as error:
        raise ValueError(f"{text!r}: times are HH:MM, 00:00 to 24:00") from error
    return WorkingHours(start=start, end=end, days=tuple(sorted(days)))


def hours_columns(hours: WorkingHours) -> tuple[int, int, str]:
    """A window as a tour stores it: start and end minutes after midnight, and day digits."""
    end = 24 * 60 if hours.end == time.max else hours.end.hour * 60 + hours.end.minute
    return (
        hours.start.hour * 60 + hours.start.minute,
        end,
        "".join(str(day) for day in hours.days),
    )
