"""Fan-out bench (issue #7): a tour's invitations sent by the bot's outbox worker (`Delivery.run`)
to a fake Slack running in a process of its own, `--latency` s per call; once clean, once with
10 % 429 (Retry-After 1 s) and 5 % 500. Usage: python bench/fanout.py [--members 1000]
[--latency 0.05] [--seed 1] [--repeats 1]; see bench/README.md for how a Retry-After violation
is judged."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import math
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from launch import LEADER, fanout_figures, fresh_database, launch, populate, rig

from bot.clock import SystemClock
from bot.deps import Deps, build_deps
from bot.models import OutboxStatus
from bot.sandbox.fake_slack import FakeSlack
from bot.settings import load_settings
from bot.store import outbox

DAY = 86_400.0
RESULTS = Path(__file__).resolve().parent / "results" / "fanout.json"
# The worker's requests carry their number, so the fake's record of a call can be matched
# with the worker's own record of it.
CALL_HEADER = "X-Bench-Call"
RULE = (
    "a call is a Retry-After violation if the worker started it (handed it to aiohttp, past "
    "its rate gate) after its process had read a 429 for that method (status and headers in) "
    "and before that 429's Retry-After had run out, both instants on the worker's clock; calls "
    "the fake received inside a window it announced but which the worker had started before "
    "it read the 429 crossed the 429 in flight and are counted apart"
)


@dataclass(frozen=True)
class Phase:
    name: str
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    retry_after: int = 1


PHASES = (Phase("clean"), Phase("faulty", rate_429=0.10, rate_5xx=0.05, retry_after=1))


# --- the fake Slack, in a child process ---------------------------------------------------------


async def receive(conn: Connection, timeout: float) -> Any:
    """The next object from the other process, waited for without blocking the event loop."""
    if not conn.poll():
        loop = asyncio.get_running_loop()
        readable = asyncio.Event()
        loop.add_reader(conn.fileno(), readable.set)
        try:
            await asyncio.wait_for(readable.wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"nothing from the other process within {timeout} s") from None
        finally:
            loop.remove_reader(conn.fileno())
    return conn.recv()


def serve_fake(conn: Connection, members: int, latency: float, phase: Phase, seed: int) -> None:
    """The child process: serve a fake Slack holding the bench workspace, send the parent its
    URL, then the instant every person has a DM, then (asked) the record of every call."""
    asyncio.run(_serve_fake(conn, members, latency, phase, seed))


async def _serve_fake(
    conn: Connection, members: int, latency: float, phase: Phase, seed: int
) -> None:
    fake = FakeSlack()  # on the real clock: time.time() reads one clock in both processes
    expected = {LEADER, *populate(fake, members)}
    fake.latency = latency
    if phase.rate_429 or phase.rate_5xx:
        fake.inject_faults(
            "chat.postMessage",
            rate_429=phase.rate_429,
            rate_5xx=phase.rate_5xx,
            retry_after=phase.retry_after,
            seed=seed,
        )
    served: list[tuple[str | None, str, float, float, int]] = []

    @web.middleware
    async def stamp(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        arrived = time.time()  # before the fake's latency: the request has just been read
        response = await handler(request)
        number, method = request.headers.get(CALL_HEADER), request.match_info.get("method", "")
        served.append((number, method, arrived, time.time(), response.status))
        return response

    fake.app.middlewares.append(stamp)
    waiting, scanned = set(expected), 0

    def everyone_has_a_dm() -> bool:
        nonlocal scanned
        for message in fake.messages[scanned:]:
            waiting.discard(message["dm_user"])
        scanned = len(fake.messages)
        return not waiting

    async with fake:
        conn.send((fake.api_url, fake.bot_token))
        cpu = time.process_time()
        asked = asyncio.ensure_future(receive(conn, timeout=DAY))
        everyone = asyncio.ensure_future(fake.wait_for(everyone_has_a_dm, timeout=DAY))
        await asyncio.wait({asked, everyone}, return_when=asyncio.FIRST_COMPLETED)
        if everyone.done():
            conn.send(time.time())
        await asked  # the parent has stopped its worker
        everyone.cancel()
        conn.send(
            {
                "served": served,
                "posts": [(c.at, c.http_status, c.ok) for c in fake.calls_to("chat.postMessage")],
                "received": dict(Counter(m["dm_user"] for m in fake.messages)),
                "fake_rule_violations": len(fake.rate_limit_violations),
                "warnings": sorted(set(fake.warnings)),
                "cpu_seconds": time.process_time() - cpu,
            }
        )


@dataclass
class FakeProcess:
    conn: Connection
    api_url: str
    bot_token: str


@contextlib.asynccontextmanager
async def fake_process(args: argparse.Namespace, phase: Phase) -> AsyncIterator[FakeProcess]:
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no loop, no engine
    parent, child = context.Pipe()
    process = context.Process(
        target=serve_fake,
        args=(child, args.members, args.latency, phase, args.seed),
        name="fake-slack",
        daemon=True,
    )
    process.start()
    child.close()
    try:
        api_url, bot_token = await receive(parent, timeout=60)
        yield FakeProcess(parent, api_url, bot_token)
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join()
        parent.close()


# --- the worker's side of each call --------------------------------------------------------------


@dataclass
class Send:
    """One Web API request as the worker's process saw it (time.time() seconds)."""

    method: str
    started: float  # handed to aiohttp: past the worker's rate gate, committed to
    on_wire: float = math.nan  # its headers written to the socket
    answered: float = math.nan  # the response's status and headers read
    status: int = 0  # 0: no response (a connection error or a timeout)
    retry_after: float = 0.0


class SendLog:
    """aiohttp hooks on the worker's HTTP session: number each request (CALL_HEADER) and note
    when it was started, put on the wire and answered."""

    def __init__(self) -> None:
        self.sends: dict[str, Send] = {}
        self._numbers = itertools.count(1)

    def trace_config(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()
        config.on_request_start.append(self._started)
        config.on_request_headers_sent.append(self._on_wire)
        config.on_request_end.append(self._answered)
        return config

    async def _started(self, _: aiohttp.ClientSession, context: Any, params: Any) -> None:
        number = str(next(self._numbers))
        context.number = number
        params.headers[CALL_HEADER] = number  # aiohttp builds the request from this dict next
        self.sends[number] = Send(params.url.name, time.time())

    async def _on_wire(self, _: aiohttp.ClientSession, context: Any, __: Any) -> None:
        self.sends[context.number].on_wire = time.time()

    async def _answered(self, _: aiohttp.ClientSession, context: Any, params: Any) -> None:
        send = self.sends[context.number]
        send.answered, send.status = time.time(), params.response.status
        if send.status == 429:
            send.retry_after = float(params.response.headers.get("Retry-After", "0"))


def judge(sends: dict[str, Send], served: list[tuple[Any, ...]]) -> dict[str, int]:
    """Retry-After violations by RULE, and what the fake on its own would have called one."""
    read = [
        (s.method, s.answered, s.answered + s.retry_after)
        for s in sends.values()
        if s.status == 429
    ]
    violations = {
        number
        for number, send in sends.items()
        if any(m == send.method and opened < send.started < until for m, opened, until in read)
    }
    # The fake's view: calls that reached it after it had answered a 429, inside that window.
    announced = [
        (method, answered, answered + sends[number].retry_after)
        for number, method, _, answered, status in served
        if status == 429 and number in sends
    ]
    inside = {
        number
        for number, method, arrived, _, _ in served
        if any(m == method and opened < arrived < until for m, opened, until in announced)
    }
    # Started before the worker read a 429 but written to the socket after it (the request
    # waited for a connection meanwhile): in flight by RULE, shown apart.
    late_on_wire = {
        number
        for number, send in sends.items()
        if number not in violations
        and any(m == send.method and opened < send.on_wire < until for m, opened, until in read)
    }
    # One clock for both processes: each call's instants must come in this order.
    disordered = sum(
        1
        for number, _, arrived, answered, _ in served
        if number not in sends
        or not sends[number].started <= arrived <= answered <= sends[number].answered
    )
    return {
        "retry_after_violations": len(violations),
        "arrived_inside_a_window": len(inside),
        "of_which_crossed_in_flight": len(inside - violations),
        "on_wire_after_a_429_read": len(late_on_wire),
        "clock_disorder": disordered,
    }


def rank(samples: list[float], q: float) -> float:
    """Nearest-rank percentile, in ms."""
    ordered = sorted(samples) or [math.nan]
    return round(ordered[max(math.ceil(q * len(ordered)) - 1, 0)] * 1000, 1)


def peak_in_flight(sends: dict[str, Send]) -> int:
    def ended(send: Send) -> float:  # a request that got no answer counts until it started
        return send.started if math.isnan(send.answered) else send.answered

    edges = sorted(
        itertools.chain.from_iterable(((s.started, 1), (ended(s), -1)) for s in sends.values())
    )
    return max(itertools.accumulate(step for _, step in edges), default=0)


async def watch_the_loop(stalls: list[float], stop: asyncio.Event) -> None:
    """How late a 10 ms timer fires while the worker runs: how long a request to the bot
    (Slack's, waiting for its acknowledgement) could wait for the event loop."""
    while not stop.is_set():
        due = time.perf_counter() + 0.01
        await asyncio.sleep(0.01)
        stalls.append(time.perf_counter() - due)


# --- one fan-out ---------------------------------------------------------------------------------


async def quiet(deps: Deps, timeout: float) -> None:
    """Wait until no outbox row is pending or in flight, so a late resend would be seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with deps.sessions() as session:
            counts = await outbox.count_by_status(session)
        if not counts.get(OutboxStatus.PENDING) and not counts.get(OutboxStatus.SENDING):
            return
        await asyncio.sleep(0.1)


async def fan_out(url: str, args: argparse.Namespace, phase: Phase) -> dict[str, Any]:
    # The tour is launched through the real handlers (launch.py's rig, whose in-process fake
    # serves the launch's own calls), so the outbox holds exactly what the app writes.
    async with rig(url, args.members, args.latency) as r:
        await launch(r, {})
        expected = {LEADER, *r.members}
    async with fake_process(args, phase) as remote:
        settings = load_settings(
            slack_bot_token=remote.bot_token,
            slack_signing_secret="unused-by-the-worker",  # noqa: S106 - not a secret
            slack_api_url=remote.api_url,
            database_url=url,
        )
        deps = build_deps(settings, clock=SystemClock())
        delivery, log = deps.delivery, SendLog()
        delivery.trace_requests(log.trace_config())
        stop = asyncio.Event()
        load, cpu = os.getloadavg()[0], time.process_time()
        started = time.time()
        worker = asyncio.create_task(delivery.run(stop))
        stalls: list[float] = []
        watcher = asyncio.create_task(watch_the_loop(stalls, stop))
        done_at: float | None = None
        with contextlib.suppress(TimeoutError):  # then some are lost, and reported as such
            done_at = await receive(remote.conn, timeout=args.timeout)
        finished = done_at if done_at is not None else time.time()
        if done_at is not None:
            await quiet(deps, timeout=10)
        stop.set()
        await asyncio.gather(worker, watcher)
        cpu = time.process_time() - cpu
        await delivery.close()
        remote.conn.send("report")
        record = await receive(remote.conn, timeout=60)
        while not isinstance(record, dict):  # everyone had a DM just as the wait ran out
            record = await receive(remote.conn, timeout=60)
        async with deps.sessions() as session:
            by_status = await outbox.count_by_status(session)
        await deps.close()
    posts = [(at - started, status, ok) for at, status, ok in record["posts"]]
    return {
        **fanout_figures(expected, Counter(record["received"]), posts, finished - started),
        **judge(log.sends, record["served"]),
        "fake_rule_violations": record["fake_rule_violations"],
        "peak_in_flight": peak_in_flight(log.sends),
        "loop_stall_ms": {"p99": rank(stalls, 0.99), "max": rank(stalls, 1.0)},
        # Both processes' CPU while the worker ran, and how busy the machine was before.
        "cpu_seconds": {"worker": round(cpu, 2), "fake": round(record["cpu_seconds"], 2)},
        "load_average_1min": round(load, 2),
        "outbox": {str(status): n for status, n in by_status.items()},
        "fake_warnings": record["warnings"],
    }


# --- report --------------------------------------------------------------------------------------

# (heading, width, what a run shows there)
COLUMNS: tuple[tuple[str, int, Callable[[dict[str, Any]], str]], ...] = (
    ("seconds", 7, lambda f: f"{f['seconds']:.2f}"),
    ("50%/90%", 9, lambda f: "/".join(str(s) for s in f["seconds_to_50_90_pct"])),
    ("calls", 5, lambda f: str(f["calls"])),
    ("calls/s", 7, lambda f: str(f["calls_per_s"])),
    ("429", 4, lambda f: str(f["http_429"])),
    ("5xx", 4, lambda f: str(f["http_5xx"])),
    ("lost", 4, lambda f: str(len(f["lost"]))),
    ("dup", 4, lambda f: str(len(f["duplicated"]))),
    ("violations", 10, lambda f: str(f["retry_after_violations"])),
    ("in window", 9, lambda f: str(f["arrived_inside_a_window"])),
    ("crossed", 7, lambda f: str(f["of_which_crossed_in_flight"])),
    ("peak", 4, lambda f: str(f["peak_in_flight"])),
)


def print_backend(
    backend: str, phases: dict[str, list[dict[str, Any]]], args: argparse.Namespace
) -> None:
    print(
        f"\n{backend}: {args.members + 1} DMs by the outbox worker to a fake Slack in its own "
        f"process, {args.latency * 1000:.0f} ms a call"
    )
    print("  phase  run " + " ".join(f"{name:>{width}}" for name, width, _ in COLUMNS))
    for phase, runs in phases.items():
        for n, fan in enumerate(runs, 1):
            cells = " ".join(f"{show(fan):>{width}}" for _, width, show in COLUMNS)
            print(f"  {phase:6} {n:3} {cells}")
    for phase, runs in phases.items():
        seconds = [fan["seconds"] for fan in runs]
        print(f"  {phase}: {min(seconds):.2f}-{max(seconds):.2f} s over {len(runs)} run(s)")
    print(
        "  violations: sent after the worker had read a 429, inside its Retry-After; in window:\n"
        "  reached the fake inside a window it had announced; crossed: of those, started before\n"
        "  the worker read the 429 (in flight); peak: most requests in flight at once"
    )


def failed(fan: dict[str, Any]) -> bool:
    return bool(fan["lost"] or fan["duplicated"] or fan["retry_after_violations"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="fake Slack seconds per call")
    parser.add_argument("--seed", type=int, default=1, help="which calls the fake fails")
    parser.add_argument("--repeats", type=int, default=1, help="fan-outs per phase and backend")
    parser.add_argument("--phases", nargs="+", default=[p.name for p in PHASES])
    parser.add_argument("--timeout", type=float, default=120, help="seconds allowed a fan-out")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the delivery worker warns on every 429
    machine = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "os": platform.platform()}
    phases = [p for p in PHASES if p.name in args.phases]
    report: dict[str, Any] = {
        "machine": machine,
        "args": vars(args),
        "phases": {p.name: asdict(p) for p in phases},
        "rule": RULE,
        "backends": {},
    }
    postgres = os.environ.get("TEST_DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="partnerbot-bench-") as directory:
        for backend, server in [("sqlite", None), *([("postgres", postgres)] if postgres else [])]:
            results: dict[str, list[dict[str, Any]]] = {p.name: [] for p in phases}
            for n, phase in itertools.product(range(args.repeats), phases):
                name = f"{backend}-{phase.name}-{n}"
                with fresh_database(server, Path(directory), name) as url:
                    results[phase.name].append(asyncio.run(fan_out(url, args, phase)))
            report["backends"][backend] = results
            print_backend(backend, results, args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")
    runs = [fan for phases_ in report["backends"].values() for r in phases_.values() for fan in r]
    return 1 if any(failed(fan) for fan in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
