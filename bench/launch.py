"""Launch bench: ack latency of `/partner tour` and the launch submission next to a bare Bolt app,
then the fan-out of N invitations through the delivery worker with injected 429s and 5xx.
Usage: python bench/launch.py [--members 500] [--latency 0.05] [--seed 1]; see bench/README.md."""

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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from bot.app import EVENTS_PATH, SlackHttpFrontDoor, build_app, start_http
from bot.blocks.tour import TourView
from bot.clock import SystemClock
from bot.db import normalize_database_url
from bot.deps import Deps, build_deps
from bot.migrate import upgrade_to_head
from bot.models import Base, OutboxMessage
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import Delivery, SignedSlack
from bot.settings import load_settings

LEADER, CHANNEL = "ULEAD", "CBENCH"
RESULTS = Path(__file__).resolve().parent / "results" / "launch.json"
Samples = dict[str, list[float]]


@dataclass
class Rig:
    fake: FakeSlack
    deps: Deps
    members: list[str]
    slack: SignedSlack  # signed requests to Partnerbot
    bare: SignedSlack  # the same requests to a bare Bolt app whose listeners only ack


def populate(fake: FakeSlack, members: int) -> list[str]:
    """The bench workspace: the leader and `members` people in #bench; returns their ids."""
    ids = [f"U{n:06d}" for n in range(members)]
    fake.add_user(LEADER, "leader", tz="Europe/Berlin")
    for n, user_id in enumerate(ids):
        fake.add_user(user_id, f"member{n}")
    fake.add_channel(CHANNEL, "bench", members=[LEADER, *ids])
    return ids


def fanout_figures(
    expected: set[str], received: Counter[str], posts: list[tuple[float, int, bool]], seconds: float
) -> dict[str, Any]:
    """What a fan-out came to, from the fake Slack's side: `received` counts the DMs each person
    got, `posts` are the chat.postMessage calls as (seconds after the worker started, HTTP
    status, ok)."""
    arrived = sorted(at for at, _, ok in posts if ok) or [math.nan]
    return {
        "messages": len(expected),
        "seconds": round(seconds, 2),
        "seconds_to_50_90_pct": [round(arrived[len(arrived) * q // 10 - 1], 1) for q in (5, 9)],
        "calls": len(posts),
        "calls_per_s": round(len(posts) / seconds, 1),
        "http_429": sum(status == 429 for _, status, _ in posts),
        "http_5xx": sum(status >= 500 for _, status, _ in posts),
        "lost": sorted(u for u in expected if received[u] == 0),
        "duplicated": sorted(u for u in expected if received[u] > 1),
    }


def bare_bolt(fake: FakeSlack, secret: str) -> AsyncApp:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    app = AsyncApp(client=client, signing_secret=secret)

    async def just_ack(ack: AsyncAck) -> None:
        await ack()

    app.command("/partner")(just_ack)
    app.view(TourView.LAUNCH.value)(just_ack)
    return app


@contextlib.asynccontextmanager
async def rig(url: str, members: int, latency: float) -> AsyncIterator[Rig]:
    secret = secrets.token_hex(16)
    async with FakeSlack() as fake, aiohttp.ClientSession() as http:
        ids = populate(fake, members)
        fake.latency = latency
        settings = load_settings(
            slack_bot_token=fake.bot_token,
            slack_signing_secret=secret,
            slack_api_url=fake.api_url,
            database_url=url,
        )
        deps = build_deps(settings, clock=SystemClock())
        servers, senders = [], []
        for app in (build_app(deps), bare_bolt(fake, secret)):
            servers.append(
                await start_http(SlackHttpFrontDoor(app, deps), host="127.0.0.1", port=0)
            )
            senders.append(SignedSlack(servers[-1].url + EVENTS_PATH, secret, fake, session=http))
            # Bolt's first request on an app waits for auth.test; keep it out of the samples.
            await senders[-1].slash_command(LEADER, "help", channel_id=CHANNEL)
        try:
            yield Rig(fake, deps, ids, *senders)
        finally:
            await deps.inflight.wait_idle(timeout=60)
            for server in servers:
                await server.stop()
            await deps.close()


async def timed(samples: Samples, name: str, request: Awaitable[Delivery]) -> Delivery:
    started = time.perf_counter()
    answer = await request
    samples.setdefault(name, []).append(time.perf_counter() - started)
    return answer


async def launch(r: Rig, acks: Samples) -> dict[str, Any]:
    """The leader types `/partner tour #bench` and submits the modal as prefilled (untouched
    inputs carry their initial values, as Slack sends them); returns the view once the launch
    has done its work after the ack."""
    text = f"tour <#{CHANNEL}|bench>"
    await timed(acks, "/partner tour", r.slack.slash_command(LEADER, text, channel_id=CHANNEL))
    await r.fake.wait_for(lambda: bool(r.fake.view_stack(LEADER)))  # views.open follows the ack
    # A leader takes seconds to fill the modal in: by the time they submit, the command has
    # looked up the results channel (after views.open), as the submission expects.
    if not await r.deps.inflight.wait_idle(timeout=10):
        raise RuntimeError("the /partner tour listener is still running after 10 s")
    view = r.fake.views[r.fake.view_stack(LEADER)[-1]]
    answer = await timed(acks, "launch submission", r.slack.view_submission(LEADER, view, {}))
    if answer.status != 200 or answer.json is not None or answer.problems:
        raise RuntimeError(f"launch refused: HTTP {answer.status} {answer.text[:300]}")
    started = time.perf_counter()
    if not await r.deps.inflight.wait_idle(timeout=120):
        raise RuntimeError("the launch listener is still running after 120 s")
    acks.setdefault("(not an ack) launch work after it", []).append(time.perf_counter() - started)
    return view


async def measure_acks(url: str, args: argparse.Namespace) -> Samples:
    acks: Samples = {}
    async with rig(url, args.members, args.latency) as r:
        for _ in range(args.repeats):  # interleaved, so both apps see the same machine state
            view = await launch(r, acks)
            command = r.bare.slash_command(LEADER, "tour", channel_id=CHANNEL)
            await timed(acks, "bare Bolt command", command)
            await timed(acks, "bare Bolt submission", r.bare.view_submission(LEADER, view, {}))
    return acks


async def keep_typing(r: Rig, samples: Samples, stop: asyncio.Event) -> None:
    """The leader types `/partner tour` four times a second while the invitations go out."""
    while not stop.is_set():
        command = r.slack.slash_command(LEADER, "tour", channel_id=CHANNEL)
        await timed(samples, "/partner tour during fan-out", command)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)


async def measure_fanout(url: str, args: argparse.Namespace, acks: Samples) -> dict[str, Any]:
    async with rig(url, args.members, args.latency) as r:
        await launch(r, {})
        expected = {LEADER, *r.members}
        r.fake.inject_faults(
            "chat.postMessage", rate_429=0.10, rate_5xx=0.05, retry_after=1, seed=args.seed
        )
        stop, typing_done = asyncio.Event(), asyncio.Event()
        started, wall = time.perf_counter(), time.time()
        worker = asyncio.create_task(r.deps.delivery.run(stop))
        typing = asyncio.create_task(keep_typing(r, acks, typing_done))
        with contextlib.suppress(TimeoutError):  # then some are lost, and reported as such
            await r.fake.wait_for(
                lambda: expected <= {m["dm_user"] for m in r.fake.messages}, timeout=args.timeout
            )
        elapsed = time.perf_counter() - started
        typing_done.set()
        stop.set()
        await asyncio.gather(worker, typing)
        async with r.deps.sessions() as session:
            by_status = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            outbox = {str(status): n for status, n in await session.execute(by_status)}
    received = Counter(m["dm_user"] for m in r.fake.messages)
    posts = [(c.at - wall, c.http_status, c.ok) for c in r.fake.calls_to("chat.postMessage")]
    return {
        **fanout_figures(expected, received, posts, elapsed),
        "rate_limit_violations": len(r.fake.rate_limit_violations),
        "outbox": outbox,
    }


def summary(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)

    def rank(q: float) -> float:  # nearest rank: with 5 samples, p95 is the slowest
        return round(ordered[max(math.ceil(q * len(ordered)) - 1, 0)] * 1000, 1)

    return {"n": len(ordered), "p50_ms": rank(0.5), "p95_ms": rank(0.95), "max_ms": rank(1.0)}


@contextlib.contextmanager
def fresh_database(server: str | None, directory: Path, name: str) -> Iterator[str]:
    """A migrated throwaway SQLite file, or a new database on the Postgres server, dropped after."""
    if server is None:
        upgrade_to_head(f"sqlite:///{directory / name}.db")
        yield f"sqlite:///{directory / name}.db"
        return
    url = make_url(normalize_database_url(server))
    if os.environ.get("BENCH_POSTGRES_AS_IS"):
        # A server where the bench may not create databases: its own one, emptied and migrated.
        yield _emptied(url.render_as_string(hide_password=False))
        return
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


def _emptied(url: str) -> str:
    """TEST_DATABASE_URL's database at the head revision with every table emptied."""
    upgrade_to_head(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()
    return url


def run_on_each_backend(
    name: str,
    results: Path,
    report: dict[str, Any],
    run: Callable[[str], dict[str, Any]],
    show: Callable[[str, dict[str, Any]], None],
    *,
    sqlite: bool = True,
) -> int:
    """Run `run` on a fresh SQLite database (unless `sqlite` is False) and, with
    TEST_DATABASE_URL, a fresh Postgres one (BENCH_POSTGRES_AS_IS=1: that database itself,
    emptied); `show` each result, write `report` (the machine and its load before and after
    included) to `results` as JSON, and return 1 if any result lists problems."""
    machine = {
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "os": platform.platform(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    report = {"machine": machine, **report, "backends": {}}
    postgres = os.environ.get("TEST_DATABASE_URL")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="partnerbot-bench-") as directory:
        backends = [
            *([("sqlite", None)] if sqlite else []),
            *([("postgres", postgres)] * bool(postgres)),
        ]
        for backend, server in backends:
            with fresh_database(server, Path(directory), f"{backend}-{name}") as url:
                result = run(url)
            report["backends"][backend] = result
            show(backend, result)
    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["seconds"] = round(time.perf_counter() - started, 1)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {results} ({report['seconds']} s)")
    problems = [
        f"{backend}: {problem}"
        for backend, result in report["backends"].items()
        for problem in result["problems"]
    ]
    for problem in problems[:20]:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


def print_backend(backend: str, acks: dict[str, dict[str, Any]], fan: dict[str, Any]) -> None:
    print(f"\n{backend}: ack as Slack sees it (ms)     n     p50     p95     max")
    for name, row in acks.items():
        cells = " ".join(f"{row[key]:7.1f}" for key in ("p50_ms", "p95_ms", "max_ms"))
        print(f"  {name:35} {row['n']:4} {cells}")
    for ours, bare in (("/partner tour", "command"), ("launch submission", "submission")):
        ratio = acks[ours]["p95_ms"] / acks[f"bare Bolt {bare}"]["p95_ms"]
        print(f"  p95 {ours} / bare Bolt {bare}: {ratio:.1f}x (target <= 1.5x)")
    print(f"  launch submission p95 under 1 s: {acks['launch submission']['p95_ms'] < 1000}")
    print(f"{backend}: fan-out of invitations + the leader's confirmation, fake faults on")
    for key, value in fan.items():
        print(f"  {key:24} {len(value) if key in ('lost', 'duplicated') else value}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05, help="fake Slack seconds per call")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5, help="launches timed per backend")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed the fan-out")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the delivery worker warns on every 429
    machine = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "os": platform.platform()}
    report: dict[str, Any] = {"machine": machine, "args": vars(args), "backends": {}}
    postgres = os.environ.get("TEST_DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="partnerbot-bench-") as directory:
        for backend, server in [("sqlite", None), *([("postgres", postgres)] if postgres else [])]:
            with fresh_database(server, Path(directory), f"{backend}-acks") as url:
                samples = asyncio.run(measure_acks(url, args))
            with fresh_database(server, Path(directory), f"{backend}-fanout") as url:
                fan = asyncio.run(measure_fanout(url, args, samples))
            acks = {name: summary(seconds) for name, seconds in samples.items()}
            report["backends"][backend] = {"acks": acks, "fanout": fan}
            print_backend(backend, acks, fan)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")
    fans = [result["fanout"] for result in report["backends"].values()]
    return 1 if any(fan["lost"] or fan["duplicated"] for fan in fans) else 0


if __name__ == "__main__":
    sys.exit(main())
