"""Ack bench: p50/p95/p99 ack latency over HTTP of four kinds of request, next to a bare Bolt app
whose listeners do nothing, first on a quiet bot and then while a 1,000-DM fan-out is delivered.
Usage: python bench/ack.py [--repeats 100] [--fanout 1000] [--fanouts 10] [--latency 0.05]
[--inline | --apart] [--during-fanout]; see bench/README.md.

The four kinds, each from a member of an open listening tour (a fresh member every round):
  slash command    `/partner help` (answered in the ack, no database)
  button click     "Answer in a form" on the member's invitation (acks, then reads the tour
                   and the member's answers and opens the form: views.open)
  view submission  that form with two answers (saves them in one transaction, then acks, then
                   DMs the member a thank-you)
  DM event         a `message.im` answering question 1 (the event id is checked against the
                   database before the ack; the answer is saved and the next question sent after)
Partnerbot runs as deployed: `partnerbot run` in HTTP mode, a process of its own
(bot/sandbox/bot_process.py), on a database the bench migrated (it applies no migration on
start; checked). The baseline, a bare Bolt app whose listeners only ack and which answers a DM
with one chat.postMessage (bench/bare_bolt.py), is a process of its own too. This process
keeps the fake Slack and the senders: every request is signed and posted to the app's
/slack/events over loopback. The time is the HTTP round trip, as Slack sees it; each request
waits until the one before it has finished its work (the reply arrived at the fake Slack), so
the figure is the ack alone, not a queue behind earlier requests. With `--inline` both apps run
in this process instead, behind the bot's front door and in one event loop with the fake Slack
and the senders (the bench as it was first written, for comparison).

Then a tour is launched to `--fanout` people in another channel and the delivery worker sends
the invitations through the fake Slack (`--latency` seconds per call) while the same rounds go
on. A round is about as long as a fan-out of 1,000 (one or two rounds fit), so it is done
`--fanouts` times (a new tour to the same people each time), the rounds start with each kind in
turn, and a kind's pair of requests sent once the last invitation has arrived is not recorded
(counted as late). The bot's own delivery worker sends the invitations, in the bot's process,
next to the listeners acking; with `--apart` (PostgreSQL) a `partnerbot run --role worker`
process sends them and the requests go to a `--role web` process, as a scaled deployment runs.
`--during-fanout` skips the quiet rounds (the warm-up still runs).
Once done the bot is stopped with SIGTERM (it finishes what it has in flight) and the answers
are counted in its database. Exits 1 if an ack is not 200, an answer is not stored, a reply or
invitation is lost or sent twice, or a process does not stop cleanly; never on timing."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
from bare_bolt import bare_bolt_run, build_bare_app
from launch import CHANNEL, LEADER, Samples, run_on_each_backend, timed
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import EVENTS_PATH, RunningServer, SlackHttpFrontDoor, build_app, start_http
from bot.blocks.tour import TourAction
from bot.clock import SystemClock
from bot.db import create_engine
from bot.deps import Deps, build_deps
from bot.models import Answer, Tour
from bot.sandbox.bot_process import (
    ChildProcess,
    bot_env,
    partnerbot_run,
    stop_process,
)
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import Delivery, SignedSlack
from bot.settings import load_settings

RESULTS = Path(__file__).resolve().parent / "results" / "ack.json"
KINDS = ("slash command", "button click", "view submission", "DM event")
SAMPLE_CHANNEL = "CSAMPLE"  # the tour whose members click, submit and reply
FANOUT_CHANNEL = CHANNEL  # the tour launched to --fanout people (bench/launch.py's channel)
DM_ANSWER = "Releases wait two days for a sign-off."
FORM_ANSWERS = {
    "answer.1": {"answer.1.input": "The on-call rotation is fair now."},
    "answer.2": {"answer.2.input": "Staging is down so often that we wait to test."},
}
SETUP_PROCESSES = (
    "Partnerbot as `partnerbot run` (HTTP) and the bare Bolt app each in a process of its own;"
    " the fake Slack and the senders in the bench's"
)
SETUP_APART = (
    "--apart: Partnerbot as `partnerbot run --role web` (the listeners) and `--role worker` (the"
    " outbox and the scheduler) on PostgreSQL, and the bare Bolt app, each a process of its own;"
    " the fake Slack and the senders in the bench's"
)
SETUP_INLINE = (
    "--inline: Partnerbot, the bare Bolt app, the fake Slack and the senders in one process and"
    " event loop"
)
REPLY_TIMEOUT = 30.0  # seconds a listener may take to finish before the reply counts as lost
JsonDict = dict[str, Any]


# --- the rig: the fake Slack, Partnerbot and a bare Bolt app ---------------------------------


@dataclass
class Bench:
    fake: FakeSlack
    slack: SignedSlack  # signed requests to Partnerbot
    bare: SignedSlack  # the same requests to the bare Bolt app
    watch: DmWatch
    engine: AsyncEngine  # the bench's own connection to the bot's database, for reading
    deps: Deps | None = None  # the bot's, when it runs in this process (--inline)
    bot: ChildProcess | None = None  # the bot's process, otherwise (with --apart: the web's)
    problems: list[str] = field(default_factory=list)
    processes: dict[str, Any] = field(default_factory=dict)  # how the processes did


class DmWatch:
    """How many DMs each user has had from the fake, read incrementally (the fake keeps every
    message in one list, which grows by thousands during a fan-out)."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.counts: Counter[str] = Counter()
        self._read = 0

    def update(self) -> Counter[str]:
        for message in self.fake.messages[self._read :]:
            if message["dm_user"]:
                self.counts[message["dm_user"]] += 1
        self._read = len(self.fake.messages)
        return self.counts

    async def wait_for_dm(self, user_id: str, count: int, timeout: float = REPLY_TIMEOUT) -> bool:
        """True once `user_id` has had `count` DMs; False if not within `timeout` seconds."""
        with contextlib.suppress(TimeoutError):
            await self.fake.wait_for(lambda: self.update()[user_id] >= count, timeout=timeout)
        return self.counts[user_id] >= count


def populate_channels(fake: FakeSlack, channels: dict[str, list[str]]) -> None:
    fake.add_user(LEADER, "leader", tz="Europe/Berlin")
    for channel, members in channels.items():
        for user_id in members:
            fake.add_user(user_id, f"member-{user_id.lower()}")
        fake.add_channel(channel, channel.lower(), members=[LEADER, *members])


@contextlib.asynccontextmanager
async def rig(
    url: str,
    channels: dict[str, list[str]],
    latency: float,
    engine: AsyncEngine,
    *,
    inline: bool = False,
    apart: bool = False,
) -> AsyncIterator[Bench]:
    """The fake Slack with a channel per group of members, Partnerbot and the bare Bolt app
    (bench/bare_bolt.py) on `url`: each in a process of its own (`partnerbot run` and
    `python bench/bare_bolt.py`, as deployed), or with `inline` both in this process
    behind the bot's front door, as bench/launch.py's rig. On the way out the bot finishes
    what it has in flight and stops (SIGTERM), so the database is final."""
    secret = secrets.token_hex(16)
    async with FakeSlack() as fake, aiohttp.ClientSession() as http:
        populate_channels(fake, channels)
        apps = (
            inline_apps(fake, http, url, secret, engine)
            if inline
            else process_apps(fake, http, url, secret, engine, apart=apart)
        )
        async with apps as b:
            for sender in (b.slack, b.bare):
                # Bolt's first request on an app waits for auth.test; keep it out of the samples.
                await sender.slash_command(LEADER, "help", channel_id=SAMPLE_CHANNEL)
            fake.latency = latency
            yield b


@contextlib.asynccontextmanager
async def inline_apps(
    fake: FakeSlack, http: aiohttp.ClientSession, url: str, secret: str, engine: AsyncEngine
) -> AsyncIterator[Bench]:
    settings = load_settings(
        slack_bot_token=fake.bot_token,
        slack_signing_secret=secret,
        slack_api_url=fake.api_url,
        database_url=url,
    )
    deps = build_deps(settings, clock=SystemClock())
    servers: list[RunningServer] = []
    senders: list[SignedSlack] = []
    for app in (build_app(deps), build_bare_app(fake.bot_token, secret, fake.api_url)):
        servers.append(await start_http(SlackHttpFrontDoor(app, deps), host="127.0.0.1", port=0))
        senders.append(SignedSlack(servers[-1].url + EVENTS_PATH, secret, fake, session=http))
    b = Bench(fake, senders[0], senders[1], DmWatch(fake), engine, deps=deps)
    b.processes = {"bot": "inline: one process and event loop with the fake and the senders"}
    try:
        yield b
    finally:
        if not await deps.inflight.wait_idle(timeout=60):
            b.problems.append("Partnerbot's listeners still running 60 s after the last request")
        for server in servers:
            await server.stop()
        await deps.close()


@contextlib.asynccontextmanager
async def process_apps(
    fake: FakeSlack,
    http: aiohttp.ClientSession,
    url: str,
    secret: str,
    engine: AsyncEngine,
    *,
    apart: bool = False,
) -> AsyncIterator[Bench]:
    """`partnerbot run` (with `apart`: `--role worker` and `--role web`, each a process) and
    the bare Bolt app."""
    with tempfile.TemporaryDirectory(prefix="partnerbot-bench-cwd-") as cwd:
        bot_settings = bot_env(fake, secret, url)
        bare_settings = bot_env(fake, secret, "sqlite://")
        async with contextlib.AsyncExitStack() as stack:
            worker = None
            if apart:
                worker_run = partnerbot_run(bot_settings, Path(cwd), http, role="worker")
                worker = await stack.enter_async_context(worker_run)
            role = "web" if apart else "all"
            bot = await stack.enter_async_context(
                partnerbot_run(bot_settings, Path(cwd), http, role=role)
            )
            bare = await stack.enter_async_context(bare_bolt_run(bare_settings, Path(cwd), http))
            b = Bench(
                fake,
                SignedSlack(bot.url + EVENTS_PATH, secret, fake, session=http),
                SignedSlack(bare.url + EVENTS_PATH, secret, fake, session=http),
                DmWatch(fake),
                engine,
                bot=bot,
            )
            try:
                yield b
            finally:
                b.processes = {
                    "bot": await stopped(bot, b.problems, f"partnerbot run --role {role}"),
                    "bare": await stopped(bare, b.problems, "the bare Bolt app"),
                }
                if worker is not None:
                    name = "partnerbot run --role worker"
                    b.processes["worker"] = await stopped(worker, b.problems, name)


async def stopped(child: ChildProcess, problems: list[str], name: str) -> dict[str, Any]:
    """SIGTERM a child the rig started, and what the bench should know about how it ran: it
    must stop cleanly (exit 0, "stopped" its last word, no error logged, nothing left in
    flight) and, started on a database the bench had migrated, apply no migration."""
    code = await stop_process(child)
    messages = child.log_messages()
    errors = child.error_lines()
    migrations = [m for m in messages if m.startswith("Running upgrade")]
    gave_up = [m for m in messages if m.startswith("gave up waiting")]
    if code != 0:
        problems.append(f"{name} exited with {code} on SIGTERM")
    if not messages or messages[-1] != "stopped":
        problems.append(f"{name} did not log 'stopped' last")
    if errors:
        problems.append(f"{name}: {len(errors)} error lines in its log, the first: {errors[0]}")
    if gave_up:
        problems.append(f"{name} stopped with listeners still running")
    if migrations:
        problems.append(f"{name} migrated a database the bench had migrated: {migrations}")
    return {
        "pid": child.pid,
        "startup_seconds": round(child.startup_seconds or 0.0, 2),
        "exit_code": code,
        "log_lines": len(child.lines),
        "migrations_applied_on_start": len(migrations),
    }


async def start_tour(b: Bench, channel: str, acks: Samples | None = None) -> int:
    """The leader types `/partner tour #channel` and submits the modal as prefilled (as
    bench/launch.py's `launch`, for any channel); returns the tour id once the launch has
    written the tour and its outbox rows and published the leader's Home (the listener's last
    step; the invitations go out through the delivery worker)."""
    text = f"tour <#{channel}|{channel.lower()}>"
    await sampled(acks, "/partner tour", b.slack.slash_command(LEADER, text, channel_id=channel))
    await b.fake.wait_for(lambda: bool(b.fake.view_stack(LEADER)), timeout=10)
    view = b.fake.views[b.fake.view_stack(LEADER)[-1]]
    calls_before = len(b.fake.calls)
    answer = await sampled(acks, "launch submission", b.slack.view_submission(LEADER, view, {}))
    if answer.status != 200 or answer.json is not None or answer.problems:
        raise RuntimeError(f"launch refused: HTTP {answer.status} {answer.text[:300]}")

    def home_published() -> bool:
        return any(
            call.method == "views.publish" and call.args.get("user_id") == LEADER
            for call in b.fake.calls[calls_before:]
        )

    await b.fake.wait_for(home_published, timeout=120)
    async with b.engine.connect() as connection:
        tour_id = await connection.scalar(select(func.max(Tour.id)))
    assert tour_id is not None
    return int(tour_id)


# --- one round: the four kinds, Partnerbot then the bare app --------------------------------


@dataclass
class Round:
    """Who acts in a round, and where its samples go (None: a warm-up, not recorded)."""

    form_user: str
    dm_user: str
    acks: Samples | None
    work: Samples | None
    # During a fan-out: whether its invitations are still going out. A kind's pair of requests
    # (Partnerbot's, then the bare app's) sent after the last one went is not recorded, but
    # counted in `late`.
    live: Callable[[], bool] | None = None
    late: Counter[str] | None = None
    first: int = 0  # which step goes first: rotated during the fan-outs (see `one_round`)


async def sampled(samples: Samples | None, name: str, request: Awaitable[Delivery]) -> Delivery:
    return await (timed(samples, name, request) if samples is not None else request)


def expect(b: Bench, ok: bool, what: str) -> None:
    if not ok and len(b.problems) < 50:
        b.problems.append(what)


def recording(r: Round, kind: str) -> Round:
    """The round as `kind` should record it: not at all once the fan-out is over."""
    if r.live is None or r.live():
        return r
    if r.late is not None:
        r.late[kind] += 1
    return replace(r, acks=None, work=None)


async def after_ack(b: Bench, r: Round, kind: str, done: Callable[[], Awaitable[bool]]) -> None:
    """Wait for the work Partnerbot does after acknowledging (recorded as its own row)."""
    started = time.perf_counter()
    ok = await done()
    expect(b, ok, f"{kind} from {r.form_user if kind != 'DM event' else r.dm_user}: no reply")
    if r.work is not None and ok:
        r.work.setdefault(kind, []).append(time.perf_counter() - started)


async def help_command(b: Bench, r: Round) -> None:
    """Slash command: `/partner help`, answered in the ack itself."""
    r = recording(r, "slash command")
    command = b.slack.slash_command(LEADER, "help", channel_id=SAMPLE_CHANNEL)
    answer = await sampled(r.acks, "slash command", command)
    expect(b, answer.status == 200 and "/partner" in answer.text, f"help: HTTP {answer.status}")
    command = b.bare.slash_command(LEADER, "help", channel_id=SAMPLE_CHANNEL)
    answer = await sampled(r.acks, "bare slash command", command)
    expect(b, answer.status == 200, f"bare help: HTTP {answer.status}")


async def answer_form(b: Bench, r: Round) -> None:
    """Button, then view submission: the member clicks "Answer in a form" on their invitation,
    the form opens, they submit it with both answers and get a thank-you DM."""
    fake, slack, bare = b.fake, b.slack, b.bare
    invitation = next(m for m in fake.messages if m["dm_user"] == r.form_user)
    click = {"message": invitation, "channel_id": invitation["channel"]}
    clicking = recording(r, "button click")
    answer = await sampled(
        clicking.acks,
        "button click",
        slack.block_action(r.form_user, TourAction.ANSWER_FORM, **click),
    )
    expect(b, answer.status == 200, f"button click: HTTP {answer.status}")

    async def form_open() -> bool:
        with contextlib.suppress(TimeoutError):
            await fake.wait_for(lambda: bool(fake.view_stack(r.form_user)), REPLY_TIMEOUT)
        return bool(fake.view_stack(r.form_user))

    await after_ack(b, clicking, "button click", form_open)
    answer = await sampled(
        clicking.acks,
        "bare button click",
        bare.block_action(r.form_user, TourAction.ANSWER_FORM, **click),
    )
    expect(b, answer.status == 200, f"bare button click: HTTP {answer.status}")
    if not fake.view_stack(r.form_user):
        return

    form = fake.views[fake.view_stack(r.form_user)[-1]]
    dms = b.watch.update()[r.form_user]
    submitting = recording(r, "view submission")
    answer = await sampled(
        submitting.acks, "view submission", slack.view_submission(r.form_user, form, FORM_ANSWERS)
    )
    refused = answer.status != 200 or answer.json is not None or bool(answer.problems)
    expect(b, not refused, f"view submission: HTTP {answer.status} {answer.text[:200]}")
    await after_ack(
        b, submitting, "view submission", lambda: b.watch.wait_for_dm(r.form_user, dms + 1)
    )
    bare_submission = bare.view_submission(r.form_user, form, FORM_ANSWERS)
    answer = await sampled(submitting.acks, "bare view submission", bare_submission)
    expect(b, answer.status == 200, f"bare view submission: HTTP {answer.status}")


async def dm_answer(b: Bench, r: Round) -> None:
    """DM event: the member answers question 1 in their DM; the bot asks question 2."""
    r = recording(r, "DM event")
    dms = b.watch.update()[r.dm_user]
    answer = await sampled(r.acks, "DM event", b.slack.dm(r.dm_user, DM_ANSWER))
    # An event's ack has no body; one with a body is an error answered before the ack.
    ok = answer.status == 200 and not answer.text.strip()
    expect(b, ok, f"DM event: HTTP {answer.status} {answer.text[:200]}")
    await after_ack(b, r, "DM event", lambda: b.watch.wait_for_dm(r.dm_user, dms + 1))
    dms = b.watch.update()[r.dm_user]
    answer = await sampled(r.acks, "bare DM event", b.bare.dm(r.dm_user, DM_ANSWER))
    expect(b, answer.status == 200, f"bare DM event: HTTP {answer.status}")
    # The bare listener runs after its ack and answers with one chat.postMessage.
    ran = await b.watch.wait_for_dm(r.dm_user, dms + 1)
    expect(b, ran, f"bare DM event from {r.dm_user}: the listener never ran")


STEPS = (help_command, answer_form, dm_answer)


async def one_round(b: Bench, r: Round) -> None:
    """The four kinds, each Partnerbot's request then the bare app's. A round takes about as
    long as a fan-out of 1,000 lasts, so the fan-outs' rounds start with each step in turn, to
    give every kind its share of requests sent while the invitations go out."""
    start = r.first % len(STEPS)
    for step in (*STEPS[start:], *STEPS[:start]):
        await step(b, r)


# --- the two phases ---------------------------------------------------------------------------


@dataclass
class Phase:
    acks: Samples = field(default_factory=dict)
    work: Samples = field(default_factory=dict)
    rounds: int = 0
    late: Counter[str] = field(default_factory=Counter)  # pairs sent after a fan-out ended


async def phases(
    b: Bench,
    args: argparse.Namespace,
    samplers: list[str],
    fanout: list[str],
    quiet: Phase,
    during: Phase,
) -> tuple[int, tuple[list[dict[str, Any]], Samples]]:
    """The quiet rounds, then the fan-outs with rounds during each; returns the samplers' tour
    and, per fan-out, how it went, with the acks of the commands that launched them."""
    launch_acks: Samples = {}
    fanouts: list[dict[str, Any]] = []
    # Set-up (not timed, no latency): a tour for the samplers, its invitations sent.
    sample_tour = await start_tour(b, SAMPLE_CHANNEL)
    await b.fake.wait_for(lambda: all(b.watch.update()[u] >= 1 for u in samplers), timeout=120)
    b.fake.latency = args.latency
    pairs = iter(zip(samplers[::2], samplers[1::2], strict=True))
    quiet_rounds = 0 if args.during_fanout else args.repeats
    for n in range(args.warmup + quiet_rounds):
        form_user, dm_user = next(pairs)
        recorded = n >= args.warmup
        acks, work = (quiet.acks, quiet.work) if recorded else (None, None)
        await one_round(b, Round(form_user, dm_user, acks, work))
        quiet.rounds += recorded
    # The fan-outs: each a new tour to the --fanout people, with rounds until all of them have
    # its invitation.
    for n in range(1, args.fanouts + 1):
        started = time.perf_counter()
        await start_tour(b, FANOUT_CHANNEL, launch_acks)
        launched = time.perf_counter() - started

        def delivered(n: int = n) -> int:
            counts = b.watch.update()
            return sum(counts[u] >= n for u in fanout)

        def fanning_out(n: int = n) -> bool:
            return delivered(n) < len(fanout)

        before = during.rounds
        for form_user, dm_user in pairs:
            if not fanning_out():
                break
            r = Round(form_user, dm_user, during.acks, during.work, fanning_out, during.late)
            r.first = during.rounds
            await one_round(b, r)
            during.rounds += 1
        with contextlib.suppress(TimeoutError):
            await b.fake.wait_for(lambda: delivered() == len(fanout), timeout=args.timeout)
        fanouts.append(
            {
                "seconds": round(time.perf_counter() - started, 2),
                "launch_seconds": round(launched, 2),
                "rounds_during": during.rounds - before,
            }
        )
    return sample_tour, (fanouts, launch_acks)


async def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    rounds = args.warmup + args.repeats + args.max_fanout_rounds
    samplers = [f"US{n:05d}" for n in range(2 * rounds)]
    fanout = [f"UF{n:05d}" for n in range(args.fanout)]
    channels = {SAMPLE_CHANNEL: samplers, FANOUT_CHANNEL: fanout}
    quiet, during = Phase(), Phase()
    engine = create_engine(url)  # the bench's own, to read what the bot wrote
    try:
        async with rig(url, channels, 0.0, engine, inline=args.inline, apart=args.apart) as b:
            stop = asyncio.Event()
            worker = None
            if b.deps is not None:  # `partnerbot run` runs its own delivery worker
                worker = asyncio.create_task(b.deps.delivery.run(stop))
            try:
                sample_tour, used = await phases(b, args, samplers, fanout, quiet, during)
                fanouts, launch_acks = used
            finally:
                stop.set()
                if worker is not None:
                    await worker
        # The bot has stopped (finishing what it had in flight): the database is final.
        counts = b.watch.update()
        async with engine.connect() as connection:
            stored = await connection.scalar(
                select(func.count()).select_from(Answer).where(Answer.tour_id == sample_tour)
            )
    finally:
        await engine.dispose()
    rounds_used = args.warmup + quiet.rounds + during.rounds
    expected_answers = rounds_used * (len(FORM_ANSWERS) + 1)  # two in the form, one by DM
    expect(b, stored == expected_answers, f"{stored} answers stored, not {expected_answers}")
    problems = b.problems
    lost = [u for u in fanout if counts[u] < args.fanouts]
    duplicated = [u for u in fanout if counts[u] > args.fanouts]
    if lost or duplicated:
        problems.append(f"fan-out: {len(lost)} invitations lost, {len(duplicated)} duplicated")
    return {
        "quiet": quiet,
        "during": during,
        "launch_acks": launch_acks,
        "fanout": {
            "messages_each": len(fanout),
            "fanouts": fanouts,
            "lost": len(lost),
            "duplicated": len(duplicated),
        },
        "answers_stored": stored,
        "processes": b.processes,
        "problems": problems,
    }


# --- report -----------------------------------------------------------------------------------


def summary(samples: list[float]) -> dict[str, Any]:
    """Nearest-rank percentiles in ms (bench/launch.py's rule, plus p99: with fewer than 100
    samples p99 is the slowest)."""
    ordered = sorted(samples)

    def rank(q: float) -> float:
        return round(ordered[max(math.ceil(q * len(ordered)) - 1, 0)] * 1000, 1)

    return {
        "n": len(ordered),
        "p50_ms": rank(0.5),
        "p95_ms": rank(0.95),
        "p99_ms": rank(0.99),
        "max_ms": rank(1.0),
    }


PERCENTILES = ("p50_ms", "p95_ms", "p99_ms")


def ratios(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, float]:
    return {key[:3]: round(ours[key] / theirs[key], 2) for key in PERCENTILES}


def tabulate(result: dict[str, Any]) -> dict[str, Any]:
    """Per kind and phase: Partnerbot's and the bare app's percentiles and their ratios."""
    table: dict[str, Any] = {}
    for phase in ("quiet", "during"):
        acks: Samples = result[phase].acks
        rows: dict[str, Any] = {}
        for kind in KINDS:
            if kind not in acks or f"bare {kind}" not in acks:
                continue
            ours, bare = summary(acks[kind]), summary(acks[f"bare {kind}"])
            rows[kind] = {"partnerbot": ours, "bare": bare, "ratio": ratios(ours, bare)}
            if kind in result[phase].work:
                rows[kind]["work_after_ack"] = summary(result[phase].work[kind])
        table[phase] = {
            "rounds": result[phase].rounds,
            "late_not_recorded": dict(result[phase].late),
            "kinds": rows,
        }
    for kind, row in table["during"]["kinds"].items():  # the fan-out's cost, against quiet
        quiet = table["quiet"]["kinds"].get(kind)
        if quiet:
            row["ratio_to_quiet"] = ratios(row["partnerbot"], quiet["partnerbot"])
            row["bare_ratio_to_quiet"] = ratios(row["bare"], quiet["bare"])
    table["launch_acks"] = {name: summary(s) for name, s in result["launch_acks"].items()}
    table["fanout"] = result["fanout"]
    table["answers_stored"] = result["answers_stored"]
    table["processes"] = result["processes"]
    table["problems"] = result["problems"]
    return table


def print_backend(backend: str, table: dict[str, Any], args: argparse.Namespace) -> None:
    titles = {
        "quiet": "quiet",
        "during": f"during {args.fanouts} fan-out(s) of {args.fanout:,} DMs"
        f" ({args.latency * 1000:.0f} ms per Slack call)",
    }
    for phase in ("quiet", "during"):
        print(f"\n{backend}: ack as Slack sees it (ms), {titles[phase]}")
        print(
            f"  {'':16} {'':10} {'n':>4} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}"
            f"   ratio p50/p95/p99"
        )
        for kind, row in table[phase]["kinds"].items():
            for who in ("partnerbot", "bare"):
                s = row[who]
                cells = " ".join(f"{s[k]:7.1f}" for k in (*PERCENTILES, "max_ms"))
                ratio = "  ".join(f"{v:.2f}" for v in row["ratio"].values())
                tail = f"   {ratio}" if who == "partnerbot" else ""
                label = kind if who == "partnerbot" else ""
                print(f"  {label:16} {who:10} {s['n']:>4} {cells}{tail}")
        print("  (not an ack) Partnerbot's work after the ack, until the fake Slack has its reply:")
        for kind, row in table[phase]["kinds"].items():
            if "work_after_ack" in row:
                s = row["work_after_ack"]
                print(f"    {kind:16} p50 {s['p50_ms']:7.1f}  p95 {s['p95_ms']:7.1f} ms")
    print(f"\n{backend}: the fan-out against the quiet figures (p50/p95/p99 ratios)")
    for kind, row in table["during"]["kinds"].items():
        if "ratio_to_quiet" in row:
            ours = "  ".join(f"{v:.2f}" for v in row["ratio_to_quiet"].values())
            bare = "  ".join(f"{v:.2f}" for v in row["bare_ratio_to_quiet"].values())
            print(f"  {kind:16} partnerbot {ours}    bare {bare}")
    fan = table["fanout"]
    for n, one in enumerate(fan["fanouts"], 1):
        print(
            f"  fan-out {n}: {fan['messages_each']:,} invitations delivered {one['seconds']} s"
            f" after the command (its launch listener done after {one['launch_seconds']} s),"
            f" {one['rounds_during']} rounds during it"
        )
    late = table["during"]["late_not_recorded"]
    if late:
        print(
            "  pairs sent after a fan-out had ended, not recorded: "
            + ", ".join(f"{n} {kind}" for kind, n in late.items())
        )
    print(f"  invitations lost {fan['lost']}, duplicated {fan['duplicated']}")
    for name, s in table["launch_acks"].items():
        print(f"  {name} of those tours: p50 {s['p50_ms']:.1f} ms, max {s['max_ms']:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=100, help="rounds timed on a quiet bot")
    parser.add_argument("--warmup", type=int, default=3, help="rounds first, not recorded")
    parser.add_argument("--fanout", type=int, default=1000, help="people the second tour asks")
    parser.add_argument("--latency", type=float, default=0.05, help="fake Slack seconds per call")
    parser.add_argument("--fanouts", type=int, default=10, help="fan-outs, one after the other")
    parser.add_argument(
        "--max-fanout-rounds", type=int, default=60, help="at most this many during fan-outs"
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed the fan-out")
    parser.add_argument(
        "--inline",
        action="store_true",
        help="run both apps in this process, with the fake Slack (not as deployed)",
    )
    parser.add_argument(
        "--apart",
        action="store_true",
        help="Partnerbot as a `--role web` process and a `--role worker` process (PostgreSQL "
        "only: needs TEST_DATABASE_URL; SQLite is not run)",
    )
    parser.add_argument(
        "--during-fanout",
        action="store_true",
        help="time the rounds during the fan-outs only (no quiet rounds after the warm-up)",
    )
    args = parser.parse_args()
    if min(args.repeats, args.fanout, args.fanouts) < 1:
        parser.error("--repeats, --fanout and --fanouts must be at least 1")
    if args.apart and (args.inline or not os.environ.get("TEST_DATABASE_URL")):
        parser.error("--apart runs processes on PostgreSQL: set TEST_DATABASE_URL, no --inline")
    logging.basicConfig(level=logging.ERROR)
    setup = SETUP_INLINE if args.inline else SETUP_APART if args.apart else SETUP_PROCESSES
    print(setup)
    report = {"args": vars(args), "bot_in_own_process": not args.inline, "setup": setup}
    return run_on_each_backend(
        "ack",
        RESULTS,
        report,
        lambda url: tabulate(asyncio.run(measure(url, args))),
        lambda backend, result: print_backend(backend, result, args),
        sqlite=not args.apart,
    )


if __name__ == "__main__":
    sys.exit(main())
