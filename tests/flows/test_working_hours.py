"""Working hours and time off, as tables, plus properties over any zone and instant."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.flows.working_hours import (
    Away,
    AwayWords,
    SlackStatus,
    WorkingHours,
    away,
    hours_columns,
    next_allowed,
    parse_working_hours,
    prompt_at,
    prompt_not_before,
    timing,
    when_label,
)

OFFICE = WorkingHours()  # Mon-Fri 09:00-18:00
EVERY_DAY = WorkingHours(days=(0, 1, 2, 3, 4, 5, 6))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz)).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "tz", "hours", "expected"),
    [
        # 09:00 Berlin on Monday 7 Dec 2026 is 00:00 in Los Angeles: wait for 09:00 there.
        (
            utc(2026, 12, 7, 8),
            "America/Los_Angeles",
            OFFICE,
            local("America/Los_Angeles", 2026, 12, 7, 9),
        ),
        # ... 05:00 in São Paulo: later the same morning.
        (
            utc(2026, 12, 7, 8),
            "America/Sao_Paulo",
            OFFICE,
            local("America/Sao_Paulo", 2026, 12, 7, 9),
        ),
        # ... 08:00 in London: one hour to wait.
        (utc(2026, 12, 7, 8), "Europe/London", OFFICE, utc(2026, 12, 7, 9)),
        # ... 17:00 in Tokyo: inside the window, now.
        (utc(2026, 12, 7, 8), "Asia/Tokyo", OFFICE, utc(2026, 12, 7, 8)),
        # 18:00 sharp is closed: the next working morning.
        (
            local("Europe/Berlin", 2026, 12, 8, 18),
            "Europe/Berlin",
            OFFICE,
            local("Europe/Berlin", 2026, 12, 9, 9),
        ),
        # Friday evening waits for Monday, skipping the weekend.
        (
            local("Europe/Berlin", 2026, 12, 11, 19),
            "Europe/Berlin",
            OFFICE,
            local("Europe/Berlin", 2026, 12, 14, 9),
        ),
        # Saturday noon waits for Monday...
        (
            local("Asia/Tokyo", 2026, 12, 12, 12),
            "Asia/Tokyo",
            OFFICE,
            local("Asia/Tokyo", 2026, 12, 14, 9),
        ),
        # ... unless the tour's window includes weekends.
        (
            local("Asia/Tokyo", 2026, 12, 12, 12),
            "Asia/Tokyo",
            EVERY_DAY,
            local("Asia/Tokyo", 2026, 12, 12, 12),
        ),
        # Tokyo's Monday 09:00 is still Sunday in UTC: the person's zone decides, not UTC's.
        (utc(2026, 12, 13, 23, 30), "Asia/Tokyo", OFFICE, utc(2026, 12, 14, 0)),
        # An unknown zone is UTC.
        (utc(2026, 12, 7, 7), "Mars/Olympus", OFFICE, utc(2026, 12, 7, 9)),
        # DST: Berlin springs forward on Sun 29 Mar 2026; Monday 09:00 is CEST (07:00 UTC).
        (utc(2026, 3, 28, 20), "Europe/Berlin", OFFICE, utc(2026, 3, 30, 7)),
        # DST: New York falls back on Sun 1 Nov 2026; Monday 09:00 is EST (14:00 UTC).
        (utc(2026, 10, 30, 23), "America/New_York", OFFICE, utc(2026, 11, 2, 14)),
        # A window opening in the spring-forward gap (02:30 never happens) opens at 03:30.
        (
            local("Europe/Berlin", 2026, 3, 29, 1),
            "Europe/Berlin",
            WorkingHours(start=time(2, 30), end=time(5), days=(6,)),
            utc(2026, 3, 29, 1, 30),
        ),
    ],
)
def test_next_allowed(now: datetime, tz: str, hours: WorkingHours, expected: datetime) -> None:
    assert next_allowed(now, tz, hours) == expected


ZONES = st.sampled_from(
    [
        "UTC",
        "Europe/Berlin",
        "Europe/London",
        "America/Los_Angeles",
        "America/Sao_Paulo",
        "America/St_Johns",
        "Asia/Tokyo",
        "Asia/Kolkata",
        "Australia/Lord_Howe",  # a 30-minute DST shift
        "Pacific/Chatham",
        "Pacific/Kiritimati",
    ]
)
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
WINDOWS = st.builds(
    WorkingHours,
    start=st.sampled_from([time(0), time(7), time(9), time(9, 30)]),
    end=st.sampled_from([time(12), time(18), time(23, 59)]),
    days=st.sets(st.integers(0, 6), min_size=1).map(lambda days: tuple(sorted(days))),
)


def _inside(at: datetime, tz: str, hours: WorkingHours) -> bool:
    wall = at.astimezone(ZoneInfo(tz))
    return wall.weekday() in hours.days and hours.start <= wall.time() < hours.end


@settings(max_examples=400, deadline=None)
@given(now=INSTANTS, tz=ZONES, hours=WINDOWS)
def test_next_allowed_is_the_first_open_instant(
    now: datetime, tz: str, hours: WorkingHours
) -> None:
    at = next_allowed(now, tz, hours)
    assert now <= at <= now + timedelta(days=8)
    assert _inside(at, tz, hours)
    # Nothing earlier was open: now itself (when it differs), and every quarter hour between.
    probe = now
    while probe < at:
        assert not _inside(probe, tz, hours)
        probe += timedelta(minutes=15)
    # Asking again at the answer gives the answer.
    assert next_allowed(at, tz, hours) == at


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        # Slack's own vacation suggestion, with an end.
        (
            SlackStatus(":palm_tree:", "Vacationing", 1_800_000_000),
            Away(datetime.fromtimestamp(1_800_000_000, UTC)),
        ),
        # The emoji alone is enough.
        (SlackStatus(":palm_tree:", "", 0), Away(None)),
        # Out sick.
        (SlackStatus(":face_with_thermometer:", "Out sick", 0), Away(None)),
        # Words in several languages, any case.
        (SlackStatus("", "OOO until Monday", 0), Away(None)),
        (SlackStatus("", "Out of office", 0), Away(None)),
        (SlackStatus("", "Im Urlaub", 0), Away(None)),
        (SlackStatus("", "En congé", 0), Away(None)),
        (SlackStatus("", "de vacaciones 🏖", 0), Away(None)),
        (SlackStatus("", "på ferie", 0), Away(None)),
        (SlackStatus("", "On leave", 0), Away(None)),
        # The emoji character typed into the text.
        (SlackStatus("", "🌴 back soon", 0), Away(None)),
        # Not away: busy, in a meeting, a word merely containing "ooo".
        (SlackStatus(":spiral_calendar_pad:", "In a meeting", 0), None),
        (SlackStatus(":coffee:", "cooool", 0), None),
        (SlackStatus("", "", 0), None),
        # An expired vacation status no longer counts (Slack clears it lazily).
        (SlackStatus(":palm_tree:", "Vacationing", 1_600_000_000), None),
    ],
)
def test_away(status: SlackStatus, expected: Away | None) -> None:
    now = datetime.fromtimestamp(1_700_000_000, UTC)
    assert away(status, now=now, words=AwayWords()) == expected


def test_away_words_are_configurable() -> None:
    now = utc(2026, 12, 7)
    words = AwayWords(emoji=(":sunny:",), words=("sabbatical",))
    assert away(SlackStatus(":sunny:", "", 0), now=now, words=words) == Away(None)
    assert away(SlackStatus("", "On sabbatical", 0), now=now, words=words) == Away(None)
    assert away(SlackStatus(":palm_tree:", "vacation", 0), now=now, words=words) is None


def test_status_of_user() -> None:
    user = {
        "profile": {"status_emoji": ":palm_tree:", "status_text": "Away", "status_expiration": 5}
    }
    assert SlackStatus.of_user(user) == SlackStatus(":palm_tree:", "Away", 5)
    assert SlackStatus.of_user({}) == SlackStatus()


@pytest.mark.parametrize(
    ("time_off", "expected"),
    [
        # Not away: the window decides (Monday 08:00 London waits for 09:00).
        (None, utc(2026, 12, 7, 9)),
        # Away until Thursday 10 Dec 00:00 UTC: Thursday 09:00 London.
        (Away(utc(2026, 12, 10)), utc(2026, 12, 10, 9)),
        # Away with no end: not now, not at any known time.
        (Away(None), None),
        # Time off that ended already: as if not away.
        (Away(utc(2026, 12, 1)), utc(2026, 12, 7, 9)),
    ],
)
def test_prompt_not_before(time_off: Away | None, expected: datetime | None) -> None:
    assert prompt_not_before(utc(2026, 12, 7, 8), "Europe/London", OFFICE, time_off) == expected


@pytest.mark.parametrize(
    ("time_off", "expected"),
    [
        # Not away: their window (London opens at 09:00).
        (None, utc(2026, 12, 7, 9)),
        # Away until Thursday 00:00: Thursday's window, not before.
        (Away(utc(2026, 12, 10)), utc(2026, 12, 10, 9)),
        # Back on Saturday: the next working day, Monday.
        (Away(utc(2026, 12, 12, 12)), utc(2026, 12, 14, 9)),
        # Back mid-afternoon: at once then, inside the window.
        (Away(utc(2026, 12, 8, 15, 30)), utc(2026, 12, 8, 15, 30)),
        # Away with no end set: their next window anyway, to be read when back.
        (Away(None), utc(2026, 12, 7, 9)),
    ],
)
def test_prompt_at(time_off: Away | None, expected: datetime) -> None:
    assert prompt_at(utc(2026, 12, 7, 8), "Europe/London", OFFICE, time_off) == expected


def test_working_hours_must_make_sense() -> None:
    with pytest.raises(ValueError, match="start before"):
        WorkingHours(start=time(18), end=time(9))
    with pytest.raises(ValueError, match="weekday numbers"):
        WorkingHours(days=())
    assert WorkingHours.from_columns(540, 1080, "01234") == OFFICE


NOW = utc(2026, 12, 7, 8)  # Monday 09:00 in Berlin


@pytest.mark.parametrize(
    ("at", "tz", "label"),
    [
        (local("America/Los_Angeles", 2026, 12, 7, 9), "America/Los_Angeles", "today at 09:00"),
        (local("Europe/Berlin", 2026, 12, 8, 9), "Europe/Berlin", "tomorrow at 09:00"),
        (local("Europe/Berlin", 2026, 12, 10, 9), "Europe/Berlin", "Thursday at 09:00"),
        (local("Europe/Berlin", 2026, 12, 21, 9), "Europe/Berlin", "on 2026-12-21 at 09:00"),
    ],
)
def test_when_label(at: datetime, tz: str, label: str) -> None:
    assert when_label(NOW, at, tz) == label


def test_timing_sums_up_a_fan_out() -> None:
    deliveries = [
        ("Asia/Tokyo", NOW),
        ("Asia/Tokyo", NOW),
        ("America/Los_Angeles", local("America/Los_Angeles", 2026, 12, 7, 9)),
        ("Europe/London", utc(2026, 12, 7, 9)),
        ("Europe/Berlin", local("Europe/Berlin", 2026, 12, 10, 9)),
        ("Europe/Berlin", None),
    ]
    assert timing(NOW, deliveries).sentence() == (
        "2 now, 2 today at 09:00 their time, 1 Thursday at 09:00 their time, "
        "1 when back from time off"
    )
    assert timing(NOW, [("UTC", NOW)]).sentence() == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon-Fri 09:00-18:00", OFFICE),
        ("mon-sun 00:00-24:00", WorkingHours(start=time(0), end=time.max, days=tuple(range(7)))),
        ("Mon,Wed,Fri 08:30-16:00", WorkingHours(time(8, 30), time(16), (0, 2, 4))),
        # A range over the weekend wraps.
        ("Sun-Thu 08:00-17:00", WorkingHours(time(8), time(17), (0, 1, 2, 3, 6))),
    ],
)
def test_parse_working_hours(text: str, expected: WorkingHours) -> None:
    assert parse_working_hours(text) == expected
    assert WorkingHours.from_columns(*hours_columns(expected)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "weekdays",
        "Mon-Fri 9-18",
        "Mon-Fri 18:00-09:00",
        "Mon-Xyz 09:00-18:00",
        "Mon-Fri 25:00-26:00",
    ],
)
def test_parse_working_hours_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        parse_working_hours(text)
