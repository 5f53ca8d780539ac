"""The HTTP front door, end to end: signed requests in, Slack calls and rows out."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from sqlalchemy import func, select

from bot.app import HEALTH_PATH, RunningServer, SlackHttpFrontDoor, build_app, start_http
from bot.deps import Deps, build_deps
from bot.handlers.context import listener
from bot.models import ProcessedEvent
from bot.sandbox.block_kit import validate_view
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.settings import Settings

FORM = "application/x-www-form-urlencoded"
HELP_BODY = b"command=%2Fpartner&text=help&user_id=ULEAD&team_id=T00000001"


async def test_url_verification_echoes_the_challenge(slack: SignedSlack) -> None:
    answer = await slack.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    assert answer.status == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in answer.text


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"X-Slack-Request-Timestamp": "{now}", "X-Slack-Signature": "v0=" + "0" * 64}, "forged"),
        ({"X-Slack-Request-Timestamp": "{stale}", "X-Slack-Signature": "{stale_sig}"}, "stale"),
        ({"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "{sig}"}, "not numeric"),
        ({"X-Slack-Request-Timestamp": "", "X-Slack-Signature": "{sig}"}, "empty timestamp"),
        ({"X-Slack-Signature": "{sig}"}, "no timestamp"),
        ({"X-Slack-Request-Timestamp": "{now}"}, "no signature"),
    ],
)
async def test_requests_slack_did_not_sign_are_refused(
    slack: SignedSlack, fake_slack: FakeSlack, headers: dict[str, str], why: str
) -> None:
    now = int(time.time())
    signed_now = slack.signed_headers(HELP_BODY, now)
    signed_stale = slack.signed_headers(HELP_BODY, now - 600)
    values = {
        "now": str(now),
        "stale": str(now - 600),
        "sig": signed_now["X-Slack-Signature"],
        "stale_sig": signed_stale["X-Slack-Signature"],
    }
    filled = {key: value.format(**values) for key, value in headers.items()}
    answer = await slack.raw(HELP_BODY, headers=filled, content_type=FORM)
    assert answer.status == 401, why
    assert fake_slack.calls == []  # nothing reached Slack, not even auth.test
    # and the app keeps serving real requests
    assert (await slack.slash_command("ULEAD", "help")).status == 200


async def test_a_tampered_body_is_refused(slack: SignedSlack) -> None:
    headers = slack.signed_headers(HELP_BODY)
    tampered = HELP_BODY.replace(b"ULEAD", b"UEVIL")
    answer = await slack.raw(tampered, headers=headers, content_type=FORM)
    assert answer.status == 401


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"type": "event_callback", "event": ', "application/json", 400),  # cut-off JSON
        (b"payload=%7Bnot-json", "application/x-www-form-urlencoded", 400),  # bad interaction
        (b"\xff\xfe\x00garbage", "application/json", 400),  # not UTF-8
        (b"x" * (2 * 1024 * 1024), "application/json", 413),  # 2 MB
    ],
)
async def test_malformed_bodies_get_4xx_and_the_app_keeps_serving(
    slack: SignedSlack, body: bytes, content_type: str, status: int
) -> None:
    answer = await slack.raw(body, headers=slack.signed_headers(body), content_type=content_type)
    assert answer.status == status
    assert "Traceback" not in answer.text
    assert (await slack.slash_command("ULEAD", "help")).status == 200


@pytest.mark.parametrize("text", ["help", "", "  HELP  "])
async def test_help_is_an_ephemeral_usage_answer(slack: SignedSlack, text: str) -> None:
    answer = await slack.slash_command("ULEAD", text)
    assert answer.status == 200
    assert answer.json is not None
    assert answer.json["response_type"] == "ephemeral"
    rendered = json.dumps(answer.json["blocks"])
    for usage in ("/partner tour", "/partner win", "/partner initiative", "/partner help"):
        assert usage in rendered
    assert "I don't know" not in rendered
    assert answer.json["text"]  # a fallback for notifications


async def test_unknown_subcommand_gets_the_help(slack: SignedSlack) -> None:
    answer = await slack.slash_command("ULEAD", "frobnicate <!channel>")
    assert answer.json is not None
    rendered = json.dumps(answer.json["blocks"])
    assert "I don't know `frobnicate`" in rendered
    assert "/partner help" in rendered


async def test_the_command_name_comes_from_settings(
    fake_slack: FakeSlack, settings: Settings, engine: object, clock: object
) -> None:
    renamed = settings.model_copy(update={"partnerbot_command": "/pb"})
    deps = build_deps(renamed)
    server = await start_http(SlackHttpFrontDoor(build_app(deps), deps), host="127.0.0.1", port=0)
    try:
        async with aiohttp.ClientSession() as session:
            secret = settings.slack_signing_secret
            assert secret is not None
            url = server.url + "/slack/events"
            signed = SignedSlack(url, secret.get_secret_value(), fake_slack, session=session)
            answer = await signed.slash_command("ULEAD", "help", command="/pb")
    finally:
        await server.stop()
        await deps.close()
    assert answer.json is not None
    assert "/pb tour" in json.dumps(answer.json["blocks"])


async def test_app_home_opened_publishes_a_valid_home(
    slack: SignedSlack, fake_slack: FakeSlack, deps: Deps
) -> None:
    answer = await slack.app_home_opened("UALICE")
    assert answer.status == 200
    await deps.inflight.wait_idle(timeout=5)
    [publish] = fake_slack.calls_to("views.publish")
    assert publish.ok, publish.error
    home = fake_slack.home_views["UALICE"]
    assert validate_view(home) == []
    assert "<@UALICE>" in json.dumps(home["blocks"])


async def test_an_event_delivered_four_times_is_processed_once(
    slack: SignedSlack, fake_slack: FakeSlack, deps: Deps
) -> None:
    event = {"type": "app_home_opened", "user": "UBOB", "channel": "D0BOB", "tab": "home"}
    first = await slack.event(event, event_id="Ev0HOME0001")
    assert first.status == 200
    await deps.inflight.wait_idle(timeout=5)
    for retry in (1, 2, 3):
        answer = await slack.event(event, event_id="Ev0HOME0001", retry_num=retry)
        assert answer.status == 200
        await deps.inflight.wait_idle(timeout=5)
    assert len(fake_slack.calls_to("views.publish")) == 1
    async with deps.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedEvent)) == 1


async def test_concurrent_deliveries_of_one_event_are_processed_once(
    slack: SignedSlack, fake_slack: FakeSlack, deps: Deps
) -> None:
    import asyncio

    event = {"type": "app_home_opened", "user": "UBOB", "channel": "D0BOB", "tab": "home"}
    answers = await asyncio.gather(
        *(slack.event(event, event_id="Ev0RACE", retry_num=n or None) for n in range(4))
    )
    assert {answer.status for answer in answers} == {200}
    await deps.inflight.wait_idle(timeout=5)
    assert len(fake_slack.calls_to("views.publish")) == 1


async def test_a_failing_listener_answers_with_a_reference(
    bolt_app: AsyncApp, slack: SignedSlack, caplog: pytest.LogCaptureFixture
) -> None:
    @listener
    async def explode(ack: AsyncAck, context: AsyncBoltContext) -> None:
        raise RuntimeError("boom")

    bolt_app.command("/explode")(explode)
    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        answer = await slack.slash_command("ULEAD", "now", command="/explode")
    assert answer.status == 200
    assert answer.json is not None
    assert answer.json["response_type"] == "ephemeral"
    text = answer.json["text"]
    assert "something went wrong" in text
    [record] = [r for r in caplog.records if r.name == "bot.errors"]
    reference = record.__dict__["reference"]
    assert f"`{reference}`" in text


async def test_logs_hold_no_message_text_or_tokens(
    slack: SignedSlack, deps: Deps, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await slack.dm("UALICE", "my secret answer about Dana")
        await slack.slash_command("ULEAD", "tour secret-argument")
        await deps.inflight.wait_idle(timeout=5)
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "my secret answer" not in logged
    assert "xoxb-" not in logged
    assert "secret-argument" not in logged


async def test_healthz_reports_the_database(app_server: RunningServer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(app_server.url + HEALTH_PATH) as response,
    ):
        assert response.status == 200
        assert await response.json() == {"ok": True, "db": "ok"}


async def test_healthz_is_503_when_the_database_is_down(settings: Settings) -> None:
    broken = settings.model_copy(update={"database_url": "postgresql://x:y@127.0.0.1:1/none"})
    deps = build_deps(broken)
    server = await start_http(SlackHttpFrontDoor(None, deps), host="127.0.0.1", port=0)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(server.url + HEALTH_PATH) as response,
        ):
            assert response.status == 503
            assert await response.json() == {"ok": False, "db": "database unavailable"}
    finally:
        await server.stop()
        await deps.close()


async def test_a_listener_failing_right_after_its_ack_still_answers_200(
    bolt_app: AsyncApp, slack: SignedSlack, fake_slack: FakeSlack, deps: Deps
) -> None:
    @listener
    async def ack_then_explode(ack: AsyncAck, context: AsyncBoltContext) -> None:
        await ack()
        raise RuntimeError("boom after ack")

    bolt_app.command("/late-boom")(ack_then_explode)
    answer = await slack.slash_command("ULEAD", "", command="/late-boom")
    await deps.inflight.wait_idle(timeout=5)
    assert answer.status == 200  # Bolt would otherwise clear the ack and answer 404 after 3 s
    [told] = fake_slack.responses
    assert "something went wrong" in told["body"]["text"]


async def test_the_ack_reaches_slack_while_the_listener_goes_on_working(
    bolt_app: AsyncApp, slack: SignedSlack, deps: Deps
) -> None:
    """Bolt answers when the listener returns (process_before_response); the listener wrapper
    returns at `ack()`, so Slack has its answer at once and the work goes on in a task."""
    release = asyncio.Event()
    finished: list[str] = []

    @listener
    async def ack_then_work(ack: AsyncAck, context: AsyncBoltContext) -> None:
        await ack(text="On it.")
        await release.wait()
        finished.append("command")

    @listener
    async def work_on_event(event: dict[str, Any], context: AsyncBoltContext) -> None:
        await release.wait()
        finished.append("event")

    bolt_app.command("/slow")(ack_then_work)
    bolt_app.event("reaction_added")(work_on_event)
    async with asyncio.timeout(5):
        answer = await slack.slash_command("ULEAD", "", command="/slow")
        event = await slack.event({"type": "reaction_added", "user": "ULEAD"}, event_id="EvR1")
    assert (answer.status, answer.text) == (200, "On it.")
    assert event.status == 200
    assert finished == []  # both answered while their listeners were still at work
    release.set()
    await deps.inflight.wait_idle(timeout=5)
    assert sorted(finished) == ["command", "event"]


async def test_an_ack_that_raises_is_answered_as_the_listeners_failure(
    bolt_app: AsyncApp, slack: SignedSlack, deps: Deps
) -> None:
    """A malformed ack() (here "errors" without the errors) wakes nothing early: the request
    waits for the listener's own failure, on its way out of a transaction, and answers it."""
    cleaned_up: list[bool] = []

    @listener
    async def bad_ack(ack: AsyncAck, context: AsyncBoltContext) -> None:
        try:
            await ack(response_action="errors")
        finally:
            for _ in range(5):  # a rollback on the way out, say: a few trips through the loop
                await asyncio.sleep(0)
            cleaned_up.append(True)

    bolt_app.command("/bad-ack")(bad_ack)
    answer = await slack.slash_command("ULEAD", "", command="/bad-ack")
    await deps.inflight.wait_idle(timeout=5)
    assert answer.status == 200
    assert answer.json is not None
    assert "something went wrong" in answer.json["text"]  # not a 404, nor the help listener
    assert cleaned_up == [True]


async def test_a_failure_after_slacks_three_seconds_is_told_to_the_person(
    bolt_app: AsyncApp,
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.handlers.context.ACK_TIMEOUT_SECONDS", 0.05)  # Slack's 3 s, shorter
    release = asyncio.Event()

    @listener
    async def slow_then_fail(ack: AsyncAck, context: AsyncBoltContext) -> None:
        await release.wait()
        raise RuntimeError("boom, too late to answer in the ack")

    bolt_app.command("/too-slow")(slow_then_fail)
    await slack.slash_command("ULEAD", "", command="/too-slow")  # Slack has given up by now
    release.set()
    await deps.inflight.wait_idle(timeout=5)
    [told] = fake_slack.responses
    assert "something went wrong" in told["body"]["text"]


async def test_a_listener_that_returns_without_acknowledging_is_logged(
    bolt_app: AsyncApp, slack: SignedSlack, deps: Deps, caplog: pytest.LogCaptureFixture
) -> None:
    @listener
    async def forgetful(ack: AsyncAck, context: AsyncBoltContext) -> None:
        return None

    bolt_app.command("/forgetful")(forgetful)
    with caplog.at_level(logging.WARNING, logger="bot.handlers"):
        await slack.slash_command("ULEAD", "", command="/forgetful")
        await deps.inflight.wait_idle(timeout=5)
    assert [
        record.__dict__["listener"]
        for record in caplog.records
        if record.getMessage() == "returned without acknowledging"
    ] == ["forgetful"]
