"""Ack bench: p50/p95/p99 ack latency over HTTP of four kinds of request, next to a bare Bolt app
whose listeners do nothing, first on a quiet bot and then while a 1,000-DM fan-out is delivered.
Usage: python bench/ack.py [--repeats 100] [--fanout 1000] [--fanouts 2] [--latency 0.05];
see bench/README.md.

The four kinds, each from a member of an open listening tour (a fresh member every round):
  slash command    `/partner help` (answered in the ack, no database)
  button click     "Answer in a form" on the member's invitation (acks, then reads the tour
                   and the member's answers and opens the form: views.open)
  view submission  that form with two answers (saves them in one transaction, then acks, then
                   DMs the member a thank-you)
  DM event         a `message.im` answering question 1 (the event id is checked against the
                   database before the ack; the answer is saved and the next question sent after)
Every request is signed and posted to the app's /slack/events over loopback, as in
bench/launch.py (the rig, the clock and the databases are set up the same way, and its bare Bolt
app is the baseline's start). The time is the HTTP round trip, as Slack sees it; each request
waits until the one before it has finished its work (the reply arrived at the fake Slack), so
the figure is the ack alone, not a queue behind earlier requests.

Then a tour is launched to `--fanout` people in another channel and the delivery worker sends
the invitations through the fake Slack (`--latency` seconds per call) while the same rounds go
on; only rounds started before the last invitation arrived count. A fan-out leaves room for
about 15-20 rounds, so it is done `--fanouts` times (a new tour to the same people each time).
Everything shares one event loop, as in the bot's own process, and the fake Slack is in it too.
Exits 1 if an ack is not 200, an answer is not stored, a reply or invitation is lost or sent
twice; never on timing."""

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
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from launch import CHANNEL, LEADER, Samples, fresh_database, timed
from launch import bare_bolt as launch_bare_bolt
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from sqlalchemy import func, select

from bot.app import EVENTS_PATH, RunningServer, SlackHttpFrontDoor, build_app, start_http
from bot.blocks.tour import TourAction, TourView
from bot.clock import SystemClock
from bot.deps import Deps, build_deps
from bot.models import Answer, Tour
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
REPLY_TIMEOUT = 30.0  # seconds a listener may take to finish before the reply counts as lost
JsonDict = dict[str, Any]


# --- the rig: the fake Slack, Partnerbot and a bare Bolt app, both behind the front door ------


def bare_bolt(fake: FakeSlack, secret: str, seen: dict[str, asyncio.Event]) -> AsyncApp:
    """bench/launch.py's bare app (`/partner` and the launch modal, ack only) with no-op
    listeners for the button, the answer form and DMs; a DM sets its sender's event in `seen`
    (if the bench put one there), so the bench knows the listener ran."""
    app = launch_bare_bolt(fake, secret)

    async def just_ack(ack: AsyncAck) -> None:
        await ack()

    async def no_op(event: JsonDict) -> None:  # Bolt acks an event before its listener runs
        ran = seen.get(str(event.get("user")))
        if ran is not None:
            ran.set()

    app.action(TourAction.ANSWER_FORM.value)(just_ack)
    app.view(TourView.ANSWERS.value)(just_ack)
    app.event("message")(no_op)
    return app


@dataclass
class Bench:
    fake: FakeSlack
    deps: Deps
    slack: SignedSlack  # signed requests to Partnerbot
    bare: SignedSlack  # the same requests to the bare Bolt app
    bare_seen: dict[str, asyncio.Event]
    watch: DmWatch
    problems: list[str] = field(default_factory=list)


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


@contextlib.asynccontextmanager
async def rig(url: str, channels: dict[str, list[str]], latency: float) -> AsyncIterator[Bench]:
    """As bench/launch.py's rig, with a channel per group of members and this bare app."""
    secret = secrets.token_hex(16)
    async with FakeSlack() as fake, aiohttp.ClientSession() as http:
        fake.add_user(LEADER, "leader", tz="Europe/Berlin")
        for channel, members in channels.items():
            for user_id in members:
                fake.add_user(user_id, f"member-{user_id.lower()}")
            fake.add_channel(channel, channel.lower(), members=[LEADER, *members])
        settings = load_settings(
            slack_bot_token=fake.bot_token,
            slack_signing_secret=secret,
            slack_api_url=fake.api_url,
            database_url=url,
        )
        deps = build_deps(settings, clock=SystemClock())
        seen: dict[str, asyncio.Event] = {}
        servers: list[RunningServer] = []
        senders: list[SignedSlack] = []
        for app in (build_app(deps), bare_bolt(fake, secret, seen)):
            servers.append(
                await start_http(SlackHttpFrontDoor(app, deps), host="127.0.0.1", port=0)
            )
            senders.append(SignedSlack(servers[-1].url + EVENTS_PATH, secret, fake, session=http))
            # Bolt's first request on an app waits for auth.test; keep it out of the samples.
            await senders[-1].slash_command(LEADER, "help", channel_id=SAMPLE_CHANNEL)
        fake.latency = latency
        try:
            yield Bench(fake, deps, senders[0], senders[1], seen, DmWatch(fake))
        finally:
            await deps.inflight.wait_idle(timeout=60)
            for server in servers:
                await server.stop()
            await deps.close()


async def start_tour(b: Bench, channel: str, acks: Samples | None = None) -> int:
    """The leader types `/partner tour #channel` and submits the modal as prefilled (as
    bench/launch.py's `launch`, for any channel); returns the tour id once the launch has
    written the tour and its outbox rows (the invitations go out through the delivery worker)."""
    text = f"tour <#{channel}|{channel.lower()}>"
    await sampled(acks, "/partner tour", b.slack.slash_command(LEADER, text, channel_id=channel))
    await b.fake.wait_for(lambda: bool(b.fake.view_stack(LEADER)), timeout=10)
    view = b.fake.views[b.fake.view_stack(LEADER)[-1]]
    answer = await sampled(acks, "launch submission", b.slack.view_submission(LEADER, view, {}))
    if answer.status != 200 or answer.json is not None or answer.problems:
        raise RuntimeError(f"launch refused: HTTP {answer.status} {answer.text[:300]}")
    if not await b.deps.inflight.wait_idle(timeout=120):
        raise RuntimeError("the launch listener is still running after 120 s")
    async with b.deps.sessions() as session:
        tour_id = await session.scalar(select(func.max(Tour.id)))
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


async def sampled(samples: Samples | None, name: str, request: Awaitable[Delivery]) -> Delivery:
    return await (timed(samples, name, request) if samples is not None else request)


def expect(b: Bench, ok: bool, what: str) -> None:
    if not ok and len(b.problems) < 50:
        b.problems.append(what)


async def after_ack(b: Bench, r: Round, kind: str, done: Callable[[], Awaitable[bool]]) -> None:
    """Wait for the work Partnerbot does after acknowledging (recorded as its own row)."""
    started = time.perf_counter()
    ok = await done()
    expect(b, ok, f"{kind} from {r.form_user if kind != 'DM event' else r.dm_user}: no reply")
    if r.work is not None and ok:
        r.work.setdefault(kind, []).append(time.perf_counter() - started)


async def one_round(b: Bench, r: Round) -> None:
    fake, slack, bare = b.fake, b.slack, b.bare
    # Slash command: `/partner help`, answered in the ack itself.
    help_command = slack.slash_command(LEADER, "help", channel_id=SAMPLE_CHANNEL)
    answer = await sampled(r.acks, "slash command", help_command)
    expect(b, answer.status == 200 and "/partner" in answer.text, f"help: HTTP {answer.status}")
    bare_command = bare.slash_command(LEADER, "help", channel_id=SAMPLE_CHANNEL)
    answer = await sampled(r.acks, "bare slash command", bare_command)
    expect(b, answer.status == 200, f"bare help: HTTP {answer.status}")

    # Button: the member clicks "Answer in a form" on their invitation; the form opens.
    invitation = next(m for m in fake.messages if m["dm_user"] == r.form_user)
    click = {"message": invitation, "channel_id": invitation["channel"]}
    answer = await sampled(
        r.acks, "button click", slack.block_action(r.form_user, TourAction.ANSWER_FORM, **click)
    )
    expect(b, answer.status == 200, f"button click: HTTP {answer.status}")

    async def form_open() -> bool:
        with contextlib.suppress(TimeoutError):
            await fake.wait_for(lambda: bool(fake.view_stack(r.form_user)), REPLY_TIMEOUT)
        return bool(fake.view_stack(r.form_user))

    await after_ack(b, r, "button click", form_open)
    answer = await sampled(
        r.acks, "bare button click", bare.block_action(r.form_user, TourAction.ANSWER_FORM, **click)
    )
    expect(b, answer.status == 200, f"bare button click: HTTP {answer.status}")
    if not fake.view_stack(r.form_user):
        return

    # View submission: the form with both answers; the member gets a thank-you DM.
    form = fake.views[fake.view_stack(r.form_user)[-1]]
    dms = b.watch.update()[r.form_user]
    answer = await sampled(
        r.acks, "view submission", slack.view_submission(r.form_user, form, FORM_ANSWERS)
    )
    refused = answer.status != 200 or answer.json is not None or bool(answer.problems)
    expect(b, not refused, f"view submission: HTTP {answer.status} {answer.text[:200]}")
    await after_ack(b, r, "view submission", lambda: b.watch.wait_for_dm(r.form_user, dms + 1))
    bare_submission = bare.view_submission(r.form_user, form, FORM_ANSWERS)
    answer = await sampled(r.acks, "bare view submission", bare_submission)
    expect(b, answer.status == 200, f"bare view submission: HTTP {answer.status}")

    # DM event: the member answers question 1 in their DM; the bot asks question 2.
    dms = b.watch.update()[r.dm_user]
    answer = await sampled(r.acks, "DM event", slack.dm(r.dm_user, DM_ANSWER))
    # An event's ack has no body; one with a body is an error answered before the ack.
    ok = answer.status == 200 and not answer.text.strip()
    expect(b, ok, f"DM event: HTTP {answer.status} {answer.text[:200]}")
    await after_ack(b, r, "DM event", lambda: b.watch.wait_for_dm(r.dm_user, dms + 1))
    ran = b.bare_seen.setdefault(r.dm_user, asyncio.Event())
    answer = await sampled(r.acks, "bare DM event", bare.dm(r.dm_user, DM_ANSWER))
    expect(b, answer.status == 200, f"bare DM event: HTTP {answer.status}")
    with contextlib.suppress(TimeoutError):  # the bare listener runs right after its ack
        await asyncio.wait_for(ran.wait(), REPLY_TIMEOUT)
    expect(b, ran.is_set(), f"bare DM event from {r.dm_user}: the listener never ran")


# --- the two phases ---------------------------------------------------------------------------


@dataclass
class Phase:
    acks: Samples = field(default_factory=dict)
    work: Samples = field(default_factory=dict)
    rounds: int = 0


async def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    rounds = args.warmup + args.repeats + args.max_fanout_rounds
    samplers = [f"US{n:05d}" for n in range(2 * rounds)]
    fanout = [f"UF{n:05d}" for n in range(args.fanout)]
    channels = {SAMPLE_CHANNEL: samplers, FANOUT_CHANNEL: fanout}
    quiet, during = Phase(), Phase()
    launch_acks: Samples = {}
    fanouts: list[dict[str, Any]] = []
    async with rig(url, channels, latency=0.0) as b:
        stop = asyncio.Event()
        worker = asyncio.create_task(b.deps.delivery.run(stop))  # as in `partnerbot run`
        try:
            # Set-up (not timed, no latency): a tour for the samplers, its invitations sent.
            sample_tour = await start_tour(b, SAMPLE_CHANNEL)
            await b.fake.wait_for(
                lambda: all(b.watch.update()[u] >= 1 for u in samplers), timeout=120
            )
            b.fake.latency = args.latency
            pairs = iter(zip(samplers[::2], samplers[1::2], strict=True))
            for n in range(args.warmup + args.repeats):
                form_user, dm_user = next(pairs)
                recorded = n >= args.warmup
                acks, work = (quiet.acks, quiet.work) if recorded else (None, None)
                await one_round(b, Round(form_user, dm_user, acks, work))
                quiet.rounds += recorded
            # The fan-outs: each a new tour to the --fanout people, with rounds until all of
            # them have its invitation.
            for n in range(1, args.fanouts + 1):
                started = time.perf_counter()
                await start_tour(b, FANOUT_CHANNEL, launch_acks)
                launched = time.perf_counter() - started

                def delivered(n: int = n) -> int:
                    counts = b.watch.update()
                    return sum(counts[u] >= n for u in fanout)

                before = during.rounds
                for form_user, dm_user in pairs:
                    if delivered() == len(fanout):
                        break
                    await one_round(b, Round(form_user, dm_user, during.acks, during.work))
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
        finally:
            stop.set()
            await worker
        counts = b.watch.update()
        async with b.deps.sessions() as session:
            stored = await session.scalar(
                select(func.count()).select_from(Answer).where(Answer.tour_id == sample_tour)
            )
        used = args.warmup + quiet.rounds + during.rounds
        expected_answers = used * (len(FORM_ANSWERS) + 1)  # two in the form, one by DM
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
        table[phase] = {"rounds": result[phase].rounds, "kinds": rows}
    for kind, row in table["during"]["kinds"].items():  # the fan-out's cost, against quiet
        quiet = table["quiet"]["kinds"].get(kind)
        if quiet:
            row["ratio_to_quiet"] = ratios(row["partnerbot"], quiet["partnerbot"])
            row["bare_ratio_to_quiet"] = ratios(row["bare"], quiet["bare"])
    table["launch_acks"] = {name: summary(s) for name, s in result["launch_acks"].items()}
    table["fanout"] = result["fanout"]
    table["answers_stored"] = result["answers_stored"]
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
    parser.add_argument("--fanouts", type=int, default=2, help="fan-outs, one after the other")
    parser.add_argument(
        "--max-fanout-rounds", type=int, default=60, help="at most this many during fan-outs"
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed the fan-out")
    args = parser.parse_args()
    if min(args.repeats, args.fanout, args.fanouts) < 1:
        parser.error("--repeats, --fanout and --fanouts must be at least 1")
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
            with fresh_database(server, Path(directory), f"{backend}-ack") as url:
                table = tabulate(asyncio.run(measure(url, args)))
            report["backends"][backend] = table
            print_backend(backend, table, args)
    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {RESULTS} ({report['seconds']} s)")
    problems = [
        f"{backend}: {problem}"
        for backend, table in report["backends"].items()
        for problem in table["problems"]
    ]
    for problem in problems[:20]:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
