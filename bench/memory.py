"""Memory bench: peak resident memory of a `partnerbot run` process, idle and after launching a
listening tour to 1,000 people, next to a bare Bolt app's process.
Usage: python bench/memory.py [--members 1000] [--latency 0.05] [--settle 2] [--answers 2000]
[--after-close 60] [--optimize 2] [--output PATH]; see bench/README.md.

Both processes run as the Docker image runs them: at PYTHONOPTIMIZE=2 (`--optimize`; the
image's default, bot/interpreter.py) with that level's bytecode cached, which the image compiles
at build time, and with MALLOC_ARENA_MAX=2 (IMAGE_ENV). Here the bytecode goes to a cache of the
bench's own (PYTHONPYCACHEPREFIX), written by starting each process once before it is measured.
Both are also read idle at the other level (0, the interpreter's default, or 2), so the README
can give both figures.

`partnerbot run` (`python -m bot run`) starts as a child process in HTTP mode with PORT=0 (it
logs the port it got: "listening for Slack"), SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET set,
SLACK_API_URL pointing at the fake Slack served by this process (`--members` people in #bench,
`--latency` seconds added to every call) and DATABASE_URL a fresh SQLite file in a temp dir
(the process migrates it on start, as `run` does). Readings come from /proc/<pid>/status:
VmRSS (resident now) and VmHWM (the peak resident so far, what `ru_maxrss` reports once the
process has exited, which is read too).

1. idle: once /healthz answers 200, then `--settle` seconds later.
2. after the tour: the leader types `/partner tour #bench` and submits the launch modal as
   prefilled (signed requests over HTTP, as in bench/launch.py), the bot's own delivery worker
   sends the invitations; read once every member and the leader has a DM (the outbox is
   drained), then `--settle` seconds later.
3. after closing the tour (with `--answers N`, N > 0): N answers are written into the tour's
   database (spread over its members and questions, texts from bench/data/feedback_notes.csv
   made distinct), the leader presses Close now (a signed click), and the bot groups the
   answers into themes as it does on every close; read once the themes are stored, then
   `--after-close` seconds later. This is where the theme engine's memory shows.

Baseline: a bare Bolt `AsyncApp` with no-op listeners served by Bolt's own aiohttp handler, as a
child process of the same Python (bench/bare_bolt.py, the other benches' baseline too),
read the same way once it answers; the ratios are Partnerbot over it. Linux only (/proc).
Fails (exit 1) if the bot does not start or stop cleanly, or an invitation is lost or sent
twice; never on the size."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import logging
import os
import platform
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from ack import DmWatch
from bare_bolt import bare_bolt_run
from launch import CHANNEL, LEADER
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import EVENTS_PATH
from bot.db import create_engine
from bot.flows.tour import respondent_key
from bot.models import Participant, Theme, Tour
from bot.sandbox.bot_process import ChildProcess, bot_env, partnerbot_run
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.store.tours import questions_of, save_answer, tour_secret

RESULTS = Path(__file__).resolve().parent / "results" / "memory.json"
NOTES = Path(__file__).resolve().parent / "data" / "feedback_notes.csv"
MB = 1024 * 1024


def status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a live process, in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def memory_reading(child: ChildProcess, name: str) -> dict[str, Any]:
    now = status(child.pid)
    return {
        "at": name,
        "seconds": round(time.perf_counter() - child.started, 2),
        "rss_mb": round(now["VmRSS"] / MB, 1),
        "peak_mb": round(now["VmHWM"] / MB, 1),
    }


async def write_answers(database: str, count: int) -> int:
    """`count` answers to the one tour in `database`, as its members would have given them:
    each member answers each question once, in turn, until `count` are written. Returns the
    tour id."""
    with NOTES.open(newline="", encoding="utf-8") as handle:
        notes = [(int(row["question"]), row["text"]) for row in csv.DictReader(handle)]
    sides = {strength: [t for q, t in notes if (q == 0) == strength] for strength in (True, False)}
    engine = create_engine(database)
    try:
        async with engine.begin() as connection, AsyncSession(connection) as session:
            tour = (await session.scalars(select(Tour))).one()
            questions = await questions_of(session, tour_id=tour.id)
            secret = await tour_secret(session, tour_id=tour.id)
            members = list(
                (
                    await session.scalars(
                        select(Participant.user_id)
                        .where(Participant.tour_id == tour.id)
                        .order_by(Participant.user_id)
                    )
                ).all()
            )
            if len(members) * len(questions) < count:
                raise RuntimeError(
                    f"{count} answers need more than {len(members)} members x"
                    f" {len(questions)} questions: raise --members"
                )
            for n in range(count):
                member, position = members[n // len(questions)], n % len(questions)
                # Strengths answer question 0, challenges the others, as in the notes.
                side = sides[position == 0] or sides[position != 0]
                text = side[n % len(side)]
                await save_answer(
                    session,
                    tour_id=tour.id,
                    question_id=questions[position].id,
                    respondent=respondent_key(
                        anonymous=tour.anonymous, user_id=member, secret=secret
                    ),
                    text=f"{text} (team {n % 97})",
                    message_ts=None,
                )
                if position == 0:
                    await session.execute(
                        update(Participant)
                        .where(Participant.tour_id == tour.id, Participant.user_id == member)
                        .values(responded=True)
                    )
            tour_id = tour.id
            await session.commit()
            return tour_id
    finally:
        await engine.dispose()


async def themes_stored(database: str, tour_id: int) -> int:
    engine = create_engine(database)
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(
                select(func.count()).select_from(Theme).where(Theme.tour_id == tour_id)
            )
            return int(found or 0)
    finally:
        await engine.dispose()


async def close_the_tour(
    child: ChildProcess,
    slack: SignedSlack,
    database: str,
    args: argparse.Namespace,
    readings: list[dict[str, Any]],
) -> float:
    """Write `--answers` answers, press Close now, wait for the themes; the grouping's seconds."""
    tour_id = await write_answers(database, args.answers)
    pressed = time.perf_counter()
    home = slack.fake.home_views[LEADER]  # the leader's App Home, where Close now is
    click = await slack.block_action(LEADER, "tour.close", value=str(tour_id), view=home)
    if click.status != 200:
        raise RuntimeError(f"Close now: HTTP {click.status} {click.text[:300]}")
    while not await themes_stored(database, tour_id):
        if time.perf_counter() - pressed > args.timeout:
            raise RuntimeError(f"no themes stored {args.timeout} s after Close now")
        await asyncio.sleep(0.5)
    grouped = time.perf_counter() - pressed
    readings.append(memory_reading(child, "themes stored"))
    await asyncio.sleep(args.after_close)
    readings.append(memory_reading(child, f"{args.after_close:g} s after the themes"))
    return grouped


# --- the two processes ------------------------------------------------------------------------


# What the Dockerfile's ENV sets for the running bot, besides PYTHONOPTIMIZE.
IMAGE_ENV = {"MALLOC_ARENA_MAX": "2"}


def at_level(env: dict[str, str], level: int, directory: Path) -> dict[str, str]:
    """`env` as the image runs: Python at optimisation `level`, its bytecode read from and
    written to the bench's own cache (so a second start loads what the first compiled, as the
    image does), and the image's other runtime settings (IMAGE_ENV)."""
    env = {key: value for key, value in env.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return (
        env
        | IMAGE_ENV
        | {
            "PYTHONOPTIMIZE": str(level),
            "PYTHONPYCACHEPREFIX": str(directory / "bytecode"),
        }
    )


async def compile_once(
    run: Any, env: dict[str, str], directory: Path, http: aiohttp.ClientSession
) -> None:
    """Start the process (`bare_bolt_run` or `partnerbot_run`) once and stop it: it compiles its
    modules into the bench's bytecode cache, as the image's build does, so the process measured
    next loads them instead of compiling them at start."""
    async with run(env, directory, http):
        pass


async def idle_at(
    fake: FakeSlack,
    http: aiohttp.ClientSession,
    args: argparse.Namespace,
    directory: Path,
    level: int,
) -> dict[str, Any]:
    """Both processes idle at `level`, each started once before to cache its bytecode."""
    readings = {}
    for name, run in (("bare Bolt app", bare_bolt_run), ("partnerbot", partnerbot_run)):
        secret = secrets.token_hex(16)
        warm_up = at_level(
            bot_env(fake, secret, f"sqlite:///{directory / 'warm-up.db'}"), level, directory
        )
        await compile_once(run, warm_up, directory, http)
        database = f"sqlite:///{directory / f'idle-{level}.db'}"
        async with run(
            at_level(bot_env(fake, secret, database), level, directory), directory, http
        ) as child:
            await asyncio.sleep(args.settle)
            readings[name] = memory_reading(child, f"idle at PYTHONOPTIMIZE={level}")
    return readings


async def measure_bare(
    fake: FakeSlack, http: aiohttp.ClientSession, args: argparse.Namespace, directory: Path
) -> dict[str, Any]:
    env = at_level(bot_env(fake, secrets.token_hex(16), "sqlite://"), args.optimize, directory)
    await compile_once(bare_bolt_run, env, directory, http)
    async with bare_bolt_run(env, directory, http) as child:
        assert child.startup_seconds is not None
        startup = child.startup_seconds
        await asyncio.sleep(args.settle)
        idle = memory_reading(child, "idle")
    return {"startup_seconds": round(startup, 2), "readings": [idle]}


async def measure_partnerbot(
    fake: FakeSlack, http: aiohttp.ClientSession, args: argparse.Namespace, directory: Path
) -> dict[str, Any]:
    secret = secrets.token_hex(16)
    warm_up = f"sqlite:///{directory / 'warm-up.db'}"
    await compile_once(
        partnerbot_run,
        at_level(bot_env(fake, secret, warm_up), args.optimize, directory),
        directory,
        http,
    )
    database = f"sqlite:///{directory / 'partnerbot.db'}"
    env = at_level(bot_env(fake, secret, database), args.optimize, directory)
    problems: list[str] = []
    readings = []
    async with partnerbot_run(env, directory, http) as child:
        assert child.startup_seconds is not None
        startup = child.startup_seconds
        readings.append(memory_reading(child, "healthy"))
        await asyncio.sleep(args.settle)
        readings.append(memory_reading(child, "idle"))

        # The leader launches a tour to #bench; the bot's delivery worker sends the invitations.
        slack = SignedSlack(child.url + EVENTS_PATH, secret, fake, session=http)
        watch = DmWatch(fake)
        expected = [LEADER, *(f"U{n:06d}" for n in range(args.members))]
        command = await slack.slash_command(LEADER, f"tour <#{CHANNEL}|bench>", channel_id=CHANNEL)
        if command.status != 200:
            raise RuntimeError(f"/partner tour: HTTP {command.status} {command.text[:300]}")
        await fake.wait_for(lambda: bool(fake.view_stack(LEADER)), timeout=30)
        view = fake.views[fake.view_stack(LEADER)[-1]]
        submitted = time.perf_counter()
        answer = await slack.view_submission(LEADER, view, {})
        if answer.status != 200 or answer.json is not None or answer.problems:
            raise RuntimeError(f"launch refused: HTTP {answer.status} {answer.text[:300]}")
        with contextlib.suppress(TimeoutError):
            await fake.wait_for(
                lambda: all(watch.update()[u] >= 1 for u in expected), timeout=args.timeout
            )
        delivered = time.perf_counter() - submitted
        readings.append(memory_reading(child, "tour delivered"))
        await asyncio.sleep(args.settle)
        readings.append(memory_reading(child, "after the tour"))
        counts = watch.update()  # before the close, which sends the leader more
        grouped = None
        if args.answers:
            grouped = await close_the_tour(child, slack, database, args, readings)
        lost = [u for u in expected if counts[u] == 0]
        duplicated = [u for u in expected if counts[u] > 1]
        if lost or duplicated:
            problems.append(f"{len(lost)} invitations lost, {len(duplicated)} sent twice")
        child.process.terminate()
        code = await asyncio.wait_for(child.process.wait(), 30)
    if code != 0:
        problems.append(f"partnerbot run exited with {code} on SIGTERM")
    messages = child.log_messages()
    if not messages or messages[-1] != "stopped":
        problems.append("partnerbot run did not log 'stopped' last")
    errors = child.error_lines()
    if errors:
        problems.append(f"{len(errors)} error lines in the log, the first: {errors[0][:300]}")
    return {
        "startup_seconds": round(startup, 2),
        "port": child.port,
        "readings": readings,
        "fanout_seconds": round(delivered, 2),
        "grouping_seconds": None if grouped is None else round(grouped, 2),
        "postmessage_calls": len(fake.calls_to("chat.postMessage")),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "log_lines": len(child.lines),
        "problems": problems,
    }


async def measure(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    async with FakeSlack() as fake, aiohttp.ClientSession() as http:
        fake.add_user(LEADER, "leader", tz="Europe/Berlin")
        members = [f"U{n:06d}" for n in range(args.members)]
        for n, user_id in enumerate(members):
            fake.add_user(user_id, f"member{n}")
        fake.add_channel(CHANNEL, "bench", members=[LEADER, *members])
        fake.latency = args.latency
        bare = await measure_bare(fake, http, args, directory)
        ours = await measure_partnerbot(fake, http, args, directory)
        other = await idle_at(fake, http, args, directory, 0 if args.optimize else 2)
    # Peak resident memory of the largest child waited for (both have exited), in KiB on Linux.
    children_max = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {
        "bare_bolt": bare,
        "partnerbot": ours,
        "other_level": other,
        "children_ru_maxrss_mb": round(children_max / MB, 1),
    }


def print_report(report: dict[str, Any], args: argparse.Namespace) -> None:
    ours, bare = report["partnerbot"], report["bare_bolt"]
    print(
        f"\nresident memory (MB) of `partnerbot run` (SQLite, HTTP mode), a tour to"
        f" {args.members:,} people through the fake Slack at {args.latency * 1000:.0f} ms per call;"
        f" Python at PYTHONOPTIMIZE={args.optimize}, its bytecode cached"
    )
    print(f"  {'':34} {'seconds':>8} {'RSS':>8} {'peak':>8}")
    for reading in bare["readings"]:
        label = f"bare Bolt app, {reading['at']}"
        print(
            f"  {label:34} {reading['seconds']:8.1f} {reading['rss_mb']:8.1f}"
            f" {reading['peak_mb']:8.1f}"
        )
    for reading in ours["readings"]:
        label = f"partnerbot, {reading['at']}"
        print(
            f"  {label:34} {reading['seconds']:8.1f} {reading['rss_mb']:8.1f}"
            f" {reading['peak_mb']:8.1f}"
        )
    by = {r["at"]: r for r in ours["readings"]}
    idle, after, base = by["idle"], by["after the tour"], bare["readings"][-1]
    print(
        f"  idle peak / bare Bolt peak: {idle['peak_mb'] / base['peak_mb']:.2f}x;"
        f" peak after the tour / idle peak: {after['peak_mb'] / idle['peak_mb']:.2f}x"
        f" (+{after['peak_mb'] - idle['peak_mb']:.1f} MB)"
    )
    print(
        f"  started (healthz 200) in {ours['startup_seconds']} s"
        f" (bare: {bare['startup_seconds']} s); {args.members:,} invitations"
        f" + the leader's confirmation delivered"
        f" {ours['fanout_seconds']} s after the launch submission"
        f" ({ours['postmessage_calls']:,} chat.postMessage calls); lost {ours['lost']},"
        f" sent twice {ours['duplicated']}"
    )
    if ours["grouping_seconds"] is not None:
        closed = by[f"{args.after_close:g} s after the themes"]
        print(
            f"  {args.answers:,} answers grouped {ours['grouping_seconds']} s after Close now;"
            f" {args.after_close:g} s later RSS {closed['rss_mb']:.1f} MB ="
            f" idle {closed['rss_mb'] - idle['rss_mb']:+.1f} MB"
        )
    for name, reading in report["other_level"].items():
        label = f"{name}, {reading['at']}"
        print(f"  {label:50} RSS {reading['rss_mb']:.1f}, peak {reading['peak_mb']:.1f}")
    print(f"  ru_maxrss of the children after they exited: {report['children_ru_maxrss_mb']} MB")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=1000, help="people the tour asks")
    parser.add_argument("--latency", type=float, default=0.05, help="fake Slack seconds per call")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds before a reading")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed the fan-out")
    parser.add_argument(
        "--answers", type=int, default=0, help="answers to write, then Close now (0: no close)"
    )
    parser.add_argument(
        "--after-close", type=float, default=60, help="seconds after the themes for a reading"
    )
    parser.add_argument(
        "--optimize",
        type=int,
        choices=(0, 2),
        default=2,
        help="PYTHONOPTIMIZE of both processes (2, as the Docker image runs them)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args()
    if not Path("/proc/self/status").exists():
        parser.error("this bench reads /proc/<pid>/status: Linux only")
    logging.basicConfig(level=logging.ERROR)
    machine = {
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "os": platform.platform(),
        "memory_total_mb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / MB),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="partnerbot-bench-") as directory:
        result = asyncio.run(measure(args, Path(directory)))
    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report: dict[str, Any] = {"machine": machine, "args": vars(args), **result}
    report["seconds"] = round(time.perf_counter() - started, 1)
    print_report(report, args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwrote {args.output} ({report['seconds']} s)")
    for problem in report["partnerbot"]["problems"]:
        print(f"FAILED: {problem}")
    return 1 if report["partnerbot"]["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
