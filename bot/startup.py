"""The start-up check of the Slack tokens (auth.test; in Socket Mode one apps.connections.open),
what /healthz says about Slack, and the back-off both the check and Socket Mode retry with.

A token Slack refuses stops the bot with one line naming the setting; Slack out of reach is
retried with one log line per attempt until it answers or the bot is told to stop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.settings import Settings, SettingsError

log = logging.getLogger("bot.startup")

T = TypeVar("T")

# What Slack says about a token it will never accept: retrying does not help, a person must.
REFUSED_TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
        "missing_scope",
    }
)
WHAT_TO_DO = {
    "SLACK_BOT_TOKEN": "copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & "
    "Permissions page, or reinstall the app to the workspace if it was removed",
    "SLACK_APP_TOKEN": "make an app-level token with the connections:write scope under the "
    "app's Basic Information > App-Level Tokens (and turn Socket Mode on), or unset "
    "SLACK_APP_TOKEN to run in HTTP mode",
}
# Waits between attempts to reach Slack: doubling from half a second, at most 30 s.
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
# One start-up call may take this long before it counts as a failed attempt.
CHECK_CALL_TIMEOUT = 10


class TokenRefused(SettingsError):
    """Slack refused a token: the bot stops, and the message (one line) says which setting."""

    def __init__(self, setting: str, error: str, *, when: str = "at start") -> None:
        super().__init__(
            f"Slack refused {setting} {when} ({error}): {WHAT_TO_DO[setting]}. The bot has stopped."
        )
        self.setting = setting


@dataclass
class SlackStatus:
    """What /healthz reports about Slack: a reason while the tokens are being checked or the
    Socket Mode connection is down, None when all is well."""

    problem: str | None = "checking the Slack tokens"
    checked: bool = False
    # Set when Slack refused a token after the start: why the bot stopped.
    refused: TokenRefused | None = None
    # Socket Mode: whether the websocket is up right now (a lost connection shows at once,
    # before the client's watchdog notices and reconnects).
    connected: Callable[[], Awaitable[bool]] | None = field(default=None, repr=False)

    async def describe(self) -> str | None:
        if self.problem is not None:
            return self.problem
        if self.connected is not None and not await self.connected():
            return "Socket Mode connection lost; reconnecting"
        return None


def backoff_seconds(attempt: int) -> float:
    """The wait after failed attempt number `attempt` (1, 2, ...)."""
    doubled: float = FIRST_BACKOFF_SECONDS * 2 ** min(attempt - 1, 16)
    return min(MAX_BACKOFF_SECONDS, doubled)


def refused_error(error: BaseException) -> str | None:
    """Slack's error code when `error` says a token will never be accepted, else None."""
    if isinstance(error, SlackApiError):
        code = error.response.get("error") if error.response is not None else None
        if isinstance(code, str) and code in REFUSED_TOKEN_ERRORS:
            return code
    return None


def one_line(error: BaseException) -> str:
    """A failure to reach Slack in one short line: its kind and message."""
    if isinstance(error, SlackApiError) and error.response is not None:
        status, code = error.response.status_code, error.response.get("error")
        return f"HTTP {status}" + (f" {code}" if code else "")
    if isinstance(error, TimeoutError):
        return "no answer in time"
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:200]}" if text else type(error).__name__


def retry_after(error: BaseException) -> float | None:
    """Slack's Retry-After on a 429, in seconds."""
    response = error.response if isinstance(error, SlackApiError) else None
    if response is not None and response.status_code == 429:
        value = str(response.headers.get("Retry-After", ""))
        return float(value) if value.isdigit() else None
    return None


async def unless_stopped(work: Awaitable[T], stop: asyncio.Event) -> tuple[bool, T | None]:
    """(True, result) once `work` is done, or (False, None) as soon as `stop` is set (the work
    is cancelled): SIGTERM must not wait for a call to an unreachable Slack to time out."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if task.done():
        return True, task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return False, None


async def pause(seconds: float, stop: asyncio.Event) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile."""
    await unless_stopped(asyncio.sleep(seconds), stop)


async def call_until_answered(
    call: Callable[[], Awaitable[AsyncSlackResponse]],
    *,
    method: str,
    setting: str,
    where: str,
    status: SlackStatus,
    stop: asyncio.Event,
) -> AsyncSlackResponse | None:
    """Slack's answer to `call`; None if `stop` was set first. Refused → TokenRefused; out of
    reach, a 5xx or a 429 → one warning per attempt and another attempt after a back-off."""
    attempt = 0
    while not stop.is_set():
        try:
            done, response = await unless_stopped(call(), stop)
        except Exception as error:  # everything but a refusal is worth another attempt
            code = refused_error(error)
            if code is not None:
                raise TokenRefused(setting, code) from None
            attempt += 1
            delay = max(backoff_seconds(attempt), retry_after(error) or 0.0)
            reason = one_line(error)
            status.problem = (
                f"Slack not reachable at {where} ({method}: {reason}); "
                f"attempt {attempt}, next in {delay:g} s"
            )
            log.warning(
                "Slack not reachable; retrying",
                extra={"call": method, "attempt": attempt, "retry_in_s": delay, "reason": reason},
            )
            log.debug("%s failed", method, exc_info=error)
            await pause(delay, stop)
            continue
        if not done:
            return None
        assert response is not None
        if attempt:
            log.info("Slack answered", extra={"call": method, "attempts": attempt + 1})
        return response
    return None


@dataclass(frozen=True)
class CheckedSlack:
    # Who the bot token is: what Bolt's `authorize` hands every request, so no listener waits
    # on an auth.test of its own.
    identity: AuthorizeResult
    # Socket Mode: the URL apps.connections.open gave, for the first connection.
    socket_url: str | None = None


async def check_slack(
    settings: Settings, client: AsyncWebClient, status: SlackStatus, stop: asyncio.Event
) -> CheckedSlack | None:
    """Who the bot token is (auth.test), and in Socket Mode that the app token may open a
    connection; None if `stop` was set before Slack answered."""
    assert settings.slack_bot_token is not None
    where = settings.api_url
    identity = await call_until_answered(
        client.auth_test,
        method="auth.test",
        setting="SLACK_BOT_TOKEN",
        where=where,
        status=status,
        stop=stop,
    )
    if identity is None:
        return None
    app_token = settings.slack_app_token
    socket_url = None
    if app_token is not None:
        opened = await call_until_answered(
            lambda: client.apps_connections_open(app_token=app_token.get_secret_value()),
            method="apps.connections.open",
            setting="SLACK_APP_TOKEN",
            where=where,
            status=status,
            stop=stop,
        )
        if opened is None:
            return None
        socket_url = str(opened["url"])
    status.problem, status.checked = None, True
    log.info(
        "mode: one workspace (SLACK_BOT_TOKEN); Slack tokens checked",
        extra={
            "team_id": identity.get("team_id"),
            "bot_user_id": identity.get("user_id"),
        },
    )
    bot_token = settings.slack_bot_token.get_secret_value()
    return CheckedSlack(
        AuthorizeResult.from_auth_test_response(auth_test_response=identity, bot_token=bot_token),
        socket_url,
    )


async def identify(client: AsyncWebClient, bot_token: str) -> AuthorizeResult:
    """Who `bot_token` is, asked once (for apps started without the check: tests, benches)."""
    identity = await client.auth_test(token=bot_token)
    return AuthorizeResult.from_auth_test_response(auth_test_response=identity, bot_token=bot_token)
