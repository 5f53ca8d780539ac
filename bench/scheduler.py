"""Scheduler bench: how long one tick takes with 100 check-ins due among N accepted initiatives
(docs/ARCHITECTURE.md#design-targets: under 1 s for 100 due of 10,000; the time tracks the due
items, not the total).
Usage: python bench/scheduler.py [--sizes 1000 10000] [--due 100] [--repeats 5]; writes
bench/results/scheduler.json. Fails only when a tick does the wrong thing (not exactly one
check-in row and one queued DM per due initiative, anything else sent, a repeated tick sending
again), never on timing.

Each size gets a fresh migrated database, seeded with bulk inserts: one team, a closed tour per
10 initiatives (a final theme, a committed outcome, the weekly update due next Friday), and N
accepted initiatives whose owners' zones were checked an hour ago. Check-ins are Monday 10:00 on
the owner's clock; the bench's instant is a Monday noon UTC, when `--due` owners in Europe and
India are due, owners in the Americas are due later that day, and the other owners in Europe
and India were asked earlier that morning (a check-in row waiting for tomorrow's nudge) and are
due next Monday. Each initiative also has `--history` answered check-ins of earlier weeks.

A tick here is every job of `bot.scheduler.run_tick` at that instant, in order, each in its own
transaction, without the outbox delivery at the end (Slack calls; see bench/launch.py). The
first tick of each size is untimed: it records every statement with its time and, on SQLite,
its EXPLAIN QUERY PLAN. Then `--repeats` timed ticks, each on the same due rows put back as they
were (the tick's check-ins and outbox rows deleted, the due initiatives' next check-in
restored), and each followed by a repeat tick at the same instant, which must do nothing (and
is timed too: it is what every idle minute costs)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import FrozenClock
from bot.db import is_sqlite, normalize_database_url
from bot.deps import Deps, build_deps
from bot.flows.checkins import (
    CHECKIN_TIME,
    CHECKIN_WEEKDAY,
    DIGEST_TIME,
    DIGEST_WEEKDAY,
    next_day_slot,
    slot_in,
)
from bot.flows.outcomes import InitiativeStatus
from bot.migrate import upgrade_to_head
from bot.models import (
    Checkin,
    CheckinState,
    Initiative,
    OutboxMessage,
    Outcome,
    Theme,
    ThemeSource,
    Tour,
    TourStatus,
)
from bot.scheduler import DUE_JOBS
from bot.settings import load_settings

RESULTS = Path(__file__).resolve().parent / "results" / "scheduler.json"
TEAM, LEADER = "TBENCH", "ULEAD"
AT = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # a Monday noon UTC (US clocks moved on the 8th)
THIS_WEEK = date(2026, 3, 9)
FIRST_WEEK = date(2026, 2, 9)  # the first check-in after the initiatives were taken on
# Monday 10:00 local is 09:00, 10:00 and 04:30 UTC in the first three (due by noon), 14:00 and
# 17:00 UTC in the last two (later that day).
ZONES = (
    "Europe/Berlin",
    "Europe/London",
    "Asia/Kolkata",
    "America/New_York",
    "America/Los_Angeles",
)
INITIATIVES_PER_TOUR = 10
ROWS_PER_INSERT = 1000
NOWHERE = "http://127.0.0.1:9/api/"  # discard port: a stray Slack call fails at once
# The one job of the tick with something to do at the bench's instant: the due check-ins.
SENT_JOB = "check-ins sent"
INDEX = "ix_initiatives_status_next_checkin_at"


# --- seeding -------------------------------------------------------------------------------------


@dataclass
class Seeded:
    initiatives: int
    due: dict[int, datetime]  # initiative id -> its due check-in (UTC), to put back between runs
    checkins: int
    last_checkin_id: int  # a tick's check-ins are the rows after it
    seconds: float


def checkin_slot(period: date, tz_name: str) -> datetime:
    return slot_in(period, weekday=CHECKIN_WEEKDAY, at=CHECKIN_TIME, tz_name=tz_name).due_at


async def insert_rows(
    connection: AsyncConnection, model: Any, rows: Sequence[dict[str, Any]]
) -> None:
    for start in range(0, len(rows), ROWS_PER_INSERT):
        await connection.execute(insert(model), list(rows[start : start + ROWS_PER_INSERT]))


def tour_rows(tours: int) -> tuple[list[dict[str, Any]], ...]:
    opened = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    closed = datetime(2026, 1, 19, 22, 59, tzinfo=UTC)
    digest = slot_in(THIS_WEEK, weekday=DIGEST_WEEKDAY, at=DIGEST_TIME, tz_name="Europe/Berlin")
    tour, theme, outcome = [], [], []
    for n in range(1, tours + 1):
        tour.append(
            {
                "id": n,
                "team_id": TEAM,
                "leader_id": LEADER,
                "title": f"Listening tour {n}",
                "channel_id": f"C{n:07d}",
                "anonymous": True,
                "min_responses": 3,
                "status": TourStatus.CLOSED,
                "opens_at": opened,
                "closes_at": closed,
                "created_at": opened,
                "close_date": closed.date(),
                "leader_tz": "Europe/Berlin",
                "reminders": True,
                "skipped_count": 0,
                "closed_at": closed,
                "themes_suggested_at": closed,
                "next_digest_at": digest.due_at,  # Friday 15:00 Berlin: not due on Monday
                "digest_weekday": DIGEST_WEEKDAY,
                "digest_minute": DIGEST_TIME.hour * 60 + DIGEST_TIME.minute,
            }
        )
        theme.append(
            {
                "id": n,
                "tour_id": n,
                "source": ThemeSource.FINAL,
                "position": 0,
                "label": "Slow release approvals",
                "summary": "Releases wait days for a sign-off.",
                "kind": "problem",
                "answer_count": 12,
            }
        )
        outcome.append(
            {
                "id": n,
                "tour_id": n,
                "theme_id": n,
                "statement": "Partners ship the same day they are ready.",
                "partner": "Product teams",
                "measure": "Median hours from ready to released",
                "target_date": date(2026, 6, 30),
                "committed_at": datetime(2026, 1, 26, 10, 0, tzinfo=UTC),
            }
        )
    return tour, theme, outcome


async def seed(connection: AsyncConnection, *, n: int, due: int, history: int, seed: int) -> Seeded:
    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 - a reproducible choice of who is due, not a secret
    zone_of = {i: ZONES[i % len(ZONES)] for i in range(1, n + 1)}
    due_now = [i for i, tz in zone_of.items() if checkin_slot(THIS_WEEK, tz) <= AT]
    if len(due_now) < due:
        raise SystemExit(f"--due {due} is more than the {len(due_now)} owners due by then")
    due_ids = set(rng.sample(due_now, due))
    tours = math.ceil(n / INITIATIVES_PER_TOUR)
    for model, rows in zip((Tour, Theme, Outcome), tour_rows(tours), strict=True):
        await insert_rows(connection, model, rows)
    committed = datetime(2026, 2, 2, 11, 0, tzinfo=UTC)
    initiatives, checkins, due_at = [], [], {}
    for i, tz in zone_of.items():
        period = THIS_WEEK
        if i not in due_ids and checkin_slot(THIS_WEEK, tz) <= AT:
            period = THIS_WEEK + timedelta(weeks=1)  # asked this morning already: next Monday
        slot = checkin_slot(period, tz)
        if i in due_ids:
            due_at[i] = slot
        tour = (i - 1) // INITIATIVES_PER_TOUR + 1
        initiatives.append(
            {
                "id": i,
                "tour_id": tour,
                "outcome_id": tour,
                "title": f"Initiative {i}",
                "implications": "One approver per team instead of three.",
                "tracking": "Release lead time, weekly.",
                "proposer_id": f"U{i % 997:06d}",
                "status": InitiativeStatus.ACCEPTED,
                "owner_id": f"UOWN{i % 3001:05d}",
                "due_date": date(2027, 3, 1),
                "cadence_weeks": 1,
                "progress": 20,
                "created_at": committed - timedelta(days=3),
                "committed_at": committed,
                "next_checkin_at": slot,
                "next_period": period,
                "owner_tz": tz,
                "owner_tz_checked_at": AT - timedelta(hours=1),
                "last_status": "on_track",
            }
        )
        if period > THIS_WEEK:  # asked this morning by an earlier tick; nudged tomorrow
            asked = checkin_slot(THIS_WEEK, tz)
            nudge = next_day_slot(asked, tz_name=tz)
            checkins.append(checkin_row(i, THIS_WEEK, asked, CheckinState.SENT, nudge))
        for weeks in range(1, history + 1):
            week = THIS_WEEK - timedelta(weeks=weeks)
            if week >= FIRST_WEEK:
                checkins.append(
                    checkin_row(i, week, checkin_slot(week, tz), CheckinState.ANSWERED, None)
                )
    await insert_rows(connection, Initiative, initiatives)
    await insert_rows(connection, Checkin, checkins)
    watermark = await connection.scalar(select(func.max(Checkin.id)))
    return Seeded(n, due_at, len(checkins), watermark or 0, time.perf_counter() - started)


def checkin_row(
    initiative_id: int,
    period: date,
    asked: datetime,
    state: CheckinState,
    nudge_at: datetime | None,
) -> dict[str, Any]:
    answered = state is CheckinState.ANSWERED
    return {
        "initiative_id": initiative_id,
        "period": period,
        "due_at": asked,
        "state": state,
        "nudge_at": nudge_at,
        "answered_at": asked + timedelta(hours=2) if answered else None,
        "status": "on_track" if answered else None,
        "progress": 20 if answered else None,
    }


async def put_back(connection: AsyncConnection, seeded: Seeded) -> None:
    """The state before a tick: its check-ins and outbox rows gone, the due ones due again."""
    await connection.execute(delete(OutboxMessage))
    await connection.execute(delete(Checkin).where(Checkin.id > seeded.last_checkin_id))
    table = Initiative.__table__
    assert isinstance(table, Table)
    await connection.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(next_period=bindparam("b_period"), next_checkin_at=bindparam("b_at")),
        [{"b_id": i, "b_period": THIS_WEEK, "b_at": at} for i, at in seeded.due.items()],
    )


# --- one tick ------------------------------------------------------------------------------------


@dataclass
class Recorder:
    """Every statement the engine runs while `job` is set: the job, the statement, its
    parameters and its time."""

    job: str | None = None
    statements: list[tuple[str, str, Any, float]] = field(default_factory=list)
    _started: list[float] = field(default_factory=list)

    def attach(self, deps: Deps) -> None:
        engine = deps.engine.sync_engine

        @event.listens_for(engine, "before_cursor_execute")
        def _before(*_args: Any) -> None:
            self._started.append(time.perf_counter())

        @event.listens_for(engine, "after_cursor_execute")
        def _after(
            _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, many: bool
        ) -> None:
            started = self._started.pop()
            if self.job is not None:  # an executemany is kept with its first row's parameters
                sample = parameters[0] if many and parameters else parameters
                elapsed = time.perf_counter() - started
                self.statements.append((self.job, statement, sample, elapsed))


@dataclass
class Tick:
    seconds: float
    jobs: dict[str, float]  # seconds per job
    counts: dict[str, int]


async def tick(deps: Deps, recorder: Recorder | None = None) -> Tick:
    """What `run_tick` does before delivering the outbox: every due job, in order. A job that
    raises fails the bench (run_tick would log it and go on)."""
    jobs, counts = {}, {}
    started = time.perf_counter()
    for name, job in DUE_JOBS:
        if recorder is not None:
            recorder.job = name
        job_started = time.perf_counter()
        counts[name] = await job(deps)
        jobs[name] = time.perf_counter() - job_started
    if recorder is not None:
        recorder.job = None
    return Tick(time.perf_counter() - started, jobs, counts)


async def check(deps: Deps, done: Tick, seeded: Seeded, *, due: int, repeat: bool) -> list[str]:
    """What a tick at the bench's instant must have done; empty when it did."""
    problems = []
    expected = 0 if repeat else due
    which = "repeat tick" if repeat else "tick"
    for name, count in done.counts.items():
        want = expected if name == SENT_JOB else 0
        if count != want:
            problems.append(f"{which}: {count} {name}, expected {want}")
    async with deps.sessions() as session:
        rows = await session.execute(
            select(Checkin.state, func.count())
            .where(Checkin.id > seeded.last_checkin_id)
            .group_by(Checkin.state)
        )
        checkins = {str(state): n for state, n in rows.all()}
        outbox = await session.scalar(
            select(func.count()).where(OutboxMessage.idempotency_key.like("checkin:%:ask"))
        )
        others = await session.scalar(
            select(func.count()).where(OutboxMessage.idempotency_key.not_like("checkin:%:ask"))
        )
        still_due = await session.scalar(
            select(func.count()).where(Initiative.next_checkin_at <= AT)
        )
    if checkins != {CheckinState.SENT.value: due}:
        problems.append(f"{which}: new check-in rows {checkins}, expected {due} sent")
    if outbox != due or others:
        problems.append(f"{which}: {outbox} check-in DMs and {others} others queued, not {due}")
    if still_due:
        problems.append(f"{which}: {still_due} initiatives still due after it")
    return problems


# --- query plans (SQLite) ------------------------------------------------------------------------


async def query_plans(
    deps: Deps, statements: list[tuple[str, str, Any, float]]
) -> list[dict[str, Any]]:
    """Each distinct statement of a tick: how often it ran, its total time and, for reads,
    updates and deletes on SQLite, its plan; `scans` lists the plan steps that read a whole
    table or index, or sort, rather than seek."""
    by_text: dict[tuple[str, str], dict[str, Any]] = {}
    for job, text, parameters, seconds in statements:
        entry = by_text.setdefault((job, text), {"runs": 0, "ms": 0.0, "parameters": parameters})
        entry["runs"] += 1
        entry["ms"] += seconds * 1000
    sqlite = is_sqlite(str(deps.engine.url))
    plans = []
    async with deps.engine.connect() as connection:
        for (job, text), entry in by_text.items():
            plan: list[str] = []
            verb = text.lstrip().split(None, 1)[0].upper()
            if sqlite and verb in {"SELECT", "UPDATE", "DELETE"}:
                explain = "EXPLAIN QUERY PLAN " + text  # the statement the bot ran
                rows = await connection.exec_driver_sql(explain, tuple(entry["parameters"]))
                plan = [str(row[-1]) for row in rows]
            plans.append(
                {
                    "job": job,
                    "statement": " ".join(text.split()),
                    "runs": entry["runs"],
                    "ms": round(entry["ms"], 1),
                    "plan": plan,
                    "scans": [
                        step
                        for step in plan
                        if (step.startswith("SCAN") and "CONSTANT ROW" not in step)
                        or "TEMP B-TREE" in step
                    ],
                }
            )
    return sorted(plans, key=lambda p: -p["ms"])


def due_query(plans: list[dict[str, Any]]) -> dict[str, Any] | None:
    """send_due_checkins's SELECT of the due initiatives, and whether its plan uses the index
    on `next_checkin_at` (None when there is no plan: not SQLite)."""
    for entry in plans:
        statement = entry["statement"]
        if entry["job"] == SENT_JOB and statement.startswith("SELECT initiatives."):
            uses = any(INDEX in step for step in entry["plan"]) if entry["plan"] else None
            return {**entry, "uses_" + INDEX: uses}
    return None


# --- one size ------------------------------------------------------------------------------------


async def bench_size(url: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings(database_url=url, slack_api_url=NOWHERE, slack_bot_token=None)
    deps = build_deps(settings, clock=FrozenClock(AT))
    recorder = Recorder()
    recorder.attach(deps)
    problems: list[str] = []
    try:
        async with deps.engine.begin() as connection:
            seeded = await seed(connection, n=n, due=args.due, history=args.history, seed=args.seed)
        first = await tick(deps, recorder)
        problems += await check(deps, first, seeded, due=args.due, repeat=False)
        plans = await query_plans(deps, recorder.statements)
        runs, repeats = [], []
        for _ in range(args.repeats):
            async with deps.engine.begin() as connection:
                await put_back(connection, seeded)
            runs.append(await tick(deps))
            problems += await check(deps, runs[-1], seeded, due=args.due, repeat=False)
            repeats.append(await tick(deps))
            problems += await check(deps, repeats[-1], seeded, due=args.due, repeat=True)
    finally:
        await deps.close()
    return {
        "initiatives": n,
        "due": args.due,
        "tours": math.ceil(n / INITIATIVES_PER_TOUR),
        "seeded_checkins": seeded.checkins,
        "seed_seconds": round(seeded.seconds, 2),
        "tick_ms": summary([run.seconds for run in runs]),
        "repeat_tick_ms": summary([run.seconds for run in repeats]),
        "first_tick_ms": round(first.seconds * 1000, 1),
        "job_median_ms": {
            name: round(statistics.median(run.jobs[name] for run in runs) * 1000, 1)
            for name in runs[0].jobs
        },
        "statements_per_tick": len(recorder.statements),
        "due_query": due_query(plans),
        "statements": plans,
        "problems": problems,
    }


def summary(seconds: list[float]) -> dict[str, Any]:
    ordered = sorted(seconds)

    def rank(q: float) -> float:  # nearest rank: with 5 samples, p95 is the slowest
        return round(ordered[max(math.ceil(q * len(ordered)) - 1, 0)] * 1000, 1)

    return {
        "n": len(ordered),
        "median": round(statistics.median(ordered) * 1000, 1),
        "p95": rank(0.95),
        "min": rank(0.0),
        "max": rank(1.0),
    }


@contextlib.contextmanager
def fresh_database(server: str | None, directory: Path, name: str) -> Iterator[str]:
    """A migrated throwaway SQLite file, or a new database on the Postgres server, dropped after
    (as in bench/launch.py)."""
    if server is None:
        upgrade_to_head(f"sqlite:///{directory / name}.db")
        yield f"sqlite:///{directory / name}.db"
        return
    url = make_url(normalize_database_url(server))
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    database = f"pb_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
    try:
        upgrade_to_head(url.set(database=database).render_as_string(hide_password=False))
        yield url.set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.dispose()


# --- report --------------------------------------------------------------------------------------


def print_backend(backend: str, sizes: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"\n{backend}: one tick at {AT:%a %Y-%m-%d %H:%M} UTC, median of {args.repeats}"
        " (ms; the repeat tick is a second one at the same instant, which finds nothing)"
    )
    print(
        f"  {'initiatives':>11} {'due':>4} {'median':>8} {'p95':>8} {'min':>8}"
        f" {'repeat':>8} {'statements':>10} {'seed s':>7}"
    )
    for size in sizes:
        t, r = size["tick_ms"], size["repeat_tick_ms"]
        print(
            f"  {size['initiatives']:>11,} {size['due']:>4} {t['median']:>8.1f} {t['p95']:>8.1f}"
            f" {t['min']:>8.1f} {r['median']:>8.1f} {size['statements_per_tick']:>10}"
            f" {size['seed_seconds']:>7.1f}"
        )
    small, large = sizes[0], sizes[-1]
    if len(sizes) > 1:
        ratio = large["tick_ms"]["median"] / small["tick_ms"]["median"]
        print(
            f"  ratio {large['initiatives']:,} / {small['initiatives']:,} (median):"
            f" {ratio:.2f}x (target: close to 1)"
        )
    print(f"  {large['initiatives']:,} under 1 s (p95): {large['tick_ms']['p95'] < 1000}")
    print(f"  per job, median ms at {small['initiatives']:,} and {large['initiatives']:,}:")
    for name, ms in large["job_median_ms"].items():
        print(f"    {name:34} {small['job_median_ms'][name]:8.1f} {ms:8.1f}")
    queries = [size["due_query"] for size in sizes]
    if all(queries):
        times = " and ".join(f"{query['ms']:.1f}" for query in (queries[0], queries[-1]))
        print(f"  the due query (send_due_checkins's SELECT), ms at each: {times}; its plan:")
        for step in queries[-1]["plan"] or ["(no EXPLAIN QUERY PLAN on this backend)"]:
            print(f"    {step}")
        print(f"  it uses {INDEX}: {queries[-1]['uses_' + INDEX]}")
    scanning = [s for s in large["statements"] if s["scans"]]
    if scanning:
        print(f"  statements that scan or sort rather than seek (ms at {large['initiatives']:,}):")
    for statement in scanning:
        print(f"    {statement['ms']:7.1f}  {statement['job']}: {statement['statement'][:60]}")
        for step in statement["scans"]:
            print(f"             {step}")
    print(f"  slowest statements of the first tick at {large['initiatives']:,} (runs, total ms):")
    for statement in large["statements"][:5]:
        print(
            f"    {statement['runs']:>4}x {statement['ms']:7.1f}  {statement['job']}:"
            f" {statement['statement'][:60]}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--due", type=int, default=100, help="check-ins due at the instant")
    parser.add_argument("--repeats", type=int, default=5, help="timed ticks per size")
    parser.add_argument("--history", type=int, default=4, help="answered past weeks each")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="also on this Postgres server (a fresh database; default $TEST_DATABASE_URL)",
    )
    args = parser.parse_args()
    if args.repeats < 1 or min(args.sizes) < args.due:
        parser.error("--repeats must be at least 1 and every size at least --due")
    sizes = sorted(args.sizes)
    machine = {
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "os": platform.platform(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    report: dict[str, Any] = {
        "machine": machine,
        "args": {k: v for k, v in vars(args).items() if k != "database_url"},
        "at": AT.isoformat(),
        "backends": {},
    }
    server = args.database_url
    with tempfile.TemporaryDirectory(prefix="partnerbot-bench-") as directory:
        for backend, url in [("sqlite", None), *([("postgres", server)] if server else [])]:
            results = []
            for n in sizes:
                with fresh_database(url, Path(directory), f"{backend}-{n}") as database:
                    results.append(asyncio.run(bench_size(database, n, args)))
            report["backends"][backend] = {"sizes": results}
            if len(results) > 1:
                ratio = results[-1]["tick_ms"]["median"] / results[0]["tick_ms"]["median"]
                report["backends"][backend]["ratio_median"] = round(ratio, 2)
            print_backend(backend, results, args)
    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwrote {RESULTS}")
    problems = [
        f"{backend} {size['initiatives']:,}: {problem}"
        for backend, result in report["backends"].items()
        for size in result["sizes"]
        for problem in size["problems"]
    ]
    for problem in problems[:20]:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
