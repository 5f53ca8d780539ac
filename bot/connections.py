"""The HTTP server's connections, held to limits: how many at once (in all and per client
address) and how long a new connection may take to send its first request's headers.

This is the one place that sits between asyncio and aiohttp's protocol: aiohttp's server has
knobs for line and header sizes and for idle kept-alive connections, but none that caps
connections or closes one still sending its first headers (docs/FRONT-DOOR.md). Off with
HTTP_CONNECTION_GUARD=false; `self_check` tells at start-up when aiohttp's protocol is not the
kind this adapter wraps, and the bot then serves without it.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("bot.connections")

# File descriptors a running bot needs besides its inbound connections: database connections
# (SQLite opens three files each), Slack calls in flight, logs, the listening socket.
RESERVED_DESCRIPTORS = 256
MIN_CONNECTIONS = 16

ProtocolFactory = Callable[[], asyncio.BaseProtocol]


@dataclass(frozen=True)
class ConnectionLimits:
    read_timeout: float
    max_connections: int
    max_per_client: int


def descriptor_headroom(max_connections: int) -> int:
    """`max_connections`, lowered when the process may not open that many files next to what
    it needs for itself (`ulimit -n`): running out of descriptors stops everything, Slack
    calls and the database included, not just the new connections."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return max_connections
    room = max(MIN_CONNECTIONS, soft - RESERVED_DESCRIPTORS)
    if room < max_connections:
        log.warning(
            "HTTP_MAX_CONNECTIONS lowered to fit the open-file limit (ulimit -n)",
            extra={"asked": max_connections, "allowed": room, "open_file_limit": soft},
        )
        return room
    return max_connections


def self_check(factory: ProtocolFactory) -> str | None:
    """Why the guard cannot wrap this server's protocol, or None when it can: it forwards the
    calls of a plain `asyncio.Protocol`, which is what aiohttp's RequestHandler is."""
    probe = factory()
    if isinstance(probe, asyncio.BufferedProtocol) or not isinstance(probe, asyncio.Protocol):
        return f"aiohttp's protocol {type(probe).__name__} is not a plain asyncio.Protocol"
    return None


class ConnectionGuard:
    """Counts the open connections and makes the protocol for each new one."""

    def __init__(self, factory: ProtocolFactory, limits: ConnectionLimits) -> None:
        self._factory = factory
        self.limits = limits
        self.open = 0
        self._per_client: Counter[str] = Counter()
        self._waiting: dict[asyncio.BaseTransport, GuardedConnection] = {}
        self.refused = 0
        self.timed_out = 0

    def __call__(self) -> GuardedConnection:
        return GuardedConnection(self)

    @property
    def waiting(self) -> int:
        """Connections still to send their first request's headers."""
        return len(self._waiting)

    def request_arrived(self, transport: asyncio.BaseTransport | None) -> None:
        """A request's headers have arrived on this connection: its deadline is met. Later
        requests on it are aiohttp's to time (its keep-alive timeout)."""
        if transport is None:
            return
        connection = self._waiting.pop(transport, None)
        if connection is not None:
            connection.met_deadline()

    def admit(self, connection: GuardedConnection, client: str) -> bool:
        if (
            self.open >= self.limits.max_connections
            or self._per_client[client] >= self.limits.max_per_client
        ):
            self.refused += 1
            return False
        self.open += 1
        self._per_client[client] += 1
        assert connection.transport is not None
        self._waiting[connection.transport] = connection
        return True

    def release(self, connection: GuardedConnection, client: str) -> None:
        self.open -= 1
        self._per_client[client] -= 1
        if self._per_client[client] <= 0:
            del self._per_client[client]
        if connection.transport is not None:
            self._waiting.pop(connection.transport, None)


class GuardedConnection(asyncio.Protocol):
    """One accepted connection: refused at once past a cap, otherwise aiohttp's protocol,
    closed if its first request's headers are not in within the read timeout."""

    def __init__(self, guard: ConnectionGuard) -> None:
        self._guard = guard
        self._inner: asyncio.Protocol | None = None
        self._client = ""
        self._deadline: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self._client = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
        if not self._guard.admit(self, self._client):
            # Nothing is read, nothing is answered: the descriptor is given back at once.
            log.warning(
                "connection refused: too many open",
                extra={"client": self._client, "open": self._guard.open},
            )
            transport.abort()
            return
        inner = self._guard._factory()
        assert isinstance(inner, asyncio.Protocol)
        self._inner = inner
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self._guard.limits.read_timeout, self._too_slow)
        inner.connection_made(transport)

    def met_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        self._guard.timed_out += 1
        log.warning(
            "connection closed: no request within the read timeout",
            extra={"client": self._client, "timeout_s": self._guard.limits.read_timeout},
        )
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is None:
            return  # refused: never counted
        self.met_deadline()
        self._guard.release(self, self._client)
        self._inner.connection_lost(exc)
