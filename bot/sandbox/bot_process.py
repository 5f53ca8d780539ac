"""`partnerbot run` as a child process pointed at the fake Slack, started as an admin would start
it: its environment, its log kept drained (a full pipe would stall it), the port it reports, and
its health check. The benches and the crash tests start and kill the bot this way, and the
benches their baseline, a bare Bolt app (bench/bare_bolt.py), the same way."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bot.app import HEALTH_PATH
from bot.sandbox.fake_slack import FakeSlack
from bot.settings import Settings

# The line a server logs once its port is open, with its URL: HTTP mode, Socket Mode, and
# `--role worker`.
LISTENING_MESSAGES = ("listening for Slack", "serving /healthz", "working")

# Settings the child would otherwise inherit from this shell; it runs in a directory without a
# .env, so what it gets is exactly what `bot_env` gives it.
_OWN_PREFIXES = ("SLACK_", "PARTNERBOT_", "LLM_")


def bot_env(
    fake: FakeSlack,
    signing_secret: str,
    database_url: str,
    *,
    port: int = 0,
    settings: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a bot talking to `fake`, logging JSON at INFO (the port it listens
    on is read from its "listening for Slack" line), sending at any hour, plus any other
    `settings` by name."""
    own = {name.upper() for name in Settings.model_fields}
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_OWN_PREFIXES) and key.upper() not in own
    }
    return {
        **inherited,
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        # A process runs on the wall clock: what it sends must not depend on the hour the
        # tests happen to run at, so its DMs go at any hour (unless `settings` say otherwise).
        "WORKING_HOURS": "Mon-Sun 00:00-24:00",
        **(settings or {}),
    }


@dataclass
class ChildProcess:
    """A server process: its pid, the port it listens on and what it has logged."""

    process: asyncio.subprocess.Process
    port: int | None = None
    lines: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None
    started: float = field(default_factory=time.perf_counter)
    startup_seconds: float | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        assert self.port is not None, "the process has not reported its port"
        return f"http://127.0.0.1:{self.port}"

    def log_messages(self) -> list[str]:
        """The `message` of every JSON log line, in order."""
        messages = []
        for line in self.lines:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                messages.append(str(json.loads(line)["message"]))
        return messages

    def error_lines(self) -> list[str]:
        return [line for line in self.lines if '"level": "error"' in line]


async def read_lines(
    child: ChildProcess, stream: asyncio.StreamReader, port: asyncio.Future[int] | None = None
) -> None:
    """Keep the child's log drained; resolve `port` from its "listening for Slack" line (in
    Socket Mode "serving /healthz", for a worker "working")."""
    while line := await stream.readline():
        text = line.decode(errors="replace").rstrip()
        child.lines.append(text)
        if port is None or port.done() or not text.startswith("{"):
            continue
        with contextlib.suppress(ValueError, KeyError, IndexError):
            entry = json.loads(text)
            if entry["message"] in LISTENING_MESSAGES:
                port.set_result(int(entry["url"].rsplit(":", 1)[1].split("/")[0]))
    if port is not None and not port.done():
        port.set_exception(RuntimeError("the process ended before it was listening"))


@contextlib.asynccontextmanager
async def spawn(argv: list[str], env: dict[str, str], cwd: Path) -> AsyncIterator[ChildProcess]:
    """Start a server process; on the way out SIGTERM it if it still runs and wait (SIGKILL
    after 30 s). A process the caller already killed is only reaped."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    child = ChildProcess(process)
    try:
        yield child
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
        if child.reader is not None:
            await child.reader


async def wait_healthy(http: aiohttp.ClientSession, child: ChildProcess, url: str) -> float:
    """Seconds from the start until GET `url` answers 200."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.process.returncode is None:
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(url) as response:
                if response.status == 200:
                    return time.perf_counter() - child.started
        await asyncio.sleep(0.05)  # waiting for a process to start, not for time to pass
    tail = "\n".join(child.lines[-20:])
    raise RuntimeError(f"{url} never answered 200; the process said:\n{tail}")


@contextlib.asynccontextmanager
async def listening(
    argv: list[str], name: str, env: dict[str, str], cwd: Path
) -> AsyncIterator[ChildProcess]:
    """A server process, yielded once it has logged the port it listens on (it may not be
    healthy yet: still checking Slack, say)."""
    async with spawn(argv, env, cwd) as child:
        assert child.process.stdout is not None
        port: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        child.reader = asyncio.create_task(read_lines(child, child.process.stdout, port))
        try:
            child.port = await asyncio.wait_for(port, 60)
        except (TimeoutError, RuntimeError):
            tail = "\n".join(child.lines[-20:])
            raise RuntimeError(f"{name} never listened; it said:\n{tail}") from None
        yield child


@contextlib.asynccontextmanager
async def healthy(
    argv: list[str], name: str, env: dict[str, str], cwd: Path, http: aiohttp.ClientSession
) -> AsyncIterator[ChildProcess]:
    """A server process that logs "listening for Slack" with its URL, yielded once /healthz
    answers 200."""
    async with listening(argv, name, env, cwd) as child:
        child.startup_seconds = await wait_healthy(http, child, child.url + HEALTH_PATH)
        yield child


# `python -m bot run` with `ulimit -n` lowered first, as a small container or systemd unit has.
_RUN_WITH_OPEN_FILES = (
    "import resource, runpy, sys; n = int(sys.argv.pop(1)); "
    "resource.setrlimit(resource.RLIMIT_NOFILE, (n, n)); "
    "runpy.run_module('bot', run_name='__main__')"
)


@contextlib.asynccontextmanager
async def partnerbot_run(
    env: dict[str, str],
    cwd: Path,
    http: aiohttp.ClientSession,
    *,
    open_files: int | None = None,
    role: str = "all",
) -> AsyncIterator[ChildProcess]:
    """`python -m bot run --role ROLE` in HTTP mode (give it PORT=0), yielded once /healthz
    answers 200; with `open_files`, allowed that many file descriptors."""
    argv = [sys.executable, "-m", "bot", "run", "--role", role]
    if open_files is not None:
        argv = [sys.executable, "-c", _RUN_WITH_OPEN_FILES, str(open_files), "run", "--role", role]
    async with healthy(argv, f"partnerbot run --role {role}", env, cwd, http) as child:
        yield child


async def stop_process(child: ChildProcess, timeout: float = 30) -> int:
    """SIGTERM, then its exit code once it has finished what it had in flight (SIGKILL, and
    an error, after `timeout` s); its log has been read to the end when this returns."""
    if child.process.returncode is None:
        child.process.terminate()
        try:
            await asyncio.wait_for(child.process.wait(), timeout)
        except TimeoutError:
            child.process.kill()
            await child.process.wait()
            raise RuntimeError(f"still running {timeout:g} s after SIGTERM; killed") from None
    if child.reader is not None:
        await child.reader
    code = child.process.returncode
    assert code is not None
    return code
