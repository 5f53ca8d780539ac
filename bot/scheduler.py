"""Scheduled work. `run_tick(deps)` does everything due at the clock's "now", once; the
in-process APScheduler job and `partnerbot tick --at` both call it.

Schedules live in our tables, not in APScheduler's job store: a tick asks "what is due?", and
every job is idempotent, so a missed, doubled or concurrent tick changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.db import LAUNCHES_LOCK, TICK_LOCK, exclusive, scrub_deleted
from bot.deps import Deps
from bot.flows.review import MAX_SUGGESTED_THEMES
from bot.models import Initiative
from bot.services import checkin_schedule, checkins, closing, digests, findings, launch, tour
from bot.services.working_hours import time_off
from bot.settings import Settings
from bot.store.events import prune_events
from bot.store.findings import tours_awaiting_suggestions
from bot.store.outbox import purge_sent_payloads
from bot.store.tours import get_tour, launches_due
from bot.themes import suggest_themes_async
from bot.themes.llm import LlmEndpoint, refine_with_llm

log = logging.getLogger("bot.scheduler")

EVENT_RETENTION = timedelta(days=7)
ZONE_RETRY = timedelta(hours=1)

DueJob = Callable[[Deps], Awaitable[int]]


async def prune_processed_events(deps: Deps) -> int:
    async with deps.sessions.begin() as session:
        return await prune_events(session, older_than=deps.clock.now() - EVENT_RETENTION)


# Sent outbox payloads emptied per tick at most: an upgrade that finds a large outbox purges
# it over a few minutes rather than in one long transaction.
PURGE_BATCH = 5_000


async def purge_outbox_payloads(deps: Deps) -> int:
    now = deps.clock.now()
    retention = timedelta(days=deps.settings.outbox_retention_days)
    async with deps.sessions.begin() as session:
        return await purge_sent_payloads(
            session, sent_before=now - retention, now=now, limit=PURGE_BATCH
        )


async def resolve_due_launches(deps: Deps) -> int:
    async with deps.sessions() as session:
        due = await launches_due(session, now=deps.clock.now())
    return sum([await launch.resolve_launch(deps, tour_id) for tour_id in due])


async def close_due_tours(deps: Deps) -> int:
    async with deps.sessions.begin() as session:
        closed = await tour.close_due_tours(
            session, now=deps.clock.now(), command=deps.settings.partnerbot_command
        )
    if closed:
        await scrub_deleted(deps.engine)  # the keys the closes destroyed, from every file
    return closed


async def queue_due_reminders(deps: Deps) -> int:
    async with deps.sessions() as session:
        due = await tour.due_reminders(session, now=deps.clock.now())
    away_now = await time_off(deps, [(t.team_id, p.user_id) for t, p, _ in due])
    async with deps.sessions.begin() as session:
        return await tour.queue_due_reminders(session, now=deps.clock.now(), time_off=away_now)


async def suggest_themes_for(deps: Deps, tour_id: int) -> bool:
    """Group a closed tour's answers into suggested themes, off any request path: read,
    compute (in a child process or a worker thread, outside any transaction), then store once.
    One process at a time per tour: a web replica's Close now and a worker's tick (or two
    workers' ticks) would otherwise both run the engine, and both send the answers to an LLM;
    False, doing nothing, while another process groups it."""
    async with exclusive(deps.engine, tour_id) as ours:
        if not ours:
            log.info("another process is grouping this tour", extra={"tour": tour_id})
            return False
        return await _suggest_themes_for(deps, tour_id)


async def _suggest_themes_for(deps: Deps, tour_id: int) -> bool:
    async with deps.sessions() as session:
        closed = await get_tour(session, tour_id=tour_id)
        inputs = await findings.grouping_input(session, tour=closed) if closed else None
    if closed is None:
        return False
    suggestions = None
    if inputs is not None:
        names = await _member_names(deps, closed.team_id)
        # More than the three the team may see, so the leader can swap in what works well.
        with deps.metrics.theme_engine_seconds.time():
            suggestions = await suggest_themes_async(
                inputs,
                names=names,
                max_themes=MAX_SUGGESTED_THEMES,
                in_child=deps.settings.themes_in_child_process,
            )
        endpoint = llm_endpoint(deps.settings)
        if endpoint is not None:
            suggestions = await refine_with_llm(suggestions, inputs, endpoint=endpoint, names=names)
    async with deps.sessions.begin() as session:
        stored = await findings.store_suggestions(
            session,
            tour_id=tour_id,
            suggestions=suggestions,
            now=deps.clock.now(),
            command=deps.settings.partnerbot_command,
        )
    deps.delivery.notify()
    return stored


def llm_endpoint(settings: Settings) -> LlmEndpoint | None:
    if settings.llm_base_url is None or not settings.llm_model:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return LlmEndpoint(base_url=str(settings.llm_base_url), api_key=key, model=settings.llm_model)


async def _member_names(deps: Deps, team_id: str) -> list[str]:
    """Everyone's names in the workspace, to keep them out of theme labels. Without Slack
    (a token problem, an outage) the labels still drop @-mentions; log and go on."""
    client = await deps.client_for(team_id)
    if client is None:
        return []
    try:
        members = await deps.directory.members(client, team_id=team_id, now=deps.clock.now())
    except SlackApiError as error:
        log.warning("could not list members for theme labels", extra={"error": str(error)})
        return []
    return [name for entry in members.values() for name in entry.names]


async def refresh_owner_zones(deps: Deps) -> int:
    """Owners' Slack time zones, refreshed at most daily before their check-ins: the slot is
    10:00 on their clock, wherever they are now."""
    if deps.client is None:
        return 0
    async with deps.sessions() as session:
        stale = [
            (i.id, i.owner_id, team_id)
            for i, team_id in await checkins.zones_to_refresh(session, now=deps.clock.now())
        ]
    zones: dict[int, str | None] = {}
    failed: list[int] = []
    for initiative_id, owner_id, team_id in stale:
        try:
            assert owner_id is not None
            client = await deps.client_for(team_id)
            if client is None:  # no token for the workspace: held, asked again later
                failed.append(initiative_id)
                continue
            person = await deps.directory.person(
                client, team_id=team_id, user_id=owner_id, now=deps.clock.now()
            )
        except (SlackApiError, AssertionError) as error:
            log.warning("could not read an owner's time zone", extra={"error": str(error)})
            failed.append(initiative_id)
            continue
        zones[initiative_id] = person.tz if person.has_tz else None
    now = deps.clock.now()
    async with deps.sessions.begin() as session:
        for initiative_id, tz_name in zones.items():
            initiative = await session.get(Initiative, initiative_id, with_for_update=True)
            if initiative is not None:
                checkin_schedule.move_to_zone(
                    initiative, tz_name, now=now, default_tz=deps.settings.default_timezone
                )
        for initiative_id in failed:  # try again in an hour; the others go first meanwhile
            initiative = await session.get(Initiative, initiative_id, with_for_update=True)
            if initiative is not None:
                initiative.zone_check_at = now + ZONE_RETRY
    return len(zones)


async def send_due_checkins(deps: Deps) -> int:
    async with deps.sessions() as session:
        owners = await checkins.owners_due(session, now=deps.clock.now())
    away_now = await time_off(deps, owners)
    async with deps.sessions.begin() as session:
        return await checkins.send_due_checkins(
            session,
            now=deps.clock.now(),
            default_tz=deps.settings.default_timezone,
            time_off=away_now,
        )


async def send_due_nudges(deps: Deps) -> int:
    async with deps.sessions() as session:
        owners = await checkins.owners_due(session, now=deps.clock.now(), nudges=True)
    away_now = await time_off(deps, owners)
    async with deps.sessions.begin() as session:
        return await checkins.send_due_nudges(
            session,
            now=deps.clock.now(),
            default_tz=deps.settings.default_timezone,
            time_off=away_now,
        )


async def mark_missed_checkins(deps: Deps) -> int:
    async with deps.sessions.begin() as session:
        return await checkins.mark_missed(session, now=deps.clock.now())


async def ask_about_overdue(deps: Deps) -> int:
    async with deps.sessions.begin() as session:
        return await closing.ask_overdue(
            session, now=deps.clock.now(), default_tz=deps.settings.default_timezone
        )


async def post_weekly_updates(deps: Deps) -> int:
    async with deps.sessions.begin() as session:
        return await digests.post_due_digests(
            session, now=deps.clock.now(), default_tz=deps.settings.default_timezone
        )


async def close_due_polls(deps: Deps) -> int:
    async with deps.sessions.begin() as session:
        closed = await findings.close_due_polls(session, now=deps.clock.now())
    if closed:
        await scrub_deleted(deps.engine)  # the votes the closes forgot, from every file
    return closed


async def suggest_pending_themes(deps: Deps) -> int:
    async with deps.sessions() as session:
        pending = await tours_awaiting_suggestions(session)
    done = 0
    for tour_id in pending:
        try:
            done += await suggest_themes_for(deps, tour_id)
        except Exception:
            # One tour's trouble (a Slack timeout listing names) must not hold up the others.
            log.exception("grouping a tour's answers failed", extra={"tour": tour_id})
    return done


DUE_JOBS: tuple[tuple[str, DueJob], ...] = (
    ("tours launched", resolve_due_launches),
    ("tours closed", close_due_tours),
    ("reminders queued", queue_due_reminders),
    ("themes suggested", suggest_pending_themes),
    ("polls closed", close_due_polls),
    ("owner time zones refreshed", refresh_owner_zones),
    ("check-ins sent", send_due_checkins),
    ("nudges sent", send_due_nudges),
    ("check-ins missed", mark_missed_checkins),
    ("overdue initiatives asked about", ask_about_overdue),
    ("weekly updates posted", post_weekly_updates),
    ("events pruned", prune_processed_events),
    ("sent messages' payloads purged", purge_outbox_payloads),
)


@dataclass
class TickReport:
    counts: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    @property
    def did_something(self) -> bool:
        return bool(self.failed) or any(self.counts.values())

    def summary(self) -> str:
        done = ", ".join(f"{count} {name}" for name, count in self.counts.items())
        return done + "".join(f", {name} FAILED (see the log)" for name in self.failed)


async def run_tick(deps: Deps) -> TickReport:
    """Every due job, each on its own: one that fails is logged and the rest still run (a
    broken tour must not hold up reminders, closing or the outbox for everyone else)."""
    report = TickReport()
    async with deps.tick_lock:  # shutdown waits for a tick in progress
        started = time.perf_counter()
        for name, job in DUE_JOBS:
            try:
                report.counts[name] = await job(deps)
            except Exception:
                log.exception("scheduled job failed", extra={"job": name})
                report.failed.append(name)
        delivered = await deps.delivery.deliver_due()
        deps.metrics.tick_seconds.observe(time.perf_counter() - started)
    report.counts["messages sent"] = delivered.sent
    report.counts["messages failed"] = delivered.failed
    report.counts["messages to retry"] = delivered.retried
    return report


async def scheduled_tick(deps: Deps) -> TickReport:
    """The scheduler's job: a tick, logged at INFO when it did something. A quiet minute is
    DEBUG: an idle bot would otherwise log 1,440 lines a day. With worker replicas side by side
    (PostgreSQL) a tick that starts while another replica's runs skips its turn: the jobs are
    safe to run twice at once, but each would call Slack for the same directories and zones."""
    async with exclusive(deps.engine, TICK_LOCK) as ours:
        if not ours:  # another worker replica is ticking: its tick does this minute's work
            log.debug("tick skipped: another process is ticking")
            return TickReport()
        report = await run_tick(deps)
    level = logging.INFO if report.did_something else logging.DEBUG
    log.log(level, "tick", extra={"at": deps.clock.now().isoformat(), "done": report.summary()})
    return report


async def minute_tick(deps: Deps) -> None:
    """The scheduler's minute: a tick, or one line when the database cannot be asked whether
    another replica is ticking (the next minute tries again; a job's own failure is logged
    inside the tick)."""
    try:
        await scheduled_tick(deps)
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error  # the driver's own words, if any
        reason = " ".join(str(cause).split())[:300]
        log.warning("tick skipped: the database did not answer", extra={"reason": reason})
        log.debug("tick skipped", exc_info=error)


# A launch put off by Slack (a Retry-After of a few seconds, typically) is tried again this
# often, not only at the minute's tick: the leader is waiting for their invitations to go.
LAUNCH_CHECK_EVERY = timedelta(seconds=5)


def start_scheduler(deps: Deps) -> AsyncIOScheduler:
    """The tick, every minute, and the launches put off, every few seconds; a late or
    overlapping run is folded into one (coalesce)."""

    async def tick() -> None:
        await minute_tick(deps)

    async def launches() -> None:
        try:
            async with exclusive(deps.engine, LAUNCHES_LOCK) as ours:
                if ours:  # else another worker replica is asking Slack for the audiences
                    await resolve_due_launches(deps)
        except Exception:
            # The database may be down for a while: the next run (or the tick) tries again.
            log.exception("scheduled job failed", extra={"job": "tours launched"})

    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        tick,
        "interval",
        minutes=1,
        id="partnerbot-tick",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=30,
    )
    scheduler.add_job(
        launches,
        "interval",
        seconds=LAUNCH_CHECK_EVERY.total_seconds(),
        id="partnerbot-launches",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=5,
    )
    scheduler.start()
    return scheduler
