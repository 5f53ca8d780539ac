"""The bot in Socket Mode, end to end: Bolt's Socket Mode handler connects to the fake Slack through
apps.connections.open (at SLACK_API_URL) and answers the envelopes the fake pushes."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.app import serve
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.handlers.context import listener
from bot.sandbox.block_kit import validate_message, validate_view
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SocketSlack
from bot.settings import Settings
from bot.socket_client import socket_mode_handler

USAGES = ("/partner tour", "/partner win", "/partner initiative", "/partner help")


@pytest.fixture
def settings(settings: Settings, fake_slack: FakeSlack) -> Settings:
    """Socket Mode as `partnerbot run` sees it: an app token and no signing secret; port 0 for
    the health check `serve` still offers."""
    return settings.model_copy(
        update={
            "slack_app_token": SecretStr(fake_slack.app_token),
            "slack_signing_secret": None,
            "port": 0,
        }
    )


@pytest.fixture
async def socket_handler(
    bolt_app: AsyncApp, deps: Deps, settings: Settings, fake_slack: FakeSlack
) -> AsyncIterator[AsyncSocketModeHandler]:
    assert settings.slack_app_token is not None
    handler = socket_mode_handler(bolt_app, deps)
    try:
        await handler.connect_async()  # type: ignore[no-untyped-call]
        await fake_slack.wait_for_socket_client()
        yield handler
        assert await deps.inflight.wait_idle(timeout=10), "listeners still running at teardown"
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


@pytest.fixture
def socket_slack(
    socket_handler: AsyncSocketModeHandler, fake_slack: FakeSlack, clock: FrozenClock
) -> SocketSlack:
    """Pushes what Slack would send to the connected app, and returns its acknowledgements."""
    return SocketSlack(fake_slack, clock=lambda: clock.now().timestamp())


@pytest.fixture
async def served(
    deps: Deps, fake_slack: FakeSlack, clock: FrozenClock
) -> AsyncIterator[SocketSlack]:
    """`partnerbot run`'s own `serve`, connected in Socket Mode, and a sender to it."""
    stop = asyncio.Event()
    running = asyncio.create_task(serve(deps, host="127.0.0.1", stop=stop))
    try:
        await fake_slack.wait_for_socket_client()
        yield SocketSlack(fake_slack, clock=lambda: clock.now().timestamp())
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=30)


async def test_the_app_connects_with_its_app_token(
    socket_slack: SocketSlack, fake_slack: FakeSlack
) -> None:
    [opened] = fake_slack.calls_to("apps.connections.open")
    assert opened.ok, opened.error
    assert fake_slack.socket_clients == 1


async def test_help_is_an_ephemeral_usage_answer_in_the_ack(socket_slack: SocketSlack) -> None:
    answer = await socket_slack.slash_command("ULEAD", "help")

    assert answer.json is not None
    assert answer.json["response_type"] == "ephemeral"
    rendered = json.dumps(answer.json["blocks"])
    for usage in USAGES:
        assert usage in rendered
    assert validate_message(answer.json["text"], answer.json["blocks"]) == []


async def test_app_home_opened_publishes_once_per_event_id(
    socket_slack: SocketSlack, fake_slack: FakeSlack, deps: Deps
) -> None:
    event = socket_slack.payloads.app_home_opened_event("UALICE")

    first = await socket_slack.event(event)
    await fake_slack.wait_for(lambda: len(fake_slack.calls_to("views.publish")) == 1)
    assert await deps.inflight.wait_idle(timeout=5)
    # Slack redelivers an envelope it thinks was lost; the app has already handled the event.
    again = await socket_slack.event(event, event_id=first.event_id, retry_num=1)
    assert await deps.inflight.wait_idle(timeout=5)

    assert (first.json, again.json) == (None, None)  # events are acknowledged, not answered
    [publish] = fake_slack.calls_to("views.publish")
    assert publish.ok, publish.error
    home = fake_slack.home_views["UALICE"]
    assert validate_view(home) == []
    assert "<@UALICE>" in json.dumps(home["blocks"])
    assert fake_slack.warnings == []


async def test_a_failing_listener_answers_in_the_ack(
    bolt_app: AsyncApp, socket_slack: SocketSlack
) -> None:
    @listener
    async def explode(ack: AsyncAck, context: AsyncBoltContext) -> None:
        raise RuntimeError("boom")

    bolt_app.command("/explode")(explode)
    answer = await socket_slack.slash_command("ULEAD", "now", command="/explode")

    # As over HTTP, the error handler's answer rides on the acknowledgement.
    assert answer.json is not None
    assert answer.json["response_type"] == "ephemeral"
    assert "something went wrong" in answer.json["text"]


async def test_serve_in_socket_mode_connects_through_slack_api_url(
    served: SocketSlack, fake_slack: FakeSlack
) -> None:
    answer = await served.slash_command("ULEAD", "help")

    assert answer.json is not None
    assert "/partner tour" in json.dumps(answer.json["blocks"])
    [opened] = fake_slack.calls_to("apps.connections.open")
    assert opened.ok, opened.error


async def test_serve_closes_its_connection_when_stopped(deps: Deps, fake_slack: FakeSlack) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(serve(deps, host="127.0.0.1", stop=stop))
    await fake_slack.wait_for_socket_client()

    stop.set()
    await asyncio.wait_for(running, timeout=30)

    # Slack would otherwise keep pushing envelopes to a bot that is gone until the socket dies.
    await fake_slack.wait_for(lambda: fake_slack.socket_clients == 0)


async def test_logs_hold_no_command_text_in_socket_mode(
    served: SocketSlack, deps: Deps, caplog: pytest.LogCaptureFixture
) -> None:
    # As configure_logging leaves them at LOG_LEVEL=DEBUG: the libraries held at INFO.
    caplog.set_level(logging.INFO, logger="slack_sdk")
    caplog.set_level(logging.INFO, logger="slack_bolt")
    with caplog.at_level(logging.DEBUG):
        await served.slash_command("ULEAD", "tour secret-argument")
        await deps.inflight.wait_idle(timeout=5)
    logged = "\n".join(f"{record.name} {record.getMessage()}" for record in caplog.records)
    assert "secret-argument" not in logged
    assert "xapp-" not in logged


async def test_a_request_from_another_workspace_is_refused_in_socket_mode_too(
    socket_slack: SocketSlack, fake_slack: FakeSlack, deps: Deps
) -> None:
    """Envelopes reach the same Bolt app, so the same gate: another team's DM, App Home and
    command are acknowledged with nothing done and nothing sent."""
    from tests.reliability.helpers import as_team

    assert (await socket_slack.slash_command("ULEAD", "help")).json is not None  # ours: served
    payloads = socket_slack.payloads
    mark = len(fake_slack.calls)
    for kind, payload in (
        ("events_api", payloads.event_callback(payloads.dm_event("UALICE", "hello"))),
        ("events_api", payloads.event_callback(payloads.app_home_opened_event("UALICE"))),
        ("slash_commands", payloads.slash_command("ULEAD", "tour")),
        ("slash_commands", payloads.slash_command("ULEAD", "help")),
    ):
        answer = await socket_slack.deliver(kind, as_team(payload, "T0BRAVO00"))  # type: ignore[arg-type]
        assert answer.json is None
    assert await deps.inflight.wait_idle(timeout=5)
    assert fake_slack.calls[mark:] == []


async def test_socket_mode_envelopes_are_counted_in_the_metrics(
    socket_slack: SocketSlack, deps: Deps
) -> None:
    registry = deps.metrics.registry

    def commands_acked() -> float | None:
        labels = {"kind": "command", "outcome": "acked"}
        return registry.get_sample_value("partnerbot_requests_total", labels)

    assert commands_acked() == 0
    answer = await socket_slack.slash_command("ULEAD", "help")
    assert answer.json is not None
    # The envelope is counted just after its acknowledgement is written to the socket.
    for _ in range(1000):
        if commands_acked() == 1:
            break
        await asyncio.sleep(0)
    assert commands_acked() == 1
    timed = registry.get_sample_value("partnerbot_ack_seconds_count", {"kind": "command"})
    assert timed == 1
