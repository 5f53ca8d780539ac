"""`partnerbot run` as a process when Slack or the database is not as it should be: a token Slack
refuses stops it with one line and exit 2; Slack out of reach is retried with one log line per
attempt while /healthz says why; Socket Mode's connection comes and goes without taking /healthz,
the outbox or the scheduler with it; SIGTERM and SIGINT stop it within 2 s in every state."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import EVENTS_PATH, HEALTH_PATH
from bot.db import create_engine, create_session_factory
from bot.sandbox.bot_process import ChildProcess, bot_env, listening, read_lines, spawn
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack, SocketSlack
from bot.store import outbox
from tests.conftest import SIGNING_SECRET, START, empty_tables
from tests.waiting import eventually

RUN = [sys.executable, "-m", "bot", "run"]
STOP_WITHIN_SECONDS = 2.0


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """Slack on the real clock, as `partnerbot run` is."""
    async with FakeSlack() as fake:
        fake.add_user("ULEAD", "dana", real_name="Dana Leader", tz="Europe/Berlin")
        fake.add_user("UALICE", "alice", real_name="Alice Ng", tz="America/New_York")
        yield fake


@pytest.fixture
async def database(database_url: str) -> str:
    """The test database, emptied (the bot migrates it as it starts)."""
    engine = create_engine(database_url)
    await empty_tables(engine, database_url)
    await engine.dispose()
    return database_url


def closed_port_url() -> str:
    """An API URL nothing listens at: Slack out of reach."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"


def socket_mode(fake: FakeSlack, **more: str) -> dict[str, str]:
    return {"SLACK_APP_TOKEN": fake.app_token, "SLACK_SIGNING_SECRET": "", **more}


async def health(http: aiohttp.ClientSession, child: ChildProcess) -> tuple[int, dict[str, Any]]:
    async with http.get(child.url + HEALTH_PATH) as response:
        return response.status, await response.json()


async def healthz_says(
    http: aiohttp.ClientSession, child: ChildProcess, status: int, slack_contains: str
) -> dict[str, Any]:
    seen: list[tuple[int, dict[str, Any]]] = []

    async def check() -> bool:
        seen.append(await health(http, child))
        return seen[-1][0] == status and slack_contains in str(seen[-1][1].get("slack"))

    await eventually(
        check, lambda: f"/healthz {status} with {slack_contains!r} (last: {seen[-1:]})"
    )
    return seen[-1][1]


def logged(child: ChildProcess, message: str) -> list[dict[str, Any]]:
    entries = []
    for line in child.lines:
        if line.startswith("{"):
            entry = json.loads(line)
            if entry["message"] == message:
                entries.append(entry)
    return entries


async def stop_with(child: ChildProcess, signum: int) -> tuple[float, int]:
    """Seconds from the signal until the process has exited, and its exit code."""
    sent = time.monotonic()
    child.process.send_signal(signum)
    async with asyncio.timeout(30):
        code = await child.process.wait()
    took = time.monotonic() - sent
    if child.reader is not None:
        await child.reader
    return took, code


async def exits(env: dict[str, str], cwd: Path) -> tuple[int, list[str]]:
    """Run until the process exits by itself; its exit code and every line it wrote."""
    async with spawn(RUN, env, cwd) as child:
        assert child.process.stdout is not None
        child.reader = asyncio.create_task(read_lines(child, child.process.stdout))
        async with asyncio.timeout(60):
            code = await child.process.wait()
            await child.reader
    return code, child.lines


def assert_one_line_naming(lines: list[str], setting: str, code: int) -> str:
    """Exit 2, no traceback, no error logged, and one line (the last) naming `setting`."""
    text = "\n".join(lines)
    assert code == 2, text
    assert "Traceback" not in text
    naming = [line for line in lines if setting in line]
    assert len(naming) == 1, text
    assert naming[0] == lines[-1]
    assert not [line for line in lines if '"level": "error"' in line], text
    return naming[0]


async def test_socket_mode_with_an_invalid_app_token_exits_2_with_one_line(
    fake_slack: FakeSlack, database: str, tmp_path: Path
) -> None:
    env = bot_env(fake_slack, SIGNING_SECRET, database, settings=socket_mode(fake_slack))
    env["SLACK_APP_TOKEN"] = "xapp-1-not-this-app"

    code, lines = await exits(env, tmp_path)

    line = assert_one_line_naming(lines, "SLACK_APP_TOKEN", code)
    assert line.startswith("partnerbot: Slack refused SLACK_APP_TOKEN at start (invalid_auth):")
    assert "connections:write" in line
    assert fake_slack.socket_connections_opened == 0


async def test_http_mode_with_an_invalid_bot_token_exits_2_with_one_line(
    fake_slack: FakeSlack, database: str, tmp_path: Path
) -> None:
    env = bot_env(fake_slack, SIGNING_SECRET, database)
    env["SLACK_BOT_TOKEN"] = "xoxb-not-this-workspace"

    code, lines = await exits(env, tmp_path)

    line = assert_one_line_naming(lines, "SLACK_BOT_TOKEN", code)
    assert line.startswith("partnerbot: Slack refused SLACK_BOT_TOKEN at start (invalid_auth):")
    assert [call.error for call in fake_slack.calls] == ["invalid_auth"]  # asked once


@pytest.mark.parametrize(
    ("mode", "signum"),
    [
        ("http", signal.SIGTERM),
        ("http", signal.SIGINT),
        ("socket", signal.SIGTERM),
        ("socket", signal.SIGINT),
    ],
)
async def test_slack_out_of_reach_is_retried_in_one_line_each_and_a_signal_stops_it(
    fake_slack: FakeSlack, database: str, tmp_path: Path, mode: str, signum: int
) -> None:
    api_url = closed_port_url()
    more = socket_mode(fake_slack) if mode == "socket" else {}
    env = bot_env(fake_slack, SIGNING_SECRET, database, settings={**more, "SLACK_API_URL": api_url})
    async with aiohttp.ClientSession() as http, listening(RUN, "run", env, tmp_path) as bot:
        body = await healthz_says(http, bot, 503, "Slack not reachable at " + api_url)
        assert body["db"] == "ok"
        assert "auth.test" in body["slack"]
        await eventually(lambda: len(logged(bot, "Slack not reachable; retrying")) >= 3, "3 tries")
        if mode == "http":  # nothing is handed to Bolt before the tokens are checked
            slack = SignedSlack(bot.url + EVENTS_PATH, SIGNING_SECRET, fake_slack, session=http)
            assert (await slack.slash_command("ULEAD", "help")).status == 503

        took, code = await stop_with(bot, signum)

    assert code == 0
    assert took < STOP_WITHIN_SECONDS
    retries = logged(bot, "Slack not reachable; retrying")
    assert [entry["attempt"] for entry in retries] == list(range(1, len(retries) + 1))
    assert all(entry["call"] == "auth.test" for entry in retries)
    assert all(entry["level"] == "warning" for entry in retries)
    waits = [entry["retry_in_s"] for entry in retries]
    assert waits[:3] == [0.5, 1.0, 2.0]  # backing off
    # Every line is one JSON log record: no traceback, nothing else.
    assert all(line.startswith("{") for line in bot.lines), "\n".join(bot.lines)
    assert not bot.error_lines()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_socket_mode_waiting_for_its_connection_delivers_and_answers_health(
    fake_slack: FakeSlack, database: str, tmp_path: Path, signum: int
) -> None:
    """The tokens are good but Slack's websocket end refuses: the outbox and the scheduler
    run anyway, /healthz says what is wrong, a signal stops it."""
    await fake_slack.socket_drop(refuse_new=True)  # before the first connection
    env = bot_env(fake_slack, SIGNING_SECRET, database, settings=socket_mode(fake_slack))
    async with aiohttp.ClientSession() as http, listening(RUN, "run", env, tmp_path) as bot:
        await healthz_says(http, bot, 503, "Socket Mode not connected (WSServerHandshakeError")
        await eventually(
            lambda: len(logged(bot, "Socket Mode: cannot connect to Slack; retrying")) >= 2,
            "two attempts to connect",
        )
        await enqueue_a_dm(database, fake_slack.team_id, "UALICE")
        await eventually(lambda: len(fake_slack.dms_to("UALICE")) == 1, "the outbox sends")
        assert logged(bot, "Scheduler started")  # APScheduler's own line

        took, code = await stop_with(bot, signum)

    assert (code, fake_slack.socket_connections_opened) == (0, 0)
    assert took < STOP_WITHIN_SECONDS
    assert all(line.startswith("{") for line in bot.lines), "\n".join(bot.lines)
    assert not bot.error_lines()


async def enqueue_a_dm(database_url: str, team_id: str, user_id: str) -> None:
    engine = create_engine(database_url)
    async with create_session_factory(engine).begin() as session:
        await outbox.enqueue(
            session,
            team_id=team_id,
            key=f"startup-test:{user_id}",
            method="chat.postMessage",
            payload={"channel": user_id, "text": "hello"},
            now=START,
        )
    await engine.dispose()


async def test_socket_mode_reports_a_lost_connection_and_reconnects(
    fake_slack: FakeSlack, database: str, tmp_path: Path
) -> None:
    env = bot_env(fake_slack, SIGNING_SECRET, database, settings=socket_mode(fake_slack))
    async with aiohttp.ClientSession() as http, listening(RUN, "run", env, tmp_path) as bot:
        await healthz_says(http, bot, 200, "ok")
        assert fake_slack.socket_connections_opened == 1
        opened_before = len(fake_slack.calls_to("apps.connections.open"))
        assert opened_before == 1  # the start-up check's URL served the first connection

        await fake_slack.socket_drop(refuse_new=True)
        body = await healthz_says(http, bot, 503, "Socket Mode")
        assert body["db"] == "ok"
        await eventually(
            lambda: len(logged(bot, "Socket Mode: cannot connect to Slack; retrying")) >= 2,
            "two attempts to reconnect",
        )
        fake_slack.socket_accept()
        await healthz_says(http, bot, 200, "ok")
        answer = await SocketSlack(fake_slack).slash_command("ULEAD", "help")
        assert answer.json is not None
        assert "/partner tour" in json.dumps(answer.json["blocks"])

        took, code = await stop_with(bot, signal.SIGTERM)  # running, connected

    assert code == 0
    assert took < STOP_WITHIN_SECONDS
    retries = logged(bot, "Socket Mode: cannot connect to Slack; retrying")
    assert [entry["retry_in_s"] for entry in retries][:2] == [0.5, 1.0]
    assert fake_slack.socket_connections_opened == 2
    assert "Traceback" not in "\n".join(bot.lines)


async def test_a_revoked_app_token_stops_the_bot_with_one_line(
    fake_slack: FakeSlack, database: str, tmp_path: Path
) -> None:
    env = bot_env(fake_slack, SIGNING_SECRET, database, settings=socket_mode(fake_slack))
    async with aiohttp.ClientSession() as http, listening(RUN, "run", env, tmp_path) as bot:
        await healthz_says(http, bot, 200, "ok")

        await fake_slack.revoke_app_token()
        async with asyncio.timeout(30):
            code = await bot.process.wait()
        assert bot.reader is not None
        await bot.reader

    line = assert_one_line_naming(bot.lines, "SLACK_APP_TOKEN", code)
    assert line.startswith(
        "partnerbot: Slack refused SLACK_APP_TOKEN when connecting (invalid_auth):"
    )


async def test_the_first_request_does_not_wait_on_a_rate_limited_auth_test(
    fake_slack: FakeSlack, database: str, tmp_path: Path
) -> None:
    """Bolt asked auth.test on the first request after a restart, and waited out a 429's
    Retry-After (Slack gives up on an acknowledgement after 3 s). The start-up check asked it
    once; every request uses that answer."""
    env = bot_env(fake_slack, SIGNING_SECRET, database)
    async with aiohttp.ClientSession() as http, listening(RUN, "run", env, tmp_path) as bot:
        await healthz_says(http, bot, 200, "ok")
        fake_slack.fail_next("auth.test", status=429, retry_after=30, times=10)
        slack = SignedSlack(bot.url + EVENTS_PATH, SIGNING_SECRET, fake_slack, session=http)

        asked = time.monotonic()
        answer = await slack.slash_command("ULEAD", "help")
        took = time.monotonic() - asked

        assert answer.status == 200, answer.text
        assert "/partner tour" in answer.text
        assert took < 2
        assert len(fake_slack.calls_to("auth.test")) == 1
    assert not [line for line in bot.lines if "token" in line and "ignored" in line]


async def test_an_unreachable_postgresql_at_run_is_one_line_and_exit_2(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    port = closed_port_url().split(":")[2].split("/")[0]
    env = bot_env(
        fake_slack,
        SIGNING_SECRET,
        f"postgresql://partnerbot:hunter2@127.0.0.1:{port}/partnerbot",
        settings={"LOG_LEVEL": "INFO"},
    )

    code, lines = await exits(env, tmp_path)

    assert code == 2, lines
    assert lines == [lines[-1]], "\n".join(lines)
    assert lines[0].startswith(
        f"partnerbot: cannot use the database at postgresql://partnerbot:***@127.0.0.1:{port}/"
    )
    assert "hunter2" not in lines[0]
    assert fake_slack.calls == []  # the database is checked first
