"""slack_sdk's aiohttp Socket Mode client, connecting the way an operator expects: a failed
attempt is one log line (the traceback at DEBUG) and another attempt after a growing back-off;
an app token Slack refuses stops the bot with one line; /healthz hears of a lost connection.

The one place that reaches into slack_sdk's client: its `connect` retries every 5 s forever
with a traceback each time (a refused token included) and cannot be interrupted. Checked
against slack_sdk 3.48 and slack_bolt 1.30; `self_check` says at start-up when the attributes
this adapter drives are missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient

from bot.metrics import request_kind
from bot.startup import SlackStatus, TokenRefused, backoff_seconds, one_line, refused_error

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.socket_mode.request import SocketModeRequest

    from bot.deps import Deps

log = logging.getLogger("bot.socket_mode")

# How often the Socket Mode client pings Slack; a connection silent for four pings is replaced.
SOCKET_PING_SECONDS = 10.0

# What `connect` below drives of slack_sdk's client.
_DRIVEN = (
    "aiohttp_client_session",
    "current_session",
    "current_session_monitor",
    "message_receiver",
    "monitor_current_session",
    "receive_messages",
    "auto_reconnect_enabled",
    "default_auto_reconnect_enabled",
    "stale",
    "connect_operation_lock",
    "ping_interval",
)


def self_check(client: SocketModeClient) -> str | None:
    """Why this adapter cannot drive `client` (a slack_sdk that changed), or None."""
    missing = [name for name in _DRIVEN if not hasattr(client, name)]
    return f"slack_sdk's SocketModeClient lacks {', '.join(missing)}" if missing else None


class PatientSocketModeClient(SocketModeClient):
    """A Socket Mode client that retries with back-off, reports to `status`, and calls
    `refused` (once) when Slack will not accept the app token."""

    def __init__(
        self,
        app_token: str,
        *,
        status: SlackStatus,
        refused: Callable[[TokenRefused], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(app_token, **kwargs)
        self._status = status
        self._refused = refused
        self._closing = asyncio.Event()
        self._gave_up = False  # Slack refused the app token: no more attempts
        status.connected = self.is_connected
        problem = self_check(self)
        self._patient = problem is None
        if problem is not None:
            log.warning(
                "Socket Mode: reconnecting the way slack_sdk does (retries every few seconds)",
                extra={"reason": problem},
            )

    async def connect_to_new_endpoint(self, force: bool = False) -> None:
        """Slack asked for a new connection, or the watchdog found this one gone: one caller
        at a time reconnects (the others then find it connected)."""
        if not self._patient:
            await super().connect_to_new_endpoint(force)
            return
        async with self.connect_operation_lock:
            if self._gave_up:
                return
            if not self.closed and (force or not await self.is_connected()):
                self.wss_uri = None  # a URL from apps.connections.open serves one connection
                await self.connect()

    async def connect(self) -> None:
        if not self._patient:
            await super().connect()  # type: ignore[no-untyped-call]
            return
        attempt = 0
        while not self.closed and not self._gave_up:
            try:
                await self._open_session()
            except Exception as error:  # every failure to connect is retried, but a refusal
                if self._closing.is_set():
                    return
                code = refused_error(error)
                if code is not None:
                    refusal = TokenRefused("SLACK_APP_TOKEN", code, when="when connecting")
                    self._gave_up = True
                    self._status.problem = str(refusal)
                    self._refused(refusal)
                    return
                attempt += 1
                delay = backoff_seconds(attempt)
                reason = one_line(error)
                self._status.problem = (
                    f"Socket Mode not connected ({reason}); attempt {attempt}, next in {delay:g} s"
                )
                log.warning(
                    "Socket Mode: cannot connect to Slack; retrying",
                    extra={"attempt": attempt, "retry_in_s": delay, "reason": reason},
                )
                log.debug("Socket Mode connection failed", exc_info=error)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._closing.wait()
                continue
            self._status.problem = None
            log.info("connected to Slack in Socket Mode", extra={"attempts": attempt + 1})
            return

    async def _open_session(self) -> None:
        """One attempt: a new URL, a websocket to it, and the client's watchdog and reader
        for it (as slack_sdk's own `connect` sets them up)."""
        self.auto_reconnect_enabled = False
        old = self.current_session
        if old is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close
                await old.close()
        if self.aiohttp_client_session.closed:
            self.aiohttp_client_session = aiohttp.ClientSession()
        if self.wss_uri is None:
            response = await self.web_client.apps_connections_open(app_token=self.app_token)
            self.wss_uri = response["url"]
        try:
            session = await self.aiohttp_client_session.ws_connect(
                self.wss_uri,
                autoping=False,
                heartbeat=self.ping_interval,
                proxy=self.proxy,
                ssl=self.web_client.ssl if self.web_client.ssl is not None else True,
            )
        except Exception:
            self.wss_uri = None  # the next attempt asks for a fresh URL
            raise
        self.current_session = session
        self.auto_reconnect_enabled = self.default_auto_reconnect_enabled
        self.stale = False
        await session.ping(f"sdk-ping-pong:{time.time()}".encode())
        for task in (self.current_session_monitor, self.message_receiver):
            if task is not None:
                task.cancel()
        self.current_session_monitor = asyncio.ensure_future(self.monitor_current_session())
        self.message_receiver = asyncio.ensure_future(self.receive_messages())

    async def close(self) -> None:
        self._closing.set()
        await super().close()  # type: ignore[no-untyped-call]


class MeasuredSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode adapter on a client that retries patiently (above),
    each envelope counted and timed (bot/metrics.py) as the HTTP front door counts a request:
    from its arrival to the acknowledgement sent back."""

    def __init__(self, app: AsyncApp, client: PatientSocketModeClient, *, deps: Deps) -> None:
        # Bolt's __init__ would make a client of its own; these are the attributes it sets.
        self.app, self.app_token, self.client = app, client.app_token, client
        client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]
        self._metrics = deps.metrics

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.perf_counter()
        kind = request_kind(req.payload)
        try:
            await super().handle(client, req)
        except Exception:
            self._metrics.request(kind, 500, time.perf_counter() - started)
            raise
        self._metrics.request(kind, 200, time.perf_counter() - started)


def socket_mode_handler(
    app: AsyncApp,
    deps: Deps,
    *,
    status: SlackStatus | None = None,
    on_refused: Callable[[TokenRefused], None] | None = None,
) -> AsyncSocketModeHandler:
    """Bolt's Socket Mode adapter, asking apps.connections.open through `app.client` (so at
    SLACK_API_URL), telling `status` how the connection is and `on_refused` when Slack refuses
    the app token. Its client logs whole envelopes at DEBUG, user text included, so it gets a
    slack_sdk logger, which configure_logging holds at INFO."""
    settings = deps.settings
    assert settings.slack_app_token is not None
    client = PatientSocketModeClient(
        settings.slack_app_token.get_secret_value(),
        status=status or SlackStatus(),
        refused=on_refused or (lambda refusal: log.error("%s", refusal)),
        logger=logging.getLogger("slack_sdk.socket_mode"),
        web_client=app.client,
        ping_interval=SOCKET_PING_SECONDS,
    )
    return MeasuredSocketModeHandler(app, client, deps=deps)
