"""Build the Bolt app and serve it: HTTP (`POST /slack/events`, `GET /healthz`, `GET /metrics`)
or Socket Mode (the port then serves `/healthz` and `/metrics`).

The HTTP front door checks what it can before Bolt sees a request (docs/FRONT-DOOR.md): a
connection must send its request within the read timeout and the connections held open are
capped (bot/connections.py); a body over 1 MB is refused (413); a request without a well-formed
signature (a timestamp of 1 to 20 ASCII digits) is refused (401) before its body is parsed; and a
body that is not the form or JSON Slack sends, or is nested deeper than Slack ever sends, is
refused (400) rather than raising a 500.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import logging
import re
import signal
import socket
import time
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from json import JSONDecodeError
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.connections import ConnectionGuard, ConnectionLimits, descriptor_headroom, self_check
from bot.db import database_refuses_writes
from bot.deps import Deps, slack_client
from bot.handlers import register_all
from bot.handlers.middleware import install_middleware
from bot.installations import (
    STATE_LIFETIME,
    CheckedInstallations,
    InstalledAuthorize,
    InstalledTokens,
    StateStore,
    check_installations,
)
from bot.logs import ClientErrorFilter, UnhandledRequestFilter, bind
from bot.metrics import CONTENT_TYPE, request_kind
from bot.settings import Settings
from bot.startup import (
    CHECK_CALL_TIMEOUT,
    CheckedSlack,
    SlackStatus,
    TokenRefused,
    check_slack,
    identify,
)

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

log = logging.getLogger("bot.app")

MAX_BODY_BYTES = 1024 * 1024
EVENTS_PATH = "/slack/events"
# OAuth mode: the "Add to Slack" page, and where Slack sends the installer back.
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# The bot scopes an install asks for: manifest.yml's oauth_config.scopes.bot (a test keeps the
# two the same).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "im:history",
    "users:read",
    "channels:read",
    "groups:read",
    "channels:history",
    "groups:history",
)
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
# How long a scrape waits for the outbox's numbers before answering without them.
METRICS_DB_TIMEOUT_SECONDS = 2.0
# Slack's timestamp is Unix seconds; anything else is refused before a number is made of it
# (Python refuses to turn more than 4,300 digits into an int, with a ValueError).
TIMESTAMP = re.compile(r"[0-9]{1,20}")
SIGNATURE_MAX_AGE_SECONDS = 5 * 60
# Slack's deepest payloads (a modal's state: view, state, values, block, action, options,
# option, text) are about a dozen levels deep.
MAX_JSON_DEPTH = 64
# How long /healthz may reuse its last answer: it is polled, sometimes by several watchers.
HEALTH_CACHE_SECONDS = 1.0
HEALTH_TIMEOUT_SECONDS = 2.0


def build_app(deps: Deps, *, also_admit: frozenset[str] = frozenset()) -> AsyncApp:
    """An AsyncApp wired to `deps`: its Web API client points at `SLACK_API_URL`. It answers
    the workspace its token belongs to (and, for tests of data kept apart by team, the teams in
    `also_admit`)."""
    settings = deps.settings
    # Interactive calls (views.open, views.publish) retry a dropped connection once and a 429
    # once if its Retry-After is short, noting the window in the outbox's rate gate (which
    # paces the outbox's own client; docs/DELIVERY.md).
    shared = deps.client or slack_client(settings)
    # The bot token reaches listeners through `authorize`: the token that speaks for the
    # request's team (`deps.tokens`), with who it is from the start-up check's auth.test
    # (bot/startup.py) or, for another token, one auth.test the first time it is seen (Bolt's
    # own lazy auth.test made the first request after a restart wait on Slack). Bolt warns that
    # a token on the app's client would go unused, so it has none.
    client = AsyncWebClient(
        base_url=shared.base_url,
        timeout=shared.timeout,
        retry_handlers=shared.retry_handlers,
        logger=shared.logger,
    )
    identities: dict[str, AuthorizeResult] = {}

    async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult | None:
        token = await deps.tokens.bot_token(team_id or "", enterprise_id)
        if not token:
            return None  # not installed there: Bolt refuses the request
        if deps.identity is not None and deps.identity.bot_token == token:
            return deps.identity
        known = identities.get(token)
        if known is None:  # started without the check (tests, benches), or another team
            known = identities[token] = await identify(client, token)
        return known

    signing_secret = settings.slack_signing_secret
    bolt_logger = logging.getLogger("bot.bolt")
    if not any(isinstance(f, UnhandledRequestFilter) for f in bolt_logger.filters):
        bolt_logger.addFilter(UnhandledRequestFilter())
    # OAuth mode: each request's workspace's token from the installations, and Bolt's OAuth
    # flow (GET /slack/install, /slack/oauth_redirect) saving into them.
    oauth: dict[str, Any] = {}
    if settings.oauth_enabled:
        oauth = oauth_options(deps, client)
    app = AsyncApp(
        # Without a name Bolt takes the caller's file name ("app.py") from inspect.stack(),
        # which reads the source of every frame on the stack into linecache for good (~0.5 MB).
        # Bolt names the loggers it gives listeners after it.
        name="partnerbot",
        client=client,
        # Bolt's type says an AuthorizeResult, but it answers None ("not installed") itself.
        authorize=oauth.pop("authorize", authorize),
        **oauth,
        signing_secret=signing_secret.get_secret_value() if signing_secret else "",
        # Bolt's framework messages go to this logger too, through the payload filter.
        logger=bolt_logger,
        # Every HTTP request's signature and timestamp were checked by SlackHttpFrontDoor before
        # Bolt sees it (Socket Mode requests carry none): checking them again costs each request
        # a second HMAC of its body for nothing.
        request_verification_enabled=False,
        # Bolt answers Slack once the listener returns; our listeners return as soon as they
        # have acknowledged and go on in a task of their own (bot/handlers/context.py).
        process_before_response=True,
    )
    install_middleware(app, deps, also_admit=also_admit)
    register_all(app, settings)
    return app


def oauth_options(deps: Deps, client: AsyncWebClient) -> dict[str, Any]:
    """AsyncApp's arguments for installs by OAuth: our authorize and Bolt's OAuth settings on
    our stores. Slack's authorize page is beside its Web API (SLACK_API_URL), so the fake Slack
    serves both."""
    settings = deps.settings
    tokens, store = deps.tokens, deps.installations
    assert isinstance(tokens, InstalledTokens)
    assert store is not None
    assert settings.slack_client_id is not None
    assert settings.slack_client_secret is not None
    assert settings.slack_state_secret is not None
    state_store = StateStore(
        deps.sessions, deps.clock, secret=settings.slack_state_secret.get_secret_value()
    )
    oauth_settings = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(BOT_SCOPES),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=urljoin(settings.api_url, "../oauth/v2/authorize"),
        installation_store=store,
        installation_store_bot_only=True,
        state_store=state_store,
        state_expiration_seconds=int(STATE_LIFETIME.total_seconds()),
        callback_options=AsyncCallbackOptions(success=_installed_page, failure=_failed_page),
        logger=logging.getLogger("bot.bolt"),
    )
    return {
        "authorize": InstalledAuthorize(tokens),
        "oauth_settings": oauth_settings,
        "installation_store_bot_only": True,
    }


# Why an install did not finish, for the installer (Bolt's reasons).
INSTALL_FAILURES = {
    "invalid_state": "This install link has expired or was already used (a link is good once, "
    "for 10 minutes).",
    "invalid_browser": "This install was started in another browser (or its cookie was blocked).",
    "missing_code": "Slack did not send the authorization code.",
    "invalid_code": "Slack did not accept the authorization code (it is good once, briefly).",
    "access_denied": "The install was cancelled in Slack.",
    "storage_error": "The installation could not be saved; the operator can see why in the "
    "bot's log.",
}


def _page(title: str, text: str, *, status: int, cookie: str | None = None) -> BoltResponse:
    body = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{text}</p></body></html>"
    )
    headers: dict[str, str | Sequence[str]] = {"Content-Type": "text/html; charset=utf-8"}
    if cookie is not None:
        headers["Set-Cookie"] = [cookie]
    return BoltResponse(status=status, body=body, headers=headers)


async def _installed_page(args: Any) -> BoltResponse:
    team = args.installation.team_name or args.installation.enterprise_name or "your workspace"
    return _page(
        "Partnerbot is installed",
        f"Partnerbot is installed in {html.escape(team)}. Type <code>/partner help</code> in "
        "Slack to start.",
        status=200,
        # The install's state cookie has done its job (the state itself is good once).
        cookie=args.settings.state_utils.build_set_cookie_for_deletion(),
    )


async def _failed_page(args: AsyncFailureArgs) -> BoltResponse:
    reason = INSTALL_FAILURES.get(args.reason, f"Slack said: {html.escape(args.reason)}.")
    log.warning("install not finished", extra={"reason": args.reason})
    return _page(
        "Partnerbot was not installed",
        f'{reason} <a href="{INSTALL_PATH}">Start the install again</a>.',
        status=args.suggested_status_code,
    )


@dataclass
class RunningServer:
    runner: web.AppRunner
    port: int
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()  # stop accepting; aiohttp finishes the requests in flight
        await self.runner.cleanup()


@dataclass
class HealthCheck:
    """The database's last answer to /healthz's write probe, shared by callers within a second
    and by calls that arrive while a probe is running."""

    refused: str | None = None
    checked_at: float = float("-inf")
    running: asyncio.Future[str | None] | None = field(default=None, repr=False)


class SlackHttpFrontDoor:
    """The aiohttp side of the bot: Slack's request URL and the health check. With a `slack`
    status (as `serve` gives it) /healthz reports Slack too, and requests wait for its check."""

    def __init__(
        self, app: AsyncApp | None, deps: Deps, *, slack: SlackStatus | None = None
    ) -> None:
        self._app = app
        self._deps = deps
        self._slack = slack
        secret = deps.settings.slack_signing_secret
        self._secret = secret.get_secret_value().encode() if secret else None
        self._read_timeout = deps.settings.http_read_timeout_seconds
        self._health = HealthCheck()
        self.guard: ConnectionGuard | None = None

    @property
    def settings(self) -> Settings:
        return self._deps.settings

    def web_app(self) -> web.Application:
        web_app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[self._arrived])
        web_app.router.add_get(HEALTH_PATH, self.health)
        if self.settings.metrics_enabled:
            web_app.router.add_get(METRICS_PATH, self.metrics)
        if self._app is not None:
            web_app.router.add_post(EVENTS_PATH, self.slack_events)
            if self._app.oauth_flow is not None:
                web_app.router.add_get(INSTALL_PATH, self.oauth_page)
                web_app.router.add_get(REDIRECT_PATH, self.oauth_page)
        return web_app

    async def oauth_page(self, request: web.Request) -> web.Response:
        """GET /slack/install (the "Add to Slack" page, which hands the browser a state) and
        /slack/oauth_redirect (Slack sends the installer back with a code): Bolt's OAuth flow.
        Browsers send no Slack signature; the connection caps and timeouts still apply."""
        assert self._app is not None
        assert self._app.oauth_flow is not None
        if self._slack is not None and not self._slack.checked:
            return web.Response(status=503, text="starting: try again in a moment")
        bolt_request = AsyncBoltRequest(
            body="",
            query=request.query_string,
            headers={key.lower(): request.headers.getall(key) for key in request.headers},
        )
        flow = self._app.oauth_flow
        bind(request="oauth")
        try:
            if request.path == INSTALL_PATH:
                bolt_response = await flow.handle_installation(bolt_request)
            else:
                bolt_response = await flow.handle_callback(bolt_request)
        except (aiohttp.ClientError, TimeoutError) as error:
            # Bolt turns Slack's refusals into its failure page, not a network failure.
            log.warning("install: Slack not reachable", extra={"reason": type(error).__name__})
            bolt_response = _page(
                "Partnerbot was not installed",
                "Slack could not be reached to finish the install. "
                f'<a href="{INSTALL_PATH}">Start the install again</a>.',
                status=502,
            )
        response = web.Response(status=bolt_response.status, body=bolt_response.body.encode())
        for key, values in bolt_response.headers.items():
            if key and key.lower() != "content-length":
                for value in values:
                    response.headers.add(key, value)
        return response

    @web.middleware
    async def _arrived(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.guard is not None:
            self.guard.request_arrived(request.transport)
        response: web.StreamResponse = await handler(request)
        return response

    async def health(self, _request: web.Request) -> web.Response:
        refused = await self._database_refuses_writes()
        answer: dict[str, object] = {"ok": refused is None, "db": refused or "ok"}
        if self._slack is not None:
            slack = await self._slack.describe()
            answer["ok"] = answer["ok"] and slack is None
            answer["slack"] = slack or "ok"
        return web.json_response(answer, status=200 if answer["ok"] else 503)

    async def metrics(self, _request: web.Request) -> web.Response:
        """Prometheus' text format. The outbox's gauges are read now, with one bounded query
        that may take at most METRICS_DB_TIMEOUT_SECONDS; without an answer they are left out."""
        metrics = self._deps.metrics
        try:
            async with asyncio.timeout(METRICS_DB_TIMEOUT_SECONDS):
                metrics.set_outbox(await self._deps.delivery.backlog())
        except Exception as error:  # the database is down or slow: the rest still shows
            metrics.set_outbox(None)
            log.warning("metrics: outbox not read", extra={"reason": repr(error)})
        return web.Response(body=metrics.text(), headers={"Content-Type": CONTENT_TYPE})

    async def _database_refuses_writes(self) -> str | None:
        health = self._health
        loop = asyncio.get_running_loop()
        if loop.time() - health.checked_at < HEALTH_CACHE_SECONDS:
            return health.refused
        if health.running is not None:
            return await asyncio.shield(health.running)
        running = health.running = loop.create_future()
        # What the callers waiting on this probe are told if it is cancelled part-way.
        refused: str | None = "database did not answer in time"
        try:
            refused = await database_refuses_writes(
                self._deps.engine, timeout=HEALTH_TIMEOUT_SECONDS
            )
        finally:
            health.running = None
            health.refused, health.checked_at = refused, loop.time()
            running.set_result(refused)
        if refused is not None:
            log.warning("health check failed", extra={"reason": refused})
        return refused

    async def slack_events(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        kind = ["other"]  # what the request turns out to be, once its body is parsed
        try:
            response = await self._dispatch(request, kind)
        except Exception:
            self._deps.metrics.request(kind[0], 500, time.perf_counter() - started)
            raise
        elapsed = time.perf_counter() - started
        self._deps.metrics.request(kind[0], response.status, elapsed)
        log.info(
            "acknowledged",
            extra={"status": response.status, "ack_ms": round(elapsed * 1000, 1)},
        )
        return response

    async def _dispatch(self, request: web.Request, kind: list[str]) -> web.Response:
        assert self._app is not None
        assert self._secret is not None
        if self._slack is not None and not self._slack.checked:
            # Slack retries an event it had no 200 for; nothing is lost.
            return web.Response(status=503, text="starting: the Slack tokens are not checked yet")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.Response(status=413, text="request body too large")
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not TIMESTAMP.fullmatch(timestamp) or not signature or len(signature) > 100:
            return web.Response(status=401, text="missing or malformed Slack signature headers")
        try:
            async with asyncio.timeout(self._read_timeout):
                raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text="request body too large")
        except TimeoutError:
            # A body sent this slowly is not Slack's: nothing more is read from the connection.
            log.warning("request body not received within the read timeout")
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=408, text="request body too slow")
        if not signed_by_slack(self._secret, raw, timestamp, signature, now=time.time()):
            return web.Response(status=401, text="invalid or expired Slack signature")
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return web.Response(status=400, text="body is not UTF-8")
        try:
            bolt_request = AsyncBoltRequest(
                body=body,
                query=request.query_string,
                headers={key.lower(): [value] for key, value in request.headers.items()},
            )
        except (JSONDecodeError, ValueError, TypeError, AttributeError):
            return web.Response(status=400, text="body is not a Slack request")
        except RecursionError:  # json gives up on nesting deeper than the interpreter's stack
            return web.Response(status=400, text="body is not a Slack request: nested too deep")
        kind[0] = request_kind(bolt_request.body)
        problem = malformed(bolt_request.body)
        if problem is not None:
            return web.Response(status=400, text=f"body is not a Slack request: {problem}")
        bind(request="slack")
        bolt_response = await self._app.async_dispatch(bolt_request)
        headers = {
            key: values[0] for key, values in bolt_response.headers.items() if values and key
        }
        headers.pop("content-length", None)
        return web.Response(
            status=bolt_response.status, body=bolt_response.body.encode("utf-8"), headers=headers
        )


def signed_by_slack(
    secret: bytes, raw: bytes, timestamp: str, signature: str, *, now: float
) -> bool:
    """Slack's request signature (v0: HMAC-SHA256 of `v0:{timestamp}:{body}`), made at most 5
    minutes from `now`. Checked on the body's bytes, before they are decoded: slack_sdk's
    SignatureVerifier decodes first (an unsigned non-UTF-8 body raised there) and compares str
    (a non-ASCII signature header raised TypeError)."""
    if abs(now - int(timestamp)) > SIGNATURE_MAX_AGE_SECONDS:
        return False
    expected = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256)
    given = signature.encode("utf-8", "surrogateescape")
    return hmac.compare_digest(b"v0=" + expected.hexdigest().encode(), given)


def malformed(body: object) -> str | None:
    """What makes a signed body unusable before Bolt sees it (Bolt itself would fail with a
    500 on these): not an object, an event callback without its event, a click without its
    actions."""
    if not isinstance(body, dict):
        return "not a JSON object"
    if nested_deeper_than(body, MAX_JSON_DEPTH):
        return "nested too deep"
    kind = body.get("type")
    if kind == "event_callback" and not isinstance(body.get("event"), dict):
        return "an event callback without an event"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "a click without actions"
        if not all(isinstance(action, dict) for action in actions):
            return "a click with malformed actions"
    return None


def nested_deeper_than(value: object, limit: int) -> bool:
    """Whether a parsed JSON value nests lists and objects more than `limit` deep (walked
    without recursion, so any depth json could parse is safe to ask about)."""
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        assert isinstance(children, Iterable)
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


async def start_http(front_door: SlackHttpFrontDoor, *, host: str, port: int) -> RunningServer:
    settings = front_door.settings
    timeout = settings.http_read_timeout_seconds
    runner = web.AppRunner(
        front_door.web_app(),
        access_log=None,
        handle_signals=False,
        # aiohttp's knobs: an idle kept-alive connection (and, in aiohttp 3.14, one that has not
        # finished its headers) is closed after the read timeout; request lines and header
        # fields over 8 KB are answered 400 and the connection closed; after an early answer
        # an unread body is drained for at most the read timeout.
        keepalive_timeout=timeout,
        lingering_time=timeout,
        max_line_size=8190,
        max_field_size=8190,
        logger=client_error_logger(),
        # Our handlers return once Slack has its acknowledgement, so a second is plenty for
        # the ones in progress at shutdown (aiohttp's default waits a minute).
        shutdown_timeout=1.0,
    )
    await runner.setup()
    # Bind the socket ourselves so port 0 (tests, benches) tells us which port it got.
    sock = socket.create_server((host, port), reuse_port=False)
    sock.setblocking(False)
    assert runner.server is not None
    factory: Any = runner.server
    problem = self_check(runner.server) if settings.http_connection_guard else None
    if settings.http_connection_guard and problem is None:
        limits = ConnectionLimits(
            read_timeout=timeout,
            max_connections=descriptor_headroom(settings.http_max_connections),
            max_per_client=settings.http_max_connections_per_client,
        )
        front_door.guard = factory = ConnectionGuard(runner.server, limits)
    elif problem is not None:
        log.warning(
            "serving without connection caps (HTTP_CONNECTION_GUARD)", extra={"reason": problem}
        )
    server = await asyncio.get_running_loop().create_server(factory, sock=sock, backlog=512)
    return RunningServer(runner=runner, port=sock.getsockname()[1], server=server)


def client_error_logger() -> logging.Logger:
    """aiohttp's server logger, with a client's malformed request (a header line too long, a
    bad method) cut to one line: it is the client's mistake, not ours, and a traceback each
    would let anyone fill the log."""
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ClientErrorFilter) for f in logger.filters):
        logger.addFilter(ClientErrorFilter())
    return logger


class Role(StrEnum):
    """What a `partnerbot run` process does (`--role`). On PostgreSQL web and worker replicas
    run side by side, so the outbox's sends never share an event loop with the acks; SQLite
    has one writer, so one process does both."""

    WEB = "web"  # Slack's requests (HTTP or Socket Mode): acks, and the work each one starts
    WORKER = "worker"  # the outbox's sends and the scheduled tick; /healthz and /metrics only
    ALL = "all"

    @property
    def listens(self) -> bool:
        return self is not Role.WORKER

    @property
    def works(self) -> bool:
        return self is not Role.WEB


# How often a worker apart from the listeners looks for rows they queued: their `notify()`
# wakes only their own process's worker.
WORKER_POLL_SECONDS = 1.0


async def serve(
    deps: Deps,
    *,
    host: str = "0.0.0.0",  # noqa: S104 - a server in a container listens on all interfaces
    stop: asyncio.Event | None = None,
    role: Role = Role.ALL,
) -> None:
    """Run until SIGTERM/SIGINT (or `stop`): serve /healthz at once; check the Slack tokens
    (retrying while Slack is out of reach); then serve Slack, deliver the outbox and tick
    every minute, the Socket Mode connection made and kept alongside (a `role` other than ALL
    does one side of that). Raises TokenRefused when Slack refuses a token, at start or later
    (docs/OPERATIONS.md)."""
    from bot.scheduler import start_scheduler

    settings = deps.settings
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    app = build_app(deps) if role.listens else None
    status = SlackStatus()
    # A worker, and Socket Mode, serve only /healthz and /metrics on the port (for Docker,
    # orchestrators and Prometheus).
    front_door = SlackHttpFrontDoor(None if settings.socket_mode else app, deps, slack=status)
    server = await start_http(front_door, host=host, port=settings.port)
    if not role.listens:
        log.info("working", extra={"url": f"http://{host}:{server.port}{HEALTH_PATH}"})
    elif settings.socket_mode:
        log.info("serving /healthz", extra={"url": f"http://{host}:{server.port}{HEALTH_PATH}"})
    else:
        log.info("listening for Slack", extra={"url": f"http://{host}:{server.port}{EVENTS_PATH}"})
    checked: CheckedSlack | CheckedInstallations | None = None
    try:
        if settings.oauth_enabled:
            # No token to check yet (each workspace brings its own when it installs): the
            # keys must read what is stored, and the database must answer.
            checked = await check_installations(deps.engine, deps.sessions, settings)
            status.problem, status.checked = None, True
        else:
            check_client = slack_client(settings, timeout=CHECK_CALL_TIMEOUT)
            checked = await check_slack(settings, check_client, status, stop)
    finally:
        if checked is None:  # stopped while checking, or a token refused
            await _within(server.stop(), "stopping the HTTP server")
            await deps.close()
            log.info("stopped")
    if checked is None:
        return
    socket_url = None
    if isinstance(checked, CheckedSlack):
        deps.identity, socket_url = checked.identity, checked.socket_url

    def refused(refusal: TokenRefused) -> None:
        status.refused = refusal
        stop.set()

    delivery_task, scheduler = None, None
    if role.works:
        poll = 5.0 if role is Role.ALL else WORKER_POLL_SECONDS
        delivery_task = asyncio.create_task(deps.delivery.run(stop, poll_every=poll))
        scheduler = start_scheduler(deps)
    socket_handler = None
    if settings.socket_mode and app is not None:
        # Imported here: an HTTP-mode bot has no use for the Socket Mode modules (~0.3 MB).
        from bot.socket_client import socket_mode_handler

        status.problem = "Socket Mode connecting"
        socket_handler = socket_mode_handler(app, deps, status=status, on_refused=refused)
        socket_handler.client.wss_uri = socket_url  # the check's URL: no second call
        connecting = asyncio.create_task(socket_handler.connect_async())  # type: ignore[no-untyped-call]
    await stop.wait()
    await shut_down(deps, server, socket_handler, scheduler, delivery_task)
    if socket_handler is not None:
        await _within(connecting, "stopping the Socket Mode connection")
    if status.refused is not None:
        raise status.refused


# What SIGTERM may take (Docker kills 10 s after it): listeners and sends in flight get
# LISTENER_GRACE / SEND_GRACE seconds, side by side; what is still running then is cancelled
# (a listener's transaction rolls back; a send's row goes back to the outbox, due now).
# At worst: 1 (Socket Mode) + 1 + 2.5 (requests, then listeners; the sends' 2.5 + 1.5 run
# alongside) + 4 x 1 (the steps after) s, under 8; usually about 2.
LISTENER_GRACE = 2.5
SEND_GRACE = 2.5
STEP_TIMEOUT = 1.0


async def shut_down(
    deps: Deps,
    server: RunningServer,
    socket_handler: AsyncSocketModeHandler | None,
    scheduler: AsyncIOScheduler | None,
    delivery_task: asyncio.Task[None] | None,
) -> None:
    """Stop within 8 s: take no new work, give the work in flight a short deadline, and
    leave nothing leased (another process, or the next start, sends what is left)."""
    log.info("shutting down: finishing work in flight")
    deps.delivery.stop_claiming()
    if scheduler is not None:
        scheduler.shutdown(wait=False)
    if socket_handler is not None:
        await _within(socket_handler.close_async(), "closing Socket Mode")  # type: ignore[no-untyped-call]

    async def listeners() -> None:
        await server.stop()  # new requests are refused; handlers in progress only ack
        if not await deps.inflight.wait_idle(timeout=LISTENER_GRACE):
            log.warning(
                "cancelling listeners still running", extra={"in_flight": len(deps.inflight)}
            )
            await deps.inflight.cancel_all()

    await asyncio.gather(listeners(), deps.delivery.shut_down(grace=SEND_GRACE))
    await _within(_tick_finished(deps), "waiting for the tick")
    await _within(deps.coalescer.flush(), "redrawing polls")  # the polls people just voted on
    await _within(deps.delivery.shut_down(grace=0), "giving back outbox rows")
    if delivery_task is not None:
        await _within(delivery_task, "stopping the outbox worker")
    await deps.close()
    log.info("stopped")


async def _tick_finished(deps: Deps) -> None:
    async with deps.tick_lock:  # a tick in progress: its sends were given back above
        pass


async def _within(work: Awaitable[object], what: str) -> None:
    """One shutdown step, at most STEP_TIMEOUT seconds: a step that hangs (Slack or the
    database unreachable) must not keep the process from exiting."""
    try:
        async with asyncio.timeout(STEP_TIMEOUT):
            await work
    except TimeoutError:
        log.warning("shutdown step timed out", extra={"step": what})
