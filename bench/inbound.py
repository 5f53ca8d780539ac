"""Inbound bench: sustained DM answers per second into a listening tour that already holds
10,000 answers, next to a bare Bolt app handling the same events.
Usage: python bench/inbound.py [--stored 10000] [--answers 1000] [--concurrency 20]
[--latency 0.05] [--max-seconds 30] [--inline]; see bench/README.md.

Each backend gets a fresh migrated database (SQLite in a temp dir; Postgres too when
TEST_DATABASE_URL is set), seeded with bulk inserts: one open anonymous tour with two questions,
`--stored / 2` people who have answered both (their answers filed under the tour key's HMAC, as
the bot files them, and the event ids of their DMs in processed_events), and `--answers` people
invited who have not answered yet.

Then Partnerbot runs as deployed: `partnerbot run` in HTTP mode, a process of its own
(bot/sandbox/bot_process.py), on that database (it finds it migrated and applies nothing;
checked). This process keeps the fake Slack and the senders: `--concurrency` loops, each a
signed `message.im` event from the next person not yet heard from, answering question 1, posted
to the bot's /slack/events over loopback, then a wait until the fake Slack has the bot's reply
(question 2) before the next. The rate is answers completed per second, from the first send to
the last reply. No new answer is sent after `--max-seconds`; a reply not in within
`--reply-timeout` counts as lost. The fake Slack adds `--latency` seconds to each call (the
reply is one). Then the bot is stopped with SIGTERM (it finishes what it has in flight), and a
bare Bolt app in a process of its own (bench/bare_bolt.py: it acks, then answers a DM with
one chat.postMessage, which stands for "done" as the bot's reply does) gets the same people's
events from as many senders. The rows are counted once both have stopped. With `--inline`, both
apps run in this process instead, in one event loop with the fake Slack and the senders.

Fails (exit 1) unless every answer sent is stored once, each sender moved on to question 2,
every event id was recorded, every sender got question 2 as the only reply (not the bot's
"something went wrong"), every ack was HTTP 200 and both processes stopped cleanly; never on
timing."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import resource
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

import aiohttp
from ack import (
    SAMPLE_CHANNEL,
    DmWatch,
    populate_channels,
    rig,
    stopped,
    summary,
)
from bare_bolt import bare_bolt_run
from launch import LEADER, run_on_each_backend
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.app import EVENTS_PATH
from bot.db import create_engine
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
from bot.sandbox.bot_process import bot_env, partnerbot_run
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack

RESULTS = Path(__file__).resolve().parent / "results" / "inbound.json"
SETUP_PROCESSES = (
    "Partnerbot as `partnerbot run` (HTTP), then the bare Bolt app, each alone in a process of"
    " its own; the fake Slack and the senders in the bench's"
)
SETUP_INLINE = (
    "--inline: Partnerbot, the bare Bolt app, the fake Slack and the senders in one process and"
    " event loop"
)
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
    round_trips: list[float] = field(default_factory=list)  # send to reply
    statuses: list[int] = field(default_factory=list)
    # Events acked with a body: an error answered before the ack (Slack ignores the body of an
    # event's ack and, the status being 200, does not retry the event).
    ack_bodies: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # no reply within --reply-timeout
    seconds: float = 0.0  # from the first send to the last reply (or ack, if later)
    capped: bool = False  # stopped sending at --max-seconds
    slack_calls: int = 0  # Web API calls the fake Slack had meanwhile
    # CPU seconds (user + system) meanwhile: the app's process (None: it is this one, --inline)
    # and this one (the fake Slack and the senders, and with --inline the apps too).
    app_cpu: float | None = None
    bench_cpu: float = 0.0


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a process so far (Linux: /proc/<pid>/stat); None for this
    process or where /proc is not."""
    stat = Path(f"/proc/{pid}/stat")
    if pid is None or not stat.exists():
        return None
    # Fields after the command name, which is in parentheses and may hold spaces.
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def drive(
    watch: DmWatch,
    sender: SignedSlack,
    users: list[str],
    concurrency: int,
    *,
    pid: int | None = None,
    max_seconds: float = math.inf,
    reply_timeout: float = 10.0,
) -> Run:
    """`concurrency` loops, each: a DM from the next user, then wait for the app's answer to
    reach the fake Slack (one more DM to that user; at most `reply_timeout` seconds, then it
    counts as lost and the loop goes on). No new event is sent after `max_seconds`; those in
    flight finish."""
    run = Run()
    queue: Iterator[str] = iter(users)
    before = Counter(watch.update())
    calls_before = len(watch.fake.calls)
    app_cpu, bench_cpu = cpu_seconds(pid), own_cpu_seconds()
    started = time.perf_counter()
    last = started

    async def loop() -> None:
        nonlocal last
        for user_id in queue:
            sent = time.perf_counter()
            if sent - started > max_seconds:
                run.capped = True
                return
            run.sent.append(user_id)
            delivery = await sender.dm(user_id, ANSWER)
            last = max(last, time.perf_counter())
            run.acks.append(time.perf_counter() - sent)
            run.statuses.append(delivery.status)
            if delivery.text.strip():
                run.ack_bodies.append(delivery.text)
            if await watch.wait_for_dm(user_id, before[user_id] + 1, timeout=reply_timeout):
                last = max(last, time.perf_counter())
                run.round_trips.append(time.perf_counter() - sent)
            else:
                run.lost.append(user_id)

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    run.seconds = last - started
    run.slack_calls = len(watch.fake.calls) - calls_before
    app_cpu_after = cpu_seconds(pid)
    if app_cpu is not None and app_cpu_after is not None:
        run.app_cpu = app_cpu_after - app_cpu
    run.bench_cpu = own_cpu_seconds() - bench_cpu
    return run


async def load(
    watch: DmWatch,
    sender: SignedSlack,
    warm: list[str],
    users: list[str],
    args: argparse.Namespace,
    pid: int | None = None,
) -> Run:
    # Warm-up (not timed): the first events pay for imports, caches, connections and Bolt's
    # auth.test.
    await drive(watch, sender, warm, 1)
    return await drive(
        watch,
        sender,
        users,
        args.concurrency,
        pid=pid,
        max_seconds=args.max_seconds,
        reply_timeout=args.reply_timeout,
    )


def replies(messages: list[dict[str, Any]], users: list[str]) -> Counter[str]:
    """What the bot answered each user: `question 2`, `error` (its "something went wrong, try
    again", the answer not saved), `other`, or `none`; `several` when more than one."""
    by_user: dict[str, list[str]] = {user_id: [] for user_id in users}
    for message in messages:
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


@dataclass
class Loaded:
    ours: Run
    bare: Run
    answered: Counter[str]  # the bot's replies, by kind (see `replies`)
    processes: dict[str, Any]
    problems: list[str]


async def in_processes(
    url: str,
    channels: dict[str, list[str]],
    warm: list[str],
    senders: list[str],
    args: argparse.Namespace,
) -> Loaded:
    """`partnerbot run` in a process of its own under the load, then stopped (SIGTERM: it
    finishes what it has in flight); then the bare Bolt app, alone too, gets the same people's
    events. This process keeps the fake Slack and the senders."""
    secret = secrets.token_hex(16)
    problems: list[str] = []
    async with FakeSlack() as fake, aiohttp.ClientSession() as http:
        populate_channels(fake, channels)
        watch = DmWatch(fake)
        with tempfile.TemporaryDirectory(prefix="partnerbot-bench-cwd-") as directory:
            cwd = Path(directory)
            env = bot_env(fake, secret, url, settings={"DM_ONE_TRIP": args.dm_one_trip})
            async with partnerbot_run(env, cwd, http) as bot:
                fake.latency = args.latency
                sender = SignedSlack(bot.url + EVENTS_PATH, secret, fake, session=http)
                ours = await load(watch, sender, warm, senders, args, bot.pid)
                bot_process = await stopped(bot, problems, "partnerbot run")
            # The bot's replies are all in; the bare app's answers come after these.
            answered = replies(fake.messages, [*warm, *ours.sent])
            async with bare_bolt_run(bot_env(fake, secret, "sqlite://"), cwd, http) as bare:
                sender = SignedSlack(bare.url + EVENTS_PATH, secret, fake, session=http)
                theirs = await load(watch, sender, warm, ours.sent, args, bare.pid)
                bare_process = await stopped(bare, problems, "the bare Bolt app")
    return Loaded(ours, theirs, answered, {"bot": bot_process, "bare": bare_process}, problems)


async def inline(
    url: str,
    channels: dict[str, list[str]],
    warm: list[str],
    senders: list[str],
    args: argparse.Namespace,
    engine: AsyncEngine,
) -> Loaded:
    """--inline: both apps, the fake Slack and the senders in this process and event loop."""
    async with rig(url, channels, args.latency, engine, inline=True) as b:
        assert b.deps is not None
        ours = await load(b.watch, b.slack, warm, senders, args)
        if not await b.deps.inflight.wait_idle(timeout=60):
            b.problems.append("Partnerbot's listeners still running 60 s after the last reply")
        answered = replies(b.fake.messages, [*warm, *ours.sent])
        theirs = await load(b.watch, b.bare, warm, ours.sent, args)
    return Loaded(ours, theirs, answered, b.processes, b.problems)


async def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    warm = [f"UW{n:04d}" for n in range(args.warmup)]
    senders = [f"UA{n:06d}" for n in range(args.answers)]
    channels = {SAMPLE_CHANNEL: [*warm, *senders]}
    load_average = [round(x, 2) for x in os.getloadavg()]
    engine = create_engine(url)  # the bench's own: it seeds, and counts once the bot has stopped
    try:
        async with engine.begin() as connection:
            seeded = await seed(connection, stored=args.stored, senders=[*warm, *senders])
        if args.inline:
            loaded = await inline(url, channels, warm, senders, args, engine)
        else:
            loaded = await in_processes(url, channels, warm, senders, args)
        async with engine.connect() as connection:
            stored = await connection.scalar(
                select(func.count()).select_from(Answer).where(Answer.tour_id == seeded.tour_id)
            )
            moved_on = await connection.scalar(
                select(func.count())
                .select_from(Participant)
                .where(
                    Participant.tour_id == seeded.tour_id,
                    Participant.status == ParticipantStatus.ANSWERING,
                    Participant.current_position == 1,
                )
            )
            events = await connection.scalar(select(func.count()).select_from(ProcessedEvent))
    finally:
        await engine.dispose()
    ours, bare, answered = loaded.ours, loaded.bare, loaded.answered
    heard = [*warm, *ours.sent]
    checks = {
        "answers_stored": (stored, seeded.answers + len(heard)),
        "participants_on_question_2": (moved_on, len(heard)),
        "event_ids_recorded": (events, seeded.answers + len(heard)),
        "replied_with_question_2": (answered["question 2"], len(heard)),
    }
    problems = list(loaded.problems)
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
        "load_average_at_start": load_average,
        "seeded": {"answers": seeded.answers, "seconds": round(seeded.seconds, 2)},
        "processes": loaded.processes,
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
        "slack_calls_per_event": round(run.slack_calls / len(run.sent), 2),
        # Busy share of one core: near 100 % (or more, with the database's own threads), the
        # process was the bottleneck.
        "app_process_cpu_pct": None
        if run.app_cpu is None
        else round(100 * run.app_cpu / run.seconds),
        "bench_process_cpu_pct": round(100 * run.bench_cpu / run.seconds),
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
    print(
        "  (bare: 'to reply' is until its listener's one chat.postMessage reached the fake Slack;"
        f" Web API calls per event: partnerbot {result['partnerbot']['slack_calls_per_event']},"
        f" bare {result['bare']['slack_calls_per_event']})"
    )
    cpu = {
        who: (result[who]["app_process_cpu_pct"], result[who]["bench_process_cpu_pct"])
        for who in ("partnerbot", "bare")
    }
    print(
        "  CPU, % of one core (the app's process / the bench's: fake Slack and senders):"
        + "".join(
            f" {who} {'-' if app is None else app}/{bench}" for who, (app, bench) in cpu.items()
        )
    )
    print(f"  load average (1, 5, 15 min) at the start: {result['load_average_at_start']}")
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
    parser.add_argument(
        "--dm-one-trip",
        choices=("true", "false"),
        default="true",
        help="the bot's DM_ONE_TRIP setting (false: every DM routed in one ORM transaction)",
    )
    parser.add_argument(
        "--inline",
        action="store_true",
        help="run both apps in this process, with the fake Slack and the senders (not as deployed)",
    )
    args = parser.parse_args()
    if args.inline and args.dm_one_trip == "false":
        parser.error("--dm-one-trip false needs the bot in a process of its own (not --inline)")
    if min(args.answers, args.concurrency) < 1 or args.stored < 0:
        parser.error("--answers and --concurrency must be at least 1, --stored at least 0")
    logging.basicConfig(level=logging.ERROR)
    setup = SETUP_INLINE if args.inline else SETUP_PROCESSES
    print(setup)
    report = {"args": vars(args), "bot_in_own_process": not args.inline, "setup": setup}
    return run_on_each_backend(
        "inbound",
        RESULTS,
        report,
        lambda url: asyncio.run(measure(url, args)),
        lambda backend, result: print_backend(backend, result, args),
    )


if __name__ == "__main__":
    sys.exit(main())
