"""Global Bolt middleware: refuse requests from workspaces the bot is not installed in, hand
every listener the dependencies, bind the log context, and drop Slack retries of events that
have already been handled."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.deps import Deps
from bot.logs import bind
from bot.store.events import event_seen

log = logging.getLogger("bot.handlers")

Next = Callable[[], Awaitable[None]]


def describe_request(body: dict[str, Any]) -> str:
    """A short name for what Slack sent, for logs: `command /partner`, `event message`, ..."""
    if "command" in body:
        return f"command {body['command']}"
    kind = str(body.get("type", "unknown"))
    if kind == "event_callback":
        return f"event {body.get('event', {}).get('type', 'unknown')}"
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return f"action {actions[0].get('action_id', 'unknown')}"
    if kind in {"view_submission", "view_closed"}:
        return f"{kind} {body.get('view', {}).get('callback_id', 'unknown')}"
    return kind


def claimed_teams(body: dict[str, Any]) -> set[str | None]:
    """Every team a request says it comes from or acts in: the workspace, the acting user's,
    the modal's, the event author's. Bolt picks one of them for `context.team_id`
    (`view.app_installed_team_id` first), so a request could name our team in one place and
    another team everywhere else."""
    teams: set[str | None] = set()

    def note(value: object) -> None:
        if isinstance(value, str) and value:
            teams.add(value)
        elif isinstance(value, dict):
            note(value.get("id"))

    note(body.get("team_id"))
    note(body.get("team"))
    for part, keys in (
        ("user", ("team_id",)),
        ("view", ("team_id", "app_installed_team_id")),
        ("event", ("team", "user_team", "source_team")),
    ):
        section = body.get(part)
        if isinstance(section, dict):
            for key in keys:
                note(section.get(key))
    return teams


def request_team(body: dict[str, Any]) -> str | None:
    """The workspace a request comes from, as Slack names it: the envelope's or payload's team,
    else the acting user's, else the event's."""
    team = body.get("team")
    for value in (
        body.get("team_id"),
        team.get("id") if isinstance(team, dict) else None,
        (body.get("user") or {}).get("team_id") if isinstance(body.get("user"), dict) else None,
        (body.get("event") or {}).get("team") if isinstance(body.get("event"), dict) else None,
    ):
        if isinstance(value, str) and value:
            return value
    return None


def admitted(
    installed: AuthorizeResult | None,
    *,
    team_id: str | None,
    enterprise_id: str | None,
    also: frozenset[str] = frozenset(),
) -> bool:
    """Whether a request from `team_id` (in `enterprise_id`) is for the workspace the bot's
    token belongs to (`installed`, what Slack's auth.test said). An org-wide install has no
    team of its own and admits the teams of its enterprise; `also` names more teams, as a
    multi-workspace install would."""
    if team_id is not None and team_id in also:
        return True
    if installed is None:
        return False
    if enterprise_id and installed.enterprise_id and enterprise_id != installed.enterprise_id:
        return False
    if installed.team_id:
        return team_id == installed.team_id
    return bool(installed.enterprise_id) and enterprise_id == installed.enterprise_id


def install_middleware(
    app: AsyncApp, deps: Deps, *, also_admit: frozenset[str] = frozenset()
) -> None:
    @app.middleware
    async def refuse_other_workspaces(
        context: AsyncBoltContext, body: dict[str, Any], next: Next
    ) -> BoltResponse | None:
        # The bot's one token belongs to one workspace: a request claiming another team (which
        # only someone holding the signing secret, or Slack, can send) would otherwise act on
        # this workspace's directory and DMs in that team's name. Answered 200 so Slack does
        # not retry it, and nothing else is done.
        teams = {context.team_id} | claimed_teams(body)
        if not all(
            admitted(
                context.authorize_result,
                team_id=team,
                enterprise_id=context.enterprise_id,
                also=also_admit,
            )
            for team in teams
        ):
            log.warning(
                "request from another workspace refused",
                extra={
                    "request_team": ",".join(sorted(str(team) for team in teams)),
                    "request_enterprise": context.enterprise_id,
                    "request": describe_request(body),
                },
            )
            return BoltResponse(status=200, body="")
        if not context.team_id and context.is_enterprise_install:
            # An org-wide install's events name no team in their authorization, so Bolt leaves
            # `context.team_id` empty; the workspace is the one Slack says the request came from
            # (admitted above as a workspace of the organisation).
            workspace = request_team(body)
            if workspace is not None:
                context["team_id"] = workspace
                if context.enterprise_id:
                    await deps.tokens.note_workspace(workspace, context.enterprise_id)
        await next()
        return None

    @app.middleware
    async def provide_deps(context: AsyncBoltContext, body: dict[str, Any], next: Next) -> None:
        context["deps"] = deps
        if context.client is not None:
            deps.share_connections(context.client)
        bind(
            team=context.team_id,
            user=context.user_id,
            request=describe_request(body),
            event_id=body.get("event_id"),
        )
        await next()

    @app.middleware
    async def skip_processed_events(
        req: AsyncBoltRequest, body: dict[str, Any], next: Next
    ) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        retries = req.headers.get("x-slack-retry-num") or []
        retry = retries[0] if retries else None
        if event_id and retry:
            # Slack's retry of an event it thinks was missed: most often the first delivery
            # was handled, only slowly, so look before doing the work again. A read before the
            # acknowledgement that does not queue behind the writers. First deliveries skip
            # this; a replayed one is still caught, by the claim in its listener's transaction.
            async with deps.read_sessions()() as session:
                seen = await event_seen(session, event_id=str(event_id))
            if seen:
                log.info("duplicate event skipped", extra={"retry_num": retry})
                return BoltResponse(status=200, body="")
        await next()
        return None
