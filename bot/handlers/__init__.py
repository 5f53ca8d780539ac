"""Thin Bolt listeners, grouped by feature. Each module exposes `register(app)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.handlers import (
    checkins,
    errors,
    findings,
    help,
    home,
    initiatives,
    lifecycle,
    moderation,
    outcomes,
    owners,
    poll,
    tour,
    tour_controls,
)
from bot.handlers.context import register_listener
from bot.settings import Settings


async def ignore_other_messages(context: AsyncBoltContext) -> None:
    return None


def register_all(app: AsyncApp, settings: Settings) -> None:
    errors.register(app)
    home.register(app)
    tour_controls.register(app, command=settings.partnerbot_command)
    available = tour.register(app, command=settings.partnerbot_command)
    findings.register(app)
    moderation.register(app)
    poll.register(app)
    outcomes.register(app)
    available |= initiatives.register(app, command=settings.partnerbot_command)
    available |= owners.register(app, command=settings.partnerbot_command)
    checkins.register(app)
    lifecycle.register(app)
    # Any other message event (edits, deletions, channel chatter) is acknowledged and left
    # alone: an event nobody handles gets a 404, and Slack retries it (and may turn the
    # subscription off). Registered after every feature's own message listeners.
    register_listener(app.event("message"), ignore_other_messages)
    # Last: the help listener answers every use of the command the features above left.
    help.register(app, command=settings.partnerbot_command, available=available)
