"""`/partner help`, and the answer to any subcommand nobody else handles."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.blocks.help import render_help
from bot.flows.commands import SUBCOMMANDS, parse_command_text
from bot.handlers.context import register_listener


def register(app: AsyncApp, *, command: str, available: Collection[str]) -> None:
    """Register last: this listener matches every use of the command the others left."""
    served = {*available, "help"}

    async def handle_help_command(
        ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        parsed = parse_command_text(command.get("text"))
        unknown = parsed.subcommand if parsed.subcommand != "help" else None
        message = render_help(command["command"], SUBCOMMANDS, available=served, unknown=unknown)
        await ack(response_type="ephemeral", **message.to_dict())

    register_listener(app.command(command), handle_help_command)
