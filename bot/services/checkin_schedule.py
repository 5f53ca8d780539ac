"""When an owner's check-ins and a tour's weekly update are next due: set when an owner takes an
initiative on, moved when their Slack time zone changes or the leader moves the update. (Kept
apart from `bot.services.checkins`, which needs the initiatives service, so that service can
schedule without an import cycle.)"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.flows.checkins import (
    CHECKIN_TIME,
    Slot,
    first_checkin,
    first_digest,
    slot_in,
)
from bot.models import Initiative, Tour


def owner_zone(initiative: Initiative, default_tz: str) -> str:
    return initiative.owner_tz or default_tz


def digest_time(tour: Tour) -> time:
    return time(tour.digest_minute // 60, tour.digest_minute % 60)


def next_slot(initiative: Initiative) -> Slot:
    assert initiative.next_period is not None
    assert initiative.next_checkin_at is not None
    return Slot(initiative.next_period, initiative.next_checkin_at)


# --- scheduling --------------------------------------------------------------------------------


def schedule_first(
    initiative: Initiative, tour: Tour, *, owner_tz: str | None, now: datetime, default_tz: str
) -> None:
    """The owner took it on: their first check-in, and the tour's weekly update if this is its
    first initiative under way."""
    initiative.owner_tz = owner_tz
    initiative.owner_tz_checked_at = now
    slot = first_checkin(
        now, tz_name=owner_zone(initiative, default_tz), weekday=initiative.checkin_weekday
    )
    initiative.next_period, initiative.next_checkin_at = slot.period, slot.due_at
    initiative.zone_check_at = zone_check(slot)
    if tour.next_digest_at is None:
        tour.next_digest_at = first_digest(
            now, tz_name=tour.leader_tz, weekday=tour.digest_weekday, at=digest_time(tour)
        ).due_at


def reschedule_digest(tour: Tour, *, now: datetime) -> None:
    """The leader moved the weekly update: the next one at the new slot (if any are running)."""
    if tour.next_digest_at is not None:
        tour.next_digest_at = first_digest(
            now, tz_name=tour.leader_tz, weekday=tour.digest_weekday, at=digest_time(tour)
        ).due_at


ZONE_LEAD = timedelta(days=1)


def zone_check(slot: Slot) -> datetime:
    """When to re-read the owner's zone before `slot`: a day ahead, so a move is caught in time
    and Slack is asked at most once a period."""
    return slot.due_at - ZONE_LEAD


def move_to_zone(
    initiative: Initiative, tz_name: str | None, *, now: datetime, default_tz: str
) -> None:
    """The owner's Slack time zone, refreshed: the next check-in keeps its local period and
    time, on the new clock."""
    initiative.owner_tz_checked_at = now
    initiative.zone_check_at = None  # read for this period; set again when the next one is due
    if tz_name == initiative.owner_tz:
        return
    initiative.owner_tz = tz_name
    if initiative.next_period is not None and initiative.next_checkin_at is not None:
        initiative.next_checkin_at = slot_in(
            initiative.next_period,
            weekday=initiative.checkin_weekday,
            at=CHECKIN_TIME,
            tz_name=owner_zone(initiative, default_tz),
        ).due_at
