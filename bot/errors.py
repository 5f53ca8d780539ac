"""Errors that are part of the conversation: the message is for the person who hit them."""

from __future__ import annotations


class UserFacingError(Exception):
    """Expected trouble (an expired tour, a missing permission). Shown as-is, logged at INFO."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EventAlreadyProcessed(Exception):
    """A Slack retry or replay of an event whose effects have already committed."""
