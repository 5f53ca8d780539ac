"""Send the app what Slack sends it: slash commands, Events API callbacks and interaction payloads,
either signed over HTTP (SignedSlack) or in Socket Mode envelopes (SocketSlack), with one API so
a test reads the same whichever way the app is connected.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import aiohttp

from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_payloads import SlackPayloads
from bot.sandbox.socket_mode import EnvelopeType

JsonDict = dict[str, Any]
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def sign(signing_secret: str, timestamp: int, body: bytes) -> str:
    """Slack's request signature: v0= + hex HMAC-SHA256 of "v0:{timestamp}:{body}"."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    """What the app answered to one request, plus the ids Slack attached to it.

    In Socket Mode an acknowledgement is status 200, its payload `json` (None without one).
    """

    status: int
    text: str
    json: Any | None
    headers: Mapping[str, str]
    trigger_id: str | None = None
    response_url: str | None = None
    event_id: str | None = None
    # What Slack would refuse in the app's answer to a view_submission (see FakeSlack.warnings).
    problems: list[str] = field(default_factory=list)


class SlackSender(ABC):
    """What a user's actions make Slack send the app; subclasses carry it there."""

    def __init__(self, fake: FakeSlack, *, clock: Callable[[], float] = time.time) -> None:
        self.fake = fake
        self.payloads = SlackPayloads(fake, clock=clock)

    @property
    def last_trigger_id(self) -> str | None:
        return self.payloads.last_trigger_id

    @property
    def last_response_url(self) -> str | None:
        return self.payloads.last_response_url

    @abstractmethod
    async def deliver(
        self,
        kind: EnvelopeType,
        payload: Mapping[str, Any],
        *,
        retry_num: int | None = None,
        retry_reason: str = "",
    ) -> Delivery:
        """Carry one payload to the app and return its answer."""

    # --- slash commands and events -------------------------------------------------------------

    async def slash_command(
        self,
        user_id: str,
        text: str = "",
        *,
        command: str = "/partner",
        channel_id: str = "CGENERAL",
    ) -> Delivery:
        fields = self.payloads.slash_command(user_id, text, command=command, channel_id=channel_id)
        delivery = await self.deliver("slash_commands", fields)
        delivery.trigger_id = fields["trigger_id"]
        delivery.response_url = fields["response_url"]
        return delivery

    async def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        event_time: int | None = None,
    ) -> Delivery:
        """An Events API callback; pass the same event_id with retry_num to replay a retry."""
        envelope = self.payloads.event_callback(event, event_id=event_id, event_time=event_time)
        delivery = await self.deliver(
            "events_api", envelope, retry_num=retry_num, retry_reason=retry_reason
        )
        delivery.event_id = envelope["event_id"]
        return delivery

    async def app_home_opened(self, user_id: str, *, tab: str = "home") -> Delivery:
        return await self.event(self.payloads.app_home_opened_event(user_id, tab=tab))

    async def dm(self, user_id: str, text: str, *, thread_ts: str | None = None) -> Delivery:
        """The user writes to the bot in their DM (a `message` event, channel_type im)."""
        return await self.event(self.payloads.dm_event(user_id, text, thread_ts=thread_ts))

    # --- interactions --------------------------------------------------------------------------

    async def block_action(
        self,
        user_id: str,
        action_id: str,
        *,
        value: str | None = None,
        block_id: str | None = None,
        message: Mapping[str, Any] | None = None,
        view: Mapping[str, Any] | None = None,
        channel_id: str | None = None,
        selected_option: Mapping[str, Any] | str | None = None,
    ) -> Delivery:
        """A click on an element of a message or view (see SlackPayloads.block_actions)."""
        payload = self.payloads.block_actions(
            user_id,
            action_id,
            value=value,
            block_id=block_id,
            message=message,
            view=view,
            channel_id=channel_id,
            selected_option=selected_option,
        )
        delivery = await self.deliver("interactive", payload)
        delivery.trigger_id = payload["trigger_id"]
        delivery.response_url = payload.get("response_url")
        return delivery

    async def view_submission(
        self, user_id: str, view: Mapping[str, Any] | str, values: Mapping[str, Any]
    ) -> Delivery:
        """The user submits a modal. `values` is {block_id: {action_id: value}}, what the user
        entered, where a value is Slack's state object or, for text inputs, just the text; inputs
        left out are submitted with their initial value, as Slack does (see
        `SlackPayloads.view_submission`). The app's answer is applied to the fake's view stack
        (close, update, push, errors) as Slack would.
        """
        payload = self.payloads.view_submission(user_id, view, values)
        delivery = await self.deliver("interactive", payload)
        delivery.trigger_id = payload["trigger_id"]
        if delivery.status == 200:
            answer = delivery.json if delivery.text.strip() else None
            delivery.problems = self.fake.settle_view_submission(
                user_id, payload["view"]["id"], answer
            )
        return delivery

    async def view_closed(
        self, user_id: str, view: Mapping[str, Any] | str, *, is_cleared: bool = False
    ) -> Delivery:
        """The user closes a modal; Slack only tells the app if the view set notify_on_close."""
        payload = self.payloads.view_closed(user_id, view, is_cleared=is_cleared)
        return await self.deliver("interactive", payload)


class SignedSlack(SlackSender):
    """Posts signed requests to the app's /slack/events URL, as Slack would."""

    def __init__(
        self,
        app_url: str,
        signing_secret: str,
        fake: FakeSlack,
        *,
        clock: Callable[[], float] = time.time,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(fake, clock=clock)
        self.app_url = app_url
        self.signing_secret = signing_secret
        self._clock = clock
        self._session = session
        self._owns_session = session is None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session if this object created it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def signed_headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The two headers Slack signs a request with; pass a timestamp to forge a stale one."""
        ts = int(self._clock()) if timestamp is None else timestamp
        return {
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(self.signing_secret, ts, body),
        }

    async def raw(
        self, body: bytes, *, headers: Mapping[str, str], content_type: str = JSON
    ) -> Delivery:
        """Post exactly these bytes and headers (nothing is signed for you)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        all_headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0", **headers}
        async with self._session.post(self.app_url, data=body, headers=all_headers) as response:
            text = await response.text()
            return Delivery(
                status=response.status,
                text=text,
                json=_parse_json(text),
                headers=dict(response.headers),
            )

    async def deliver(
        self,
        kind: EnvelopeType,
        payload: Mapping[str, Any],
        *,
        retry_num: int | None = None,
        retry_reason: str = "",
    ) -> Delivery:
        headers: dict[str, str] = {}
        if kind == "events_api":
            body, content_type = json.dumps(payload).encode(), JSON
            if retry_num is not None:
                headers = {
                    "X-Slack-Retry-Num": str(retry_num),
                    "X-Slack-Retry-Reason": retry_reason,
                }
        elif kind == "slash_commands":
            body, content_type = urllib.parse.urlencode(payload).encode(), FORM
        else:
            # Interactions arrive form-encoded, the JSON inside a single `payload` field.
            body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
            content_type = FORM
        headers.update(self.signed_headers(body))
        return await self.raw(body, headers=headers, content_type=content_type)

    async def url_verification(self, challenge: str) -> Delivery:
        fields = {"token": self.fake.verification_token, "challenge": challenge}
        body = json.dumps({**fields, "type": "url_verification"}).encode()
        return await self.raw(body, headers=self.signed_headers(body))


class SocketSlack(SlackSender):
    """Pushes the same payloads to the app over the fake's Socket Mode connection.

    The app must be connected (`await fake.wait_for_socket_client()`); each call waits for the
    acknowledgement, at most `timeout` seconds.
    """

    def __init__(
        self, fake: FakeSlack, *, clock: Callable[[], float] = time.time, timeout: float = 5.0
    ) -> None:
        super().__init__(fake, clock=clock)
        self.timeout = timeout

    async def deliver(
        self,
        kind: EnvelopeType,
        payload: Mapping[str, Any],
        *,
        retry_num: int | None = None,
        retry_reason: str = "",
    ) -> Delivery:
        answer = await self.fake.socket_send(
            kind,
            dict(payload),
            timeout=self.timeout,
            retry_attempt=retry_num or 0,
            retry_reason=retry_reason if retry_num else "",
        )
        text = json.dumps(answer) if answer is not None else ""
        return Delivery(status=200, text=text, json=answer, headers={})


def _parse_json(text: str) -> Any | None:
    try:
        return json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        return None
