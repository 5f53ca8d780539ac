"""Inbound bench: sustained DM answers per second into a listening tour that already holds
10,000 answers, next to a bare Bolt app handling the same events with a no-op listener.
Usage: python bench/inbound.py [--stored 10000] [--answers 1000] [--concurrency 20]
[--latency 0.05] [--max-seconds 30]; see bench/README.md.

Each backend gets a fresh migrated database (SQLite in a temp dir; Postgres too when
TEST_DATABASE_URL is set), seeded with bulk inserts: one open anonymous tour with two questions,
`--stored / 2` people who have answered both (their answers filed under the tour key's HMAC, as
the bot files them, and the event ids of their DMs in processed_events), and `--answers` people
invited who have not answered yet. Then `--concurrency` senders, each a loop: a signed
`message.im` event from the next person not yet heard from, answering question 1 (posted to the
app's /slack/events over loopback, as in bench/launch.py and bench/ack.py), then wait until the
fake Slack has the bot's reply (question 2) before the next. The rate is answers completed per
second, from the first send to the last reply. No new answer is sent after `--max-seconds`; a
reply not in within `--reply-timeout` counts as lost (the final tally is taken once the bot is
idle). The fake Slack adds `--latency` seconds to each call (the reply is one). Then the bare
app gets the same people's events from as many senders; its listener having run stands for
the reply.

Fails (exit 1) unless every answer sent is stored once, each sender moved on to question 2,
every event id was recorded, every sender got question 2 as the only reply (not the bot's
"something went wrong") and every ack was HTTP 200; never on timing."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import platform
import secrets
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ack import SAMPLE_CHANNEL, Bench, rig, summary
from launch import LEADER, fresh_database
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.flows.tour import DEFAULT_QUESTIONS, close_instant, respondent_key
from bot.models import (
    Answer,
    DmFocus,
    Participant,
    ParticipantStatus,
    ProcessedEvent,
    Question,
    Tour,
    TourKey,
    TourStatus,
)
from bot.sandbox.slack_requests import SignedSlack

RESULTS = Path(__file__).resolve().parent / "results" / "inbound.json"
ROWS_PER_INSERT = 1000
TEAM = "T00000001"  # FakeSlack's default team
ANSWER = "Releases wait two days for a sign-off."
STORED_TEXTS = (
    "The on-call rotation is fair now and the runbooks help.",
    "Staging is down so often that we wait half a day to test anything.",
    "Our partners only hear from us when something is late.",
    "Standups are short and useful.",
)


# --- seeding ------------------------------------------------------------------------------------


@dataclass
class Seeded:
    tour_id: int
    question_ids: list[int]
    answers: int
    seconds: float


async def insert_rows(
    connection: AsyncConnection, model: Any, rows: Sequence[dict[str, Any]]
) -> None:
    for start in range(0, len(rows), ROWS_PER_INSERT):
        await connection.execute(insert(model), list(rows[start : start + ROWS_PER_INSERT]))


async def seed(connection: AsyncConnection, *, stored: int, senders: list[str]) -> Seeded:
    """One open anonymous tour: `stored` answers from people done with both questions, and
    `senders` invited, each about to be asked question 1."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    close_date = (now + timedelta(days=7)).date()
    tour_id = await connection.scalar(
        insert(Tour)
        .values(
            team_id=TEAM,
            leader_id=LEADER,
            title="Listening tour – inbound bench",
            channel_id=SAMPLE_CHANNEL,
            anonymous=True,
            min_responses=3,
            status=TourStatus.OPEN,
            opens_at=now - timedelta(days=1),
            closes_at=close_instant(close_date, "UTC"),
            created_at=now - timedelta(days=1),
            close_date=close_date,
            leader_tz="UTC",
            reminders=True,
            skipped_count=0,
        )
        .returning(Tour.id)
    )
    assert tour_id is not None
    question_ids: list[int] = []
    for position, text in enumerate(DEFAULT_QUESTIONS):
        question = insert(Question).values(tour_id=tour_id, position=position, text=text)
        question_ids.append(int(await connection.scalar(question.returning(Question.id)) or 0))
    secret = secrets.token_hex(32)
    await connection.execute(insert(TourKey).values(tour_id=tour_id, secret=secret))
    done = [f"UD{n:06d}" for n in range(-(-stored // len(question_ids)))]
    participants: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for user_id in done:
        participants.append(participant(tour_id, user_id, ParticipantStatus.DONE, None, True))
        respondent = respondent_key(anonymous=True, user_id=user_id, secret=secret)
        for question_id in question_ids:
            if len(answers) == stored:
                break
            text = STORED_TEXTS[len(answers) % len(STORED_TEXTS)]
            answers.append(
                {
                    "id": uuid.uuid4().hex,
                    "tour_id": tour_id,
                    "question_id": question_id,
                    "respondent": respondent,
                    "text": f"{text} ({len(answers)})",
                    "last_message_ts": None,
                }
            )
            received = now - timedelta(seconds=len(answers))
            events.append(
                {
                    "event_id": f"EvSEED{len(answers):08d}",
                    "team_id": TEAM,
                    "event_type": "message",
                    "received_at": received,
                }
            )
    participants += [
        participant(tour_id, user_id, ParticipantStatus.INVITED, 0, False) for user_id in senders
    ]
    focus = [{"team_id": TEAM, "user_id": p["user_id"], "tour_id": tour_id} for p in participants]
    for model, rows in (
        (Participant, participants),
        (DmFocus, focus),
        (Answer, answers),
        (ProcessedEvent, events),
    ):
        await insert_rows(connection, model, rows)
    return Seeded(int(tour_id), question_ids, len(answers), time.perf_counter() - started)


def participant(
    tour_id: int, user_id: str, status: ParticipantStatus, position: int | None, responded: bool
) -> dict[str, Any]:
    return {
        "tour_id": tour_id,
        "team_id": TEAM,
        "user_id": user_id,
        "tz": "Europe/Berlin",
        "status": status,
        "current_position": position,
        "responded": responded,
        "reminders_sent": 0,
    }


# --- the load -----------------------------------------------------------------------------------


@dataclass
class Run:
    sent: list[str] = field(default_factory=list)  # who sent an event, in order
    acks: list[float] = field(default_factory=list)  # HTTP round trip of each event
    round_trips: list[float] = field(default_factory=list)  # send to reply (or listener run)
    statuses: list[int] = field(default_factory=list)
    # Events acked with a body: an error answered before the ack (Slack ignores the body of an
    # event's ack and, the status being 200, does not retry the event).
    ack_bodies: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # no reply within --reply-timeout
    seconds: float = 0.0  # from the first send to the last reply (or ack, if later)
    capped: bool = False  # stopped sending at --max-seconds


async def drive(
    b: Bench,
    sender: SignedSlack,
    users: list[str],
    concurrency: int,
    *,
    bare: bool,
    max_seconds: float = math.inf,
    reply_timeout: float = 10.0,
) -> Run:
    """`concurrency` loops, each: a DM from the next user, then wait for the reply (at most
    `reply_timeout` seconds; then it counts as lost and the loop goes on). No new event is sent
    after `max_seconds`; those in flight finish."""
    run = Run()
    queue: Iterator[str] = iter(users)
    started = time.perf_counter()
    last = started

    async def completed(user_id: str) -> bool:
        if bare:
            ran = b.bare_seen[user_id]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ran.wait(), reply_timeout)
            return ran.is_set()
        return await b.watch.wait_for_dm(user_id, 1, timeout=reply_timeout)

    async def loop() -> None:
        for user_id in queue:
            sent = time.perf_counter()
            if sent - started > max_seconds:
                run.capped = True
                return
            if bare:
                b.bare_seen[user_id] = asyncio.Event()
            run.sent.append(user_id)
            delivery = await sender.dm(user_id, ANSWER)
            nonlocal last
            last = max(last, time.perf_counter())
            run.acks.append(time.perf_counter() - sent)
            run.statuses.append(delivery.status)
            if delivery.text.strip():
                run.ack_bodies.append(delivery.text)
            if await completed(user_id):
                last = max(last, time.perf_counter())
                run.round_trips.append(time.perf_counter() - sent)
            else:
                run.lost.append(user_id)

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    run.seconds = last - started
    return run


def replies(b: Bench, users: list[str]) -> Counter[str]:
    """What the bot answered each user: `question 2`, `error` (its "something went wrong, try
    again", the answer not saved), `other`, or `none`; `several` when more than one."""
    by_user: dict[str, list[str]] = {user_id: [] for user_id in users}
    for message in b.fake.messages:
        if message["dm_user"] in by_user:
            text = json.dumps([message["text"], message["blocks"]])
            kind = (
                "question 2"
                if "Question 2 of 2" in text
                else "error"
                if "went wrong" in text
                else "other"
            )
            by_user[message["dm_user"]].append(kind)
    return Counter(
        kinds[0] if len(kinds) == 1 else "several" if kinds else "none"
        for kinds in by_user.values()
    )


async def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    warm = [f"UW{n:04d}" for n in range(args.warmup)]
    senders = [f"UA{n:06d}" for n in range(args.answers)]
    async with rig(url, {SAMPLE_CHANNEL: [*warm, *senders]}, latency=args.latency) as b:
        async with b.deps.engine.begin() as connection:
            seeded = await seed(connection, stored=args.stored, senders=[*warm, *senders])
        # Warm-up (not timed): the first events pay for imports, caches and connections.
        await drive(b, b.slack, warm, 1, bare=False)
        await drive(b, b.bare, warm, 1, bare=True)
        ours = await drive(
            b,
            b.slack,
            senders,
            args.concurrency,
            bare=False,
            max_seconds=args.max_seconds,
            reply_timeout=args.reply_timeout,
        )
        if not await b.deps.inflight.wait_idle(timeout=60):
            b.problems.append("Partnerbot's listeners still running 60 s after the last reply")
        # The bare app gets the same people's events (its listener keeps nothing).
        bare = await drive(b, b.bare, ours.sent, args.concurrency, bare=True)
        heard = [*warm, *ours.sent]
        answered = replies(b, heard)
        async with b.deps.sessions() as session:
            stored = await session.scalar(
                select(func.count()).select_from(Answer).where(Answer.tour_id == seeded.tour_id)
            )
            moved_on = await session.scalar(
                select(func.count())
                .select_from(Participant)
                .where(
                    Participant.tour_id == seeded.tour_id,
                    Participant.status == ParticipantStatus.ANSWERING,
                    Participant.current_position == 1,
                )
            )
            events = await session.scalar(select(func.count()).select_from(ProcessedEvent))
    checks = {
        "answers_stored": (stored, seeded.answers + len(heard)),
        "participants_on_question_2": (moved_on, len(heard)),
        "event_ids_recorded": (events, seeded.answers + len(heard)),
        "replied_with_question_2": (answered["question 2"], len(heard)),
    }
    problems = list(b.problems)
    problems += [
        f"{name}: {got}, expected {want}" for name, (got, want) in checks.items() if got != want
    ]
    if answered["error"]:
        problems.append(f"{answered['error']} answers refused with 'something went wrong'")
    for name, run in (("partnerbot", ours), ("bare", bare)):
        if run.lost:
            problems.append(f"{name}: {len(run.lost)} events never completed")
        if any(status != 200 for status in run.statuses):
            problems.append(f"{name}: {sum(s != 200 for s in run.statuses)} acks not HTTP 200")
    return {
        "seeded": {"answers": seeded.answers, "seconds": round(seeded.seconds, 2)},
        "partnerbot": report_run(ours),
        "bare": report_run(bare),
        "ratio_per_s": round((len(ours.sent) / ours.seconds) / (len(bare.sent) / bare.seconds), 3),
        "replies": dict(answered),
        "checks": {name: {"got": got, "expected": want} for name, (got, want) in checks.items()},
        "problems": problems,
    }


def report_run(run: Run) -> dict[str, Any]:
    def ms(samples: list[float]) -> dict[str, Any]:
        return summary(samples) if samples else {"n": 0}

    return {
        "events": len(run.sent),
        "seconds": round(run.seconds, 2),
        "per_s": round(len(run.sent) / run.seconds, 1),
        "capped_at_max_seconds": run.capped,
        "ack_ms": ms(run.acks),
        "send_to_reply_ms": ms(run.round_trips),
        "lost": len(run.lost),
        "acks_over_3s": sum(ack > 3 for ack in run.acks),
        "acked_with_a_body": len(run.ack_bodies),
        "ack_bodies": sorted(set(run.ack_bodies))[:3],
    }


def print_backend(backend: str, result: dict[str, Any], args: argparse.Namespace) -> None:
    sent = result["partnerbot"]["events"]
    capped = f" (stopped sending at {args.max_seconds:g} s)" if sent < args.answers else ""
    print(
        f"\n{backend}: {sent:,} DM answers{capped}, {args.concurrency} in flight, into a tour"
        f" holding {result['seeded']['answers']:,} (seeded in {result['seeded']['seconds']} s);"
        f" fake Slack {args.latency * 1000:.0f} ms per call"
    )
    print(
        f"  {'':11} {'seconds':>8} {'per s':>7}   {'ack p50':>7} {'p95':>7} {'p99':>7}"
        f"   {'to reply p50':>12} {'p95':>7} {'p99':>7}"
    )
    for who in ("partnerbot", "bare"):
        row = result[who]
        ack, trip = row["ack_ms"], row["send_to_reply_ms"]
        print(
            f"  {who:11} {row['seconds']:8.2f} {row['per_s']:7.1f}"
            f"   {ack['p50_ms']:7.1f} {ack['p95_ms']:7.1f} {ack['p99_ms']:7.1f}"
            f"   {trip['p50_ms']:12.1f} {trip['p95_ms']:7.1f} {trip['p99_ms']:7.1f}"
        )
    print(f"  answers per second, Partnerbot / bare Bolt: {result['ratio_per_s']:.3f}")
    print("  (bare: 'to reply' is until its no-op listener has run; it sends no reply)")
    for who in ("partnerbot", "bare"):
        row = result[who]
        if row["acks_over_3s"] or row["acked_with_a_body"] or row["lost"]:
            print(
                f"  {who}: {row['acks_over_3s']} acks took over 3 s (Slack would retry those),"
                f" {row['acked_with_a_body']} events were acked 200 with an error body (never"
                f" retried), {row['lost']} had no reply within {args.reply_timeout:g} s"
            )
    print(f"  the bot's replies: {', '.join(f'{n:,} {k}' for k, n in result['replies'].items())}")
    for name, check in result["checks"].items():
        mark = "ok" if check["got"] == check["expected"] else "WRONG"
        print(f"  {name:28} {check['got']:>7,} (expected {check['expected']:,}) {mark}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stored", type=int, default=10_000, help="answers already in the tour")
    parser.add_argument("--answers", type=int, default=1000, help="DM answers sent, one each")
    parser.add_argument("--concurrency", type=int, default=20, help="senders in flight")
    parser.add_argument("--warmup", type=int, default=5, help="answers first, not timed")
    parser.add_argument("--latency", type=float, default=0.05, help="fake Slack seconds per call")
    parser.add_argument(
        "--max-seconds", type=float, default=30, help="send no new answer after this long"
    )
    parser.add_argument(
        "--reply-timeout", type=float, default=10, help="seconds a reply may take before it is lost"
    )
    args = parser.parse_args()
    if min(args.answers, args.concurrency) < 1 or args.stored < 0:
        parser.error("--answers and --concurrency must be at least 1, --stored at least 0")
    logging.basicConfig(level=logging.ERROR)
    machine = {
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "os": platform.platform(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    report: dict[str, Any] = {"machine": machine, "args": vars(args), "backends": {}}
    postgres = os.environ.get("TEST_DATABASE_URL")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="partnerbot-bench-") as directory:
        for backend, server in [("sqlite", None), *([("postgres", postgres)] if postgres else [])]:
            with fresh_database(server, Path(directory), f"{backend}-inbound") as url:
                result = asyncio.run(measure(url, args))
            report["backends"][backend] = result
            print_backend(backend, result, args)
    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {RESULTS} ({report['seconds']} s)")
    problems = [
        f"{backend}: {problem}"
        for backend, result in report["backends"].items()
        for problem in result["problems"]
    ]
    for problem in problems[:20]:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
