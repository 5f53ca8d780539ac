"""The fake's Socket Mode: the URL apps.connections.open hands out, the hello, envelopes and their
acks, pings, Slack's disconnect, and closing when the fake stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientWebSocketResponse, WSCloseCode, WSMsgType
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.socket_mode import EnvelopeType

JsonDict = dict[str, Any]


async def open_url(fake: FakeSlack) -> str:
    client = AsyncWebClient(base_url=fake.api_url, retry_handlers=[])
    opened = await client.apps_connections_open(app_token=fake.app_token)
    return str(opened["url"])


@asynccontextmanager
async def connected(fake: FakeSlack) -> AsyncIterator[tuple[ClientWebSocketResponse, JsonDict]]:
    """A bare websocket client on the fake's Socket Mode, and the hello it got."""
    url = await open_url(fake)
    # autoping off: the ping test wants to see the pong itself.
    async with aiohttp.ClientSession() as session, session.ws_connect(url, autoping=False) as ws:
        hello = await ws.receive_json()
        await fake.wait_for_socket_client()
        yield ws, hello


async def ack_next(ws: ClientWebSocketResponse, payload: JsonDict | None = None) -> JsonDict:
    """Read the next envelope and acknowledge it, with `payload` if given."""
    envelope: JsonDict = await ws.receive_json()
    ack: JsonDict = {"envelope_id": envelope["envelope_id"]}
    if payload is not None:
        ack["payload"] = payload
    await ws.send_json(ack)
    return envelope


# --- connecting ---------------------------------------------------------------------------------


async def test_apps_connections_open_points_at_a_websocket_that_says_hello(
    fake_slack: FakeSlack,
) -> None:
    url = await open_url(fake_slack)
    assert url.startswith(fake_slack.base_url.replace("http://", "ws://") + "socket-mode?ticket=")

    async with connected(fake_slack) as (_, first), connected(fake_slack) as (_, second):
        assert fake_slack.socket_clients == 2
    await fake_slack.wait_for(lambda: fake_slack.socket_clients == 0)

    assert first["type"] == "hello"
    assert first["connection_info"] == {"app_id": fake_slack.app_id}
    assert first["debug_info"]["approximate_connection_time"] > 0
    assert (first["num_connections"], second["num_connections"]) == (1, 2)
    assert fake_slack.socket_connections_opened == 2


async def test_apps_connections_open_wants_the_app_token(fake_slack: FakeSlack) -> None:
    bot = AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url)
    with pytest.raises(SlackApiError) as refused:
        await bot.apps_connections_open(app_token=fake_slack.bot_token)
    assert refused.value.response["error"] == "invalid_auth"


@pytest.mark.parametrize(
    "query",
    [
        "",  # no ticket at all
        "?ticket=00000000-0000-4000-8000-000000000000",  # a ticket the fake never issued
    ],
)
async def test_only_a_url_from_apps_connections_open_connects(
    fake_slack: FakeSlack, query: str
) -> None:
    url = fake_slack.base_url.replace("http://", "ws://") + "socket-mode" + query
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url)
    assert refused.value.status == 401
    assert fake_slack.socket_clients == 0


async def test_a_client_ping_gets_a_pong(fake_slack: FakeSlack) -> None:
    async with connected(fake_slack) as (ws, _):
        await ws.ping(b"sdk-ping-pong:1")
        pong = await ws.receive()
    assert (pong.type, pong.data) == (WSMsgType.PONG, b"sdk-ping-pong:1")


# --- envelopes and acks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "answer", "accepts_response_payload"),
    [
        # a slash command's ack can carry the answer shown to the user
        ("slash_commands", {"response_type": "ephemeral", "text": "Usage"}, True),
        # an interaction's ack can carry a response_action
        ("interactive", {"response_action": "clear"}, True),
        # an event is only acknowledged
        ("events_api", None, False),
    ],
)
async def test_socket_send_wraps_the_payload_and_returns_the_ack_payload(
    fake_slack: FakeSlack,
    kind: EnvelopeType,
    answer: JsonDict | None,
    accepts_response_payload: bool,
) -> None:
    async with connected(fake_slack) as (ws, _):
        envelope, returned = await asyncio.gather(
            ack_next(ws, answer), fake_slack.socket_send(kind, {"type": "x"})
        )

    assert returned == answer
    assert envelope["type"] == kind
    assert envelope["payload"] == {"type": "x"}
    assert envelope["accepts_response_payload"] is accepts_response_payload
    assert len(envelope["envelope_id"]) == 36
    # Only Events API envelopes say whether they are a retry.
    assert ("retry_attempt" in envelope) is (kind == "events_api")
    assert fake_slack.warnings == []


async def test_an_event_retry_carries_its_attempt(fake_slack: FakeSlack) -> None:
    async with connected(fake_slack) as (ws, _):
        envelope, _ = await asyncio.gather(
            ack_next(ws),
            fake_slack.socket_send("events_api", {}, retry_attempt=2, retry_reason="timeout"),
        )
    assert (envelope["retry_attempt"], envelope["retry_reason"]) == (2, "timeout")


async def test_envelopes_take_turns_over_the_connections(fake_slack: FakeSlack) -> None:
    async with connected(fake_slack) as (first, _), connected(fake_slack) as (second, _):
        got = await asyncio.gather(
            ack_next(first),
            ack_next(second),
            fake_slack.socket_send("events_api", {"n": 1}),
            fake_slack.socket_send("events_api", {"n": 2}),
        )
    assert {got[0]["payload"]["n"], got[1]["payload"]["n"]} == {1, 2}


async def test_acks_slack_would_not_expect_are_noted(fake_slack: FakeSlack) -> None:
    async with connected(fake_slack) as (ws, _):
        _, ignored = await asyncio.gather(
            ack_next(ws, {"text": "hi"}), fake_slack.socket_send("events_api", {})
        )
        await ws.send_str("not json")
        await ws.send_json({"envelope_id": "never-sent"})
        await ws.send_bytes(b"\x00")
        # A round trip after them: the fake has read all three once this is acknowledged.
        await asyncio.gather(ack_next(ws), fake_slack.socket_send("events_api", {}))

    assert ignored == {"text": "hi"}
    expected = ["carries a payload", "not JSON", "unknown envelope 'never-sent'", "BINARY"]
    assert len(fake_slack.warnings) == len(expected)
    for warning, fragment in zip(fake_slack.warnings, expected, strict=True):
        assert fragment in warning


async def test_socket_send_needs_a_client(fake_slack: FakeSlack) -> None:
    with pytest.raises(RuntimeError, match="wait_for_socket_client"):
        await fake_slack.socket_send("events_api", {})


async def test_no_ack_is_a_timeout(fake_slack: FakeSlack) -> None:
    async with connected(fake_slack):
        # timeout=0 expires at the first wait, so no time has to pass for the test.
        with pytest.raises(TimeoutError, match="did not acknowledge events_api envelope"):
            await fake_slack.socket_send("events_api", {}, timeout=0)


async def test_a_client_leaving_before_its_ack_is_a_connection_error(
    fake_slack: FakeSlack,
) -> None:
    async def read_then_leave(ws: ClientWebSocketResponse) -> None:
        await ws.receive_json()
        await ws.close()

    async with connected(fake_slack) as (ws, _):
        with pytest.raises(ConnectionError, match="left before acknowledging"):
            await asyncio.gather(read_then_leave(ws), fake_slack.socket_send("slash_commands", {}))


# --- disconnect and stop ------------------------------------------------------------------------


async def test_disconnect_tells_each_client_to_reconnect(fake_slack: FakeSlack) -> None:
    async with connected(fake_slack) as (ws, _):
        await fake_slack.socket_disconnect("warning")
        message = await ws.receive_json()
    assert message["type"] == "disconnect"
    assert message["reason"] == "warning"


async def test_slack_sdk_reconnects_after_a_disconnect(fake_slack: FakeSlack) -> None:
    async def acknowledge(client: Any, request: SocketModeRequest) -> None:
        await client.send_socket_mode_response(
            SocketModeResponse(request.envelope_id, payload={"text": "pong"})
        )

    client = SocketModeClient(
        app_token=fake_slack.app_token,
        web_client=AsyncWebClient(base_url=fake_slack.api_url, retry_handlers=[]),
    )
    client.socket_mode_request_listeners.append(acknowledge)
    try:
        await client.connect()  # type: ignore[no-untyped-call]
        await fake_slack.wait_for_socket_client()

        await fake_slack.socket_disconnect()
        await fake_slack.wait_for(
            lambda: fake_slack.socket_connections_opened == 2 and fake_slack.socket_clients == 1
        )
        answer = await fake_slack.socket_send("slash_commands", {"text": "ping"})
    finally:
        await client.close()  # type: ignore[no-untyped-call]

    assert answer == {"text": "pong"}
    assert len(fake_slack.calls_to("apps.connections.open")) == 2


async def test_stop_closes_the_connections(fake_clock: Callable[[], float]) -> None:
    fake = FakeSlack(clock=fake_clock)
    await fake.start()
    try:
        url = await open_url(fake)
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await ws.receive_json()  # hello
            await fake.wait_for_socket_client()
            stopping = asyncio.create_task(fake.stop())
            closing = await ws.receive()
            await stopping
    finally:
        await fake.stop()

    assert closing.type == WSMsgType.CLOSE
    assert closing.data == WSCloseCode.GOING_AWAY
    assert fake.socket_clients == 0
