"""Reliable, rate-aware sending of outbox rows to Slack.

A worker claims due rows, sends them concurrently, and records each outcome in its own
transaction. 429 closes that method for the team for Retry-After; 5xx, timeouts and connection
errors back off exponentially; errors Slack will repeat forever (`user_not_found`,
`channel_not_found`, ...) fail the row at once. A crash between Slack's 200 and our commit can
repeat the message a worker had in flight: at most one per concurrent send slot.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.models import OutboxMessage
from bot.store import outbox
from bot.store.notices import tell_leaders_about_channel

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
# A channel post Slack refuses for good: the leader who chose the channel is told once.
CHANNEL_ERRORS = frozenset({"channel_not_found", "is_archived", "not_in_channel"})
# chat.postMessage allows about one message a second into one channel.
CHANNEL_SPACING = timedelta(seconds=1)
SPACED_METHODS = frozenset({"chat.postMessage"})


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


class RateGate:
    """What Slack has told us about pacing: Retry-After windows per (team, method), and the
    next free slot per (team, channel) for methods Slack paces by channel."""

    def __init__(self) -> None:
        self._method_open_at: dict[tuple[str, str], datetime] = {}
        self._channel_open_at: dict[tuple[str, str], datetime] = {}
        self._team_open_at: dict[str, datetime] = {}

    def open_at(self, team_id: str, method: str, channel: str) -> datetime | None:
        times = [self._method_open_at.get((team_id, method)), self._team_open_at.get(team_id)]
        if method in SPACED_METHODS:
            times.append(self._channel_open_at.get((team_id, channel)))
        known = [t for t in times if t is not None]
        return max(known) if known else None

    def is_open(self, team_id: str, method: str, channel: str, now: datetime) -> bool:
        open_at = self.open_at(team_id, method, channel)
        return open_at is None or open_at <= now

    def close_method(self, team_id: str, method: str, until: datetime) -> None:
        current = self._method_open_at.get((team_id, method))
        if current is None or current < until:
            self._method_open_at[(team_id, method)] = until

    def close_team(self, team_id: str, until: datetime) -> bool:
        """Stop calling Slack for a team until `until`; True if it was open (log once)."""
        current = self._team_open_at.get(team_id)
        self._team_open_at[team_id] = until
        return current is None or current <= until - AUTH_HOLD

    def note_send(self, team_id: str, method: str, channel: str, at: datetime) -> None:
        """Reserve the channel's next second for a message about to be sent."""
        if method in SPACED_METHODS:
            self._channel_open_at[(team_id, channel)] = at + CHANNEL_SPACING

    def release(self, team_id: str, channel: str) -> None:
        """The send failed, so nothing was posted: the channel's second is free again."""
        self._channel_open_at.pop((team_id, channel), None)

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


@dataclass(frozen=True)
class _Claimed:
    id: int
    team_id: str
    method: str
    channel: str
    payload: dict[str, Any]
    attempts: int


class Delivery:
    """The outbox sender. `deliver_due()` is one pass; `run()` is the long-lived worker."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: AsyncWebClient,
        clock: Clock,
        *,
        concurrency: int = 128,
        batch_size: int = 128,
        lease_for: timedelta = timedelta(seconds=120),
        max_attempts: int = 8,
        base_backoff: timedelta = timedelta(seconds=1),
        max_backoff: timedelta = timedelta(minutes=10),
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = sessions
        self._client = client
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
        self.gate = RateGate()
        self._wakeup = asyncio.Event()
        self._pass = asyncio.Lock()

    def _use_shared_session(self) -> None:
        """One HTTP session (its connections kept alive) for every send, opened inside the
        event loop on first use: a new TLS connection per message would cost more than the
        message. slack_sdk uses the session it is given."""
        if self._http is None or self._http.closed:
            connector = aiohttp.TCPConnector(limit=self._concurrency)
            # slack_sdk leaves the timeout to a session it is given: without one, a hung Slack
            # would hold a send slot for aiohttp's default five minutes.
            timeout = aiohttp.ClientTimeout(total=self._client.timeout)
            self._http = aiohttp.ClientSession(connector=connector, timeout=timeout)
            self._client.session = self._http

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
            while batch := await self._claim_batch():
                results = await asyncio.gather(*(self._send(row) for row in batch))
                for result in results:
                    report += result
        return report

    async def next_wakeup(self) -> datetime | None:
        async with self._sessions() as session:
            due = await outbox.next_due_at(session)
        if due is None:
            return None
        now = self._clock.now()
        if due > now:
            return due
        # Something is due but was held back by the gate: wake when the gate next opens.
        return self.gate.earliest_reopening(now) or now

    async def run(self, stop: asyncio.Event, *, poll_every: float = 5.0) -> None:
        """Deliver until `stop` is set; finishes the pass in progress before returning."""
        while not stop.is_set():
            self._wakeup.clear()
            try:
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
        for row in candidates:
            key = (row.team_id, row.channel)
            if key in channels or not self.gate.is_open(row.team_id, row.method, row.channel, now):
                channels.add(key)
                continue
            channels.add(key)
            chosen.append(
                _Claimed(row.id, row.team_id, row.method, row.channel, row.payload, row.attempts)
            )
            if len(chosen) == self._batch_size:
                break
        return chosen

    async def _send(self, row: _Claimed) -> DeliveryReport:
        async with self._slots:
            started = self._clock.now()
            # A 429 may have closed the method while this row waited for a slot: put it back
            # until the window ends rather than call inside it.
            open_at = self.gate.open_at(row.team_id, row.method, row.channel)
            if open_at is not None and open_at > started:
                async with self._sessions.begin() as session:
                    await outbox.mark_retry(
                        session,
                        message_id=row.id,
                        at=open_at,
                        error="waiting out a rate limit",
                        counts_as_attempt=False,
                    )
                return DeliveryReport(retried=1)
            self.gate.note_send(row.team_id, row.method, row.channel, started)
            try:
                response = await self._client.api_call(row.method, json=row.payload)
            except SlackApiError as error:
                self.gate.release(row.team_id, row.channel)
                return await self._record_api_error(row, error)
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                self.gate.release(row.team_id, row.channel)
                return await self._record_transient(row, type(error).__name__)
            data = response.data if isinstance(response.data, dict) else {}
            result = {key: data[key] for key in ("channel", "ts") if key in data}
            async with self._sessions.begin() as session:
                await outbox.mark_sent(
                    session, message_id=row.id, now=self._clock.now(), result=result
                )
            return DeliveryReport(sent=1)

    async def _record_api_error(self, row: _Claimed, error: SlackApiError) -> DeliveryReport:
        status = error.response.status_code
        code = _error_code(error)
        if status == 429 or code == "ratelimited":
            retry_after = _retry_after_seconds(error)
            until = self._clock.now() + timedelta(seconds=retry_after)
            self.gate.close_method(row.team_id, row.method, until)
            log.warning(
                "rate limited",
                extra={"team": row.team_id, "method": row.method, "retry_after": retry_after},
            )
            async with self._sessions.begin() as session:
                await outbox.mark_retry(
                    session,
                    message_id=row.id,
                    at=until,
                    error="ratelimited",
                    counts_as_attempt=False,
                )
            return DeliveryReport(retried=1)
        if status >= 500 or code in TRANSIENT_ERRORS:
            return await self._record_transient(row, f"http_{status}" if status >= 500 else code)
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
        """The team's token was refused: no more calls for the team for a while (logged once),
        and its messages wait rather than fail."""
        until = self._clock.now() + AUTH_HOLD
        first = self.gate.close_team(row.team_id, until)
        if first:
            log.error(
                "Slack refused the bot token; holding this team's messages",
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
        async with self._sessions.begin() as session:
            if attempts >= self._max_attempts:
                log.warning(
                    "message failed after retries",
                    extra={"team": row.team_id, "method": row.method, "error": error},
                )
                await outbox.mark_failed(session, message_id=row.id, error=error)
                return DeliveryReport(failed=1)
            await outbox.mark_retry(
                session,
                message_id=row.id,
                at=self._clock.now() + self._backoff(attempts),
                error=error,
                counts_as_attempt=True,
            )
        return DeliveryReport(retried=1)

    def _backoff(self, attempts: int) -> timedelta:
        ceiling = min(self._base_backoff * (2 ** (attempts - 1)), self._max_backoff)
        # Full jitter spreads a burst of failures so the retries do not arrive together.
        factor: float = 0.5 + self._rng.random() / 2
        jittered: timedelta = ceiling * factor
        return jittered


def _error_code(error: SlackApiError) -> str:
    data = error.response.data
    if isinstance(data, dict):
        return str(data.get("error") or "unknown_error")
    return "non_json_response"


def _retry_after_seconds(error: SlackApiError) -> float:
    headers = error.response.headers or {}
    raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(float(raw), 1.0) if raw is not None else 30.0
    except (TypeError, ValueError):
        return 30.0
