"""What the bot counts and times, for Prometheus to scrape at `GET /metrics`.

One `Metrics` per process (a registry of its own, not prometheus_client's global one, so tests
can build several apps side by side), reached through `Deps.metrics`. Counting on the request
path is a counter increment and a histogram observation, no more. The outbox's depth and its
oldest due row's age need the database: the front door reads them once per scrape with one
bounded query (`Delivery.backlog`) and hands them to `set_outbox` before the text is written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# What a request from Slack is, and what became of it.
KINDS = ("command", "action", "view_submission", "event", "other")
OUTCOMES = ("acked", "refused", "error")
# Slack waits 3 s for an acknowledgement; ours are meant to take milliseconds.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
TICK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
THEME_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


def request_kind(body: object) -> str:
    """Which of KINDS a Slack request body (parsed, as Bolt holds it) is."""
    if not isinstance(body, Mapping):
        return "other"
    if "command" in body:
        return "command"
    kind = body.get("type")
    if kind == "block_actions":
        return "action"
    if kind == "view_submission":
        return "view_submission"
    if kind == "event_callback":
        return "event"
    return "other"


def outcome_of(status: int) -> str:
    """acked (2xx), refused (a 4xx: unsigned, too large, malformed), error (anything else)."""
    if 200 <= status < 300:
        return "acked"
    if 400 <= status < 500:
        return "refused"
    return "error"


@dataclass(frozen=True)
class OutboxBacklog:
    pending: int
    oldest_due_seconds: float


class _OutboxCollector(Collector):
    """The outbox gauges, from the last reading handed to `Metrics.set_outbox` (none until one
    is: a gauge the database could not answer is left out rather than shown stale)."""

    def __init__(self) -> None:
        self.backlog: OutboxBacklog | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        backlog = self.backlog
        if backlog is None:
            return
        yield GaugeMetricFamily(
            "partnerbot_outbox_pending",
            "Outbox rows waiting to be sent (counted up to a cap).",
            value=backlog.pending,
        )
        yield GaugeMetricFamily(
            "partnerbot_outbox_oldest_due_seconds",
            "How long the oldest row due to be sent has been due (0 when none is).",
            value=backlog.oldest_due_seconds,
        )

    def describe(self) -> list[Any]:
        return []  # read at each scrape; nothing to check at registration


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter(
            "partnerbot_requests",
            "Requests from Slack, by kind and outcome.",
            ["kind", "outcome"],
            registry=registry,
        )
        self.ack_seconds = Histogram(
            "partnerbot_ack_seconds",
            "From a request's arrival to Slack's acknowledgement, by kind.",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=registry,
        )
        self.messages_sent = Counter(
            "partnerbot_messages_sent", "Outbox messages Slack accepted.", registry=registry
        )
        self.messages_failed = Counter(
            "partnerbot_messages_failed",
            "Outbox messages given up on (refused by Slack, or out of retries).",
            registry=registry,
        )
        self.messages_retried = Counter(
            "partnerbot_messages_retried",
            "Outbox sends put back to try again later (rate limited, Slack down).",
            registry=registry,
        )
        self.retry_after = Counter(
            "partnerbot_slack_retry_after",
            "Times Slack answered 429 with a Retry-After.",
            registry=registry,
        )
        self.retry_after_seconds = Counter(
            "partnerbot_slack_retry_after_seconds",
            "Seconds Slack's Retry-After asked us to wait, summed.",
            registry=registry,
        )
        self.tick_seconds = Histogram(
            "partnerbot_tick_seconds",
            "How long a scheduler tick took (every due job, then the outbox).",
            buckets=TICK_BUCKETS,
            registry=registry,
        )
        self.theme_engine_seconds = Histogram(
            "partnerbot_theme_engine_seconds",
            "How long the theme engine took to group one tour's answers.",
            buckets=THEME_BUCKETS,
            registry=registry,
        )
        self._outbox = _OutboxCollector()
        registry.register(self._outbox)
        # Every kind and outcome shows from the start (at 0), so a rate over them is defined.
        for kind in KINDS:
            self.ack_seconds.labels(kind)
            for outcome in OUTCOMES:
                self.requests.labels(kind, outcome)

    def request(self, kind: str, status: int, seconds: float) -> None:
        """One request from Slack answered with `status` after `seconds`."""
        self.requests.labels(kind, outcome_of(status)).inc()
        self.ack_seconds.labels(kind).observe(seconds)

    def delivered(self, *, sent: int, failed: int, retried: int) -> None:
        if sent:
            self.messages_sent.inc(sent)
        if failed:
            self.messages_failed.inc(failed)
        if retried:
            self.messages_retried.inc(retried)

    def rate_limited(self, retry_after: float) -> None:
        self.retry_after.inc()
        self.retry_after_seconds.inc(max(retry_after, 0.0))

    def set_outbox(self, backlog: OutboxBacklog | None) -> None:
        """The outbox's reading for the next scrape; None leaves its gauges out."""
        self._outbox.backlog = backlog

    def text(self) -> bytes:
        """Every metric in Prometheus' text format."""
        return generate_latest(self.registry)
