"""Every listener the app holds was registered through `register_listener`, so none can hold
its acknowledgement until it is done (the app runs with `process_before_response=True`)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.handlers.context import WRAPPED, register_listener


def unwrapped_listeners(app: AsyncApp) -> list[str]:
    """The names of the app's listeners that Bolt would run as they are, unwrapped. (Bolt keeps
    them in a private list; a Bolt upgrade that renames it fails the count below, not silently.)"""
    listeners = app._async_listeners
    return [
        getattr(each.ack_function, "__qualname__", repr(each.ack_function))
        for each in listeners
        if not getattr(each.ack_function, WRAPPED, False)
    ]


def test_every_listener_of_the_app_is_registered_through_the_helper(bolt_app: AsyncApp) -> None:
    assert len(bolt_app._async_listeners) > 40  # every feature's listeners are there
    assert unwrapped_listeners(bolt_app) == []


def test_a_listener_registered_around_the_helper_is_found(bolt_app: AsyncApp) -> None:
    async def handle_raw(ack: AsyncAck, context: AsyncBoltContext) -> None:
        await ack()

    async def handle_wrapped(ack: AsyncAck, context: AsyncBoltContext) -> None:
        await ack()

    bolt_app.action("raw")(handle_raw)
    register_listener(bolt_app.action("wrapped"), handle_wrapped)
    assert unwrapped_listeners(bolt_app) == [handle_raw.__qualname__]
