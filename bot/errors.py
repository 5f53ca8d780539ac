"""Errors that are part of the conversation: the message is for the person who hit them."""

from __future__ import annotations


class UserFacingError(Exception):
    """Expected trouble (an expired tour, a missing permission): a refusal. Raised by services
    and handlers, shown as-is to the person by the one error handler (bot/handlers/errors.py),
    logged at INFO. Each feature words its refusals in `bot/refusals/`. `title` heads the small
    modal the refusal is shown in when there is no message to answer under (an App Home click,
    a modal). `field`, a block id of the submitted modal, shows a refusal of a submission next
    to that input (the modal stays, the person's words with it) instead of replacing the modal;
    `replace_original` answers a click by replacing the message clicked (a question that no
    longer stands) instead of with an ephemeral note under it."""

    def __init__(
        self,
        message: str,
        *,
        title: str = "Partnerbot",
        field: str | None = None,
        replace_original: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.title = title
        self.field = field
        self.replace_original = replace_original


class EventAlreadyProcessed(Exception):
    """A Slack retry or replay of an event whose effects have already committed."""
