"""What every listener needs from the Bolt context: the shared dependencies, in-flight tracking
with a duration log line, and the event claim that makes retries harmless."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import write_wait_limit
from bot.deps import Deps
from bot.errors import EventAlreadyProcessed, UserFacingError
from bot.handlers.errors import tell_after_ack
from bot.store.events import EventClaim, click_kind, record_event

log = logging.getLogger("bot.handlers")

# The longest a write before the acknowledgement waits for a locked SQLite database, leaving
# time within Slack's 3 s to answer "try again".
WAIT_BEFORE_ACK_SECONDS = 2.0
# How long a request waits for its listener to acknowledge it: Slack gives up after 3 s.
ACK_TIMEOUT_SECONDS = 3.0

P = ParamSpec("P")
R = TypeVar("R")

# Set on every function `listener` wraps: tests/handlers/test_registration.py checks that each
# listener the app holds carries it.
WRAPPED = "__partnerbot_listener__"


def deps_of(context: AsyncBoltContext) -> Deps:
    deps = context.get("deps")
    if not isinstance(deps, Deps):
        raise RuntimeError("Partnerbot's dependencies are missing from the Bolt context")
    return deps


class _Waiting:
    """A request waiting for its listener to acknowledge it (Slack waits 3 s)."""

    def __init__(self, ack: AsyncAck) -> None:
        self.ack = ack
        # Done once the listener has acknowledged, or has ended without doing so.
        self.settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.gave_up = False  # past Slack's 3 s: a failure now is the listener's to tell

    def settle(self) -> None:
        if not self.settled.done():
            self.settled.set_result(None)

    @property
    def waiting(self) -> bool:
        """Whether a failure now can still be answered in the acknowledgement."""
        return self.ack.response is None and not self.gave_up


class _AckThatTells:
    """The listener's `ack`, which also tells the waiting request that it has been called."""

    def __init__(self, waiting: _Waiting) -> None:
        self._waiting = waiting

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # An ack() that raises (a malformed answer) settles nothing: the listener's failure,
        # when its task ends, is what the request answers.
        result = await self._waiting.ack(*args, **kwargs)
        self._waiting.settle()
        return result


def listener(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[None]]:
    """Wrap a Bolt listener: run it as a task of its own, registered as in flight and logged
    with how long it took, and return to Bolt as soon as it acknowledges the request.

    The app runs with `process_before_response=True` (bot/app.py): Bolt answers Slack when
    this wrapper returns, with what the listener passed to `ack()`. Bolt's own way, for the
    other setting, checks every 10 ms whether `ack()` was called, so every acknowledgement
    waited for the next check. An event listener (no `ack` parameter: Bolt acknowledges events
    itself) returns at once. A failure before the acknowledgement is Bolt's to answer (in the
    acknowledgement, bot/handlers/errors.py); one after it, or after Slack's 3 s, is told to
    the person here.

    Bolt injects arguments by the wrapped function's parameter names, and every Partnerbot
    listener asks for `context`, which is where the wrapper finds the dependencies.
    """
    if "context" not in inspect.signature(function).parameters:
        raise TypeError(f"listener {function.__qualname__} must accept a `context` argument")

    @functools.wraps(function)
    async def run(*args: P.args, **kwargs: P.kwargs) -> None:
        context: AsyncBoltContext = kwargs["context"]  # type: ignore[assignment]
        deps = deps_of(context)
        ack: AsyncAck | None = kwargs.get("ack")  # type: ignore[assignment]
        waiting = _Waiting(ack) if ack is not None else None

        def wait_limit() -> float | None:
            # Slack shows its own error after 3 s and drops a late answer: until this request
            # is acknowledged, a write gives up on a locked database in time to say so.
            return None if ack is None or ack.response is not None else WAIT_BEFORE_ACK_SECONDS

        if waiting is not None:
            kwargs["ack"] = _AckThatTells(waiting)
        limited = write_wait_limit.set(wait_limit)
        try:  # the task starts with a copy of this context, the limit included
            task = asyncio.create_task(_handle(function, args, kwargs, waiting, context))
        finally:
            write_wait_limit.reset(limited)
        deps.inflight.track(task)
        if waiting is None:
            return
        task.add_done_callback(lambda _: waiting.settle())
        try:
            async with asyncio.timeout(ACK_TIMEOUT_SECONDS):
                await asyncio.shield(waiting.settled)
        except TimeoutError:
            waiting.gave_up = True
            log.warning("not acknowledged in time", extra={"listener": function.__name__})
        if waiting.ack.response is None and task.done():
            task.result()  # it failed before acknowledging: Bolt answers Slack with the error

    setattr(run, WRAPPED, True)
    return run


def register_listener(route: Callable[..., Any], function: Callable[..., Awaitable[Any]]) -> None:
    """The one way a listener is registered: `route` is Bolt's registration for it
    (`app.action(TourAction.CLOSE)`, `app.view(...)`, `app.command(..., matchers=[...])`,
    `app.event(...)`), and `function` is given to it wrapped by `listener`, so no listener can
    be registered that holds its acknowledgement until it is done (the app runs with
    `process_before_response=True`, where Bolt answers Slack only when the listener returns)."""
    route(listener(function))


async def _handle(
    function: Callable[..., Awaitable[Any]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    waiting: _Waiting | None,
    context: AsyncBoltContext,
) -> None:
    started = time.perf_counter()
    outcome = "error"
    try:
        await function(*args, **kwargs)
        outcome = "ok"
        if waiting is not None and waiting.ack.response is None:
            # Bolt then tries the next listener, or answers 404: a bug worth a line.
            log.warning("returned without acknowledging", extra={"listener": function.__name__})
    except Exception as error:
        if isinstance(error, EventAlreadyProcessed):
            outcome = "duplicate"
        elif isinstance(error, UserFacingError):
            outcome = "refused"
        if waiting is not None and waiting.waiting:
            raise  # the request is waiting: Bolt answers it
        await tell_after_ack(error, context, kwargs.get("body"))
    finally:
        log.info(
            "handled",
            extra={
                "listener": function.__name__,
                "outcome": outcome,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )


async def claim_click(
    session: AsyncSession,
    context: AsyncBoltContext,
    body: dict[str, Any],
    action: dict[str, Any],
    *,
    scope: str | None = None,
) -> bool:
    """Record a button click (user and action_ts) in the caller's transaction; False when the
    same click was already handled (Slack does not retry clicks, but a request can be replayed).
    `scope` marks the claim for deletion with what it was about (see `click_kind`).
    """
    claim = EventClaim(
        event_id=f"click:{body['user']['id']}:{action.get('action_ts', '')}"[:64],
        team_id=context.team_id or "",
        event_type=click_kind(str(action.get("action_id", "")), scope),
        received_at=deps_of(context).clock.now(),
    )
    return await record_event(session, claim)


async def claim_view(
    session: AsyncSession, context: AsyncBoltContext, view: dict[str, Any]
) -> bool:
    """Record a modal's successful submission in the caller's transaction; False when this
    view was already submitted (a replayed request must not start a second tour)."""
    claim = EventClaim(
        event_id=f"view:{view.get('id', '')}"[:64],
        team_id=context.team_id or "",
        event_type=f"view {view.get('callback_id', '')}"[:64],
        received_at=deps_of(context).clock.now(),
    )
    return await record_event(session, claim)


class Replayed(Exception):
    """Raised inside a unit of work to roll it back: the request (a modal submission whose
    claim is recorded only once its effects are) was handled before."""


def event_claim(context: AsyncBoltContext, body: dict[str, Any]) -> EventClaim | None:
    """The row that records this event as handled; None for a request without an event id."""
    event_id = body.get("event_id")
    if not event_id:
        return None
    return EventClaim(
        event_id=str(event_id),
        team_id=context.team_id or "",
        event_type=str(body.get("event", {}).get("type", "unknown")),
        received_at=deps_of(context).clock.now(),
    )


async def claim_event(
    session: AsyncSession, context: AsyncBoltContext, body: dict[str, Any]
) -> None:
    """Record this event's id in the caller's transaction, or raise EventAlreadyProcessed.

    Claiming inside the same transaction as the event's effects means a crash before commit
    leaves the event unclaimed, so Slack's retry still gets it done: exactly once, not at most.
    """
    claim = event_claim(context, body)
    if claim is None:
        return
    if not await record_event(session, claim):
        raise EventAlreadyProcessed(claim.event_id)


def written_by_a_person(event: dict[str, Any]) -> bool:
    """A person's own new message: not an edit, a deletion, a join or a bot's post. A message
    with a screenshot arrives as file_share; its text still counts."""
    return (
        event.get("subtype") in (None, "file_share")
        and not event.get("bot_id")
        and bool(event.get("user"))
    )
