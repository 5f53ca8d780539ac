"""Inbound abuse beyond tests/test_app.py (which covers forged, tampered, stale and non-numeric
signatures, cut-off JSON, a bad interaction payload, a body that is not UTF-8, and a 2 MB body):
bodies at and beyond the 1 MiB limit, with and without a Content-Length; and correctly signed
requests of kinds the bot does not handle or with fields missing — never a 5xx, never a
traceback in the answer, nothing stored, and the app keeps serving."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import MAX_BODY_BYTES
from bot.deps import Deps
from bot.sandbox.slack_requests import Delivery, SignedSlack
from tests.reliability.helpers import (
    Json,
    Seeded,
    changes,
    figure,
    send,
    send_command,
    send_event,
    snapshot,
    unhandled,
    view_payload,
    without_replies,
)

JSON = "application/json"
MiB = 1024 * 1024


def looks_like_a_traceback(text: str) -> bool:
    return "Traceback" in text or 'File "' in text or "Error:" in text


# --- bodies too large --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "signed"),
    [(MAX_BODY_BYTES + 1, True), (10 * MiB, True), (10 * MiB, False)],
    ids=["1MiB+1-signed", "10MiB-signed", "10MiB-unsigned"],
)
async def test_bodies_over_the_limit_get_413_before_anything_else(
    slack: SignedSlack, size: int, signed: bool
) -> None:
    body = b"x" * size
    headers = slack.signed_headers(body) if signed else {}
    started = time.perf_counter()
    answer = await slack.raw(body, headers=headers, content_type=JSON)
    took = time.perf_counter() - started
    figure(
        "inbound oversized body",
        bytes=size,
        signed=signed,
        http=answer.status,
        seconds=f"{took:.3f}",
    )
    assert answer.status == 413
    assert not looks_like_a_traceback(answer.text)
    assert (await slack.slash_command("ULEAD", "help")).status == 200


async def test_a_body_of_exactly_the_limit_is_read_and_judged_on_its_content(
    slack: SignedSlack,
) -> None:
    body = b"x" * MAX_BODY_BYTES
    answer = await slack.raw(body, headers=slack.signed_headers(body), content_type=JSON)
    assert answer.status == 400  # not JSON Slack would send: refused, but not for its size


@pytest.mark.parametrize("size", [2 * MiB, 10 * MiB], ids=["2MiB", "10MiB"])
async def test_a_chunked_body_without_content_length_is_cut_off_at_the_limit(
    slack: SignedSlack, size: int
) -> None:
    """Without a Content-Length the front door only learns the size while reading."""

    async def chunks() -> AsyncIterator[bytes]:
        piece = b"y" * 65536
        for _ in range(size // len(piece)):
            yield piece

    headers = {**slack.signed_headers(b"{}"), "Content-Type": JSON}
    async with (
        aiohttp.ClientSession() as session,
        session.post(slack.app_url, data=chunks(), headers=headers) as response,
    ):
        status, text = response.status, await response.text()
    figure("inbound chunked body", bytes=size, http=status)
    assert status == 413
    assert not looks_like_a_traceback(text)
    assert (await slack.slash_command("ULEAD", "help")).status == 200


# --- signed requests the bot does not expect ---------------------------------------------------

Build = Callable[[SignedSlack], tuple[str, Any]]


def _event(event: Json | None) -> Build:
    def build(slack: SignedSlack) -> tuple[str, Any]:
        envelope = slack.payloads.event_callback(event or {})
        if event is None:
            del envelope["event"]
        return "event", envelope

    return build


def _dm_without(*keys: str, **changed: Any) -> Build:
    """A DM from someone in no tour, no outcome request and no initiative: nothing to store."""

    def build(slack: SignedSlack) -> tuple[str, Any]:
        if "UDAN" not in slack.fake.users:
            slack.fake.add_user("UDAN", "dan", tz="UTC")
        dm = slack.payloads.dm_event("UDAN", "hello")
        for key in keys:
            dm.pop(key, None)
        dm.update(changed)
        return "event", slack.payloads.event_callback(dm)

    return build


def _click(change: Callable[[Json], object]) -> Build:
    def build(slack: SignedSlack) -> tuple[str, Any]:
        payload = slack.payloads.block_actions(
            "ULEAD", "tour.export", value="2", channel_id="CTEAM"
        )
        change(payload)
        return "interactive", payload

    return build


def _submit(callback_id: str, metadata: str, change: Callable[[Json], object]) -> Build:
    def build(slack: SignedSlack) -> tuple[str, Any]:
        payload = view_payload(
            slack, "UALICE", callback_id=callback_id, private_metadata=metadata, values={}
        )
        change(payload)
        return "interactive", payload

    return build


def _command(text: str, *, without: tuple[str, ...] = (), command: str = "/partner") -> Build:
    def build(slack: SignedSlack) -> tuple[str, Any]:
        fields = slack.payloads.slash_command("UBOB", text, command=command)
        for key in without:
            fields.pop(key)
        return "command", fields

    return build


def _interaction(payload: Json) -> Build:
    return lambda slack: ("interactive", payload)


TEAM = {"id": "T00000001"}

# Kinds the bot does not handle, and handled kinds with fields missing or of the wrong type.
CASES: dict[str, Build] = {
    "event: reaction_added (not subscribed)": _event(
        {"type": "reaction_added", "user": "UALICE", "reaction": "+1", "item": {}}
    ),
    "event: made-up type": _event({"type": "zz_not_a_thing"}),
    "event: no type": _event({"user": "UALICE"}),
    "event: envelope without event": _event(None),
    "event: app_home_opened without user": _event({"type": "app_home_opened", "tab": "home"}),
    "event: app_home_opened, messages tab": _event(
        {"type": "app_home_opened", "user": "UALICE", "tab": "messages"}
    ),
    "dm: without user": _dm_without("user"),
    "dm: without channel": _dm_without("channel"),
    "dm: without ts": _dm_without("ts", "event_ts"),
    "dm: without text": _dm_without("text"),
    "dm: text null": _dm_without(text=None),
    "dm: text a number": _dm_without(text=12),
    "dm: ts not a number": _dm_without(ts="yesterday"),
    "dm: user an object": _dm_without(user={"id": "UALICE"}),
    "dm: a bot's message": _dm_without(bot_id="B123"),
    "dm: an edit": _dm_without(subtype="message_changed"),
    "channel thread reply without channel": _event(
        {
            "type": "message",
            "user": "UBOB",
            "text": "x",
            "ts": "1.2",
            "thread_ts": "1.1",
            "channel_type": "channel",
        }
    ),
    "envelope: unknown type": _interaction({"type": "whatever", "team": TEAM}),
    "click: without actions": _click(lambda p: p.pop("actions")),
    "click: action without action_id": _click(lambda p: p.update(actions=[{"value": "2"}])),
    "click: value an object": _click(lambda p: p["actions"][0].update(value={"a": 1})),
    "click: without user": _click(lambda p: p.pop("user")),
    "click: user without id": _click(lambda p: p.update(user={})),
    "click: without trigger_id and response_url": _click(
        lambda p: (p.pop("trigger_id"), p.pop("response_url"))
    ),
    "click: without channel": _click(lambda p: p.pop("channel")),
    "submission: without view": _submit("tour.answers", "{}", lambda p: p.pop("view")),
    "submission: edit form without view.state": _submit(
        "tour.answers", '{"tour_id": 1, "mode": "edit"}', lambda p: p["view"].pop("state")
    ),
    "submission: state null": _submit(
        "checkins.answer", '{"checkin_id": 1}', lambda p: p["view"].update(state=None)
    ),
    "submission: values a list": _submit(
        "tour.launch", "", lambda p: p["view"].update(state={"values": []})
    ),
    "submission: an input that is not an object": _submit(
        "tour.launch", "", lambda p: p["view"].update(state={"values": {"tour.title": {"x": "y"}}})
    ),
    "submission: without callback_id": _submit("x", "", lambda p: p["view"].pop("callback_id")),
    "submission: metadata a list": _submit("checkins.answer", "[1]", lambda p: None),
    "submission: metadata not JSON": _submit("checkins.answer", "{tour", lambda p: None),
    "shortcut (none registered)": _interaction(
        {"type": "shortcut", "callback_id": "x", "team": TEAM, "user": {"id": "ULEAD"}}
    ),
    "block_suggestion (no options loader)": _interaction(
        {"type": "block_suggestion", "action_id": "x", "team": TEAM, "user": {"id": "ULEAD"}}
    ),
    "interaction without type": _interaction({"team": TEAM, "user": {"id": "ULEAD"}}),
    "command: without text": _command("", without=("text",)),
    "command: without command": _command("help", without=("command",)),
    "command: another command": _command("help", command="/other"),
    "command: without user_id": _command("win shipped", without=("user_id",)),
    "command: without trigger_id": _command("tour", without=("trigger_id",)),
}

# Each of these answered 500 (an exception inside Bolt, past the front door's JSON checks)
# until bot/app.py learnt to refuse them with a 400.
NOT_FOR_BOLT: dict[str, Build] = {
    "event: event null": lambda slack: (
        "event",
        {**slack.payloads.event_callback({}), "event": None},
    ),
    "click: actions empty": _click(lambda p: p.update(actions=[])),
    "click: actions null": _click(lambda p: p.update(actions=None)),
    "interaction: payload a JSON list": lambda slack: ("interactive", [1, 2]),
    "interaction: payload a JSON string": lambda slack: ("interactive", "hello"),
}
CASES.update(NOT_FOR_BOLT)


async def deliver(slack: SignedSlack, kind: str, payload: Any) -> Delivery:
    if kind == "event":
        return await send_event(slack, payload)
    if kind == "command":
        return await send_command(slack, payload)
    return await send(slack, payload)


async def test_signed_requests_of_unexpected_shapes_never_get_a_5xx(
    slack: SignedSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    statuses: dict[int, list[str]] = {}
    tracebacks, stored, crashed = [], {}, []
    with caplog.at_level(logging.INFO, logger="bot.errors"):
        for name, build in CASES.items():
            before = await snapshot(sessions)
            kind, payload = build(slack)
            errors_before = len(unhandled(caplog.records))
            answer = await deliver(slack, kind, payload)
            assert await deps.inflight.wait_idle(timeout=10)
            if len(unhandled(caplog.records)) > errors_before:
                crashed.append(name)
            statuses.setdefault(answer.status, []).append(name)
            if looks_like_a_traceback(answer.text):
                tracebacks.append(name)
            changed = without_replies(changes(before, await snapshot(sessions)))
            if changed:
                stored[name] = changed
    errors = unhandled(caplog.records)
    figure(
        "inbound unexpected shapes",
        requests=len(CASES),
        **{f"http_{status}": len(names) for status, names in sorted(statuses.items())},
        fivexx=sum(len(n) for s, n in statuses.items() if s >= 500),
        tracebacks=len(tracebacks),
        unhandled_errors=len(errors),
        stored=len(stored),
    )
    print("  404 (Bolt: no listener):", statuses.get(404, []))
    print("  answered 200 through the error handler ('unhandled error'):", crashed)
    print("  refused 400 by the front door:", statuses.get(400, []))
    assert [s for s in statuses if s >= 500] == [], statuses
    assert set(NOT_FOR_BOLT) <= set(statuses.get(400, [])), statuses
    assert tracebacks == []
    print("  stored:", {name: sorted(tables) for name, tables in stored.items()})
    assert stored == {}
    assert (await slack.slash_command("ULEAD", "help")).status == 200
