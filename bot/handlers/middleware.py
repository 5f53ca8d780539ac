"""Global Bolt middleware: hand every listener the dependencies, bind the log context, and drop
Slack retries of events that have already been handled."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
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


def install_middleware(app: AsyncApp, deps: Deps) -> None:
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
