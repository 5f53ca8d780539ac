"""GET /metrics: Prometheus' text format, read by prometheus_client's own parser, and it moves
when a leader launches a tour over signed HTTP against the fake Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import (
    EVENTS_PATH,
    HEALTH_PATH,
    METRICS_PATH,
    RunningServer,
    SlackHttpFrontDoor,
    start_http,
)
from bot.clock import FrozenClock
from bot.deps import Deps, build_deps
from bot.metrics import Metrics, request_kind
from bot.models import OutboxMessage, OutboxStatus
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.scheduler import run_tick
from bot.settings import Settings
from bot.store import outbox

LEADER = "ULEAD"
MEMBERS = ["UALICE", "UBOB"]  # CTEAM's members besides the leader (tests/conftest.py)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample by name and labels, through prometheus_client's parser (which raises on
    anything that is not its text format)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


async def scrape(server: RunningServer) -> Samples:
    async with aiohttp.ClientSession() as http, http.get(server.url + METRICS_PATH) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return parse(await response.text())


async def pending_rows(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
        )
    return int(count or 0)


async def test_metrics_move_when_a_tour_is_launched(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    app_server: RunningServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    before = await scrape(app_server)
    assert value(before, "partnerbot_outbox_pending") == 0

    command = await slack.slash_command(LEADER, "tour <#CTEAM|platform-team>", channel_id="CTEAM")
    assert command.status == 200, command.text
    await fake_slack.wait_for(lambda: bool(fake_slack.view_stack(LEADER)))
    view = fake_slack.views[fake_slack.view_stack(LEADER)[-1]]
    answer = await slack.view_submission(LEADER, view, {})
    assert answer.status == 200, answer.text
    assert answer.json is None, answer.json  # launched: the modal closes
    assert await deps.inflight.wait_idle(timeout=10)

    queued = await scrape(app_server)
    waiting = await pending_rows(sessions)
    assert waiting >= len(MEMBERS)  # the invitations, at least, wait in the outbox
    assert value(queued, "partnerbot_outbox_pending") == waiting
    assert value(queued, "partnerbot_outbox_oldest_due_seconds") >= 0

    await deps.delivery.deliver_due()
    after = await scrape(app_server)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("partnerbot_requests_total", kind="command", outcome="acked") == 1
    assert grew("partnerbot_requests_total", kind="view_submission", outcome="acked") == 1
    assert grew("partnerbot_requests_total", kind="event", outcome="acked") == 0
    assert grew("partnerbot_ack_seconds_count", kind="command") == 1
    invited = [member for member in MEMBERS if fake_slack.dms_to(member)]
    assert invited == MEMBERS
    assert grew("partnerbot_messages_sent_total") >= len(MEMBERS)
    assert grew("partnerbot_messages_sent_total") == waiting  # every queued row, once
    assert grew("partnerbot_messages_failed_total") == 0
    assert value(after, "partnerbot_outbox_pending") == 0
    assert value(after, "partnerbot_outbox_oldest_due_seconds") == 0


async def test_a_refused_request_is_counted_as_refused(app_server: RunningServer) -> None:
    before = await scrape(app_server)
    async with (
        aiohttp.ClientSession() as http,
        http.post(app_server.url + EVENTS_PATH, data=b"command=/partner", headers={}) as response,
    ):
        assert response.status == 401  # unsigned
    after = await scrape(app_server)
    key = ("partnerbot_requests_total", frozenset({"kind": "other", "outcome": "refused"}.items()))
    assert after[key] - before[key] == 1


@pytest.mark.parametrize(
    ("seconds", "bucket", "inside"),
    [(0.004, "0.005", True), (0.02, "0.01", False), (0.02, "0.025", True), (4.0, "3.0", False)],
)
def test_the_ack_histogram_puts_each_ack_in_its_bucket(
    seconds: float, bucket: str, inside: bool
) -> None:
    metrics = Metrics()
    metrics.request("action", 200, seconds)
    samples = parse(metrics.text().decode())
    assert value(samples, "partnerbot_ack_seconds_count", kind="action") == 1
    assert value(samples, "partnerbot_ack_seconds_sum", kind="action") == pytest.approx(seconds)
    assert value(samples, "partnerbot_ack_seconds_bucket", kind="action", le=bucket) == int(inside)
    assert value(samples, "partnerbot_ack_seconds_count", kind="event") == 0
    assert value(samples, "partnerbot_requests_total", kind="action", outcome="acked") == 1


@pytest.mark.parametrize(
    ("status", "outcome"), [(200, "acked"), (401, "refused"), (413, "refused"), (500, "error")]
)
def test_a_request_outcome_follows_its_status(status: int, outcome: str) -> None:
    metrics = Metrics()
    metrics.request("event", status, 0.001)
    samples = parse(metrics.text().decode())
    assert value(samples, "partnerbot_requests_total", kind="event", outcome=outcome) == 1


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"command": "/partner", "text": "tour"}, "command"),
        ({"type": "block_actions", "actions": []}, "action"),
        ({"type": "view_submission"}, "view_submission"),
        ({"type": "event_callback", "event": {}}, "event"),
        ({"type": "view_closed"}, "other"),
        ({"type": "url_verification"}, "other"),
        ([], "other"),
    ],
)
def test_a_request_kind_comes_from_its_body(body: object, kind: str) -> None:
    assert request_kind(body) == kind


def test_two_apps_keep_their_own_metrics() -> None:
    first, second = Metrics(), Metrics()
    first.delivered(sent=3, failed=0, retried=1)
    assert value(parse(first.text().decode()), "partnerbot_messages_sent_total") == 3
    assert value(parse(second.text().decode()), "partnerbot_messages_sent_total") == 0


@pytest.fixture
async def served_without_metrics(settings: Settings) -> AsyncIterator[RunningServer]:
    deps = build_deps(settings.model_copy(update={"metrics_enabled": False}))
    server = await start_http(SlackHttpFrontDoor(None, deps), host="127.0.0.1", port=0)
    yield server
    await server.stop()
    await deps.close()


async def test_metrics_enabled_false_answers_404(served_without_metrics: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(served_without_metrics.url + METRICS_PATH) as response:
            assert response.status == 404
        async with http.get(served_without_metrics.url + HEALTH_PATH) as response:
            assert response.status == 200  # the health check still answers


async def test_socket_mode_port_serves_metrics(settings: Settings, engine: AsyncEngine) -> None:
    """In Socket Mode the front door has no Bolt app, and still serves /metrics."""
    deps = build_deps(settings)
    server = await start_http(SlackHttpFrontDoor(None, deps), host="127.0.0.1", port=0)
    try:
        samples = await scrape(server)
        assert value(samples, "partnerbot_outbox_pending") == 0
    finally:
        await server.stop()
        await deps.close()


async def test_a_retry_after_is_counted_and_the_held_row_ages(
    deps: Deps,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    async with sessions.begin() as session:
        await outbox.enqueue(
            session,
            team_id="T00000001",
            key="invite:UALICE",
            method="chat.postMessage",
            payload={"channel": "UALICE", "text": "Hello"},
            now=clock.now(),
        )
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=30)
    registry = deps.metrics.registry

    report = await run_tick(deps)
    assert report.counts["messages to retry"] == 1
    assert registry.get_sample_value("partnerbot_slack_retry_after_total") == 1
    assert registry.get_sample_value("partnerbot_slack_retry_after_seconds_total") == 30
    assert registry.get_sample_value("partnerbot_messages_retried_total") == 1
    assert registry.get_sample_value("partnerbot_messages_sent_total") == 0
    assert registry.get_sample_value("partnerbot_tick_seconds_count") == 1

    clock.advance(seconds=45)  # the row fell due 15 s ago (the window ended at +30 s)
    backlog = await deps.delivery.backlog()
    assert backlog.pending == 1
    assert backlog.oldest_due_seconds == pytest.approx(15)
    assert (await deps.delivery.backlog(cap=0)).pending == 0  # the count stops at its cap

    await run_tick(deps)
    assert registry.get_sample_value("partnerbot_messages_sent_total") == 1
    assert registry.get_sample_value("partnerbot_tick_seconds_count") == 2
