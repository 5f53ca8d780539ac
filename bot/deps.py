"""What handlers and jobs share: settings, the session factory, the clock, delivery, and a
register of in-flight work. Handlers reach it through the Bolt context (`context["deps"]`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

import aiohttp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
)
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock, SystemClock
from bot.coalescer import Coalescer
from bot.db import create_engine, create_read_session_factory, create_session_factory
from bot.delivery import Delivery, SharedRateLimitRetryHandler
from bot.directory import Directory
from bot.installations import InstallationStore, InstalledTokens
from bot.metrics import Metrics
from bot.settings import Settings
from bot.tokens import SingleToken, TeamClients, TokenSource

log = logging.getLogger(__name__)

# How long one Slack call may take before the client gives up (and the outbox retries it).
SLACK_CALL_TIMEOUT = 20
# A lease shorter than this may run out while its send is still waiting on Slack (the call
# timeout plus recording the result), and another process would then send the row again.
SAFE_OUTBOX_LEASE_SECONDS = SLACK_CALL_TIMEOUT + 10


class InFlight:
    """The listener tasks still running, so shutdown (and tests) can wait for them to finish."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    def track(self, task: asyncio.Task[object]) -> None:
        self._tasks.add(task)
        self._idle.clear()
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self._idle.set()

    def __len__(self) -> int:
        return len(self._tasks)

    async def cancel_all(self) -> None:
        """Cancel what is still running and wait for it to unwind (shutdown's deadline)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """True when nothing is running (within `timeout` seconds, if given)."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True


@dataclass
class Deps:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    delivery: Delivery
    # For work off the request path (scheduled jobs): retries a dropped connection and a 429.
    client: AsyncWebClient | None = None
    # For the rare Slack call that must happen before an acknowledgement: no retries (a retry
    # handler that waits out a 429 would blow Slack's 3-second limit) and a short timeout.
    quick_client: AsyncWebClient | None = None
    inflight: InFlight = field(default_factory=InFlight)
    directory: Directory = field(default_factory=Directory)
    coalescer: Coalescer = field(default_factory=Coalescer)
    tick_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Reads that must not wait for writers (before an acknowledgement); see `bot.db`.
    reads: async_sessionmaker[AsyncSession] | None = None
    # Who the bot token is (auth.test), learned once by the start-up check (bot/startup.py)
    # and handed to every request by Bolt's `authorize`.
    identity: AuthorizeResult | None = None
    # Which token speaks for each workspace: every Slack call off a listener's own client (the
    # outbox, the tick's jobs, the checks before an acknowledgement) uses the row's or the
    # request's team's token, never another team's.
    tokens: TokenSource = field(default_factory=lambda: SingleToken(None))
    # OAuth mode: the installations the tokens come from (bot/installations.py).
    installations: InstallationStore | None = None
    _job_clients: TeamClients | None = field(default=None, init=False, repr=False)
    _quick_clients: TeamClients | None = field(default=None, init=False, repr=False)

    @property
    def metrics(self) -> Metrics:
        """The process's counters and timings (bot/metrics.py), kept by the outbox's sender,
        which counts its sends in them."""
        return self.delivery.metrics

    # The HTTP session (kept-alive connections to Slack) of the clients Bolt hands listeners.
    listener_http: aiohttp.ClientSession | None = None
    listener_loop: asyncio.AbstractEventLoop | None = None

    def read_sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.reads or self.sessions

    async def client_for(
        self, team_id: str, enterprise_id: str | None = None
    ) -> AsyncWebClient | None:
        """`client` (for work off the request path) with `team_id`'s token; None when there is
        no client or no token speaks for the team (its work waits)."""
        if self.client is None:
            return None
        if self._job_clients is None or self._job_clients.template is not self.client:
            self._job_clients = TeamClients(self.client, self.tokens)
        return await self._job_clients.for_team(team_id, enterprise_id)

    async def quick_client_for(
        self, team_id: str, enterprise_id: str | None = None
    ) -> AsyncWebClient | None:
        """`quick_client` (no retries, a short timeout: before an acknowledgement) with
        `team_id`'s token; None as for `client_for`."""
        if self.quick_client is None:
            return None
        if self._quick_clients is None or self._quick_clients.template is not self.quick_client:
            self._quick_clients = TeamClients(self.quick_client, self.tokens)
        return await self._quick_clients.for_team(team_id, enterprise_id)

    def forget_team(self, team_id: str) -> None:
        """The workspace uninstalled the app or revoked its tokens: drop every client and
        token cached for it, so the next call asks the token source again."""
        for clients in (self._job_clients, self._quick_clients, self.delivery.clients):
            if clients is not None:
                clients.forget(team_id)
        self.tokens.forget(team_id)
        self.directory.forget(team_id)

    def share_connections(self, client: AsyncWebClient) -> None:
        """Give a listener's Web API client the one kept-alive HTTP session. Without a session
        slack_sdk opens, and closes, a new connection (a TLS handshake with Slack) for every
        call. Made on first use, inside the event loop, as aiohttp requires."""
        if client.session is not None:
            return
        loop = asyncio.get_running_loop()
        if (
            self.listener_http is None
            or self.listener_http.closed
            or self.listener_loop is not loop
        ):
            # slack_sdk leaves the timeout to a session it is given. A session belongs to the
            # event loop it was made in (tests run a loop each).
            timeout = aiohttp.ClientTimeout(total=client.timeout)
            self.listener_http = aiohttp.ClientSession(timeout=timeout)
            self.listener_loop = loop
        client.session = self.listener_http

    async def close(self) -> None:
        await self.delivery.close()
        if self.listener_http is not None and not self.listener_http.closed:
            await self.listener_http.close()
        await self.engine.dispose()


def slack_client(
    settings: Settings,
    *,
    retry_handlers: list[AsyncRetryHandler] | None = None,
    timeout: int = SLACK_CALL_TIMEOUT,
) -> AsyncWebClient:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=settings.api_url,
        timeout=timeout,
        retry_handlers=retry_handlers if retry_handlers is not None else [],
    )


def token_source(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> tuple[TokenSource, InstallationStore | None]:
    """Which token speaks for each workspace in the configured mode: `SLACK_BOT_TOKEN` for the
    one workspace, or in OAuth mode the installations' (with their store)."""
    if settings.oauth_enabled:
        installations = InstallationStore(sessions, settings.token_cipher(), clock)
        return InstalledTokens(installations, sessions), installations
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return SingleToken(token), None


def build_deps(
    settings: Settings, *, clock: Clock | None = None, tokens: TokenSource | None = None
) -> Deps:
    """The process's dependencies; `tokens` says which token speaks for each workspace (by
    default `SLACK_BOT_TOKEN` for the one workspace, or in OAuth mode the installations')."""
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    installations = None
    if tokens is None:
        tokens, installations = token_source(settings, sessions, clock)
    if settings.outbox_lease_seconds < SAFE_OUTBOX_LEASE_SECONDS:
        log.warning(
            "OUTBOX_LEASE_SECONDS is shorter than a send may take: with more than one process "
            "sending, a slow message may be sent twice",
            extra={"lease_seconds": settings.outbox_lease_seconds},
        )
    # The outbox paces itself (Retry-After per method, back-off per row), so its client has no
    # retry handlers: a handler that slept on a 429 would hold a send slot and hide the signal.
    metrics = Metrics()
    delivery = Delivery(
        sessions,
        slack_client(settings),
        clock,
        metrics=metrics,
        lease_for=timedelta(seconds=settings.outbox_lease_seconds),
        concurrency=settings.outbox_send_slots,
        batch_size=settings.outbox_send_slots,
        tokens=tokens,
    )
    if installations is not None:

        def resume(_installation: Installation, teams: list[str]) -> None:
            """A (re-)install made its workspaces' held messages due (`workspaces.reinstate`):
            open their gates, which a refused token shut, and wake the outbox."""
            for team in teams:
                delivery.resume_team(team)
            delivery.notify()

        installations.after_save.append(resume)
    return Deps(
        settings=settings,
        installations=installations,
        engine=engine,
        sessions=sessions,
        reads=create_read_session_factory(engine),
        clock=clock,
        delivery=delivery,
        client=slack_client(
            settings,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(max_retry_count=1),
                # A 429 closes the method for the team in the outbox's gate too.
                SharedRateLimitRetryHandler(delivery.gate, clock, metrics=metrics),
            ],
        ),
        quick_client=slack_client(settings, timeout=2),
        tokens=tokens,
    )
