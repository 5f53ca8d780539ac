"""The senders: requests reach the app signed and shaped as Slack sends them, with trigger_ids and
response_urls the fake Slack honours, and Socket Mode envelopes carry the very same payloads."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack, SlackSender, SocketSlack, sign

SIGNING_SECRET = "test-signing-secret"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class RecordingApp:
    """Stands in for Partnerbot: records each request and answers with `reply`."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    reply: Any = None

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(dict(request.headers), await request.read()))
        if self.reply is None:
            return web.Response(status=200)
        return web.json_response(self.reply)

    @property
    def last(self) -> Received:
        assert self.received, "the app received nothing"
        return self.received[-1]

    def last_json(self) -> Any:
        return json.loads(self.last.body)


@pytest.fixture
async def recording_app() -> AsyncIterator[RecordingApp]:
    recorder = RecordingApp()
    app = web.Application()
    app.router.add_post("/slack/events", recorder.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    recorder.url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    yield recorder
    await runner.cleanup()


@dataclass
class RecordingSocketApp:
    """Stands in for Partnerbot in Socket Mode: records each envelope and acks it with `reply`."""

    requests: list[SocketModeRequest] = field(default_factory=list)
    reply: dict[str, Any] | None = None

    async def handle(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        self.requests.append(request)
        await client.send_socket_mode_response(
            SocketModeResponse(request.envelope_id, payload=self.reply)
        )


@pytest.fixture
async def recording_socket_app(fake_slack: FakeSlack) -> AsyncIterator[RecordingSocketApp]:
    recorder = RecordingSocketApp()
    client = SocketModeClient(
        app_token=fake_slack.app_token,
        web_client=AsyncWebClient(base_url=fake_slack.api_url, retry_handlers=[]),
    )
    client.socket_mode_request_listeners.append(recorder.handle)  # type: ignore[arg-type]
    await client.connect()  # type: ignore[no-untyped-call]
    await fake_slack.wait_for_socket_client()
    yield recorder
    await client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def socket_slack(
    recording_socket_app: RecordingSocketApp,
    fake_slack: FakeSlack,
    fake_clock: Callable[[], float],
) -> SocketSlack:
    return SocketSlack(fake_slack, clock=fake_clock)


class At(Clock):
    """A slack_sdk signature clock frozen at one instant."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def verifier(fake_clock: Callable[[], float]) -> SignatureVerifier:
    return SignatureVerifier(SIGNING_SECRET, clock=At(fake_clock()))


def is_signed(received_headers: dict[str, str], body: bytes, check: SignatureVerifier) -> bool:
    return bool(check.is_valid_request(body, received_headers))


def form(body: bytes) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))


def payload(body: bytes) -> Any:
    return json.loads(form(body)["payload"])


@pytest.fixture
async def signed_slack(
    recording_app: RecordingApp, fake_slack: FakeSlack, fake_clock: Callable[[], float]
) -> AsyncIterator[SignedSlack]:
    async with SignedSlack(
        recording_app.url, SIGNING_SECRET, fake_slack, clock=fake_clock
    ) as slack:
        yield slack


def tour_modal(*, notify_on_close: bool = False) -> dict[str, Any]:
    def text_input(block_id: str, optional: bool) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": block_id,
            "optional": optional,
            "label": {"type": "plain_text", "text": block_id},
            "element": {"type": "plain_text_input", "action_id": "text"},
        }

    return {
        "type": "modal",
        "callback_id": "tour.launch",
        "title": {"type": "plain_text", "text": "Launch a tour"},
        "submit": {"type": "plain_text", "text": "Launch"},
        "notify_on_close": notify_on_close,
        "private_metadata": '{"team": "CTEAM"}',
        "blocks": [text_input("name", optional=False), text_input("note", optional=True)],
    }


async def open_tour_modal(
    fake: FakeSlack, client: AsyncWebClient, user_id: str, **kwargs: bool
) -> dict[str, Any]:
    opened = await client.views_open(
        trigger_id=fake.issue_trigger_id(user_id), view=tour_modal(**kwargs)
    )
    view: dict[str, Any] = opened["view"]
    return view


# --- signatures ---------------------------------------------------------------------------------


def test_sign_agrees_with_slack_sdk() -> None:
    body = b'{"type":"event_callback"}'
    check = SignatureVerifier(SIGNING_SECRET, clock=At(1_700_000_000))

    signature = sign(SIGNING_SECRET, 1_700_000_000, body)

    assert check.is_valid(body, "1700000000", signature)
    assert not check.is_valid(body + b" ", "1700000000", signature)
    assert not check.is_valid(body, "1700000000", sign("other-secret", 1_700_000_000, body))
    # A signature made more than five minutes ago is refused even when it matches.
    stale = SignatureVerifier(SIGNING_SECRET, clock=At(1_700_000_000 + 301))
    assert not stale.is_valid(body, "1700000000", signature)


async def test_signed_headers_let_tests_tamper(
    signed_slack: SignedSlack, recording_app: RecordingApp, fake_clock: Callable[[], float]
) -> None:
    body = b'{"type":"url_verification","challenge":"x"}'
    stale_ts = int(fake_clock()) - 600

    await signed_slack.raw(body, headers=signed_slack.signed_headers(body))
    await signed_slack.raw(body + b" ", headers=signed_slack.signed_headers(body))
    await signed_slack.raw(body, headers=signed_slack.signed_headers(body, timestamp=stale_ts))

    check = verifier(fake_clock)
    verdicts = [is_signed(r.headers, r.body, check) for r in recording_app.received]
    assert verdicts == [True, False, False]


# --- slash commands and events ------------------------------------------------------------------


async def test_slash_command_is_signed_form_with_working_trigger_and_response_url(
    signed_slack: SignedSlack,
    recording_app: RecordingApp,
    fake_slack: FakeSlack,
    slack_client: AsyncWebClient,
    fake_clock: Callable[[], float],
) -> None:
    fake_slack.add_user("ULEAD", "lea")
    fake_slack.add_channel("CGENERAL", "general", members=["ULEAD"])

    delivery = await signed_slack.slash_command("ULEAD", "start")

    received = recording_app.last
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert is_signed(received.headers, received.body, verifier(fake_clock))
    fields = form(received.body)
    assert {k: fields[k] for k in ("command", "text", "user_id", "user_name", "channel_name")} == {
        "command": "/partner",
        "text": "start",
        "user_id": "ULEAD",
        "user_name": "lea",
        "channel_name": "general",
    }
    assert fields["trigger_id"] == delivery.trigger_id == signed_slack.last_trigger_id
    assert fields["response_url"] == delivery.response_url
    assert delivery.status == 200

    opened = await slack_client.views_open(trigger_id=fields["trigger_id"], view=tour_modal())
    async with (
        aiohttp.ClientSession() as session,
        session.post(fields["response_url"], json={"text": "Opening the form"}) as answer,
    ):
        assert answer.status == 200
    assert opened["view"]["callback_id"] == "tour.launch"
    assert [r["body"] for r in fake_slack.responses] == [{"text": "Opening the form"}]


async def test_event_envelope_and_retry_headers(
    signed_slack: SignedSlack, recording_app: RecordingApp, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U001", "ana")

    first = await signed_slack.app_home_opened("U001")
    retry = await signed_slack.event(
        recording_app.last_json()["event"], event_id=first.event_id, retry_num=1
    )

    original, replay = (json.loads(r.body) for r in recording_app.received)
    assert original["type"] == "event_callback"
    assert original["event"]["type"] == "app_home_opened"
    assert original["authorizations"][0]["user_id"] == fake_slack.bot_user_id
    assert replay["event_id"] == original["event_id"] == retry.event_id
    assert "X-Slack-Retry-Num" not in recording_app.received[0].headers
    assert recording_app.last.headers["X-Slack-Retry-Num"] == "1"
    assert recording_app.last.headers["X-Slack-Retry-Reason"] == "http_timeout"


async def test_event_ids_are_unique(signed_slack: SignedSlack, recording_app: RecordingApp) -> None:
    ids = {(await signed_slack.event({"type": "app_mention"})).event_id for _ in range(3)}
    assert len(ids) == 3


async def test_a_dm_arrives_in_the_channel_the_bot_posts_to(
    signed_slack: SignedSlack,
    recording_app: RecordingApp,
    fake_slack: FakeSlack,
    slack_client: AsyncWebClient,
) -> None:
    fake_slack.add_user("U001", "ana")
    posted = await slack_client.chat_postMessage(channel="U001", text="What do you need?")

    await signed_slack.dm("U001", "More focus time", thread_ts=posted["ts"])

    event = recording_app.last_json()["event"]
    assert (event["channel"], event["channel_type"]) == (posted["channel"], "im")
    assert (event["user"], event["text"], event["thread_ts"]) == (
        "U001",
        "More focus time",
        posted["ts"],
    )


async def test_url_verification(signed_slack: SignedSlack, recording_app: RecordingApp) -> None:
    recording_app.reply = {"challenge": "abc"}
    delivery = await signed_slack.url_verification("abc")
    assert recording_app.last_json()["type"] == "url_verification"
    assert delivery.json == {"challenge": "abc"}


# --- interactions -------------------------------------------------------------------------------


async def test_block_action_takes_the_element_from_the_message(
    signed_slack: SignedSlack,
    recording_app: RecordingApp,
    fake_slack: FakeSlack,
    slack_client: AsyncWebClient,
    fake_clock: Callable[[], float],
) -> None:
    fake_slack.add_user("U001", "ana")
    vote = {
        "type": "button",
        "text": {"type": "plain_text", "text": "Vote"},
        "action_id": "theme.vote",
        "value": '{"theme": 2}',
    }
    await slack_client.chat_postMessage(
        channel="U001",
        text="Vote for a theme",
        blocks=[{"type": "actions", "block_id": "theme.2", "elements": [vote]}],
    )
    message = fake_slack.messages[0]

    delivery = await signed_slack.block_action("U001", "theme.vote", message=message)

    assert is_signed(recording_app.last.headers, recording_app.last.body, verifier(fake_clock))
    sent = payload(recording_app.last.body)
    assert sent["type"] == "block_actions"
    assert sent["actions"][0] | {"action_ts": None} == {
        "action_id": "theme.vote",
        "block_id": "theme.2",
        "type": "button",
        "value": '{"theme": 2}',
        "text": vote["text"],
        "action_ts": None,
    }
    assert sent["container"] == {
        "type": "message",
        "channel_id": message["channel"],
        "message_ts": message["ts"],
        "is_ephemeral": False,
    }
    assert sent["response_url"] == delivery.response_url
    assert sent["trigger_id"] == delivery.trigger_id
    await slack_client.views_open(trigger_id=sent["trigger_id"], view=tour_modal())

    # A button the message does not show cannot be clicked, and nothing is sent.
    with pytest.raises(LookupError, match=r"theme\.2/theme\.vote"):
        await signed_slack.block_action("U001", "theme.veto", message=message)
    assert len(recording_app.received) == 1


async def test_block_action_picks_an_option_by_value(
    signed_slack: SignedSlack, recording_app: RecordingApp, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U001", "ana")
    status = {
        "type": "static_select",
        "action_id": "checkin.status",
        "options": [
            {"text": {"type": "plain_text", "text": label}, "value": label.lower()}
            for label in ("On track", "At risk")
        ],
    }
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "?"}, "accessory": status}]
    home = {"id": "VHOME", "type": "home", "blocks": blocks}

    await signed_slack.block_action("U001", "checkin.status", view=home, selected_option="at risk")

    action = payload(recording_app.last.body)["actions"][0]
    assert action["type"] == "static_select"
    assert action["selected_option"]["text"]["text"] == "At risk"
    with pytest.raises(LookupError, match="no option"):
        await signed_slack.block_action("U001", "checkin.status", view=home, selected_option="x")


async def test_view_submission_checks_values_against_the_view(
    signed_slack: SignedSlack,
    recording_app: RecordingApp,
    fake_slack: FakeSlack,
    slack_client: AsyncWebClient,
) -> None:
    fake_slack.add_user("ULEAD", "lea")
    view = await open_tour_modal(fake_slack, slack_client, "ULEAD")

    with pytest.raises(LookupError, match="no input block 'title'"):
        await signed_slack.view_submission("ULEAD", view, {"title": {"text": "x"}})
    with pytest.raises(LookupError, match="holds action_id 'text'"):
        await signed_slack.view_submission("ULEAD", view, {"name": {"value": "x"}})
    with pytest.raises(ValueError, match="required input 'name' is empty"):
        await signed_slack.view_submission("ULEAD", view, {})
    assert recording_app.received == []

    delivery = await signed_slack.view_submission("ULEAD", view["id"], {"name": {"text": "Q3"}})

    sent = payload(recording_app.last.body)
    assert sent["type"] == "view_submission"
    assert sent["view"]["callback_id"] == "tour.launch"
    assert sent["view"]["private_metadata"] == '{"team": "CTEAM"}'
    assert sent["view"]["state"]["values"] == {
        "name": {"text": {"type": "plain_text_input", "value": "Q3"}},
        "note": {"text": {"type": "plain_text_input", "value": None}},
    }
    # The app answered with an empty 200, which closes the modal.
    assert delivery.problems == []
    assert fake_slack.view_stack("ULEAD") == []


@pytest.mark.parametrize(
    ("reply", "stack_size", "problem"),
    [
        # errors keep the modal open for the user to fix
        ({"response_action": "errors", "errors": {"name": "Too short"}}, 1, None),
        # clear closes every view
        ({"response_action": "clear"}, 0, None),
        # push stacks a second view
        ({"response_action": "push", "view": tour_modal()}, 2, None),
        # an update Slack would refuse (title over 24) is reported, the modal stays
        (
            {
                "response_action": "update",
                "view": tour_modal() | {"title": {"type": "plain_text", "text": "t" * 25}},
            },
            1,
            "/title/text",
        ),
    ],
)
async def test_the_apps_answer_to_a_submission_acts_on_the_stack(
    signed_slack: SignedSlack,
    recording_app: RecordingApp,
    fake_slack: FakeSlack,
    slack_client: AsyncWebClient,
    reply: dict[str, Any],
    stack_size: int,
    problem: str | None,
) -> None:
    fake_slack.add_user("ULEAD", "lea")
    view = await open_tour_modal(fake_slack, slack_client, "ULEAD")
    recording_app.reply = reply

    delivery = await signed_slack.view_submission("ULEAD", view, {"name": {"text": "Q3"}})

    assert len(fake_slack.view_stack("ULEAD")) == stack_size
    if problem is None:
        assert delivery.problems == []
    else:
        assert any(problem in p for p in delivery.problems)
        assert delivery.problems[0] in fake_slack.warnings


async def test_view_closed_only_when_the_view_asks_for_it(
    signed_slack: SignedSlack,
    recording_app: RecordingApp,
    fake_slack: FakeSlack,
    slack_client: AsyncWebClient,
) -> None:
    fake_slack.add_user("ULEAD", "lea")
    silent = await open_tour_modal(fake_slack, slack_client, "ULEAD")
    with pytest.raises(ValueError, match="notify_on_close"):
        await signed_slack.view_closed("ULEAD", silent)

    noisy = await open_tour_modal(fake_slack, slack_client, "ULEAD", notify_on_close=True)
    await signed_slack.view_closed("ULEAD", noisy)

    sent = payload(recording_app.last.body)
    assert (sent["type"], sent["view"]["id"], sent["is_cleared"]) == (
        "view_closed",
        noisy["id"],
        False,
    )
    assert fake_slack.view_stack("ULEAD") == []


# --- Socket Mode --------------------------------------------------------------------------------


def fresh_ids_removed(sent: dict[str, Any]) -> dict[str, Any]:
    """A payload without what each delivery gets anew (its trigger_id and response_url)."""
    return {k: v for k, v in sent.items() if k not in {"trigger_id", "response_url"}}


async def test_socket_mode_carries_the_payloads_http_posts(
    signed_slack: SignedSlack,
    recording_app: RecordingApp,
    socket_slack: SocketSlack,
    recording_socket_app: RecordingSocketApp,
    fake_slack: FakeSlack,
    slack_client: AsyncWebClient,
) -> None:
    fake_slack.add_user("ULEAD", "lea")
    fake_slack.add_channel("CGENERAL", "general", members=["ULEAD"])
    vote = {"type": "button", "text": {"type": "plain_text", "text": "Vote"}, "action_id": "vote"}
    await slack_client.chat_postMessage(
        channel="ULEAD", text="Vote", blocks=[{"type": "actions", "elements": [vote]}]
    )
    message = fake_slack.messages[0]

    sender: SlackSender
    for sender in (signed_slack, socket_slack):
        await sender.slash_command("ULEAD", "start")
        await sender.event({"type": "app_mention", "text": "hi"}, event_id="Ev0SAME")
        await sender.block_action("ULEAD", "vote", message=message)

    command, event, action = recording_app.received
    over_http = [form(command.body), json.loads(event.body), payload(action.body)]
    kinds = [request.type for request in recording_socket_app.requests]
    assert kinds == ["slash_commands", "events_api", "interactive"]
    for posted, request in zip(over_http, recording_socket_app.requests, strict=True):
        assert fresh_ids_removed(request.payload) == fresh_ids_removed(posted)


async def test_socket_mode_retries_and_acks(
    socket_slack: SocketSlack, recording_socket_app: RecordingSocketApp, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U001", "ana")

    first = await socket_slack.app_home_opened("U001")
    event = recording_socket_app.requests[-1].payload["event"]
    await socket_slack.event(event, event_id=first.event_id, retry_num=2, retry_reason="timeout")
    recording_socket_app.reply = {"text": "an answer"}
    answered = await socket_slack.slash_command("U001", "help")

    original, retry, _ = recording_socket_app.requests
    assert (original.retry_attempt, original.retry_reason) == (0, "")
    assert (retry.retry_attempt, retry.retry_reason) == (2, "timeout")
    assert retry.payload["event_id"] == first.event_id
    assert (first.status, first.json, first.text) == (200, None, "")
    assert answered.json == {"text": "an answer"}
    assert answered.trigger_id == socket_slack.last_trigger_id


async def test_socket_mode_settles_a_submission_by_its_ack(
    socket_slack: SocketSlack,
    recording_socket_app: RecordingSocketApp,
    fake_slack: FakeSlack,
    slack_client: AsyncWebClient,
) -> None:
    fake_slack.add_user("ULEAD", "lea")
    view = await open_tour_modal(fake_slack, slack_client, "ULEAD")

    recording_socket_app.reply = {"response_action": "errors", "errors": {"name": "Too short"}}
    kept = await socket_slack.view_submission("ULEAD", view, {"name": {"text": "Q"}})
    assert fake_slack.view_stack("ULEAD") == [view["id"]]
    recording_socket_app.reply = None
    closed = await socket_slack.view_submission("ULEAD", view, {"name": {"text": "Q3"}})

    assert (kept.problems, closed.problems) == ([], [])
    assert fake_slack.view_stack("ULEAD") == []


# --- against a real Bolt app --------------------------------------------------------------------


def tour_bolt_app(fake: FakeSlack) -> AsyncApp:
    """A Bolt app that opens a modal on /partner and DMs the leader when it is submitted."""
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    bolt = AsyncApp(client=client, signing_secret=SIGNING_SECRET)

    @bolt.command("/partner")
    async def start(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=tour_modal())
        await respond("Opening the tour form")

    @bolt.view("tour.launch")
    async def launch(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        name = view["state"]["values"]["name"]["text"]["value"]
        await client.chat_postMessage(channel=body["user"]["id"], text=f"Tour {name} launched")

    return bolt


async def launch_a_tour(slack: SlackSender, fake: FakeSlack) -> None:
    """/partner start, then submit the modal it opened, checking what the user sees."""
    fake.add_user("ULEAD", "lea")
    command = await slack.slash_command("ULEAD", "start")
    await fake.wait_for(lambda: bool(fake.views and fake.responses))
    view = next(iter(fake.views.values()))
    submitted = await slack.view_submission("ULEAD", view, {"name": {"text": "Q3"}})
    await fake.wait_for(lambda: bool(fake.dms_to("ULEAD")))

    assert command.status == submitted.status == 200
    assert fake.responses[0]["body"]["text"] == "Opening the tour form"
    assert fake.dms_to("ULEAD")[0]["text"] == "Tour Q3 launched"
    assert fake.view_stack("ULEAD") == []


@pytest.fixture
async def bolt_url(fake_slack: FakeSlack) -> AsyncIterator[str]:
    runner = web.AppRunner(tour_bolt_app(fake_slack).web_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    await runner.cleanup()


async def test_a_bolt_app_accepts_the_signed_requests(bolt_url: str, fake_slack: FakeSlack) -> None:
    # Bolt checks signatures against the real time, so this signer uses it too.
    async with SignedSlack(bolt_url, SIGNING_SECRET, fake_slack, clock=time.time) as slack:
        await launch_a_tour(slack, fake_slack)
        forged = await slack.raw(
            b"command=/partner",
            headers={"X-Slack-Signature": "v0=00", "X-Slack-Request-Timestamp": "1"},
            content_type="application/x-www-form-urlencoded",
        )
    assert forged.status == 401


async def test_a_bolt_app_in_socket_mode_takes_the_same_requests(
    fake_slack: FakeSlack, fake_clock: Callable[[], float]
) -> None:
    handler = AsyncSocketModeHandler(tour_bolt_app(fake_slack), fake_slack.app_token)
    try:
        await handler.connect_async()  # type: ignore[no-untyped-call]
        await fake_slack.wait_for_socket_client()
        await launch_a_tour(SocketSlack(fake_slack, clock=fake_clock), fake_slack)
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
