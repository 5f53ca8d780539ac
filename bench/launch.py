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
from collections.abc import AsyncIterator, Awaitable, Iterator
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
from bot.models import OutboxMessage
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import Delivery, SignedSlack
from bot.settings import load_settings

LEADER, CHANNEL = "ULEAD", "CBENCH"
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "America/Los_Angeles", "UTC"]
RESULTS = Path(__file__).resolve().parent / "results" / "launch.json"
# Slack submits an input the user left alone with its initial value: (initial key, state key).
PREFILLED = {
    "plain_text_input": ("initial_value", "value"),
    "number_input": ("initial_value", "value"),
    "datepicker": ("initial_date", "selected_date"),
    "multi_users_select": ("initial_users", "selected_users"),
    "conversations_select": ("initial_conversation", "selected_conversation"),
    "radio_buttons": ("initial_option", "selected_option"),
    "checkboxes": ("initial_options", "selected_options"),
}
Samples = dict[str, list[float]]


@dataclass
class Rig:
    fake: FakeSlack
    deps: Deps
    members: list[str]
    slack: SignedSlack  # signed requests to Partnerbot
    bare: SignedSlack  # the same requests to a bare Bolt app


def bare_bolt(fake: FakeSlack, secret: str) -> AsyncApp:
    """The baseline: Bolt's AsyncApp whose listeners only ack."""
    app = AsyncApp(
        client=AsyncWebClient(token=fake.bot_token, base_url=fake.api_url), signing_secret=secret
    )

    async def just_ack(ack: AsyncAck) -> None:
        await ack()

    app.command("/partner")(just_ack)
    app.view(TourView.LAUNCH.value)(just_ack)
    return app


@contextlib.asynccontextmanager
async def rig(url: str, members: int, latency: float) -> AsyncIterator[Rig]:
    secret = secrets.token_hex(16)
    async with FakeSlack() as fake, aiohttp.ClientSession() as http:
        ids = [f"U{n:06d}" for n in range(members)]
        fake.add_user(LEADER, "leader", tz="Europe/Berlin")
        for n, user_id in enumerate(ids):
            fake.add_user(user_id, f"member{n}", tz=ZONES[n % len(ZONES)])
        fake.add_channel(CHANNEL, "bench", members=[LEADER, *ids])
        fake.latency = latency
        settings = load_settings(
            slack_bot_token=fake.bot_token,
            slack_signing_secret=secret,
            slack_api_url=fake.api_url,
            database_url=url,
        )
        deps = build_deps(settings, clock=SystemClock())
        apps = (build_app(deps), bare_bolt(fake, secret))
        servers = [await start_http(SlackHttpFrontDoor(a, deps), host="127.0.0.1", port=0) for a in apps]
        senders = [SignedSlack(s.url + EVENTS_PATH, secret, fake, session=http) for s in servers]
        try:
            for sender in senders:  # Bolt's first request on each app waits for auth.test
                await sender.slash_command(LEADER, "help", channel_id=CHANNEL)
            yield Rig(fake, deps, ids, *senders)
        finally:
            await deps.inflight.wait_idle(timeout=60)
            for server in servers:
                await server.stop()
            await deps.close()


def prefilled(view: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        element = block.get("element") or {}
        if block["type"] == "input" and element.get(PREFILLED[element["type"]][0]) is not None:
            initial, state = PREFILLED[element["type"]]
            values[block["block_id"]] = {
                element["action_id"]: {"type": element["type"], state: element[initial]}
            }
    return values


async def timed(request: Awaitable[Delivery]) -> tuple[float, Delivery]:
    started = time.perf_counter()
    answer = await request
    return time.perf_counter() - started, answer


async def launch(r: Rig, acks: Samples) -> tuple[dict[str, Any], dict[str, Any]]:
    """The leader types `/partner tour #bench` and submits the modal as prefilled; returns the
    view and what was submitted, once the launch has finished its work after the ack."""
    await r.deps.inflight.wait_idle(timeout=120)
    text = f"tour <#{CHANNEL}|bench>"
    seconds, answer = await timed(r.slack.slash_command(LEADER, text, channel_id=CHANNEL))
    acks.setdefault("/partner tour", []).append(seconds)
    await r.fake.wait_for(lambda: bool(r.fake.view_stack(LEADER)))  # views.open follows the ack
    view = r.fake.views[r.fake.view_stack(LEADER)[-1]]
    values = prefilled(view)
    seconds, answer = await timed(r.slack.view_submission(LEADER, view, values))
    if answer.status != 200 or answer.json is not None or answer.problems:
        raise RuntimeError(f"launch refused: HTTP {answer.status} {answer.text[:300]}")
    acks.setdefault("launch submission", []).append(seconds)
    await r.deps.inflight.wait_idle(timeout=120)
    return view, values


async def measure_acks(url: str, args: argparse.Namespace) -> Samples:
    acks: Samples = {}
    async with rig(url, args.members, args.latency) as r:
        for _ in range(args.repeats):  # interleaved, so both apps see the same machine state
            view, values = await launch(r, acks)
            seconds, _ = await timed(r.bare.slash_command(LEADER, "tour", channel_id=CHANNEL))
            acks.setdefault("bare Bolt command", []).append(seconds)
            seconds, _ = await timed(r.bare.view_submission(LEADER, view, values))
            acks.setdefault("bare Bolt submission", []).append(seconds)
    return acks


async def probe_acks(r: Rig, stop: asyncio.Event, every: float = 0.25) -> list[float]:
    """The leader keeps typing `/partner tour` while the invitations go out."""
    seconds: list[float] = []
    while not stop.is_set():
        took, _ = await timed(r.slack.slash_command(LEADER, "tour", channel_id=CHANNEL))
        seconds.append(took)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
    return seconds


async def measure_fanout(url: str, args: argparse.Namespace) -> dict[str, Any]:
    async with rig(url, args.members, args.latency) as r:
        await launch(r, {})
        expected = {LEADER, *r.members}
        r.fake.inject_faults(
            "chat.postMessage", rate_429=0.10, rate_5xx=0.05, retry_after=1, seed=args.seed
        )
        stop, probes_done = asyncio.Event(), asyncio.Event()
        started = time.perf_counter()
        worker = asyncio.create_task(r.deps.delivery.run(stop))
        probes = asyncio.create_task(probe_acks(r, probes_done))
        timed_out = False
        try:
            await r.fake.wait_for(
                lambda: expected <= {m["dm_user"] for m in r.fake.messages}, timeout=args.timeout
            )
        except TimeoutError:
            timed_out = True
        elapsed = time.perf_counter() - started
        probes_done.set()
        stop.set()
        await worker
        during = await probes
        async with r.deps.sessions() as session:
            statement = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            outbox = {str(status): count for status, count in (await session.execute(statement))}
    received = Counter(m["dm_user"] for m in r.fake.messages)
    posts = r.fake.calls_to("chat.postMessage")
    return {
        "messages": len(expected),
        "seconds": round(elapsed, 3),
        "timed_out": timed_out,
        "calls": len(posts),
        "calls_per_s": round(len(posts) / elapsed, 1),
        "http_429": sum(c.http_status == 429 for c in posts),
        "http_5xx": sum(c.http_status >= 500 for c in posts),
        "lost": sorted(u for u in expected if received[u] == 0),
        "duplicated": sorted(u for u in expected if received[u] > 1),
        "rate_limit_violations": len(r.fake.rate_limit_violations),
        "outbox": outbox,
        "acks_during_fanout": summary(during),
    }


def summary(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    if not ordered:
        return {"n": 0}

    def rank(q: float) -> float:  # nearest rank: with 5 samples, p95 is the slowest
        return round(ordered[max(math.ceil(q * len(ordered)) - 1, 0)] * 1000, 1)

    return {"n": len(ordered), "p50_ms": rank(0.5), "p95_ms": rank(0.95), "max_ms": rank(1.0)}


@contextlib.contextmanager
def fresh_database(server: str | None, directory: Path, name: str) -> Iterator[str]:
    """A throwaway SQLite file, or a new database on the Postgres server (dropped afterwards)."""
    if server is None:
        yield f"sqlite:///{directory / name}.db"
        return
    url = make_url(normalize_database_url(server))
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    database = f"pb_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
    try:
        yield url.set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.dispose()


def print_backend(backend: str, acks: dict[str, dict[str, Any]], fan: dict[str, Any]) -> None:
    print(f"\n{backend}: ack as Slack sees it (ms)      n     p50     p95     max")
    for name, row in [*acks.items(), ("/partner tour during fan-out", fan["acks_during_fanout"])]:
        cells = " ".join(f"{row.get(k, float('nan')):7.1f}" for k in ("p50_ms", "p95_ms", "max_ms"))
        print(f"  {name:36} {row['n']:4} {cells}")
    for ours, bare in (("/partner tour", "command"), ("launch submission", "submission")):
        ratio = acks[ours]["p95_ms"] / acks[f"bare Bolt {bare}"]["p95_ms"]
        print(f"  p95 {ours} / bare Bolt {bare}: {ratio:.1f}x (target <= 1.5x)")
    print(f"  launch submission p95 under 1 s: {acks['launch submission']['p95_ms'] < 1000}")
    print(f"{backend}: fan-out of {fan['messages']} DMs (invitations + leader confirmation)")
    print(
        f"  {fan['seconds']:.1f} s{' (TIMED OUT)' if fan['timed_out'] else ''}, "
        f"{fan['calls']} chat.postMessage calls ({fan['http_429']} x 429, {fan['http_5xx']} x 5xx)"
        f", {fan['calls_per_s']} calls/s; lost {len(fan['lost'])}, duplicated "
        f"{len(fan['duplicated'])}, rate-limit violations {fan['rate_limit_violations']}; "
        f"outbox {fan['outbox']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05, help="fake Slack seconds per call")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5, help="launches timed per backend")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed the fan-out")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the delivery worker warns on every 429
    servers = {"sqlite": None, "postgres": os.environ.get("TEST_DATABASE_URL") or None}
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "args": vars(args),
        "backends": {},
    }
    with tempfile.TemporaryDirectory(prefix="partnerbot-bench-") as directory:
        for backend, server in servers.items():
            if backend != "sqlite" and server is None:
                continue
            with fresh_database(server, Path(directory), f"{backend}-acks") as url:
                upgrade_to_head(url)
                samples = asyncio.run(measure_acks(url, args))
            with fresh_database(server, Path(directory), f"{backend}-fanout") as url:
                upgrade_to_head(url)
                fan = asyncio.run(measure_fanout(url, args))
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
