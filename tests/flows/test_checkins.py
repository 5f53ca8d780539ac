"""Step 4's schedule and the check-in reply reader, as tables. No clock: every instant is an
argument, and every expected UTC instant was worked out by hand from the zone's offsets."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.flows.checkins import (
    CheckinReply,
    CheckinStatus,
    Slot,
    Timing,
    first_checkin,
    first_digest,
    following,
    local_slot,
    next_day_slot,
    period_key,
    read_checkin_reply,
    timing,
    week_start,
)

NY = "America/New_York"  # 2026: EST -5 until 8 March 02:00, EDT -4 until 1 November 02:00
BERLIN = "Europe/Berlin"  # 2026: CET +1 until 29 March 02:00, CEST +2 until 25 October 03:00
# 2026: +11 until 5 April 02:00 (back to 01:30), +10:30 until 4 October 02:00 (on to 02:30)
LORD_HOWE = "Australia/Lord_Howe"
KOLKATA = "Asia/Kolkata"  # +5:30 all year
TEN = time(10, 0)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- one local time as a UTC instant -----------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "at", "tz_name", "expected"),
    [
        # New York, spring forward on Sunday 8 March
        (date(2026, 3, 7), TEN, NY, utc(2026, 3, 7, 15)),  # Saturday, still EST
        (date(2026, 3, 8), TEN, NY, utc(2026, 3, 8, 14)),  # the change day itself, EDT by 10:00
        (date(2026, 3, 9), TEN, NY, utc(2026, 3, 9, 14)),
        (date(2026, 3, 8), time(1, 59), NY, utc(2026, 3, 8, 6, 59)),  # just before the gap
        (date(2026, 3, 8), time(3, 0), NY, utc(2026, 3, 8, 7)),  # just after the gap
        # 02:30 does not exist: the same wall time on the old offset (-5), i.e. 03:30 EDT
        (date(2026, 3, 8), time(2, 30), NY, utc(2026, 3, 8, 7, 30)),
        # New York, fall back on Sunday 1 November
        (date(2026, 10, 31), TEN, NY, utc(2026, 10, 31, 14)),
        (date(2026, 11, 1), TEN, NY, utc(2026, 11, 1, 15)),
        (date(2026, 11, 2), TEN, NY, utc(2026, 11, 2, 15)),
        # 01:30 happens twice: the first one, still on EDT (-4)
        (date(2026, 11, 1), time(1, 30), NY, utc(2026, 11, 1, 5, 30)),
        # Berlin, spring forward on Sunday 29 March
        (date(2026, 3, 28), TEN, BERLIN, utc(2026, 3, 28, 9)),
        (date(2026, 3, 29), TEN, BERLIN, utc(2026, 3, 29, 8)),
        (date(2026, 3, 30), TEN, BERLIN, utc(2026, 3, 30, 8)),
        (date(2026, 3, 29), time(2, 30), BERLIN, utc(2026, 3, 29, 1, 30)),  # in the gap: +1
        # Berlin, fall back on Sunday 25 October
        (date(2026, 10, 24), TEN, BERLIN, utc(2026, 10, 24, 8)),
        (date(2026, 10, 25), TEN, BERLIN, utc(2026, 10, 25, 9)),
        (date(2026, 10, 25), time(2, 30), BERLIN, utc(2026, 10, 25, 0, 30)),  # twice: first, +2
        # Lord Howe: a 30-minute change, and its local day starts the day before in UTC
        (date(2026, 4, 4), TEN, LORD_HOWE, utc(2026, 4, 3, 23)),  # +11
        (date(2026, 4, 5), TEN, LORD_HOWE, utc(2026, 4, 4, 23, 30)),  # +10:30
        (date(2026, 4, 5), time(1, 45), LORD_HOWE, utc(2026, 4, 4, 14, 45)),  # twice: first, +11
        (date(2026, 10, 3), TEN, LORD_HOWE, utc(2026, 10, 2, 23, 30)),  # +10:30
        (date(2026, 10, 4), TEN, LORD_HOWE, utc(2026, 10, 3, 23)),  # +11
        (date(2026, 10, 4), time(2, 15), LORD_HOWE, utc(2026, 10, 3, 15, 45)),  # gap: +10:30
        # no DST at all
        (date(2026, 3, 8), TEN, KOLKATA, utc(2026, 3, 8, 4, 30)),
        (date(2026, 11, 1), TEN, KOLKATA, utc(2026, 11, 1, 4, 30)),
        (date(2026, 3, 8), TEN, "UTC", utc(2026, 3, 8, 10)),
        (date(2026, 3, 29), TEN, "UTC", utc(2026, 3, 29, 10)),
        # an unknown or malformed zone name: UTC
        (date(2026, 3, 8), TEN, "Mars/Olympus_Mons", utc(2026, 3, 8, 10)),
        (date(2026, 3, 29), TEN, "", utc(2026, 3, 29, 10)),
        (date(2026, 3, 29), TEN, "../etc/passwd", utc(2026, 3, 29, 10)),
    ],
)
def test_local_slot(day: date, at: time, tz_name: str, expected: datetime) -> None:
    slot = local_slot(day, at, tz_name)
    assert slot == expected
    assert slot.utcoffset() == timedelta(0)


@pytest.mark.parametrize("tz_name", [NY, BERLIN, LORD_HOWE, KOLKATA, "UTC"])
def test_local_slot_keeps_the_wall_time_every_day_of_the_year(tz_name: str) -> None:
    zone = ZoneInfo(tz_name)
    seen: set[datetime] = set()
    for offset in range(366):
        day = date(2026, 1, 1) + timedelta(days=offset)
        slot = local_slot(day, TEN, tz_name)
        local = slot.astimezone(zone)
        assert (local.date(), local.time()) == (day, TEN)
        seen.add(slot)
    assert len(seen) == 366  # one distinct instant per local day


# --- periods -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (date(2026, 3, 9), "2026-W11"),
        (date(2026, 1, 5), "2026-W02"),
        (date(2025, 12, 29), "2026-W01"),  # a Monday of December in ISO 2026's first week
        (date(2026, 12, 28), "2026-W53"),  # 2026 has 53 ISO weeks
        (date(2027, 1, 1), "2026-W53"),  # a Friday of January still in 2026's last week
        (date(2027, 1, 3), "2026-W53"),
        (date(2027, 1, 4), "2027-W01"),
        (date(2027, 3, 1), "2027-W09"),  # zero-padded
    ],
)
def test_period_key(start: date, expected: str) -> None:
    assert period_key(start) == expected
    year, week, _ = start.isocalendar()
    assert expected == f"{year}-W{week:02d}"
    assert Slot(start, utc(2026, 1, 1)).key == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 9), date(2026, 3, 9)),  # a Monday is its own week's start
        (date(2026, 3, 15), date(2026, 3, 9)),  # Sunday
        (date(2027, 1, 1), date(2026, 12, 28)),  # across the year
    ],
)
def test_week_start(day: date, expected: date) -> None:
    assert week_start(day) == expected


# --- the first check-in ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("committed_at", "tz_name", "period", "due_at"),
    [
        # Monday 09:00 EDT, before the 10:00 slot: still next Monday, never the same day
        (utc(2026, 3, 16, 13), NY, date(2026, 3, 23), utc(2026, 3, 23, 14)),
        (utc(2026, 3, 16, 14, 30), NY, date(2026, 3, 23), utc(2026, 3, 23, 14)),  # 10:30 EDT
        # Sunday 22:00 EDT is Monday 02:00 UTC: the local Sunday counts, so tomorrow
        (utc(2026, 3, 16, 2), NY, date(2026, 3, 16), utc(2026, 3, 16, 14)),
        # Sunday 23:30 CET (22:30 UTC): the Monday after
        (utc(2026, 3, 15, 22, 30), BERLIN, date(2026, 3, 16), utc(2026, 3, 16, 9)),
        # Monday 00:30 CET is still Sunday 23:30 UTC: the local Monday counts, so a week later
        (utc(2026, 3, 15, 23, 30), BERLIN, date(2026, 3, 23), utc(2026, 3, 23, 9)),
        # Monday 00:30 IST is Sunday 19:00 UTC
        (utc(2026, 3, 15, 19), KOLKATA, date(2026, 3, 23), utc(2026, 3, 23, 4, 30)),
        # a DST change in between: Thursday on EST, the check-in on EDT
        (utc(2026, 3, 5, 17), NY, date(2026, 3, 9), utc(2026, 3, 9, 14)),
        (utc(2026, 3, 24, 12), BERLIN, date(2026, 3, 30), utc(2026, 3, 30, 8)),  # CET → CEST
        (utc(2026, 10, 28, 12), NY, date(2026, 11, 2), utc(2026, 11, 2, 15)),  # EDT → EST
        # Friday 12:00 at +11; the Monday at +10:30 is Sunday 23:30 UTC
        (utc(2026, 4, 3, 1), LORD_HOWE, date(2026, 4, 6), utc(2026, 4, 5, 23, 30)),
        # across the year
        (utc(2026, 12, 31, 12), "UTC", date(2027, 1, 4), utc(2027, 1, 4, 10)),
        # an unknown zone: UTC's calendar
        (utc(2026, 3, 15, 23, 30), "Nowhere/Special", date(2026, 3, 16), utc(2026, 3, 16, 10)),
    ],
)
def test_first_checkin(
    committed_at: datetime, tz_name: str, period: date, due_at: datetime
) -> None:
    slot = first_checkin(committed_at, tz_name=tz_name)
    assert slot == Slot(period, due_at)
    assert slot.key == period_key(period)


@pytest.mark.parametrize("tz_name", [NY, BERLIN, LORD_HOWE, KOLKATA])
@pytest.mark.parametrize("hour", [0, 9, 10, 23])
@pytest.mark.parametrize("day", range(7))
def test_first_checkin_is_the_next_local_monday(tz_name: str, hour: int, day: int) -> None:
    zone = ZoneInfo(tz_name)
    committed = datetime(2026, 3, 2 + day, hour, 15, tzinfo=zone)  # Monday 2 March + day
    slot = first_checkin(committed.astimezone(UTC), tz_name=tz_name)
    local = slot.due_at.astimezone(zone)
    assert local.weekday() == 0
    assert local.time() == TEN
    assert 1 <= (local.date() - committed.date()).days <= 7
    assert slot.period == local.date()


@pytest.mark.parametrize(
    ("committed_at", "period", "due_at"),
    [
        # Wednesdays at 09:00 New York; the period is still the Monday starting the week
        (utc(2026, 3, 18, 13), date(2026, 3, 23), utc(2026, 3, 25, 13)),  # a Wednesday: next one
        (utc(2026, 3, 17, 13), date(2026, 3, 16), utc(2026, 3, 18, 13)),  # a Tuesday: tomorrow
        (utc(2026, 3, 6, 15), date(2026, 3, 9), utc(2026, 3, 11, 13)),  # Friday on EST
    ],
)
def test_first_checkin_on_another_weekday(
    committed_at: datetime, period: date, due_at: datetime
) -> None:
    slot = first_checkin(committed_at, tz_name=NY, weekday=2, at=time(9, 0))
    assert slot == Slot(period, due_at)


# --- the next check-in -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz_name", "cadence_weeks", "period", "due_at", "next_period", "next_due_at"),
    [
        # New York: EST → EDT, the UTC instant an hour earlier
        (NY, 1, date(2026, 3, 2), utc(2026, 3, 2, 15), date(2026, 3, 9), utc(2026, 3, 9, 14)),
        (NY, 2, date(2026, 2, 23), utc(2026, 2, 23, 15), date(2026, 3, 9), utc(2026, 3, 9, 14)),
        # New York: EDT → EST, an hour later
        (NY, 1, date(2026, 10, 26), utc(2026, 10, 26, 14), date(2026, 11, 2), utc(2026, 11, 2, 15)),
        (NY, 2, date(2026, 10, 26), utc(2026, 10, 26, 14), date(2026, 11, 9), utc(2026, 11, 9, 15)),
        # Berlin both ways
        (BERLIN, 1, date(2026, 3, 23), utc(2026, 3, 23, 9), date(2026, 3, 30), utc(2026, 3, 30, 8)),
        (BERLIN, 2, date(2026, 3, 23), utc(2026, 3, 23, 9), date(2026, 4, 6), utc(2026, 4, 6, 8)),
        (
            BERLIN,
            1,
            date(2026, 10, 19),
            utc(2026, 10, 19, 8),
            date(2026, 10, 26),
            utc(2026, 10, 26, 9),
        ),
        # Lord Howe: half an hour each way
        (
            LORD_HOWE,
            1,
            date(2026, 3, 30),
            utc(2026, 3, 29, 23),
            date(2026, 4, 6),
            utc(2026, 4, 5, 23, 30),
        ),
        (
            LORD_HOWE,
            1,
            date(2026, 9, 28),
            utc(2026, 9, 27, 23, 30),
            date(2026, 10, 5),
            utc(2026, 10, 4, 23),
        ),
        (
            LORD_HOWE,
            2,
            date(2026, 9, 21),
            utc(2026, 9, 20, 23, 30),
            date(2026, 10, 5),
            utc(2026, 10, 4, 23),
        ),
        # no change
        (
            KOLKATA,
            2,
            date(2026, 3, 2),
            utc(2026, 3, 2, 4, 30),
            date(2026, 3, 16),
            utc(2026, 3, 16, 4, 30),
        ),
        # across the year
        (BERLIN, 1, date(2026, 12, 28), utc(2026, 12, 28, 9), date(2027, 1, 4), utc(2027, 1, 4, 9)),
        # a cadence below one week counts as one week
        (NY, 0, date(2026, 3, 2), utc(2026, 3, 2, 15), date(2026, 3, 9), utc(2026, 3, 9, 14)),
        (NY, -3, date(2026, 3, 2), utc(2026, 3, 2, 15), date(2026, 3, 9), utc(2026, 3, 9, 14)),
    ],
)
def test_following(
    tz_name: str,
    cadence_weeks: int,
    period: date,
    due_at: datetime,
    next_period: date,
    next_due_at: datetime,
) -> None:
    after = following(Slot(period, due_at), cadence_weeks=cadence_weeks, tz_name=tz_name)
    assert after == Slot(next_period, next_due_at)
    zone = ZoneInfo(tz_name)
    local = after.due_at.astimezone(zone)
    assert (local.weekday(), local.time()) == (0, TEN)
    # the UTC gap is the whole weeks less whatever the clocks moved in between
    before_offset = due_at.astimezone(zone).utcoffset()
    after_offset = local.utcoffset()
    assert before_offset is not None
    assert after_offset is not None
    assert after.due_at - due_at == (next_period - period) - (after_offset - before_offset)


def test_following_keys_change_across_the_year() -> None:
    slot = Slot(date(2026, 12, 21), utc(2026, 12, 21, 15))
    keys = []
    for _ in range(3):
        slot = following(slot, cadence_weeks=1, tz_name=NY)
        keys.append(slot.key)
    assert keys == ["2026-W53", "2027-W01", "2027-W02"]


def test_following_the_weekly_update_across_dst() -> None:
    friday = Slot(date(2026, 3, 2), utc(2026, 3, 6, 20))  # Friday 15:00 EST
    after = following(friday, cadence_weeks=1, tz_name=NY, weekday=4, at=time(15, 0))
    assert after == Slot(date(2026, 3, 9), utc(2026, 3, 13, 19))  # Friday 15:00 EDT


# --- the nudge and the "missed" mark ------------------------------------------------------------


@pytest.mark.parametrize(
    ("due_at", "tz_name", "at", "expected"),
    [
        (utc(2026, 3, 7, 15), NY, TEN, utc(2026, 3, 8, 14)),  # Saturday EST → Sunday EDT
        (utc(2026, 3, 8, 14), NY, TEN, utc(2026, 3, 9, 14)),
        (utc(2026, 10, 31, 14), NY, TEN, utc(2026, 11, 1, 15)),  # Saturday EDT → Sunday EST
        (utc(2026, 3, 28, 9), BERLIN, TEN, utc(2026, 3, 29, 8)),
        (utc(2026, 10, 24, 8), BERLIN, TEN, utc(2026, 10, 25, 9)),
        (utc(2026, 4, 3, 23), LORD_HOWE, TEN, utc(2026, 4, 4, 23, 30)),  # Sat +11 → Sun +10:30
        (utc(2026, 10, 2, 23, 30), LORD_HOWE, TEN, utc(2026, 10, 3, 23)),  # Sat +10:30 → Sun +11
        # Sunday 23:00 EDT is Monday 03:00 UTC: the next local day is that Monday
        (utc(2026, 3, 16, 3), NY, TEN, utc(2026, 3, 16, 14)),
        # Monday 00:30 CET is Sunday 23:30 UTC: the next local day is Tuesday
        (utc(2026, 3, 15, 23, 30), BERLIN, TEN, utc(2026, 3, 17, 9)),
        # a time other than the default
        (utc(2026, 3, 28, 14), BERLIN, time(15, 0), utc(2026, 3, 29, 13)),
        (utc(2026, 12, 31, 10), "UTC", TEN, utc(2027, 1, 1, 10)),
    ],
)
def test_next_day_slot(due_at: datetime, tz_name: str, at: time, expected: datetime) -> None:
    assert next_day_slot(due_at, tz_name=tz_name, at=at) == expected


# --- on time or stale --------------------------------------------------------------------------

DUE = utc(2026, 3, 9, 14)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (DUE - timedelta(days=1), Timing.EARLY),
        (DUE - timedelta(seconds=1), Timing.EARLY),
        (DUE - timedelta(microseconds=1), Timing.EARLY),
        (DUE, Timing.ON_TIME),
        (DUE + timedelta(seconds=1), Timing.ON_TIME),
        (DUE + timedelta(hours=11, minutes=59, seconds=59), Timing.ON_TIME),
        (DUE + timedelta(hours=12), Timing.ON_TIME),  # the grace's last instant
        (DUE + timedelta(hours=12, microseconds=1), Timing.STALE),
        (DUE + timedelta(hours=12, seconds=1), Timing.STALE),
        (DUE + timedelta(days=7), Timing.STALE),
        # the same instants written on another clock
        (DUE.astimezone(ZoneInfo(NY)), Timing.ON_TIME),
        ((DUE - timedelta(seconds=1)).astimezone(ZoneInfo(LORD_HOWE)), Timing.EARLY),
        ((DUE + timedelta(hours=12, seconds=1)).astimezone(ZoneInfo(BERLIN)), Timing.STALE),
    ],
)
def test_timing(now: datetime, expected: Timing) -> None:
    assert timing(DUE, now) is expected


# --- the weekly update -------------------------------------------------------------------------

FIVE_PM = time(17, 0)


@pytest.mark.parametrize(
    ("now", "tz_name", "expected"),
    [
        # Berlin, Fridays 15:00: 14:00 UTC on CET
        (utc(2026, 3, 16, 8), BERLIN, Slot(date(2026, 3, 16), utc(2026, 3, 20, 14))),  # Monday
        (utc(2026, 3, 20, 13, 59, 59), BERLIN, Slot(date(2026, 3, 16), utc(2026, 3, 20, 14))),
        # exactly at the slot: strictly after, so next week's
        (utc(2026, 3, 20, 14), BERLIN, Slot(date(2026, 3, 23), utc(2026, 3, 27, 14))),
        (utc(2026, 3, 20, 14, 0, 1), BERLIN, Slot(date(2026, 3, 23), utc(2026, 3, 27, 14))),
        (utc(2026, 3, 21, 10), BERLIN, Slot(date(2026, 3, 23), utc(2026, 3, 27, 14))),  # Saturday
        # the clocks change between this Friday and the next: 13:00 UTC on CEST
        (utc(2026, 3, 27, 14), BERLIN, Slot(date(2026, 3, 30), utc(2026, 4, 3, 13))),
        (utc(2026, 3, 29, 12), BERLIN, Slot(date(2026, 3, 30), utc(2026, 4, 3, 13))),  # Sunday
        # Sunday 23:30 CEST is still Sunday 21:30 UTC: that local week's Friday has passed
        (utc(2026, 3, 29, 21, 30), BERLIN, Slot(date(2026, 3, 30), utc(2026, 4, 3, 13))),
        # New York, EST → EDT
        (utc(2026, 3, 6, 19, 59), NY, Slot(date(2026, 3, 2), utc(2026, 3, 6, 20))),
        (utc(2026, 3, 6, 20), NY, Slot(date(2026, 3, 9), utc(2026, 3, 13, 19))),
        # Friday 22:00 EST is Saturday 03:00 UTC
        (utc(2026, 3, 7, 3), NY, Slot(date(2026, 3, 9), utc(2026, 3, 13, 19))),
        # New York, EDT → EST
        (utc(2026, 10, 30, 19), NY, Slot(date(2026, 11, 2), utc(2026, 11, 6, 20))),
        (utc(2026, 10, 30, 18, 59), NY, Slot(date(2026, 10, 26), utc(2026, 10, 30, 19))),
        # Lord Howe: Friday 15:00 at +11 is 04:00 UTC; the next at +10:30 is 04:30 UTC
        (utc(2026, 4, 3, 4), LORD_HOWE, Slot(date(2026, 4, 6), utc(2026, 4, 10, 4, 30))),
        # Monday 02:00 IST is Sunday 20:30 UTC: this (local) week's Friday is ahead
        (utc(2026, 3, 15, 20, 30), KOLKATA, Slot(date(2026, 3, 16), utc(2026, 3, 20, 9, 30))),
        # across the year: Friday 1 January 2027 belongs to 2026-W53
        (utc(2026, 12, 30, 12), "UTC", Slot(date(2026, 12, 28), utc(2027, 1, 1, 15))),
    ],
)
def test_first_digest(now: datetime, tz_name: str, expected: Slot) -> None:
    slot = first_digest(now, tz_name=tz_name)
    assert slot == expected
    assert slot.due_at > now
    assert slot.due_at - now <= timedelta(weeks=1, hours=1)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 3, 2, 15), Slot(date(2026, 3, 2), utc(2026, 3, 2, 16))),  # Monday 16:00 CET
        (utc(2026, 3, 2, 16), Slot(date(2026, 3, 9), utc(2026, 3, 9, 16))),
        (utc(2026, 3, 27, 16), Slot(date(2026, 3, 30), utc(2026, 3, 30, 15))),  # then CEST
    ],
)
def test_first_digest_on_another_day_and_time(now: datetime, expected: Slot) -> None:
    assert first_digest(now, tz_name=BERLIN, weekday=0, at=FIVE_PM) == expected


# --- a check-in typed in a DM ------------------------------------------------------------------

ON, RISK, OFF, DONE = (
    CheckinStatus.ON_TRACK,
    CheckinStatus.AT_RISK,
    CheckinStatus.OFF_TRACK,
    CheckinStatus.DONE,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on track", CheckinReply(ON, None, "", None)),
        ("On-track 40%", CheckinReply(ON, 40, "", None)),
        ("ontrack, 40 %", CheckinReply(ON, 40, "", None)),
        (
            "at risk, 30% — waiting on Finance",
            CheckinReply(RISK, 30, "waiting on Finance", None),  # the rest is the note
        ),
        (
            "off track: blocked by legal",
            CheckinReply(OFF, None, "blocked by legal", None),
        ),
        ("stuck, 20%", CheckinReply(OFF, 20, "", None)),
        ("done!", CheckinReply(DONE, 100, "", None)),  # done without a number: 100
        ("done 80%", CheckinReply(DONE, 80, "", None)),  # a number says otherwise
        ("Completed", CheckinReply(DONE, 100, "", None)),
        ("40%", CheckinReply(None, 40, "40%", None)),  # a number alone has no status
        ("on track 0%", CheckinReply(ON, 0, "", None)),
        ("At Risk, 100%", CheckinReply(RISK, 100, "", None)),
        ("done, 101%", CheckinReply(DONE, 100, "101%", None)),  # 101 is no progress
        ("150%", CheckinReply(None, None, "150%", None)),  # over 100: no progress
        # only a status the reply starts with counts: words later in a sentence mislead
        ("slipping, 1000%", CheckinReply(None, None, "slipping, 1000%", None)),
        ("at risk, 1000%", CheckinReply(RISK, None, "1000%", None)),
        (
            "at risk, 10%. Sales still quotes dates from the old roadmap.",
            CheckinReply(RISK, 10, "Sales still quotes dates from the old roadmap.", None),
        ),
        (
            "on track, 60% - should be done by Friday",
            CheckinReply(ON, 60, "should be done by Friday", None),
        ),
        ("not done yet, about 60%", CheckinReply(None, 60, "not done yet, about 60%", None)),
        ("50% done", CheckinReply(None, 50, "50% done", None)),
        (
            "Is it ok if I send the deck later?",
            CheckinReply(None, None, "Is it ok if I send the deck later?", None),
        ),
        ("about 12.5%", CheckinReply(None, None, "about 12.5%", None)),  # not "5%"
        (
            "on track, 50% win: finance saw the first alert",
            CheckinReply(ON, 50, "", "finance saw the first alert"),
        ),
        ("it's fine – win – shipped", CheckinReply(None, None, "it's fine –", "shipped")),
        ("On-track – win – shipped", CheckinReply(ON, None, "", "shipped")),
        ("WIN: shipped the template", CheckinReply(None, None, "", "shipped the template")),
        # a win on its own line, and one that spans lines
        (
            "on track, 40%\nwin: the first alert went out",
            CheckinReply(ON, 40, "", "the first alert went out"),
        ),
        ("at risk\nwin — a\nb", CheckinReply(RISK, None, "", "a\nb")),
        # words and numbers inside the win are not read as the status or the progress
        (
            "on track — win: unblocked the stuck build, 90% faster",
            CheckinReply(ON, None, "", "unblocked the stuck build, 90% faster"),
        ),
        ("", CheckinReply(None, None, "", None)),
        ("  \n\t ", CheckinReply(None, None, "", None)),
        ("on track\x00 40%", CheckinReply(ON, 40, "\x00 40%", None)),
        ("🚀 on track 🎉 60 %", CheckinReply(ON, 60, "🎉 60 %", None)),
        ("  ok  ", CheckinReply(None, None, "ok", None)),  # too loose to read as a status
        ("book club", CheckinReply(None, None, "book club", None)),  # "ok" only as a word
        # the first words decide
        (
            "not on track, off track really",
            CheckinReply(None, None, "not on track, off track really", None),
        ),
        ("good, but at risk", CheckinReply(None, None, "good, but at risk", None)),
        ("*Off track*: legal", CheckinReply(OFF, None, "legal", None)),
        ("blocked, otherwise fine", CheckinReply(OFF, None, "otherwise fine", None)),
    ],
)
def test_read_checkin_reply(text: str, expected: CheckinReply) -> None:
    assert read_checkin_reply(text) == expected
