"""Reliable, rate-aware sending of outbox rows to Slack.

A worker claims due rows, sends them concurrently, and records their outcomes (several sends'
outcomes share a transaction). Calls are paced per team by Slack's tiers (RateGate). 429 closes
that method for the team for Retry-After, then one probe goes before the rest resume; 5xx,
timeouts and connection errors back off exponentially; errors Slack will repeat forever
(`user_not_found`, `channel_not_found`, ...) fail the row at once. A send that got no answer at
all may have been posted: each chat.postMessage carries its row's mark in message metadata, and
before such a send is repeated the conversation's history is searched for it. So are the rows a
worker left leased when it died (between Slack's 200 and our commit, say) once their lease
ends. What can still repeat: a thread reply (not in conversations.history), and a message Slack
posts only after the history was read.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.logs import request_context
from bot.metrics import Metrics, OutboxBacklog
from bot.models import OutboxMessage, OutboxStatus
from bot.store import outbox, workspaces
from bot.store.notices import tell_leaders_about_channel
from bot.tokens import SingleToken, TeamClients, TokenSource

log = logging.getLogger(__name__)

# Slack's own words for "try again later"; anything else with ok=false will not change on retry.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# The token no longer works for the team: every call would fail the same way until someone
# reinstalls the app or fixes the token, so the team's messages wait instead of failing.
AUTH_ERRORS = frozenset(
    {"invalid_auth", "token_revoked", "token_expired", "account_inactive_token", "not_authed"}
)
AUTH_HOLD = timedelta(hours=1)
# No token speaks for the team (never installed here, or uninstalled and its tokens deleted):
# its rows wait like a refused token's, asked about again sooner (an install may come any time).
NO_TOKEN = "no_token"  # noqa: S105 - an error code, not a secret
NO_TOKEN_HOLD = timedelta(minutes=1)
# What a re-install makes due again at once.
HELD_ERRORS = AUTH_ERRORS | {NO_TOKEN}
# A channel post Slack refuses for good: the leader who chose the channel is told once.
CHANNEL_ERRORS = frozenset({"channel_not_found", "is_archived", "not_in_channel"})
# chat.postMessage allows about one message a second into one channel.
CHANNEL_SPACING = timedelta(seconds=1)
SPACED_METHODS = frozenset({"chat.postMessage"})
# A send whose request got no answer at all (the connection dropped, or the client gave up
# waiting) may have been posted anyway; its row's last error starts with this.
UNANSWERED = "unanswered"
# Every chat.postMessage carries its row's mark in Slack message metadata, so that before such a
# send is repeated the conversation's history can say whether Slack did post it.
MARK_EVENT_TYPE = "partnerbot_outbox"
# How far before the row was written to look (Slack's clock may be behind ours), and how many
# pages of 100 messages at most.
HISTORY_MARGIN = timedelta(minutes=5)
HISTORY_PAGES = 5
HISTORY_METHODS = ("conversations.open", "conversations.history")
# Sends in flight at once, and rows claimed at once. Each 429 closes chat.postMessage for its
# Retry-After (a second, typically), so a fan-out takes about as many seconds as it needs
# bursts: with 10 % of calls refused, 1,000 DMs take 10-12 bursts of 128 (13-14 s) and 5-6 of 512
# (5-6 s; bench/fanout.py). A burst is started in one turn of the event loop, before any answer
# is read (so none starts inside a window it could know of), which holds other work on the
# loop (acknowledgements) for about 0.3-0.4 s at 512.
SEND_SLOTS = 512
# Sends started in one turn of the event loop before others' work (acknowledgements) may run.
# Fewer a turn lets acks through sooner during a fan-out but lets 429s in between the groups
# hold the rest: at 32, 1,000 DMs with 10% 429s took 7.5-10.3 s (acks p95 0.1-0.3 s); at 128,
# 5.1-5.6 s (acks p95 0.3-0.4 s); bench/fanout.py, bench/ack.py.
SENDS_PER_TURN = 128
# How often the worker asks again whether its token's workspace was re-installed, when Slack
# could not be asked (unreachable) at the last try.
REINSTATE_RETRY = timedelta(minutes=1)
# /metrics counts the rows waiting up to this many: past it the number says "a lot" anyway.
BACKLOG_COUNT_CAP = 100_000


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def __iadd__(self, other: DeliveryReport) -> DeliveryReport:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        return self


class OutcomeWriter:
    """Sends' outcomes, committed together: each transaction takes every outcome recorded while
    the one before it ran. A transaction per send made a fan-out wait on the database (SQLite
    has one writer, and each commit is a few trips through the event loop); fewer, larger
    transactions also hold SQLite's write lock for less time in all."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._queue: list[tuple[outbox.Outcome, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, outcome: outbox.Outcome) -> None:
        """Write `outcome`; return once it is committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((outcome, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await future

    async def settle(self, *, timeout: float) -> None:
        """Wait (at most `timeout` seconds) for the outcomes recorded so far to be committed."""
        if self._flusher is not None and not self._flusher.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._flusher), timeout)

    async def _flush(self) -> None:
        group: list[tuple[outbox.Outcome, asyncio.Future[None]]] = []
        try:
            while self._queue:
                group, self._queue = self._queue, []
                error = await self._commit(group)
                if error is None:
                    continue
                if len(group) == 1:
                    _fail(group[0][1], error)
                    continue
                # One bad write must not fail the others: each is tried again on its own, and
                # only its own sender hears of its error.
                for item in group:
                    error = await self._commit([item])
                    if error is not None:
                        _fail(item[1], error)
        finally:
            # Cancelled (the loop is closing): nobody may wait for a write that will not come.
            for _, future in [*group, *self._queue]:
                if not future.done():
                    future.cancel()
            self._queue = []

    async def _commit(
        self, group: list[tuple[outbox.Outcome, asyncio.Future[None]]]
    ) -> Exception | None:
        try:
            async with self._sessions.begin() as session:
                await outbox.record_outcomes(session, [outcome for outcome, _ in group])
        except Exception as error:  # handed to the senders by _flush
            return error
        for _, future in group:
            if not future.done():  # its sender may have been cancelled meanwhile
                future.set_result(None)
        return None


def _fail(future: asyncio.Future[None], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)


# Slack's published tiers, in calls a minute per method and workspace. chat.postMessage (and
# chat.postEphemeral) are paced per channel instead (CHANNEL_SPACING), so a fan-out to distinct
# DM channels runs concurrently; a method not listed here is not paced beyond Retry-After.
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
METHOD_TIERS = {
    "users.list": 2,
    "conversations.list": 2,
    "conversations.open": 3,
    "conversations.history": 3,
    "conversations.info": 3,
    "chat.update": 3,
    "chat.delete": 3,
    "users.info": 4,
    "conversations.members": 4,
    "views.publish": 4,
    "views.open": 4,
    "views.update": 4,
    "views.push": 4,
}
# Slack allows short bursts above a tier's rate: up to half a minute's allowance at once, then
# the steady rate (a worker restarted after a crash checks its predecessor's unanswered sends
# with conversations.open and .history: 25 at once, then one every 1.2 s, rather than hundreds
# refused).
TIER_BURST_MINUTES = 0.5
# While a probe (the first call after a Retry-After window) is out, the rest of the method's
# calls are asked to come back this much later; the probe's answer wakes the worker sooner.
PROBE_WAIT = timedelta(seconds=1)


@dataclass
class _Pace:
    """One method's pace in one team: a token bucket at the method's tier rate (None: not
    paced by the method), and whether its calls wait for a probe after a Retry-After."""

    per_second: float | None
    capacity: float
    tokens: float
    updated_at: datetime | None = None
    probing: bool = False
    probe_out: bool = False

    def take(self, now: datetime) -> datetime | None:
        """Take this call's turn; None if it may go now, else when to ask again."""
        if self.probing:
            if self.probe_out:
                return now + PROBE_WAIT
            self.probe_out = True  # this call is the probe: the others wait for its answer
            return None
        if self.per_second is None:
            return None
        if self.updated_at is not None:
            elapsed = max((now - self.updated_at).total_seconds(), 0.0)
            self.tokens = min(self.capacity, self.tokens + elapsed * self.per_second)
        self.updated_at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return now + timedelta(seconds=(1.0 - self.tokens) / self.per_second)


class RateGate:
    """What Slack has told us about pacing, and what it publishes: Retry-After windows per
    (team, method), then one probe before the method's other calls resume, and then the
    method's tier rate (METHOD_TIERS); the next free slot per (team, channel) for methods Slack
    paces by channel; and a team held back when its token was refused."""

    def __init__(self) -> None:
        self._method_open_at: dict[tuple[str, str], datetime] = {}
        self._channel_open_at: dict[tuple[str, str], datetime] = {}
        self._team_open_at: dict[str, datetime] = {}
        self._paces: dict[tuple[str, str], _Pace] = {}

    def open_at(
        self, team_id: str, method: str, channel: str, *, spaced: bool = True
    ) -> datetime | None:
        """When a Retry-After window, the team's hold or the channel's spacing (unless not
        `spaced`) lets the next call to `method` start (None: nothing known holds it)."""
        times = [self._method_open_at.get((team_id, method)), self._team_open_at.get(team_id)]
        if spaced and method in SPACED_METHODS:
            times.append(self._channel_open_at.get((team_id, channel)))
        known = [t for t in times if t is not None]
        return max(known) if known else None

    def admit(
        self, team_id: str, method: str, channel: str, now: datetime, *, spaced: bool = True
    ) -> datetime | None:
        """Whether a call may start now: None, and its turn is taken (the probe after a
        window, a token of its tier); otherwise when to ask again."""
        held = self.open_at(team_id, method, channel, spaced=spaced)
        if held is not None and held > now:
            return held
        return self._pace(team_id, method).take(now)

    def _pace(self, team_id: str, method: str) -> _Pace:
        pace = self._paces.get((team_id, method))
        if pace is None:
            tier = METHOD_TIERS.get(method)
            per_minute = TIER_PER_MINUTE[tier] if tier is not None else None
            capacity = max(1.0, per_minute * TIER_BURST_MINUTES) if per_minute else 0.0
            pace = _Pace(
                per_second=per_minute / 60 if per_minute else None,
                capacity=capacity,
                tokens=capacity,
            )
            self._paces[(team_id, method)] = pace
        return pace

    def close_method(self, team_id: str, method: str, until: datetime) -> None:
        """Slack said 429: nothing until `until`, then one probe, then the tier rate (no
        burst: the bucket starts empty)."""
        current = self._method_open_at.get((team_id, method))
        if current is None or current < until:
            self._method_open_at[(team_id, method)] = until
        pace = self._pace(team_id, method)
        pace.probing, pace.probe_out = True, False
        pace.tokens, pace.updated_at = 0.0, until

    def answered(self, team_id: str, method: str) -> bool:
        """Slack answered a call without a 429: a probe's success lets the others go. True if
        a probe was out (the caller wakes whoever waits for it)."""
        pace = self._paces.get((team_id, method))
        # (A call that crossed the 429 in flight says nothing about the window's end.)
        if pace is None or not pace.probe_out:
            return False
        pace.probing = pace.probe_out = False
        return True

    def unanswered(self, team_id: str, method: str, channel: str) -> None:
        """The call got no answer from Slack's API (a 5xx, a timeout, not sent after all):
        nothing was posted, so the channel's second is free again, and if it was the probe,
        another call may probe."""
        self._channel_open_at.pop((team_id, channel), None)
        pace = self._paces.get((team_id, method))
        if pace is not None and pace.probing:
            pace.probe_out = False

    def close_team(self, team_id: str, until: datetime, hold: timedelta = AUTH_HOLD) -> bool:
        """Stop calling Slack for a team until `until` (`hold` from now); True if it was open
        (log once)."""
        current = self._team_open_at.get(team_id)
        self._team_open_at[team_id] = until
        return current is None or current <= until - hold

    def open_team(self, team_id: str) -> None:
        """The team's token works again (a re-install): its calls may go now."""
        self._team_open_at.pop(team_id, None)

    def note_send(self, team_id: str, method: str, channel: str, at: datetime) -> None:
        """Reserve the channel's next second for a message about to be sent."""
        if method in SPACED_METHODS:
            self._channel_open_at[(team_id, channel)] = at + CHANNEL_SPACING

    def forget_before(self, now: datetime) -> None:
        """Drop windows that have closed: a fan-out leaves one per DM channel."""
        self._method_open_at = {k: t for k, t in self._method_open_at.items() if t > now}
        self._channel_open_at = {k: t for k, t in self._channel_open_at.items() if t > now}
        self._team_open_at = {k: t for k, t in self._team_open_at.items() if t > now}

    def earliest_reopening(self, after: datetime) -> datetime | None:
        upcoming = [
            t
            for t in (
                *self._method_open_at.values(),
                *self._channel_open_at.values(),
                *self._team_open_at.values(),
            )
            if t > after
        ]
        return min(upcoming) if upcoming else None


class SharedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 retry handler for the clients listeners and jobs call Slack with,
    sharing what a 429 says with the outbox's gate: the window is noted for the team (from
    the request's log context) and method, so the outbox does not call into it. It retries
    only when Retry-After is short (`max_wait`): a listener's trigger_id lives about 3 s, and
    a longer wait is the outbox's or the tick's to do."""

    def __init__(
        self,
        gate: RateGate,
        clock: Clock,
        *,
        max_wait: float = 2.0,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(max_retry_count=1)
        self._gate = gate
        self._clock = clock
        self._max_wait = max_wait
        self._metrics = metrics

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        headers = {key.lower(): values for key, values in response.headers.items()}
        try:
            wait = float((headers.get("retry-after") or ["1"])[0])
        except ValueError:
            wait = 30.0
        if self._metrics is not None:
            self._metrics.rate_limited(wait)
        team_id = request_context.get().get("team")
        if team_id:
            method = request.url.rsplit("/", 1)[-1]
            until = self._clock.now() + timedelta(seconds=max(wait, 1.0))
            self._gate.close_method(team_id, method, until)
        return wait <= self._max_wait


@dataclass(frozen=True)
class _Claimed:
    id: int
    team_id: str
    method: str
    channel: str
    payload: dict[str, Any]
    attempts: int
    key: str
    created_at: datetime
    last_error: str | None
    private: bool = False
    # False for a reply to what the person just wrote: one message per message of theirs,
    # sent at once (Slack's one-a-second per channel allows such bursts).
    spaced: bool = True

    @property
    def mark(self) -> str:
        """The row's mark in its message's metadata: its key, hashed (a key names people)."""
        return hashlib.sha256(f"{self.team_id}:{self.key}".encode()).hexdigest()[:32]

    @property
    def unanswered(self) -> bool:
        return (self.last_error or "").startswith(UNANSWERED)

    @property
    def thread_reply(self) -> bool:
        return bool(self.payload.get("thread_ts"))

    def request(self) -> dict[str, Any]:
        if self.method != "chat.postMessage" or "metadata" in self.payload:
            return self.payload
        mark = {"event_type": MARK_EVENT_TYPE, "event_payload": {"mark": self.mark}}
        return {**self.payload, "metadata": mark}


class Delivery:
    """The outbox sender. `deliver_due()` is one pass; `run()` is the long-lived worker."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: AsyncWebClient,
        clock: Clock,
        *,
        concurrency: int = SEND_SLOTS,
        batch_size: int = SEND_SLOTS,
        lease_for: timedelta = timedelta(seconds=120),
        max_attempts: int = 8,
        base_backoff: timedelta = timedelta(seconds=1),
        max_backoff: timedelta = timedelta(minutes=10),
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
        tokens: TokenSource | None = None,
    ) -> None:
        self._sessions = sessions
        self.metrics = metrics or Metrics()
        self._client = client
        # Each row is sent with its own team's token (one cached client per team over the one
        # HTTP session); `client` is their template, and its token the single workspace's.
        self.clients = TeamClients(client, tokens or SingleToken(client.token))
        self._clock = clock
        self._concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._http: aiohttp.ClientSession | None = None
        self._batch_size = batch_size
        self._lease_for = lease_for
        self._max_attempts = max_attempts
        self._base_backoff = base_backoff
        self._max_backoff = max_backoff
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._trace_configs: list[aiohttp.TraceConfig] = []
        self.gate = RateGate()
        self._outcomes = OutcomeWriter(sessions)
        # When the first row the gate held back in the last claim may go.
        self._held_until: datetime | None = None
        self._wakeup = asyncio.Event()
        self._pass = asyncio.Lock()
        # Shutting down: no new rows are claimed, no queued send starts (see `shut_down`).
        self._stopping = False
        self._sends: dict[asyncio.Task[DeliveryReport], _Claimed] = {}
        self._started: set[int] = set()  # rows whose request has gone to Slack
        self._given_back: list[tuple[_Claimed, bool]] = []  # cancelled: (row, request sent)
        # When to ask (again) whether this token's workspace, if revoked, is back; None: asked.
        self._reinstate_at: datetime | None = clock.now()

    async def client_for(
        self, team_id: str, enterprise_id: str | None = None
    ) -> AsyncWebClient | None:
        """The Web API client the outbox sends with for `team_id` (no retry handlers: the gate
        paces it), or None when no token speaks for the team."""
        self._use_shared_session()
        return await self.clients.for_team(team_id, enterprise_id)

    def _use_shared_session(self) -> None:
        """One HTTP session (its connections kept alive) for every send, opened inside the
        event loop on first use: a new TLS connection per message would cost more than the
        message. slack_sdk uses the session it is given."""
        if self._http is None or self._http.closed:
            connector = aiohttp.TCPConnector(limit=self._concurrency)
            # slack_sdk leaves the timeout to a session it is given: without one, a hung Slack
            # would hold a send slot for aiohttp's default five minutes.
            timeout = aiohttp.ClientTimeout(total=self._client.timeout)
            self._http = aiohttp.ClientSession(
                connector=connector, timeout=timeout, trace_configs=self._trace_configs or None
            )
            self._client.session = self._http

    def trace_requests(self, config: aiohttp.TraceConfig) -> None:
        """Hook aiohttp's request tracing into the sends (bench/fanout.py times each one);
        applies to the HTTP session opened next."""
        self._trace_configs.append(config)

    async def close(self) -> None:
        if self._http is not None and not self._http.closed:
            await self._http.close()
        self._http = None

    def notify(self) -> None:
        """Tell the worker new rows were committed, so it need not wait for its next poll."""
        self._wakeup.set()

    async def deliver_due(self) -> DeliveryReport:
        """Send every row that is due and allowed by the gate now; return what happened.

        One pass at a time per process: the worker and a tick would otherwise each pick a
        row for the same channel, and two DMs to one person could arrive out of order."""
        report = DeliveryReport()
        self._use_shared_session()
        async with self._pass:
            self.gate.forget_before(self._clock.now())
            while not self._stopping and (batch := await self._claim_batch()):
                sends = []
                for started, row in enumerate(batch, start=1):
                    sends.append(self._start(row))
                    if started % SENDS_PER_TURN == 0:
                        # Starting a send (its request built, its connection taken) costs the
                        # loop about a millisecond: let acknowledgements through between groups.
                        await asyncio.sleep(0)
                # A send cancelled by `shut_down` reports nothing; its row is released there.
                for result in await asyncio.gather(*sends, return_exceptions=True):
                    if isinstance(result, DeliveryReport):
                        report += result
                    elif not isinstance(result, asyncio.CancelledError):
                        raise result
        return report

    def _start(self, row: _Claimed) -> asyncio.Task[DeliveryReport]:
        task = asyncio.create_task(self._send(row))
        self._sends[task] = row
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[DeliveryReport]) -> None:
        row = self._sends.pop(task)
        sent = row.id in self._started
        self._started.discard(row.id)
        if task.cancelled():
            self._given_back.append((row, sent))
        elif task.exception() is None:
            report = task.result()
            self.metrics.delivered(sent=report.sent, failed=report.failed, retried=report.retried)

    @property
    def lease_for(self) -> timedelta:
        return self._lease_for

    async def send_now(self, queued: outbox.Queued) -> None:
        """Send a row queued leased to this process (a reply to what a person just did) at
        once, through the same gate and bookkeeping as the worker's sends: a rate limit or an
        error puts it back in the outbox for the worker, and a crash before it is recorded
        leaves it to the worker when its lease ends."""
        if queued.id is None:
            return
        try:
            await self._send_now(queued)
        except Exception:
            # The row is committed and leased to us: the worker sends it when the lease ends.
            # The caller's change is made, so nothing here may tell the person it was not.
            log.exception("a queued reply could not be sent at once; the worker will send it")

    async def _send_now(self, queued: outbox.Queued) -> None:
        assert queued.id is not None
        outgoing = queued.outgoing
        row = _Claimed(
            queued.id,
            queued.team_id,
            outgoing.method,
            outgoing.channel,
            outgoing.payload,
            0,
            outgoing.key,
            queued.created_at,
            None,
            outgoing.private,
            spaced=False,
        )
        self._use_shared_session()
        now = self._clock.now()
        held = (
            None
            if self._stopping
            else self.gate.admit(row.team_id, row.method, row.channel, now, spaced=False)
        )
        if self._stopping or held is not None:
            await self._retry(row, at=held or now, error="waiting out a rate limit")
            self.notify()
            return
        try:
            report = await self._start(row)
        except asyncio.CancelledError:
            return  # shutting down: `shut_down` gives the row back
        if report.retried:
            self.notify()  # put back (rate limited, say): the worker's now

    def stop_claiming(self) -> None:
        """The first step of shutting down: claim no more rows and start no more sends."""
        self._stopping = True
        self._wakeup.set()

    async def shut_down(self, *, grace: float) -> int:
        """Stop claiming, give the sends in flight `grace` seconds, cancel the rest and give
        their rows back (pending now, for another process or the next start); returns how
        many were given back. A cancelled send whose request had gone out may have been
        posted: its row says it is unanswered, so its DM's history is checked before it is
        sent again."""
        self.stop_claiming()
        if self._sends:
            _, late = await asyncio.wait(list(self._sends), timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        # A pass that was claiming when the stop came starts no send of what it claimed.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5), self._pass:
                pass
        # Outcomes already handed to the writer are committed before the rows are given back.
        await self._outcomes.settle(timeout=1.0)
        given_back, self._given_back = self._given_back, []
        if not given_back:
            return 0
        async with self._sessions.begin() as session:
            released = await outbox.release(
                session,
                ids=[row.id for row, _ in given_back],
                unanswered_ids=[row.id for row, sent in given_back if sent or row.unanswered],
                error=f"{UNANSWERED}: cancelled at shutdown",
                now=self._clock.now(),
            )
        log.info("outbox sends given back at shutdown", extra={"released": released})
        return released

    async def backlog(self, *, cap: int = BACKLOG_COUNT_CAP) -> OutboxBacklog:
        """The outbox's depth and how long its oldest due row has waited (for /metrics)."""
        now = self._clock.now()
        async with self._sessions() as session:
            count, oldest_due = await outbox.backlog(session, now=now, cap=cap)
        waited = (now - oldest_due).total_seconds() if oldest_due is not None else 0.0
        return OutboxBacklog(pending=count, oldest_due_seconds=max(waited, 0.0))

    async def next_wakeup(self) -> datetime | None:
        async with self._sessions() as session:
            due = await outbox.next_due_at(session)
        if due is None:
            return None
        now = self._clock.now()
        if due > now:
            return due
        # Something is due but was held back by the gate: wake when the gate lets the first of
        # those rows go. (Waking whenever any window closed, a DM channel's one-second spacing
        # included, kept the worker claiming nothing every few milliseconds in a fan-out.)
        if self._held_until is not None and self._held_until > now:
            return self._held_until
        return self.gate.earliest_reopening(now) or now

    async def reinstate_own_workspace(self) -> bool:
        """If a workspace is held as revoked (app_uninstalled, tokens_revoked), ask Slack whose
        this token is (auth.test): the workspace it works for was re-installed (a revoked
        token fails), so its held messages are sent again. True once answered (nothing held
        counts); False if Slack could not be asked, to try again later. With no token of its
        own (installed by OAuth) there is nothing to ask: saving an installation reinstates its
        workspaces."""
        if not self._client.token:
            return True
        async with self._sessions() as session:
            if not await workspaces.any_revoked(session):
                return True
        try:
            answer = await self._client.auth_test()
        except SlackApiError as error:
            log.warning(
                "the bot token does not work; revoked workspaces stay held",
                extra={"error": error_code(error)},
            )
            return error_code(error) in AUTH_ERRORS  # the same token will not work later
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            log.warning(
                "cannot reach Slack to tell whether a revoked workspace is back; trying later",
                extra={"error": type(error).__name__},
            )
            return False
        team_id = str(answer.get("team_id") or "")
        if not team_id:
            return True
        async with self._sessions.begin() as session:
            resumed = await workspaces.reinstate(
                session, team_id=team_id, now=self._clock.now(), refused_errors=HELD_ERRORS
            )
        if resumed:
            log.info("workspace re-installed: sending its held messages", extra={"team": team_id})
            self.resume_team(team_id)
        return True

    def resume_team(self, team_id: str) -> None:
        """The team's workspace was (re-)installed: forget its client and any hold, and send its
        waiting rows (`workspaces.reinstate` made them due)."""
        self.clients.forget(team_id)
        self.gate.open_team(team_id)
        self.notify()

    async def _reinstate_when_due(self) -> None:
        if self._reinstate_at is None or self._clock.now() < self._reinstate_at:
            return
        if await self.reinstate_own_workspace():
            self._reinstate_at = None
        else:
            self._reinstate_at = self._clock.now() + REINSTATE_RETRY

    async def run(self, stop: asyncio.Event, *, poll_every: float = 5.0) -> None:
        """Deliver until `stop` is set (`shut_down` ends the pass in progress quickly). At
        start, a workspace held as revoked whose token works again is sent to once more."""
        while not stop.is_set():
            self._wakeup.clear()
            try:
                await self._reinstate_when_due()
                await self.deliver_due()
                wake_at = await self.next_wakeup()
            except Exception:
                # The database or Slack may be down for a while; log and keep the worker alive.
                log.exception("outbox pass failed; retrying in %.0fs", poll_every)
                wake_at = None
            timeout = poll_every
            if wake_at is not None:
                timeout = min(poll_every, max((wake_at - self._clock.now()).total_seconds(), 0.0))
            stop_wait = asyncio.ensure_future(stop.wait())
            wake_wait = asyncio.ensure_future(self._wakeup.wait())
            await asyncio.wait(
                {stop_wait, wake_wait}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            stop_wait.cancel()
            wake_wait.cancel()

    async def _claim_batch(self) -> list[_Claimed]:
        now = self._clock.now()
        async with self._sessions.begin() as session:
            candidates = await outbox.claim_candidates(session, now=now, limit=self._batch_size * 4)
            chosen = self._choose(candidates, now)
            if chosen:
                await outbox.lease(
                    session, ids=[row.id for row in chosen], now=now, lease_for=self._lease_for
                )
        return chosen

    def _choose(self, candidates: Sequence[OutboxMessage], now: datetime) -> list[_Claimed]:
        """At most one row per channel per batch (keeps a channel's messages in order), and
        only rows whose method and channel the gate allows now."""
        chosen: list[_Claimed] = []
        channels: set[tuple[str, str]] = set()
        self._held_until = None
        for row in candidates:
            key = (row.team_id, row.channel)
            if key in channels:
                continue
            channels.add(key)
            open_at = self.gate.admit(row.team_id, row.method, row.channel, now)
            if open_at is not None:
                if self._held_until is None or open_at < self._held_until:
                    self._held_until = open_at
                continue
            last_error = row.last_error
            if row.status is OutboxStatus.SENDING and not (last_error or "").startswith(UNANSWERED):
                # Still leased from a worker that stopped (was killed, say) before it recorded
                # how the send went: Slack may have posted it, as with a send left unanswered.
                last_error = f"{UNANSWERED}: the worker sending it stopped"
            chosen.append(
                _Claimed(
                    row.id,
                    row.team_id,
                    row.method,
                    row.channel,
                    row.payload,
                    row.attempts,
                    row.idempotency_key,
                    row.created_at,
                    last_error,
                    row.private,
                )
            )
            if len(chosen) == self._batch_size:
                break
        return chosen

    async def _send(self, row: _Claimed) -> DeliveryReport:
        async with self._slots:
            if self._stopping:
                raise asyncio.CancelledError  # given back by `shut_down`, not sent
            started = self._clock.now()
            # A 429 may have closed the method while this row waited for a slot: put it back
            # until the window ends rather than call inside it.
            open_at = self.gate.open_at(row.team_id, row.method, row.channel, spaced=row.spaced)
            if open_at is not None and open_at > started:
                self.gate.unanswered(row.team_id, row.method, row.channel)
                # An unanswered row keeps saying so: its history is still to be checked.
                error = row.last_error if row.unanswered else "waiting out a rate limit"
                await self._retry(row, at=open_at, error=error or UNANSWERED)
                return DeliveryReport(retried=1)
            client = await self.clients.for_team(row.team_id)
            if client is None:
                self.gate.unanswered(row.team_id, row.method, row.channel)
                return await self._hold_team(row, NO_TOKEN)
            # (A thread reply is not in conversations.history; it is sent again unchecked.)
            if row.unanswered and row.method == "chat.postMessage" and not row.thread_reply:
                checked = await self._check_posted(client, row, started)
                if checked is not None:
                    self.gate.unanswered(row.team_id, row.method, row.channel)
                    return checked
            self.gate.note_send(row.team_id, row.method, row.channel, started)
            self._started.add(row.id)
            try:
                response = await client.api_call(row.method, json=row.request())
            except SlackApiError as error:
                return await self._record_api_error(row, error)
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                self.gate.unanswered(row.team_id, row.method, row.channel)
                return await self._record_transient(row, _no_answer(error))
            self._answered(row.team_id, row.method)
            data = response.data if isinstance(response.data, dict) else {}
            result = {key: data[key] for key in ("channel", "ts") if key in data}
            sent = outbox.Outcome(
                row.id,
                OutboxStatus.SENT,
                row.attempts,
                at=self._clock.now(),
                result=result,
                private=row.private,
            )
            await self._outcomes.record(sent)
            return DeliveryReport(sent=1)

    async def _check_posted(
        self, client: AsyncWebClient, row: _Claimed, now: datetime
    ) -> DeliveryReport | None:
        """The row's last attempt got no answer: if Slack posted it all the same, record it as
        sent and say so; None means it was not posted (or cannot be told), so send it."""
        # Both calls' turns are taken first (conversations.open and .history are Tier 3): a
        # restarted worker checks every send its predecessor left unanswered at once.
        for method in HISTORY_METHODS:
            open_at = self.gate.admit(row.team_id, method, "", now)
            if open_at is not None:
                for taken in HISTORY_METHODS:
                    self.gate.unanswered(row.team_id, taken, "")
                await self._retry(row, at=open_at, error=row.last_error or UNANSWERED)
                return DeliveryReport(retried=1)
        try:
            posted = await self._find_posted(client, row)
        except SlackApiError as error:
            status, code = error.response.status_code, error_code(error)
            if status == 429 or code == "ratelimited":
                method = method_of(error) or "conversations.history"
                retry_after = retry_after_seconds(error)
                self.metrics.rate_limited(retry_after)
                until = self._clock.now() + timedelta(seconds=retry_after)
                self.gate.close_method(row.team_id, method, until)
                for other in HISTORY_METHODS:
                    if other != method:
                        self.gate.unanswered(row.team_id, other, "")
                await self._retry(row, at=until, error=row.last_error or UNANSWERED)
                return DeliveryReport(retried=1)
            for method in HISTORY_METHODS:
                self.gate.unanswered(row.team_id, method, "")
            if status >= 500 or code in TRANSIENT_ERRORS:
                return await self._record_transient(row, row.last_error or UNANSWERED)
            # The history cannot be read (a missing scope, say): a message sent twice is
            # better than one never sent.
            log.warning(
                "cannot tell whether an unanswered message was posted; sending it again",
                extra={"team": row.team_id, "error": code},
            )
            return None
        except (aiohttp.ClientError, TimeoutError, OSError):
            for method in HISTORY_METHODS:
                self.gate.unanswered(row.team_id, method, "")
            return await self._record_transient(row, row.last_error or UNANSWERED)
        for method in HISTORY_METHODS:
            self._answered(row.team_id, method)
        if posted is None:
            return None
        log.info(
            "an unanswered message had been posted; not sending it again",
            extra={"team": row.team_id},
        )
        sent = outbox.Outcome(
            row.id, OutboxStatus.SENT, row.attempts, at=now, result=posted, private=row.private
        )
        await self._outcomes.record(sent)
        return DeliveryReport(sent=1)

    async def _find_posted(self, client: AsyncWebClient, row: _Claimed) -> dict[str, Any] | None:
        """The row's message in its conversation's history since the row was written, found by
        the mark in its metadata: {"channel", "ts"}, or None."""
        channel = str(row.payload.get("channel") or row.channel)
        if channel.startswith(("U", "W")):  # a DM posted to the user id: find the DM itself
            opened = await client.conversations_open(users=channel)
            channel = str(opened["channel"]["id"])
        oldest = f"{(row.created_at - HISTORY_MARGIN).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            page = await client.conversations_history(
                channel=channel, oldest=oldest, limit=100, include_all_metadata=True, cursor=cursor
            )
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if (
                    metadata.get("event_type") == MARK_EVENT_TYPE
                    and payload.get("mark") == row.mark
                ):
                    return {"channel": channel, "ts": message.get("ts")}
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                break
        return None

    async def _record_api_error(self, row: _Claimed, error: SlackApiError) -> DeliveryReport:
        status = error.response.status_code
        code = error_code(error)
        if status == 429 or code == "ratelimited":
            self.gate.unanswered(row.team_id, row.method, row.channel)
            retry_after = retry_after_seconds(error)
            self.metrics.rate_limited(retry_after)
            until = self._clock.now() + timedelta(seconds=retry_after)
            self.gate.close_method(row.team_id, row.method, until)
            log.warning(
                "rate limited",
                extra={"team": row.team_id, "method": row.method, "retry_after": retry_after},
            )
            await self._retry(row, at=until, error="ratelimited")
            return DeliveryReport(retried=1)
        if status >= 500 or code in TRANSIENT_ERRORS:
            self.gate.unanswered(row.team_id, row.method, row.channel)
            return await self._record_transient(row, f"http_{status}" if status >= 500 else code)
        # Slack answered (and will answer the same again): the method is not rate limited.
        self.gate.unanswered(row.team_id, row.method, row.channel)
        self._answered(row.team_id, row.method)
        if code in AUTH_ERRORS:
            return await self._hold_team(row, code)
        log.warning(
            "message failed permanently",
            extra={"team": row.team_id, "method": row.method, "error": code},
        )
        async with self._sessions.begin() as session:
            await outbox.mark_failed(session, message_id=row.id, error=code)
            if code in CHANNEL_ERRORS and row.channel.startswith(("C", "G")):
                await tell_leaders_about_channel(
                    session,
                    team_id=row.team_id,
                    channel=row.channel,
                    error=code,
                    now=self._clock.now(),
                )
        return DeliveryReport(failed=1)

    async def _hold_team(self, row: _Claimed, code: str) -> DeliveryReport:
        """The team's token was refused, or no token speaks for it: no more calls for the team
        for a while (logged once), and its messages wait rather than fail."""
        installed = not self._client.token  # by OAuth: no token of the outbox's own
        if code != NO_TOKEN and installed:
            # Never again with this token: a minute later the outbox asks the installations
            # afresh, without calling Slack, so a re-install handled by another process (the
            # web role) is seen without a restart. (One workspace's SLACK_BOT_TOKEN is tried
            # again after the hour, and `reinstate_own_workspace` asks Slack meanwhile.)
            self.clients.refused(row.team_id)
        hold = NO_TOKEN_HOLD if code == NO_TOKEN or installed else AUTH_HOLD
        until = self._clock.now() + hold
        first = self.gate.close_team(row.team_id, until, hold)
        if first:
            log.error(
                "no bot token for this team; holding its messages"
                if code == NO_TOKEN
                else "Slack refused the bot token; holding this team's messages",
                extra={"team": row.team_id, "error": code, "retry_at": until.isoformat()},
            )
        async with self._sessions.begin() as session:
            # The first refusal puts the team's whole queue back; the ones in flight with it
            # (refused too) only their own row.
            await outbox.mark_retry(
                session, message_id=row.id, at=until, error=code, counts_as_attempt=False
            )
            if first:
                await outbox.hold_team(session, team_id=row.team_id, until=until, error=code)
        return DeliveryReport(retried=1)

    async def _record_transient(self, row: _Claimed, error: str) -> DeliveryReport:
        attempts = row.attempts + 1
        if attempts >= self._max_attempts:
            log.warning(
                "message failed after retries",
                extra={"team": row.team_id, "method": row.method, "error": error},
            )
            failed = outbox.Outcome(
                row.id, OutboxStatus.FAILED, attempts, error=error, private=row.private
            )
            await self._outcomes.record(failed)
            return DeliveryReport(failed=1)
        at = self._clock.now() + self._backoff(attempts)
        await self._retry(row, at=at, error=error, attempts=attempts)
        return DeliveryReport(retried=1)

    async def _retry(
        self, row: _Claimed, *, at: datetime, error: str, attempts: int | None = None
    ) -> None:
        """Put the row back until `at`; `attempts` if this send counts as one (not a 429)."""
        again = outbox.Outcome(
            row.id, OutboxStatus.PENDING, row.attempts if attempts is None else attempts, at, error
        )
        await self._outcomes.record(again)

    def _answered(self, team_id: str, method: str) -> None:
        if self.gate.answered(team_id, method):
            # The probe after a Retry-After window came back: the calls held for it may go.
            self.notify()

    def _backoff(self, attempts: int) -> timedelta:
        ceiling = min(self._base_backoff * (2 ** (attempts - 1)), self._max_backoff)
        # Full jitter spreads a burst of failures so the retries do not arrive together.
        factor: float = 0.5 + self._rng.random() / 2
        jittered: timedelta = ceiling * factor
        return jittered


def _no_answer(error: BaseException) -> str:
    """The error to record for a send that got no HTTP answer."""
    if isinstance(error, aiohttp.ClientConnectorError):
        return type(error).__name__  # no connection: the request never left
    return f"{UNANSWERED}:{type(error).__name__}"


def method_of(error: SlackApiError) -> str | None:
    url = str(getattr(error.response, "api_url", "") or "")
    return url.rsplit("/", 1)[-1] or None


def error_code(error: SlackApiError) -> str:
    data = error.response.data
    if isinstance(data, dict):
        return str(data.get("error") or "unknown_error")
    return "non_json_response"


def retry_after_seconds(error: SlackApiError) -> float:
    headers = error.response.headers or {}
    raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(float(raw), 1.0) if raw is not None else 30.0
    except (TypeError, ValueError):
        return 30.0
