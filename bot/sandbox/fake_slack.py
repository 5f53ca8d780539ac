"""A fake Slack Web API served over real HTTP on 127.0.0.1: it keeps a workspace's state and answers
the methods Partnerbot uses the way Slack does, including Block Kit limits, expiring trigger_ids,
response_urls and 429/5xx faults, and serves Socket Mode on the URL apps.connections.open returns.
Tests and `partnerbot demo` point slack_sdk's base_url at it.

It can hold several workspaces (`add_team`): users and channels belong to one team, each bot token
speaks for its team (an organisation's token for every team of its Enterprise Grid org), every
call records whose token it carried, and a call that reaches into a team its token does not speak
for is refused as Slack would (channel_not_found / user_not_found) and noted in
`cross_team_violations`, which tests assert is empty.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import itertools
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.sandbox.block_kit import validate_blocks, validate_message, validate_view
from bot.sandbox.faults import Fault, FaultPlan, RateLimitViolation
from bot.sandbox.socket_mode import DisconnectReason, EnvelopeType, SocketModeLink

JsonDict = dict[str, Any]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# Slack lets an app use a response_url five times (within 30 minutes).
RESPONSE_URL_USES = 5
# A modal's view stack holds at most three views.
MAX_VIEW_STACK = 3


@dataclass
class ApiCall:
    """One Web API request the fake answered (faulted and refused calls included); `team_id`
    is the team whose token it carried (an organisation's enterprise id for an org-wide token;
    None when the token was missing or unknown)."""

    method: str
    args: JsonDict
    ok: bool
    error: str | None
    http_status: int
    at: float
    team_id: str | None = None


@dataclass
class SlackTeam:
    """One workspace the fake serves."""

    team_id: str
    name: str
    bot_token: str
    bot_user_id: str
    enterprise_id: str | None = None

    @property
    def domain(self) -> str:
        return "".join(c for c in self.name.lower() if c.isalnum()) or "workspace"


@dataclass(frozen=True)
class CrossTeamViolation:
    """A call whose token speaks for `token_team` that touched `target` (a user or channel) of
    `target_team`: Slack refuses it, and an app that makes it is using the wrong token."""

    method: str
    token_team: str
    target: str
    target_team: str


@dataclass(frozen=True)
class _Caller:
    """Whom a call's token speaks for: `label` (a team id, or the enterprise id of an org-wide
    token) and the teams it may touch."""

    label: str
    teams: frozenset[str]
    enterprise_id: str | None = None


@dataclass(frozen=True)
class _OAuthGrant:
    """An install a person approved: the code's workspace, installer and kind."""

    team_id: str
    user_id: str
    org_wide: bool


@dataclass
class _Trigger:
    user_id: str
    issued_at: float
    used: bool = False


class _Refusal(Exception):
    """An API error Slack reports as HTTP 200 with ok:false."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []


def _slack_messages(problems: list[str], prefix: str = "") -> list[str]:
    """Problems in Slack's response_metadata.messages format."""
    formatted = []
    for problem in problems:
        pointer, _, message = problem.partition(": ")
        formatted.append(f"[ERROR] {message} [json-pointer:{prefix}{pointer}]")
    return formatted


def _timestamp_arg(value: Any, default: float) -> float:
    """A Slack timestamp argument ("1712345678.000200"); absent or empty means `default`."""
    if value in (None, ""):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _Refusal("invalid_ts_oldest") from None


def _flag(value: Any) -> bool:
    # Form-encoded and query arguments arrive as strings; JSON ones as booleans.
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


class FakeSlack:
    """Slack workspaces and their Web API. `async with FakeSlack() as fake:` serves it. The
    constructor's team is the default one: helpers given no `team` act in it."""

    def __init__(
        self,
        *,
        enterprise_id: str | None = None,
        team_id: str = "T00000001",
        team_name: str = "Acme",
        bot_token: str = "xoxb-fake-token",  # noqa: S107 - a fake, not a secret
        bot_user_id: str = "UPARTNERBOT",
        bot_id: str = "BPARTNERBOT",
        clock: Callable[[], float] = time.time,
        trigger_ttl: float = 3.0,
        app_id: str = "APARTNERBOT",
        app_token: str = "xapp-fake-token",  # noqa: S107 - a fake, not a secret
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.teams: dict[str, SlackTeam] = {
            team_id: SlackTeam(team_id, team_name, bot_token, bot_user_id, enterprise_id)
        }
        self.team_domain = self.teams[team_id].domain
        # enterprise id -> the bot token of the app's org-wide install there
        self.org_tokens: dict[str, str] = {}
        self.cross_team_violations: list[CrossTeamViolation] = []
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.app_token = app_token
        self.verification_token = "fake-verification-token"
        # The app's OAuth credentials (Basic Information > App Credentials) and its redirect
        # URL (OAuth & Permissions), for installs by OAuth (`authorize_url`, oauth.v2.access).
        self.client_id = "1111111111.2222222222"
        self.client_secret = "fake-client-secret"
        self.oauth_redirect_url: str | None = None
        self._oauth_codes: dict[str, _OAuthGrant] = {}
        self.trigger_ttl = trigger_ttl
        self.latency = 0.0
        self._clock = clock

        self.users: dict[str, JsonDict] = {}
        self.channels: dict[str, JsonDict] = {}
        self._members: dict[str, list[str]] = {}
        self._dm_by_user: dict[str, str] = {}
        self.messages: list[JsonDict] = []
        self.deleted_messages: list[JsonDict] = []
        self.ephemerals: list[JsonDict] = []
        self.views: dict[str, JsonDict] = {}
        self.home_views: dict[str, JsonDict] = {}
        self._view_user: dict[str, str] = {}
        self._view_stacks: dict[str, list[str]] = {}
        self.responses: list[JsonDict] = []
        self.warnings: list[str] = []
        self.calls: list[ApiCall] = []
        self._triggers: dict[str, _Trigger] = {}
        self._response_url_uses: dict[str, int] = {}
        self._faults = FaultPlan(clock)
        self._serial = itertools.count(1)
        self._arrivals = itertools.count(1)
        self._latest_arrival = 0
        self._last_ts_micros = 0
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

        self._methods: dict[str, Callable[[JsonDict, _Caller], JsonDict]] = {
            "auth.test": self._auth_test,
            "team.info": self._team_info,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.list": self._conversations_list,
            "conversations.history": self._conversations_history,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "apps.connections.open": self._apps_connections_open,
        }

        self.app = web.Application()
        self.app.router.add_route("*", "/api/{method}", self._handle_api)
        self.app.router.add_post("/response/{url_id}", self._handle_response_url)
        self.app.router.add_get("/oauth/v2/authorize", self._handle_authorize)
        self._socket_mode = SocketModeLink(
            app_id=app_id, warnings=self.warnings, notify=self._notify
        )
        self._socket_mode.route(self.app)

        # Slack lists the app's own bot user and Slackbot (which is *not* flagged is_bot) among
        # a workspace's users; code that builds a team from users.list must skip both.
        self.add_user(
            bot_user_id, "partnerbot", real_name="Partnerbot", tz="America/Los_Angeles", is_bot=True
        )
        self.users[bot_user_id]["profile"]["bot_id"] = bot_id
        self.add_user("USLACKBOT", "slackbot", real_name="Slackbot", tz="America/Los_Angeles")

    @property
    def bot_token(self) -> str:
        """The default team's bot token (assign to it to revoke or rotate it)."""
        return self.teams[self.team_id].bot_token

    @bot_token.setter
    def bot_token(self, token: str) -> None:
        self.teams[self.team_id].bot_token = token

    def add_team(
        self,
        team_id: str,
        name: str,
        *,
        bot_token: str,
        enterprise_id: str | None = None,
        bot_user_id: str | None = None,
    ) -> SlackTeam:
        """Another workspace, with the app installed (its bot user and `bot_token`)."""
        if team_id in self.teams:
            raise ValueError(f"team {team_id!r} already exists")
        if any(t.bot_token == bot_token for t in self.teams.values()):
            raise ValueError("each team needs its own bot token")
        bot_user = bot_user_id or f"UBOT{team_id}"
        team = SlackTeam(team_id, name, bot_token, bot_user, enterprise_id)
        self.teams[team_id] = team
        self.add_user(
            bot_user,
            "partnerbot",
            real_name="Partnerbot",
            tz="America/Los_Angeles",
            is_bot=True,
            team=team_id,
        )
        self.users[bot_user]["profile"]["bot_id"] = self.bot_id
        return team

    def add_org_install(self, enterprise_id: str, *, bot_token: str) -> None:
        """An org-wide install on Enterprise Grid: `bot_token` speaks for every team of
        `enterprise_id` (those added with that enterprise_id, now or later)."""
        self.org_tokens[enterprise_id] = bot_token

    def _team(self, team: str | None) -> SlackTeam:
        try:
            return self.teams[team or self.team_id]
        except KeyError:
            raise KeyError(f"unknown team {team!r}; add it with add_team first") from None

    def _caller(self, token: str) -> _Caller | None:
        for team in self.teams.values():
            if team.bot_token == token:
                return _Caller(team.team_id, frozenset({team.team_id}), team.enterprise_id)
        for enterprise_id, org_token in self.org_tokens.items():
            if org_token == token:
                teams = frozenset(
                    t.team_id for t in self.teams.values() if t.enterprise_id == enterprise_id
                )
                return _Caller(enterprise_id, teams, enterprise_id)
        return None

    def team_of_user(self, user_id: str) -> str:
        return str(self.users[user_id]["team_id"])

    def team_of_channel(self, channel_id: str) -> str:
        channel = self.channels[channel_id]
        return str(channel["context_team_id"])

    def calls_by_team(self) -> dict[str | None, list[ApiCall]]:
        """The calls made so far, by the team whose token they carried."""
        grouped: dict[str | None, list[ApiCall]] = {}
        for call in self.calls:
            grouped.setdefault(call.team_id, []).append(call)
        return grouped

    def _reach(self, caller: _Caller, method: str, kind: str, target: str, team_id: str) -> None:
        """Refuse (as Slack does: the object is not there for this token) and record a call
        whose token does not speak for `team_id`, the team `target` belongs to."""
        if team_id not in caller.teams:
            self.cross_team_violations.append(
                CrossTeamViolation(method, caller.label, target, team_id)
            )
            raise _Refusal(f"{kind}_not_found")

    def _bot_in(self, channel: JsonDict) -> bool:
        bot = self.teams[channel["context_team_id"]].bot_user_id
        return bot in self._members[channel["id"]]

    # --- installs by OAuth --------------------------------------------------------------

    def issue_oauth_code(
        self, team: str | None = None, *, user_id: str | None = None, org_wide: bool = False
    ) -> str:
        """What Slack's authorize page does once a person approves the install: a one-time
        code for the app to exchange (oauth.v2.access). `org_wide` installs into the whole
        Enterprise Grid organisation of `team` (its token: `add_org_install`)."""
        home = self._team(team)
        if org_wide and (home.enterprise_id is None or home.enterprise_id not in self.org_tokens):
            raise ValueError(f"team {home.team_id!r} has no org-wide token; add_org_install first")
        installer = user_id or next(
            (
                uid
                for uid, user in self.users.items()
                if user["team_id"] == home.team_id and not user["is_bot"] and uid != "USLACKBOT"
            ),
            "UINSTALLER",
        )
        code = f"code-{uuid.uuid4().hex}"
        self._oauth_codes[code] = _OAuthGrant(home.team_id, installer, org_wide)
        return code

    async def _handle_authorize(self, request: web.Request) -> web.StreamResponse:
        """Slack's authorize page, approved at once: back to the app's redirect URL with a code
        and the state it was given. `team` (which Slack takes too) picks the workspace; `user`
        the installer; `org_wide=1` installs into the team's organisation."""
        query = request.query
        if query.get("client_id") != self.client_id:
            return web.Response(status=400, text="invalid_client_id")
        redirect = query.get("redirect_uri") or self.oauth_redirect_url
        if not redirect:
            return web.Response(status=400, text="no redirect URL configured for the app")
        try:
            code = self.issue_oauth_code(
                query.get("team") or None,
                user_id=query.get("user") or None,
                org_wide=_flag(query.get("org_wide")),
            )
        except (KeyError, ValueError) as error:
            return web.Response(status=400, text=str(error))
        location = f"{redirect}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        raise web.HTTPFound(location)

    def _oauth_v2_access(self, request: web.Request, args: JsonDict) -> JsonDict:
        client_id, client_secret = args.get("client_id"), args.get("client_secret")
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(encoded).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise _Refusal("invalid_client_id") from None
            client_id, _, client_secret = decoded.partition(":")
        if client_id != self.client_id:
            raise _Refusal("invalid_client_id")
        if client_secret != self.client_secret:
            raise _Refusal("bad_client_secret")
        grant = self._oauth_codes.pop(str(args.get("code", "")), None)
        if grant is None:
            raise _Refusal("invalid_code")
        team = self.teams[grant.team_id]
        answer: JsonDict = {
            "app_id": self.app_id,
            "authed_user": {"id": grant.user_id},
            "scope": "commands,chat:write,im:write,users:read",
            "token_type": "bot",
            "bot_user_id": team.bot_user_id,
            "enterprise": (
                {"id": team.enterprise_id, "name": f"Org {team.enterprise_id}"}
                if team.enterprise_id
                else None
            ),
            "is_enterprise_install": grant.org_wide,
        }
        if grant.org_wide:
            assert team.enterprise_id is not None
            answer.update(access_token=self.org_tokens[team.enterprise_id], team=None)
        else:
            answer.update(access_token=team.bot_token, team={"id": team.team_id, "name": team.name})
        return answer

    # --- serving ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeSlack is already started")
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            # Open websockets would hold up the runner's cleanup; close them first.
            await self._socket_mode.close()
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeSlack is not started; call `await fake.start()` first")
        return f"http://127.0.0.1:{self._port}/"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}api/"

    # --- workspace ---------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        tz: str = "America/New_York",
        is_bot: bool = False,
        deleted: bool = False,
        is_admin: bool = False,
        is_owner: bool = False,
        team: str | None = None,
    ) -> JsonDict:
        """A person (or bot) in `team` (default: the default team)."""
        home = self._team(team)
        real = real_name if real_name is not None else name
        user: JsonDict = {
            "id": user_id,
            "team_id": home.team_id,
            "name": name,
            "deleted": deleted,
            "real_name": real,
            "tz": tz,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(self._clock()),
            "profile": {
                "real_name": real,
                "real_name_normalized": real,
                "display_name": name,
                "display_name_normalized": name,
                "email": f"{name}@{home.domain}.example.com",
                "team": home.team_id,
                "status_emoji": "",
                "status_text": "",
                "status_expiration": 0,
            },
        }
        self.users[user_id] = user
        return self._user_view(user)

    def set_status(
        self, user_id: str, *, emoji: str = "", text: str = "", expiration: int = 0
    ) -> None:
        """A person's Slack status, as users.info and users.list show it; `expiration` is a
        Unix time (0: none). Like Slack, an expired status is cleared when it is next read."""
        profile = self.users[user_id]["profile"]
        profile.update(status_emoji=emoji, status_text=text, status_expiration=expiration)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        members: tuple[str, ...] | list[str] = (),
        is_private: bool = False,
        bot_is_member: bool = True,
        is_archived: bool = False,
        team: str | None = None,
    ) -> JsonDict:
        """A channel of `team` (default: the default team)."""
        home = self._team(team)
        channel: JsonDict = {
            "id": channel_id,
            "name": name,
            "is_channel": not is_private,
            "is_group": is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": is_private,
            "is_archived": is_archived,
            "is_general": name == "general",
            "created": int(self._clock()),
            "context_team_id": home.team_id,
        }
        member_ids = list(members)
        if bot_is_member and home.bot_user_id not in member_ids:
            member_ids.append(home.bot_user_id)
        self.channels[channel_id] = channel
        self._members[channel_id] = member_ids
        return self._channel_view(channel)

    def dm_channel_id(self, user_id: str) -> str:
        """The bot's DM channel with a user (created on first use, stable afterwards)."""
        if user_id not in self.users:
            raise KeyError(f"unknown user {user_id!r}")
        existing = self._dm_by_user.get(user_id)
        if existing is not None:
            return existing
        channel_id = f"D{user_id[1:]}" if len(user_id) > 1 else f"D{next(self._serial):08d}"
        home = self._team(self.users[user_id]["team_id"])
        self.channels[channel_id] = {
            "id": channel_id,
            "is_im": True,
            "is_org_shared": False,
            "user": user_id,
            "created": int(self._clock()),
            "is_user_deleted": bool(self.users[user_id]["deleted"]),
            "context_team_id": home.team_id,
        }
        self._members[channel_id] = [home.bot_user_id, user_id]
        self._dm_by_user[user_id] = channel_id
        return channel_id

    def next_ts(self) -> str:
        """A message timestamp from the fake clock, strictly increasing like Slack's."""
        micros = max(int(self._clock() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    # --- interaction helpers -----------------------------------------------------------------

    def issue_trigger_id(self, user_id: str) -> str:
        """A trigger_id as Slack puts in an interaction: single use, expires after trigger_ttl."""
        team_id = self.team_of_user(user_id) if user_id in self.users else self.team_id
        trigger_id = f"{next(self._serial)}.{int(self._clock())}.{team_id.lower()}"
        self._triggers[trigger_id] = _Trigger(user_id=user_id, issued_at=self._clock())
        return trigger_id

    def new_response_url(self) -> str:
        """A response_url on this server; what is posted there lands in `responses`."""
        url_id = f"R{next(self._serial):08d}"
        self._response_url_uses[url_id] = 0
        return f"{self.base_url}response/{url_id}"

    def settle_view_submission(self, user_id: str, view_id: str, response: Any) -> list[str]:
        """Apply an app's answer to a view_submission to the view stack, as Slack would.

        Empty body closes the view; response_action update/push/clear act on the stack; errors
        keep it. Returns the problems Slack would refuse (also recorded in `warnings`).
        """
        stack = self._view_stacks.setdefault(user_id, [])
        action = response.get("response_action") if isinstance(response, Mapping) else None
        if action is None:
            self.close_view(user_id, view_id)
            return []
        if action == "clear":
            stack.clear()
            return []
        if action == "errors":
            errors = response.get("errors")
            if not isinstance(errors, Mapping) or not errors:
                return self._warn(["/errors: response_action errors needs an errors object"])
            return []
        if action not in ("update", "push"):
            return self._warn([f"/response_action: unknown {action!r}"])
        view = response.get("view")
        if not isinstance(view, Mapping):
            return self._warn([f"response_action {action}: /view: required"])
        problems = validate_view(view)
        if problems:
            return self._warn([f"response_action {action}: {p}" for p in problems])
        if action == "update":
            current = self.views[view_id]
            current.update(self._view_content(view))
            current["hash"] = self._new_hash()
        else:
            if len(stack) >= MAX_VIEW_STACK:
                return self._warn(["response_action push: push_limit_reached"])
            self._push_view(user_id, view)
        return []

    def close_view(self, user_id: str, view_id: str) -> None:
        """The user closed a modal view (or it was submitted): it and views above it go."""
        stack = self._view_stacks.get(user_id, [])
        if view_id in stack:
            del stack[stack.index(view_id) :]

    def _warn(self, problems: list[str]) -> list[str]:
        self.warnings.extend(problems)
        return problems

    # --- inspection --------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    def dms_to(self, user_id: str) -> list[JsonDict]:
        return [m for m in self.messages if m["dm_user"] == user_id]

    def messages_in(self, channel_id: str) -> list[JsonDict]:
        return [m for m in self.messages if m["channel"] == channel_id]

    def view_stack(self, user_id: str) -> list[str]:
        """Ids of the modal views open for a user, root first."""
        return list(self._view_stacks.get(user_id, []))

    @property
    def rate_limit_violations(self) -> list[RateLimitViolation]:
        return self._faults.violations

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until predicate() holds, re-checking after every request the fake handles."""
        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(predicate)
            except TimeoutError:
                recent = self.calls[-10:]
                lines = [
                    f"  {c.method} -> {'ok' if c.ok else c.error} (HTTP {c.http_status})"
                    for c in recent
                ]
                summary = "\n".join(lines) if lines else "  (no API calls at all)"
                raise TimeoutError(
                    f"condition not met within {timeout}s; last {len(recent)} of "
                    f"{len(self.calls)} calls:\n{summary}"
                ) from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- Socket Mode -------------------------------------------------------------------------

    @property
    def socket_clients(self) -> int:
        """How many Socket Mode clients are connected (and have had their hello)."""
        return self._socket_mode.client_count

    @property
    def socket_connections_opened(self) -> int:
        """Socket Mode connections accepted since the fake started, closed ones included."""
        return self._socket_mode.connections_opened

    async def wait_for_socket_client(self, timeout: float = 5.0) -> None:
        """Wait until a Socket Mode client is connected and greeted, so envelopes can go out."""
        try:
            await self.wait_for(lambda: self.socket_clients > 0, timeout)
        except TimeoutError as error:
            raise TimeoutError(f"no Socket Mode client connected: {error}") from None

    async def socket_send(
        self,
        kind: EnvelopeType,
        payload: JsonDict,
        *,
        timeout: float = 5.0,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> JsonDict | None:
        """Push `payload` to a connected client in a Socket Mode envelope and wait for the ack.

        Returns the ack's payload (a slash command's or interaction's answer), None when the ack
        carries none. Raises TimeoutError without an ack, ConnectionError if the client leaves
        first. retry_attempt/retry_reason ride on events_api envelopes only, as on Slack's.
        """
        envelope: JsonDict = {
            "envelope_id": str(uuid.uuid4()),
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        return await self._socket_mode.push(envelope, timeout=timeout)

    async def socket_disconnect(self, reason: DisconnectReason = "refresh_requested") -> None:
        """Send every client Slack's `disconnect` message; a client then opens a new connection."""
        await self._socket_mode.disconnect(reason)

    async def socket_drop(self, *, refuse_new: bool = False) -> None:
        """Close every Socket Mode connection without warning (a network failure); with
        `refuse_new`, refuse new ones until `socket_accept()` (an outage of Slack's side)."""
        self._socket_mode.refusing = refuse_new
        await self._socket_mode.drop()

    def socket_accept(self) -> None:
        """Accept Socket Mode connections again after `socket_drop(refuse_new=True)`."""
        self._socket_mode.refusing = False

    async def revoke_app_token(self) -> None:
        """The app-level token is revoked: apps.connections.open refuses it (invalid_auth)
        from now on, and its connections are closed."""
        self.app_token = f"xapp-revoked-{uuid.uuid4().hex[:8]}"
        await self._socket_mode.drop()

    # --- faults ------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        error: str | None = None,
        retry_after: int = 1,
        times: int = 1,
        team: str | None = None,
    ) -> None:
        """Make the next `times` calls to `method` fail (429/5xx, or ok:false `error`); with
        `team`, only calls carrying that team's token (an org token: its enterprise id)."""
        self._faults.fail_next(
            method, status=status, error=error, retry_after=retry_after, times=times, team=team
        )

    def inject_faults(
        self,
        method: str | None = None,
        *,
        rate_429: float = 0.0,
        rate_5xx: float = 0.0,
        retry_after: int = 1,
        seed: int = 0,
        team: str | None = None,
    ) -> None:
        """Fail calls at random (reproducibly, by seed); method None means every method, team
        None every team."""
        self._faults.inject(
            method,
            rate_429=rate_429,
            rate_5xx=rate_5xx,
            retry_after=retry_after,
            seed=seed,
            team=team,
        )

    def rate_limit_everything(
        self, *, seconds: float, retry_after: int, team: str | None = None
    ) -> None:
        """A rate-limit storm: every call (of `team`, or of every team) answered 429
        (Retry-After `retry_after`) for `seconds` from now, on the fake's clock."""
        self._faults.storm(seconds=seconds, retry_after=retry_after, team=team)

    def clear_faults(self) -> None:
        self._faults.clear()

    # --- HTTP --------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        # Numbered on arrival, before any await, so calls already in flight when a 429 goes
        # out are not counted as ignoring it.
        arrival = next(self._arrivals)
        self._latest_arrival = arrival
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        args: JsonDict = {}
        caller: _Caller | None = None
        try:
            args = await self._read_args(request)
            if method == "oauth.v2.access":  # the app's credentials, not a token
                response, error = (
                    web.json_response({"ok": True, **self._oauth_v2_access(request, args)}),
                    None,
                )
                args.pop("client_secret", None)
            else:
                token = args.pop("token", None) or self._bearer(request)
                caller = self._caller(token) if token else None
                response, error = self._answer(method, args, token, caller, arrival)
        except _Refusal as refusal:
            response = web.json_response({"ok": False, "error": refusal.error})
            error = refusal.error
        self.calls.append(
            ApiCall(
                method=method,
                args=args,
                ok=error is None,
                error=error,
                http_status=response.status,
                at=self._clock(),
                team_id=caller.label if caller is not None else None,
            )
        )
        await self._notify()
        return response

    def _answer(
        self,
        method: str,
        args: JsonDict,
        token: str | None,
        caller: _Caller | None,
        arrival: int,
    ) -> tuple[web.Response, str | None]:
        handler = self._methods.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}), "unknown_method"
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"}), "not_authed"
        if method == "apps.connections.open":
            authorized = token == self.app_token
            caller = _Caller(self.team_id, frozenset({self.team_id}))
        else:
            authorized = caller is not None
        if not authorized or caller is None:
            return web.json_response({"ok": False, "error": "invalid_auth"}), "invalid_auth"
        fault = self._faults.arrive(
            method,
            args,
            arrival=arrival,
            latest_arrival=self._latest_arrival,
            team=caller.label,
        )
        if fault is not None:
            return self._fault_response(fault)
        try:
            body = handler(args, caller)
        except _Refusal as refusal:
            refused: JsonDict = {"ok": False, "error": refusal.error}
            if refusal.messages:
                refused["response_metadata"] = {"messages": refusal.messages}
            return web.json_response(refused), refusal.error
        return web.json_response({"ok": True, **body}), None

    @staticmethod
    def _fault_response(fault: Fault) -> tuple[web.Response, str | None]:
        if fault.status == 200:
            return web.json_response({"ok": False, "error": fault.error}), fault.error
        if fault.status == 429:
            return (
                web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(fault.retry_after)},
                ),
                "ratelimited",
            )
        # Slack's edge answers 5xx with an HTML/text page, not JSON.
        return (
            web.Response(status=fault.status, text="fake slack: server error"),
            f"http_{fault.status}",
        )

    @staticmethod
    def _bearer(request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    @staticmethod
    async def _read_args(request: web.Request) -> JsonDict:
        # slack_sdk sends JSON bodies, form bodies and GET query strings depending on the method.
        args: JsonDict = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except json.JSONDecodeError:
                    raise _Refusal("invalid_json") from None
                if not isinstance(body, dict):
                    raise _Refusal("invalid_json")
                args.update(body)
            elif request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                form = await request.post()
                args.update({k: v for k, v in form.items() if isinstance(v, str)})
        # Form-encoded calls carry structured arguments as JSON strings.
        for key in ("blocks", "attachments", "view", "metadata"):
            value = args.get(key)
            if isinstance(value, str) and value:
                # Undecodable values stay strings: the method reports them as malformed.
                with contextlib.suppress(json.JSONDecodeError):
                    args[key] = json.loads(value)
        return args

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        url_id = request.match_info["url_id"]
        try:
            uses = self._response_url_uses.get(url_id)
            if uses is None:
                return web.Response(status=404, text="no_service")
            if uses >= RESPONSE_URL_USES:
                self.warnings.append(f"response_url {url_id} used more than {RESPONSE_URL_USES}x")
                return web.Response(status=404, text="used_url")
            self._response_url_uses[url_id] = uses + 1
            try:
                body = json.loads(await request.text())
            except json.JSONDecodeError:
                return web.Response(status=400, text="invalid_payload")
            if not isinstance(body, dict):
                return web.Response(status=400, text="invalid_payload")
            blocks = body.get("blocks")
            if not body.get("delete_original") and not body.get("text") and not blocks:
                return web.Response(status=400, text="no_text")
            if validate_message(body.get("text"), blocks if isinstance(blocks, list) else None):
                return web.Response(status=400, text="invalid_blocks")
            self.responses.append({"url_id": url_id, "body": body})
            return web.Response(text="ok")
        finally:
            await self._notify()

    # --- views of stored objects ----------------------------------------------------------

    def _user_view(self, user: JsonDict) -> JsonDict:
        view = copy.deepcopy(user)
        expiration = view["profile"].get("status_expiration") or 0
        if expiration and expiration <= self._clock():
            view["profile"].update(status_emoji="", status_text="", status_expiration=0)
        # Offsets follow the fake clock, so a test that moves the clock across DST sees Slack's
        # new tz_offset just like a real workspace does.
        local = datetime.fromtimestamp(self._clock(), ZoneInfo(user["tz"]))
        offset = local.utcoffset()
        view["tz_label"] = local.tzname()
        view["tz_offset"] = int(offset.total_seconds()) if offset is not None else 0
        return view

    def _channel_view(self, channel: JsonDict) -> JsonDict:
        view = copy.deepcopy(channel)
        if not channel["is_im"]:
            members = self._members[channel["id"]]
            view["is_member"] = self._bot_in(channel)
            view["num_members"] = len(members)
        return view

    def _visible_channel(self, channel_id: Any, caller: _Caller, method: str) -> JsonDict:
        channel = self.channels.get(channel_id) if isinstance(channel_id, str) else None
        if channel is None:
            raise _Refusal("channel_not_found")
        self._reach(caller, method, "channel", channel["id"], channel["context_team_id"])
        # A bot cannot see private channels it is not in: Slack says channel_not_found.
        if channel.get("is_private") and not self._bot_in(channel):
            raise _Refusal("channel_not_found")
        return channel

    def _known_user(self, user_id: Any, caller: _Caller, method: str) -> JsonDict:
        user = self.users.get(user_id) if isinstance(user_id, str) else None
        if user is None:
            raise _Refusal("user_not_found")
        self._reach(caller, method, "user", user["id"], user["team_id"])
        return user

    def _message_view(self, record: JsonDict) -> JsonDict:
        message: JsonDict = {
            "type": "message",
            "user": record["user"],
            "bot_id": record["bot_id"],
            "app_id": self.app_id,
            "text": record["text"],
            "ts": record["ts"],
            "team": record["team"],
        }
        if record["blocks"] is not None:
            message["blocks"] = copy.deepcopy(record["blocks"])
        if record["thread_ts"] is not None:
            message["thread_ts"] = record["thread_ts"]
        if record.get("edited") is not None:
            message["edited"] = record["edited"]
        return message

    # --- methods: auth, team -----------------------------------------------------------------

    def _auth_test(self, args: JsonDict, caller: _Caller) -> JsonDict:
        if caller.label not in self.teams:
            # An org-wide token: Slack answers for the organisation, not a workspace.
            return {
                "url": f"https://{caller.label.lower()}.enterprise.slack.com/",
                "team": "",
                "user": "partnerbot",
                "team_id": "",
                "user_id": "",
                "bot_id": self.bot_id,
                "enterprise_id": caller.label,
                "is_enterprise_install": True,
            }
        team = self.teams[caller.label]
        answer: JsonDict = {
            "url": f"https://{team.domain}.slack.com/",
            "team": team.name,
            "user": self.users[team.bot_user_id]["name"],
            "team_id": team.team_id,
            "user_id": team.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }
        if team.enterprise_id is not None:
            answer["enterprise_id"] = team.enterprise_id
        return answer

    def _team_info(self, args: JsonDict, caller: _Caller) -> JsonDict:
        wanted = args.get("team") or (caller.label if caller.label in self.teams else None)
        if wanted not in caller.teams:
            raise _Refusal("team_not_found")
        team = self.teams[wanted]
        return {
            "team": {
                "id": team.team_id,
                "name": team.name,
                "domain": team.domain,
                "email_domain": "",
                "icon": {"image_default": True},
                **({"enterprise_id": team.enterprise_id} if team.enterprise_id else {}),
            }
        }

    def _apps_connections_open(self, args: JsonDict, caller: _Caller) -> JsonDict:
        assert self._port is not None  # the fake answers requests only once started
        return {"url": self._socket_mode.issue_url(self._port)}

    # --- methods: chat -----------------------------------------------------------------------

    def _post_target(
        self, channel_arg: Any, caller: _Caller, method: str
    ) -> tuple[str, str | None]:
        """(channel id, DM user) for a channel argument; a user id means that user's DM."""
        if isinstance(channel_arg, str) and channel_arg in self.users:
            user = self._known_user(channel_arg, caller, method)
            if user["deleted"]:
                raise _Refusal("account_inactive")
            if user["is_bot"]:
                raise _Refusal("cannot_dm_bot")
            return self.dm_channel_id(channel_arg), channel_arg
        channel = self._visible_channel(channel_arg, caller, method)
        if channel["is_im"]:
            if self.users[channel["user"]]["deleted"]:
                raise _Refusal("account_inactive")
            return channel["id"], channel["user"]
        if channel["is_archived"]:
            raise _Refusal("is_archived")
        if not self._bot_in(channel):
            raise _Refusal("not_in_channel")
        return channel["id"], None

    def _message_content(
        self, args: JsonDict, *, required: bool = True
    ) -> tuple[str | None, list[Any] | None]:
        text = args.get("text")
        blocks = args.get("blocks")
        if text is not None and not isinstance(text, str):
            text = str(text)
        if blocks is not None and not isinstance(blocks, list):
            raise _Refusal("invalid_blocks_format")
        if required and not text and not blocks and not args.get("attachments"):
            raise _Refusal("no_text")
        if text is not None and len(text) > 40_000:
            raise _Refusal("msg_too_long")
        if blocks:
            problems = validate_blocks(blocks, surface="message")
            if problems:
                raise _Refusal("invalid_blocks", _slack_messages(problems))
        return text, blocks

    def _note_missing_text(
        self, text: str | None, blocks: list[Any] | None, body: JsonDict
    ) -> None:
        # Slack accepts blocks without text but then notifications and screen readers get
        # nothing; it answers with a warning, which we keep so tests can assert on it.
        if blocks and not text:
            self.warnings.append("missing_text")
            body["warning"] = "missing_text"
            body["response_metadata"] = {"warnings": ["missing_text"]}

    def _chat_post_message(self, args: JsonDict, caller: _Caller) -> JsonDict:
        channel_id, dm_user = self._post_target(args.get("channel"), caller, "chat.postMessage")
        text, blocks = self._message_content(args)
        team = self.teams[self.channels[channel_id]["context_team_id"]]
        record: JsonDict = {
            "channel": channel_id,
            "ts": self.next_ts(),
            "text": text or "",
            "blocks": blocks,
            "thread_ts": args.get("thread_ts") or None,
            "dm_user": dm_user,
            "team": team.team_id,
            "user": team.bot_user_id,
            "bot_id": self.bot_id,
            "metadata": args.get("metadata"),
        }
        self.messages.append(record)
        body: JsonDict = {
            "channel": channel_id,
            "ts": record["ts"],
            "message": self._message_view(record),
        }
        self._note_missing_text(text, blocks, body)
        return body

    def _chat_post_ephemeral(self, args: JsonDict, caller: _Caller) -> JsonDict:
        method = "chat.postEphemeral"
        user_id = self._known_user(args.get("user"), caller, method)["id"]
        channel_id, dm_user = self._post_target(args.get("channel"), caller, method)
        members = self._members[channel_id]
        if user_id not in members:
            raise _Refusal("user_not_in_channel")
        text, blocks = self._message_content(args)
        message_ts = self.next_ts()
        self.ephemerals.append(
            {
                "channel": channel_id,
                "user": user_id,
                "text": text or "",
                "blocks": blocks,
                "thread_ts": args.get("thread_ts") or None,
                "message_ts": message_ts,
                "dm_user": dm_user,
                "team": self.channels[channel_id]["context_team_id"],
            }
        )
        body: JsonDict = {"message_ts": message_ts}
        self._note_missing_text(text, blocks, body)
        return body

    def _find_message(self, args: JsonDict, caller: _Caller, method: str) -> JsonDict:
        channel_id = args.get("channel")
        self._visible_channel(channel_id, caller, method)
        for record in self.messages:
            if record["channel"] == channel_id and record["ts"] == args.get("ts"):
                return record
        raise _Refusal("message_not_found")

    def _chat_update(self, args: JsonDict, caller: _Caller) -> JsonDict:
        record = self._find_message(args, caller, "chat.update")
        text, blocks = self._message_content(args)
        if "text" in args:
            record["text"] = text or ""
        # Slack keeps a message's blocks unless the update sends blocks (an empty list clears).
        if "blocks" in args:
            record["blocks"] = blocks
        record["edited"] = {"user": record["user"], "ts": self.next_ts()}
        body: JsonDict = {
            "channel": record["channel"],
            "ts": record["ts"],
            "text": record["text"],
            "message": self._message_view(record),
        }
        self._note_missing_text(record["text"], record["blocks"], body)
        return body

    def _chat_delete(self, args: JsonDict, caller: _Caller) -> JsonDict:
        record = self._find_message(args, caller, "chat.delete")
        self.messages.remove(record)
        self.deleted_messages.append(record)
        return {"channel": record["channel"], "ts": record["ts"]}

    # --- methods: conversations and users ----------------------------------------------------

    def _conversations_open(self, args: JsonDict, caller: _Caller) -> JsonDict:
        if args.get("channel"):
            channel = self._visible_channel(args["channel"], caller, "conversations.open")
            return {"channel": self._channel_view(channel), "no_op": True, "already_open": True}
        users = args.get("users")
        user_ids = users if isinstance(users, list) else str(users or "").split(",")
        user_ids = [u.strip() for u in user_ids if isinstance(u, str) and u.strip()]
        if not user_ids:
            raise _Refusal("users_list_not_supplied")
        if len(user_ids) > 1:
            # Partnerbot never opens group DMs; failing loudly beats pretending to support them.
            raise _Refusal("fake_slack_mpim_not_implemented")
        user_id = user_ids[0]
        user = self._known_user(user_id, caller, "conversations.open")
        if user["is_bot"]:
            raise _Refusal("cannot_dm_bot")
        existed = user_id in self._dm_by_user
        channel_id = self.dm_channel_id(user_id)
        if _flag(args.get("return_im")):
            opened = self._channel_view(self.channels[channel_id])
        else:
            opened = {"id": channel_id}
        return {"channel": opened, "no_op": existed, "already_open": existed}

    def _conversations_info(self, args: JsonDict, caller: _Caller) -> JsonDict:
        channel = self._visible_channel(args.get("channel"), caller, "conversations.info")
        return {"channel": self._channel_view(channel)}

    def _conversations_members(self, args: JsonDict, caller: _Caller) -> JsonDict:
        channel = self._visible_channel(args.get("channel"), caller, "conversations.members")
        page, next_cursor = self._page(self._members[channel["id"]], args)
        return {"members": page, "response_metadata": {"next_cursor": next_cursor}}

    def _listed_teams(self, args: JsonDict, caller: _Caller) -> frozenset[str]:
        """The teams a list method answers for: the token's, narrowed by a `team_id` argument
        (which an org-wide token needs to name one workspace)."""
        wanted = args.get("team_id")
        if not wanted:
            if caller.label == caller.enterprise_id:
                # Slack: team_id is "required if org token is used".
                raise _Refusal("missing_argument")
            return caller.teams
        if wanted not in caller.teams:
            raise _Refusal(
                "team_not_found" if wanted not in self.teams else "team_access_not_granted"
            )
        return frozenset({wanted})

    def _conversations_list(self, args: JsonDict, caller: _Caller) -> JsonDict:
        types = {t.strip() for t in str(args.get("types") or "public_channel").split(",")}
        exclude_archived = _flag(args.get("exclude_archived"))
        teams = self._listed_teams(args, caller)
        listed = []
        for channel in self.channels.values():
            if channel["context_team_id"] not in teams:
                continue
            if channel["is_im"]:
                kind = "im"
            elif channel["is_private"]:
                kind = "private_channel"
            else:
                kind = "public_channel"
            if kind not in types:
                continue
            if kind == "private_channel" and not self._bot_in(channel):
                continue
            if exclude_archived and channel.get("is_archived"):
                continue
            listed.append(self._channel_view(channel))
        page, next_cursor = self._page(listed, args)
        return {"channels": page, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_history(self, args: JsonDict, caller: _Caller) -> JsonDict:
        """A conversation's messages, newest first (thread replies left out, as Slack does),
        between `oldest` and `latest`; with `include_all_metadata` each carries its metadata."""
        channel = self._visible_channel(args.get("channel"), caller, "conversations.history")
        if not channel["is_im"] and not self._bot_in(channel):
            raise _Refusal("not_in_channel")
        oldest = _timestamp_arg(args.get("oldest"), 0.0)
        latest = _timestamp_arg(args.get("latest"), float("inf"))
        inclusive = _flag(args.get("inclusive"))
        with_metadata = _flag(args.get("include_all_metadata"))

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        found = []
        for record in reversed(self.messages):
            in_thread = record["thread_ts"] not in (None, record["ts"])
            if record["channel"] != channel["id"] or in_thread or not within(float(record["ts"])):
                continue
            message = self._message_view(record)
            if with_metadata and record.get("metadata"):
                message["metadata"] = copy.deepcopy(record["metadata"])
            found.append(message)
        page, next_cursor = self._page(found, args)
        return {
            "messages": page,
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _users_info(self, args: JsonDict, caller: _Caller) -> JsonDict:
        user = self._known_user(args.get("user"), caller, "users.info")
        return {"user": self._user_view(user)}

    def _users_list(self, args: JsonDict, caller: _Caller) -> JsonDict:
        teams = self._listed_teams(args, caller)
        everyone = [self._user_view(u) for u in self.users.values() if u["team_id"] in teams]
        page, next_cursor = self._page(everyone, args)
        return {
            "members": page,
            "cache_ts": int(self._clock()),
            "response_metadata": {"next_cursor": next_cursor},
        }

    @staticmethod
    def _page(items: list[Any], args: JsonDict) -> tuple[list[Any], str]:
        """One page of items and the cursor of the next ("" after the last), Slack-style."""
        raw_limit = args.get("limit")
        try:
            limit = int(raw_limit) if raw_limit not in (None, "") else DEFAULT_PAGE_SIZE
        except (TypeError, ValueError):
            raise _Refusal("invalid_limit") from None
        limit = min(limit, MAX_PAGE_SIZE) if limit > 0 else DEFAULT_PAGE_SIZE
        cursor = args.get("cursor") or ""
        start = 0
        if cursor:
            try:
                decoded = base64.b64decode(str(cursor), validate=True).decode()
                prefix, _, offset = decoded.partition(":")
                start = int(offset)
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise _Refusal("invalid_cursor") from None
            if prefix != "offset" or not 0 <= start <= len(items):
                raise _Refusal("invalid_cursor")
        end = start + limit
        next_cursor = (
            base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
        )
        return items[start:end], next_cursor

    # --- methods: views ----------------------------------------------------------------------

    def _trigger(self, trigger_id: Any, caller: _Caller, method: str) -> _Trigger:
        trigger = self._triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        if trigger is None:
            raise _Refusal("invalid_trigger_id")
        if trigger.user_id in self.users:
            # A trigger is issued in the team of the user who acted; another team's token
            # cannot open a modal with it.
            team_id = self.team_of_user(trigger.user_id)
            if team_id not in caller.teams:
                self.cross_team_violations.append(
                    CrossTeamViolation(method, caller.label, trigger.user_id, team_id)
                )
                raise _Refusal("invalid_trigger_id")
        if trigger.used:
            raise _Refusal("exchanged_trigger_id")
        if self._clock() - trigger.issued_at > self.trigger_ttl:
            raise _Refusal("expired_trigger_id")
        return trigger

    @staticmethod
    def _view_arg(args: JsonDict, *, expected_type: str | None) -> JsonDict:
        view = args.get("view")
        if not isinstance(view, dict):
            raise _Refusal("invalid_arguments", ["[ERROR] missing or malformed `view`"])
        if expected_type is not None and view.get("type") != expected_type:
            raise _Refusal(
                "invalid_arguments",
                [f"[ERROR] must be '{expected_type}' [json-pointer:/view/type]"],
            )
        problems = validate_view(view)
        if problems:
            raise _Refusal("invalid_arguments", _slack_messages(problems, "/view"))
        return view

    def _new_hash(self) -> str:
        return f"{int(self._clock())}.{next(self._serial):08x}"

    @staticmethod
    def _view_content(view: Mapping[str, Any]) -> JsonDict:
        content: JsonDict = {
            "type": view["type"],
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
        }
        for key in ("title", "submit", "close"):
            if view.get(key) is not None:
                content[key] = copy.deepcopy(view[key])
        return content

    def _store_view(
        self, view: Mapping[str, Any], user_id: str, *, root: str | None, previous: str | None
    ) -> JsonDict:
        external_id = view.get("external_id")
        if external_id and any(v["external_id"] == external_id for v in self.views.values()):
            raise _Refusal("duplicate_external_id")
        view_id = f"V{next(self._serial):08d}"
        team_id = self.team_of_user(user_id) if user_id in self.users else self.team_id
        stored: JsonDict = {
            "id": view_id,
            "team_id": team_id,
            **self._view_content(view),
            "state": {"values": {}},
            "hash": self._new_hash(),
            "root_view_id": root or view_id,
            "previous_view_id": previous,
            "app_id": self.app_id,
            "app_installed_team_id": team_id,
            "bot_id": self.bot_id,
        }
        self.views[view_id] = stored
        self._view_user[view_id] = user_id
        return stored

    def _push_view(self, user_id: str, view: Mapping[str, Any]) -> JsonDict:
        stack = self._view_stacks.setdefault(user_id, [])
        root = stack[0] if stack else None
        previous = stack[-1] if stack else None
        stored = self._store_view(view, user_id, root=root, previous=previous)
        stack.append(stored["id"])
        return stored

    def _views_open(self, args: JsonDict, caller: _Caller) -> JsonDict:
        trigger = self._trigger(args.get("trigger_id"), caller, "views.open")
        view = self._view_arg(args, expected_type="modal")
        # Opening a modal replaces whatever stack the user had.
        self._view_stacks[trigger.user_id] = []
        stored = self._push_view(trigger.user_id, view)
        trigger.used = True
        return {"view": stored}

    def _views_push(self, args: JsonDict, caller: _Caller) -> JsonDict:
        trigger = self._trigger(args.get("trigger_id"), caller, "views.push")
        view = self._view_arg(args, expected_type="modal")
        if len(self._view_stacks.get(trigger.user_id, [])) >= MAX_VIEW_STACK:
            raise _Refusal("push_limit_reached")
        stored = self._push_view(trigger.user_id, view)
        trigger.used = True
        return {"view": stored}

    def _views_update(self, args: JsonDict, caller: _Caller) -> JsonDict:
        view_id, external_id = args.get("view_id"), args.get("external_id")
        if view_id:
            current = self.views.get(view_id)
        elif external_id:
            current = next(
                (v for v in self.views.values() if v["external_id"] == external_id), None
            )
        else:
            raise _Refusal("invalid_arguments", ["[ERROR] view_id or external_id is required"])
        if current is None:
            raise _Refusal("not_found")
        if current["team_id"] not in caller.teams:
            self.cross_team_violations.append(
                CrossTeamViolation("views.update", caller.label, current["id"], current["team_id"])
            )
            raise _Refusal("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise _Refusal("hash_conflict")
        view = self._view_arg(args, expected_type=current["type"])
        current.update(self._view_content(view))
        current["hash"] = self._new_hash()
        return {"view": current}

    def _views_publish(self, args: JsonDict, caller: _Caller) -> JsonDict:
        user_id = self._known_user(args.get("user_id"), caller, "views.publish")["id"]
        current = self.home_views.get(user_id)
        if args.get("hash") and current is not None and args["hash"] != current["hash"]:
            raise _Refusal("hash_conflict")
        view = self._view_arg(args, expected_type="home")
        if current is None:
            current = self._store_view(view, user_id, root=None, previous=None)
            self.home_views[user_id] = current
        else:
            current.update(self._view_content(view))
            current["hash"] = self._new_hash()
        return {"view": current}
