"""The start-up check's rules: the back-off, which Slack answers stop the bot, how a failure is
put in one line, and what /healthz is told. The process-level behaviour is in
tests/test_startup_processes.py."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.socket_client import self_check
from bot.startup import (
    SlackStatus,
    TokenRefused,
    backoff_seconds,
    one_line,
    refused_error,
    retry_after,
    unless_stopped,
)


def slack_error(error: str, *, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    response = AsyncSlackResponse(
        client=None,  # type: ignore[arg-type]
        http_verb="POST",
        api_url="https://slack.test/api/auth.test",
        req_args={},
        data={"ok": False, "error": error},
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError(f"The request to the Slack API failed: {error}", response)


@pytest.mark.parametrize(
    ("attempt", "seconds"),
    [
        (1, 0.5),  # the first retry is quick: a blip
        (2, 1.0),
        (3, 2.0),
        (6, 16.0),
        (7, 30.0),  # capped: at most two attempts a minute for a long outage
        (1000, 30.0),  # no overflow however long it lasts
    ],
)
def test_backoff_doubles_to_a_cap(attempt: int, seconds: float) -> None:
    assert backoff_seconds(attempt) == seconds


@pytest.mark.parametrize(
    ("error", "refused"),
    [
        (slack_error("invalid_auth"), "invalid_auth"),  # a wrong token
        (slack_error("token_revoked"), "token_revoked"),  # revoked since
        (slack_error("not_allowed_token_type"), "not_allowed_token_type"),  # xoxb for xapp
        (slack_error("missing_scope"), "missing_scope"),  # an app token without connections:write
        (slack_error("ratelimited", status=429), None),  # wait and try again
        (slack_error("internal_error"), None),  # Slack's trouble, not the token's
        (ConnectionRefusedError("refused"), None),  # out of reach
        (TimeoutError(), None),
    ],
)
def test_only_a_refusal_stops_the_bot(error: BaseException, refused: str | None) -> None:
    assert refused_error(error) == refused


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (slack_error("ratelimited", status=429), "HTTP 429 ratelimited"),
        (
            ConnectionRefusedError("[Errno 111]\n  Connection refused"),
            "ConnectionRefusedError: [Errno 111] Connection refused",
        ),
        (TimeoutError(), "no answer in time"),
        (OSError(), "OSError"),
    ],
)
def test_a_failure_is_one_line(error: BaseException, line: str) -> None:
    assert one_line(error) == line


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [({"Retry-After": "30"}, 30.0), ({}, None), ({"Retry-After": "soon"}, None)],
)
def test_retry_after_of_a_429(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after(slack_error("ratelimited", status=429, headers=headers)) == seconds


def test_a_refusal_names_the_setting_and_what_to_do() -> None:
    message = str(TokenRefused("SLACK_APP_TOKEN", "invalid_auth"))
    assert message.startswith("Slack refused SLACK_APP_TOKEN at start (invalid_auth): ")
    assert "connections:write" in message
    assert "\n" not in message


async def test_health_hears_of_a_lost_connection_before_the_client_does() -> None:
    connected = True

    async def is_connected() -> bool:
        return connected

    status = SlackStatus(problem=None, checked=True, connected=is_connected)
    assert await status.describe() is None
    connected = False
    assert await status.describe() == "Socket Mode connection lost; reconnecting"
    status.problem = "Socket Mode not connected (HTTP 503); attempt 1, next in 0.5 s"
    assert await status.describe() == status.problem


async def test_a_stop_interrupts_a_call_in_progress() -> None:
    stop = asyncio.Event()
    cancelled = asyncio.Event()

    async def slow_call() -> str:
        try:
            await asyncio.Event().wait()  # a Slack that never answers
        finally:
            cancelled.set()
        return "never"

    asyncio.get_running_loop().call_soon(stop.set)
    started = time.monotonic()
    assert await unless_stopped(slow_call(), stop) == (False, None)
    assert time.monotonic() - started < 1
    assert cancelled.is_set()


def test_the_socket_mode_adapter_says_what_it_misses() -> None:
    class OlderClient:
        current_session = None

    problem = self_check(OlderClient())  # type: ignore[arg-type]
    assert problem is not None
    assert problem.startswith("slack_sdk's SocketModeClient lacks aiohttp_client_session, ")
    assert " current_session," not in problem  # it has that one
