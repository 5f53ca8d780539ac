"""The HTTP front door against hostile clients, in process (the whole `partnerbot run` under a
slow-loris is in tests/test_hostile_clients.py): malformed signature headers, bodies nested too
deep, connections that send slowly or too many at once, and logs that a flood cannot fill."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from slack_bolt.async_app import AsyncApp

from bot.app import (
    EVENTS_PATH,
    HEALTH_PATH,
    MAX_JSON_DEPTH,
    RunningServer,
    SlackHttpFrontDoor,
    nested_deeper_than,
    signed_by_slack,
    start_http,
)
from bot.deps import Deps
from bot.logs import ClientErrorFilter, RepeatFilter
from bot.sandbox.slack_requests import SignedSlack, sign
from bot.settings import Settings, load_settings
from tests.conftest import SIGNING_SECRET
from tests.waiting import eventually

# --- signature headers and bodies ----------------------------------------------------------------


@pytest.mark.parametrize(
    "timestamp",
    [
        "9" * 5000,  # Python will not make an int of this many digits: it was a 500
        "1" * 21,  # more digits than any Unix time
        "",
        "١٧٠٠٠٠٠٠٠٠",  # digits, but not ASCII ones
        "1700000000.5",
        "-1700000000",
    ],
)
async def test_a_malformed_timestamp_is_refused_before_anything_parses_it(
    slack: SignedSlack, timestamp: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = b'{"type":"event_callback"}'
    answer = await slack.raw(
        body, headers={"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=abc"}
    )
    assert answer.status == 401
    assert not [r for r in caplog.records if r.exc_info]


@examples(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    timestamp=st.one_of(
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
        st.integers(min_value=0, max_value=10**60).map(str),
        st.integers(min_value=1, max_value=6000).map(lambda n: "7" * n),
    ),
    signature=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200),
    body=st.one_of(st.binary(max_size=300), st.just(b"[" * 3000)),
)
async def test_unsigned_requests_are_401_whatever_their_headers_say(
    slack: SignedSlack, timestamp: str, signature: str, body: bytes
) -> None:
    answer = await slack.raw(
        body,
        headers={
            "X-Slack-Request-Timestamp": timestamp.strip(),
            "X-Slack-Signature": signature.strip(),
        },
    )
    assert answer.status == 401


@pytest.mark.parametrize(
    ("body", "timestamp", "signature", "valid"),
    [
        (b"x=1", "1700000000", sign(SIGNING_SECRET, 1_700_000_000, b"x=1"), True),
        (b"x=2", "1700000000", sign(SIGNING_SECRET, 1_700_000_000, b"x=1"), False),  # tampered
        (b"x=1", "1699999000", sign(SIGNING_SECRET, 1_699_999_000, b"x=1"), False),  # stale
        (b"\xff\xfe", "1700000000", "v0=00", False),  # not UTF-8: slack_sdk raised here
        (b"x=1", "1700000000", "v0=\u00e9\udcff", False),  # not ASCII: compare_digest raised
    ],
)
def test_the_signature_is_checked_on_the_bodys_bytes(
    body: bytes, timestamp: str, signature: str, valid: bool
) -> None:
    secret = SIGNING_SECRET.encode()
    assert signed_by_slack(secret, body, timestamp, signature, now=1_700_000_100) is valid


async def test_a_correct_signature_still_needs_a_recent_timestamp(slack: SignedSlack) -> None:
    body = b'{"type":"event_callback"}'
    answer = await slack.raw(body, headers=slack.signed_headers(body, timestamp=10**19))
    assert answer.status == 401


def nested(depth: int) -> str:
    return '{"type":"event_callback","event":' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize("depth", [100_000, 5_000, MAX_JSON_DEPTH + 1])
async def test_a_signed_json_body_nested_too_deep_gets_400(
    slack: SignedSlack, depth: int, caplog: pytest.LogCaptureFixture
) -> None:
    body = nested(depth).encode()
    answer = await slack.raw(body, headers=slack.signed_headers(body))
    assert answer.status == 400, answer.text
    assert "nested too deep" in answer.text
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_signed_interaction_nested_too_deep_gets_400(slack: SignedSlack) -> None:
    payload = '{"type":"block_actions","actions":[' + "[" * 100_000 + "]" * 100_000 + "]}"
    body = urllib.parse.urlencode({"payload": payload}).encode()
    answer = await slack.raw(
        body,
        headers=slack.signed_headers(body),
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status == 400, answer.text


async def test_slacks_own_payloads_are_not_too_deep(slack: SignedSlack) -> None:
    """The depth limit leaves room for what Slack does send: a modal's state is the deepest."""
    answer = await slack.slash_command("ULEAD", "help")
    assert answer.status == 200
    view_state = {"view": {"state": {"values": {"b": {"a": {"selected_options": [{"text": {}}]}}}}}}
    assert not nested_deeper_than(view_state, MAX_JSON_DEPTH)


@pytest.mark.parametrize(
    ("value", "limit", "deeper"),
    [
        ({}, 1, False),  # an empty object is one level
        ({"a": {}}, 1, True),
        ({"a": [1, {"b": []}]}, 4, False),  # object, list, object, list
        ({"a": [1, {"b": []}]}, 3, True),
        ("text", 0, False),  # a scalar has no depth
    ],
)
def test_nesting_is_measured_in_lists_and_objects(value: Any, limit: int, deeper: bool) -> None:
    assert nested_deeper_than(value, limit) is deeper


# --- connections -----------------------------------------------------------------------------


def limited(settings: Settings, **limits: Any) -> Settings:
    return load_settings(**{**settings.model_dump(), **limits})


@contextlib.asynccontextmanager
async def serving(
    bolt_app: AsyncApp, deps: Deps, settings: Settings
) -> AsyncIterator[RunningServer]:
    deps.settings = settings
    server = await start_http(SlackHttpFrontDoor(bolt_app, deps), host="127.0.0.1", port=0)
    try:
        yield server
    finally:
        await server.stop()


async def connect(
    server: RunningServer, source: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port, local_addr=(source, 0))


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> bool:
    """Whether the server closes (or resets) the connection within `within` seconds."""
    try:
        async with asyncio.timeout(within):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


async def healthz(server: RunningServer) -> int:
    async with aiohttp.ClientSession() as http, http.get(server.url + HEALTH_PATH) as response:
        return response.status


HALF_SENT = b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Le"


def test_the_default_read_timeout_is_ten_seconds(clean_env: Any) -> None:
    settings = load_settings()
    assert settings.http_read_timeout_seconds == 10
    assert settings.http_connection_guard is True
    assert settings.http_max_connections_per_client <= settings.http_max_connections


async def test_half_sent_headers_are_closed_after_the_read_timeout(
    bolt_app: AsyncApp, deps: Deps, settings: Settings
) -> None:
    async with serving(bolt_app, deps, limited(settings, http_read_timeout_seconds=0.5)) as server:
        reader, writer = await connect(server)
        writer.write(HALF_SENT)
        assert not await closed_by_server(reader, within=0.2)
        assert await closed_by_server(reader, within=2)
        writer.close()


async def test_a_body_sent_too_slowly_is_cut_off(
    bolt_app: AsyncApp, deps: Deps, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(bolt_app, deps, limited(settings, http_read_timeout_seconds=0.5)) as server:
        reader, writer = await connect(server)
        body = b'{"type":"event_callback","event":{}}'
        now = int(time.time())
        writer.write(
            f"POST {EVENTS_PATH} HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nX-Slack-Request-Timestamp: {now}\r\n"
            f"X-Slack-Signature: {sign(SIGNING_SECRET, now, body)}\r\n\r\n".encode()
            + body[:10]
        )
        assert await closed_by_server(reader, within=3)
        writer.close()
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_connection_that_sent_its_request_is_no_longer_on_the_clock(
    bolt_app: AsyncApp, deps: Deps, settings: Settings
) -> None:
    """The deadline is for the first request's headers: a request being handled (a listener
    may take longer than the read timeout) is not cut off by it."""
    deps.settings = limited(settings, http_read_timeout_seconds=0.3)
    front_door = SlackHttpFrontDoor(bolt_app, deps)
    server = await start_http(front_door, host="127.0.0.1", port=0)
    try:
        assert front_door.guard is not None
        reader, writer = await connect(server)
        assert front_door.guard.open == 1
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n")
        assert (await reader.readline()).startswith(b"HTTP/1.1 200")
        assert front_door.guard.waiting == 0
        writer.close()
        guard = front_door.guard
        await eventually(lambda: guard.open == 0, "every connection closed", timeout=5)
        assert guard.timed_out == 0
    finally:
        await server.stop()


async def test_connections_past_the_per_client_cap_are_closed_at_once(
    bolt_app: AsyncApp, deps: Deps, settings: Settings
) -> None:
    deps.settings = limited(settings, http_max_connections=6, http_max_connections_per_client=3)
    front_door = SlackHttpFrontDoor(bolt_app, deps)
    server = await start_http(front_door, host="127.0.0.1", port=0)
    guard = front_door.guard
    assert guard is not None
    try:
        held = [await connect(server, "127.0.0.2") for _ in range(3)]
        for _reader, writer in held:
            writer.write(HALF_SENT)
        extra_reader, extra_writer = await connect(server, "127.0.0.2")
        assert await closed_by_server(extra_reader, within=1)
        # Another client is still served, and so is this one once it lets a connection go.
        assert await healthz(server) == 200
        held[0][1].close()
        await eventually(lambda: guard.waiting == 2, "the two half-sent ones still held", timeout=5)
        again_reader, again_writer = await connect(server, "127.0.0.2")
        again_writer.write(b"GET /healthz HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n\r\n")
        assert (await again_reader.read()).startswith(b"HTTP/1.1 200")
        for _reader, writer in [*held[1:], (extra_reader, extra_writer)]:
            writer.close()
    finally:
        await server.stop()


async def test_connections_past_the_total_cap_are_closed_at_once(
    bolt_app: AsyncApp, deps: Deps, settings: Settings
) -> None:
    caps = limited(settings, http_max_connections=4, http_max_connections_per_client=2)
    async with serving(bolt_app, deps, caps) as server:
        held = [await connect(server, f"127.0.0.{n}") for n in (2, 2, 3, 3)]
        for source in ("127.0.0.4", "127.0.0.1"):
            reader, writer = await connect(server, source)
            assert await closed_by_server(reader, within=1)
            writer.close()
        for _reader, writer in held:
            writer.close()


async def test_without_the_guard_aiohttps_own_limits_still_hold(
    bolt_app: AsyncApp, deps: Deps, settings: Settings
) -> None:
    """HTTP_CONNECTION_GUARD=false: no caps, but aiohttp's keep-alive timeout (the read timeout)
    still closes a connection that never finishes its headers (aiohttp >= 3.14)."""
    unguarded = limited(settings, http_connection_guard=False, http_read_timeout_seconds=0.5)
    async with serving(bolt_app, deps, unguarded) as server:
        reader, writer = await connect(server)
        writer.write(HALF_SENT)
        assert await closed_by_server(reader, within=3)
        writer.close()


async def test_an_overlong_header_is_refused_in_one_line(
    app_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="aiohttp.server"):
        reader, writer = await asyncio.open_connection("127.0.0.1", app_server.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
        answer = await reader.read()
        writer.close()
    assert answer.split(b"\r\n")[0].endswith(b" 400 Bad Request")
    assert [r.getMessage() for r in caplog.records if r.name == "aiohttp.server"] == [
        "malformed request from a client: LineTooLong"
    ]
    assert not [r for r in caplog.records if r.exc_info]


# --- logs ----------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(message: str = "socket.accept() out of system resource", line: int = 1) -> Any:
    return logging.LogRecord("asyncio", logging.ERROR, "base_events.py", line, message, (), None)


def test_the_same_line_is_written_at_most_n_times_a_minute_then_summarised() -> None:
    clock, summaries = Clock(), []
    repeats = RepeatFilter(3, emit=summaries.append, clock=clock)
    passed = [repeats.filter(record()) for _ in range(10)]
    assert passed == [True] * 3 + [False] * 7
    assert repeats.filter(record(line=2))  # the same words from another place count apart
    assert summaries == []
    clock.now = 61
    assert repeats.filter(record())
    assert [s.getMessage() for s in summaries] == [
        "suppressed 7 repeats of 'socket.accept() out of system resource' in the last minute"
    ]
    assert repeats.filter(summaries[0])  # the summary itself is never held back


def test_a_line_with_varying_arguments_is_still_one_message() -> None:
    repeats = RepeatFilter(2, emit=lambda _r: None, clock=Clock())
    lines = [
        logging.LogRecord("a", logging.INFO, "x.py", 1, "from %s", (f"10.0.0.{n}",), None)
        for n in range(4)
    ]
    assert [repeats.filter(line) for line in lines] == [True, True, False, False]


def test_a_clients_malformed_request_is_logged_without_its_traceback() -> None:
    from aiohttp.http_exceptions import LineTooLong

    try:
        raise LineTooLong(b"x" * 10, 8190)
    except LineTooLong as error:
        line = logging.LogRecord(
            "aiohttp.server",
            logging.ERROR,
            "p.py",
            1,
            "Error handling request from %s",
            ("1.2.3.4",),
            (type(error), error, error.__traceback__),
        )
    assert ClientErrorFilter().filter(line)
    assert (line.exc_info, line.levelno, line.getMessage()) == (
        None,
        logging.INFO,
        "malformed request from a client: LineTooLong",
    )


def test_a_server_error_keeps_its_traceback() -> None:
    try:
        raise RuntimeError("ours")
    except RuntimeError as error:
        line = logging.LogRecord(
            "aiohttp.server",
            logging.ERROR,
            "p.py",
            1,
            "Unhandled exception",
            (),
            (type(error), error, error.__traceback__),
        )
    assert ClientErrorFilter().filter(line)
    assert line.exc_info is not None
    assert line.levelno == logging.ERROR
