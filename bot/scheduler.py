"""Scheduled work. `run_tick(deps)` does everything due at the clock's "now", once; the
in-process APScheduler job and `partnerbot tick --at` both call it.

Schedules live in our tables, not in APScheduler's job store: a tick asks "what is due?", and
every job is idempotent, so a missed, doubled or concurrent tick changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.deps import Deps
from bot.services import tour
from bot.store.events import prune_events

log = logging.getLogger("bot.scheduler")

EVENT_RETENTION = timedelta(days=7)

DueJob = Callable[[Deps], Awaitable[int]]


async def prune_processed_events(deps: Deps) -> int:
    async with deps.sessions.begin() as session:
        return await prune_events(session, older_than=deps.clock.now() - EVENT_RETENTION)


# Each job returns how many things it did. Later features add reminders, auto-close,
# check-ins and digests here; each must be safe to run twice for the same instant.
async def close_due_tours(deps: Deps) -> int:
    async with deps.sessions.begin() as session:
        return await tour.close_due_tours(
            session, now=deps.clock.now(), command=deps.settings.partnerbot_command
        )


async def queue_due_reminders(deps: Deps) -> int:
    async with deps.sessions.begin() as session:
        return await tour.queue_due_reminders(session, now=deps.clock.now())


DUE_JOBS: tuple[tuple[str, DueJob], ...] = (
    ("tours closed", close_due_tours),
    ("reminders queued", queue_due_reminders),
    ("events pruned", prune_processed_events),
)


@dataclass
class TickReport:
    counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return ", ".join(f"{count} {name}" for name, count in self.counts.items())


async def run_tick(deps: Deps) -> TickReport:
    report = TickReport()
    for name, job in DUE_JOBS:
        report.counts[name] = await job(deps)
    delivered = await deps.delivery.deliver_due()
    report.counts["messages sent"] = delivered.sent
    report.counts["messages failed"] = delivered.failed
    report.counts["messages to retry"] = delivered.retried
    return report


def start_scheduler(deps: Deps) -> AsyncIOScheduler:
    """One job, every minute; a late or overlapping run is folded into one (coalesce)."""

    async def tick() -> None:
        report = await run_tick(deps)
        log.info("tick", extra={"at": deps.clock.now().isoformat(), "done": report.summary()})

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
    scheduler.start()
    return scheduler
