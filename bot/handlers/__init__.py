"""Thin Bolt listeners, grouped by feature. Each module exposes `register(app)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.handlers import errors, help, home
from bot.settings import Settings


def register_all(app: AsyncApp, settings: Settings) -> None:
    errors.register(app)
    home.register(app)
    # Subcommands served by feature modules are listed here as they arrive (issue #3: "tour").
    available: set[str] = set()
    help.register(app, command=settings.partnerbot_command, available=available)
