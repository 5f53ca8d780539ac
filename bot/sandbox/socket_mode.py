"""Slack's Socket Mode, faked: the websocket that `apps.connections.open` points at. It greets each
client with `hello`, pushes envelopes (slash commands, events, interactions) and hands the
sender the client's acknowledgement, as Slack's applink servers do.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import WSCloseCode, WSMsgType, web

JsonDict = dict[str, Any]
EnvelopeType = Literal["slash_commands", "events_api", "interactive"]
DisconnectReason = Literal["warning", "refresh_requested", "link_disabled"]

SOCKET_MODE_PATH = "/socket-mode"
# Slack keeps a connection for a few hours before asking the client to refresh it.
APPROXIMATE_CONNECTION_TIME = 18060


@dataclass(eq=False)
class _Connection:
    ws: web.WebSocketResponse
    # Envelopes sent over this connection and not acknowledged yet, by envelope_id.
    unacked: dict[str, asyncio.Future[JsonDict]] = field(default_factory=dict)


class SocketModeLink:
    """The Socket Mode side of a fake workspace's app: tickets, connections, envelopes, acks."""

    def __init__(
        self, *, app_id: str, warnings: list[str], notify: Callable[[], Awaitable[None]]
    ) -> None:
        self.app_id = app_id
        self._warnings = warnings
        self._notify = notify
        self._tickets: set[str] = set()
        self._connections: list[_Connection] = []
        self.connections_opened = 0
        self._turns = itertools.count()
        self._closed = False
        # While set, new connections are refused as an outage of Slack's applink servers
        # would (the websocket handshake answered 503); the open ones stay.
        self.refusing = False

    def route(self, app: web.Application) -> None:
        app.router.add_get(SOCKET_MODE_PATH, self._handle)

    def issue_url(self, port: int) -> str:
        """A websocket URL for one client, as apps.connections.open returns it."""
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        return f"ws://127.0.0.1:{port}{SOCKET_MODE_PATH}?ticket={ticket}&app_id={self.app_id}"

    @property
    def client_count(self) -> int:
        """Clients connected and greeted (the hello has been sent)."""
        return len(self._connections)

    async def push(self, envelope: JsonDict, *, timeout: float) -> JsonDict | None:
        """Send one envelope and wait for its ack; return the ack's payload (None without one)."""
        if not self._connections:
            raise RuntimeError(
                "no Socket Mode client is connected; await FakeSlack.wait_for_socket_client() first"
            )
        # Slack spreads envelopes over an app's connections; taking turns keeps tests repeatable.
        connection = self._connections[next(self._turns) % len(self._connections)]
        envelope_id, kind = envelope["envelope_id"], envelope["type"]
        acked = asyncio.get_running_loop().create_future()
        connection.unacked[envelope_id] = acked
        try:
            async with asyncio.timeout(timeout):
                await connection.ws.send_json(envelope)
                ack = await acked
        except TimeoutError:
            raise TimeoutError(
                f"the Socket Mode client did not acknowledge {kind} envelope {envelope_id} "
                f"within {timeout}s (Slack gives up after 3s)"
            ) from None
        finally:
            connection.unacked.pop(envelope_id, None)
        answer = ack.get("payload")
        if answer is None:
            return None
        if not isinstance(answer, dict):
            self._warnings.append(f"socket mode: ack payload of {envelope_id} is not an object")
            return None
        if not envelope["accepts_response_payload"]:
            self._warnings.append(
                f"socket mode: ack of {kind} envelope {envelope_id} carries a payload; "
                "Slack ignores it"
            )
        return answer

    async def disconnect(self, reason: DisconnectReason = "refresh_requested") -> None:
        """Ask every client to reconnect, as Slack does before it retires a connection."""
        message = {
            "type": "disconnect",
            "reason": reason,
            "debug_info": {"host": "applink-fake"},
        }
        for connection in list(self._connections):
            await connection.ws.send_json(message)

    async def drop(self) -> None:
        """Close every connection without Slack's `disconnect` warning, as a network failure
        or a revoked token does; the clients are left to notice and reconnect."""
        for connection in list(self._connections):
            await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"connection lost")

    async def close(self) -> None:
        """Refuse new connections and close the open ones (the fake is stopping)."""
        self._closed = True
        for connection in list(self._connections):
            await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"fake slack stopped")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self._closed:
            return web.Response(status=503, text="fake slack is stopping")
        if self.refusing:
            return web.Response(status=503, text="applink unavailable")
        if request.query.get("ticket") not in self._tickets:
            # Only a URL from apps.connections.open (which checks the app token) lets a client in.
            return web.Response(status=401, text="invalid_ticket")
        # autoping answers the client's pings with pongs, as Slack does.
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        connection = _Connection(ws=ws)
        self.connections_opened += 1
        await ws.send_json(self._hello(num_connections=len(self._connections) + 1))
        self._connections.append(connection)
        await self._notify()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._receive(message.data)
                else:
                    self._warnings.append(f"socket mode: unexpected {message.type.name} message")
        finally:
            self._connections.remove(connection)
            for envelope_id, acked in connection.unacked.items():
                if not acked.done():
                    acked.set_exception(
                        ConnectionError(
                            f"the Socket Mode client left before acknowledging {envelope_id}"
                        )
                    )
            await self._notify()
        return ws

    def _hello(self, *, num_connections: int) -> JsonDict:
        return {
            "type": "hello",
            "num_connections": num_connections,
            "debug_info": {
                "host": "applink-fake",
                "build_number": 1,
                "approximate_connection_time": APPROXIMATE_CONNECTION_TIME,
            },
            "connection_info": {"app_id": self.app_id},
        }

    def _receive(self, data: str) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            self._warnings.append("socket mode: a client sent text that is not JSON")
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        # The ack may come over another of the app's connections than the envelope went out on.
        acked = (
            next(
                (c.unacked[envelope_id] for c in self._connections if envelope_id in c.unacked),
                None,
            )
            if isinstance(envelope_id, str)
            else None
        )
        if acked is None:
            self._warnings.append(f"socket mode: ack for unknown envelope {envelope_id!r}")
            return
        if not acked.done():
            acked.set_result(message)
