"""The one error handler: a refusal (`UserFacingError`) shown to the person in its own words, any
other failure as a short apology with a reference to quote, and a log line for each."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from bot.blocks.tour import render_notice_modal
from bot.errors import EventAlreadyProcessed, UserFacingError
from bot.handlers.common import notice

log = logging.getLogger("bot.errors")


def unexpected_error_message(reference: str) -> str:
    return (
        "Sorry, something went wrong on our side and nothing was changed "
        f"(reference `{reference}`). Please try again in a minute; if it keeps happening, "
        "give this reference to whoever runs Partnerbot for your workspace."
    )


async def handle_error(
    error: Exception,
    body: dict[str, Any],
    response: BoltResponse | None,
    context: AsyncBoltContext,
) -> BoltResponse | None:
    """Bolt's error handler: a failure before the acknowledgement (in a listener or a
    middleware) is answered in the acknowledgement itself."""
    text = _message_for(error)
    if text is None:
        return None
    if response is not None and body.get("type") == "event_callback":
        # An event not yet acknowledged (the database was busy or down): a 503 makes Slack
        # deliver it again later, rather than drop the person's message.
        return BoltResponse(status=503, body="")
    if response is not None:
        # Not acknowledged yet: the answer rides on the acknowledgement itself; a modal shows
        # it next to the input it names, or is replaced by a notice; anything else gets an
        # ephemeral message.
        answer: dict[str, Any]
        if body.get("type") != "view_submission":
            answer = {"response_type": "ephemeral", "text": text}
        elif isinstance(error, UserFacingError) and error.field:
            answer = {"response_action": "errors", "errors": {error.field: text}}
        else:
            answer = {
                "response_action": "update",
                "view": render_notice_modal(title=_title_of(error), text=text).to_dict(),
            }
        return BoltResponse(
            status=200, body=answer, headers={"content-type": "application/json;charset=utf-8"}
        )
    await _tell(text, context)
    return None


async def tell_after_ack(
    error: Exception, context: AsyncBoltContext, body: dict[str, Any] | None
) -> None:
    """A listener failed or refused after Slack had its acknowledgement: say so where the
    person is. A refused click is answered as the click's own notice: under the message it
    came from (or in its place, when the refusal says so), or in a small modal over the App
    Home or modal it came from."""
    text = _message_for(error)
    if text is None:
        return
    if (
        isinstance(error, UserFacingError)
        and body is not None
        and body.get("type") == "block_actions"
    ):
        if error.replace_original and context.respond is not None and context.response_url:
            await context.respond(text=text, replace_original=True)
            return
        if context.client is not None and (body.get("response_url") or body.get("trigger_id")):
            await notice(context.client, body, error.title, text)
            return
    await _tell(text, context)


def _title_of(error: Exception) -> str:
    return error.title if isinstance(error, UserFacingError) else "Partnerbot"


def _message_for(error: Exception) -> str | None:
    """What to tell the person (None: nothing, for a duplicate), logged as it is decided."""
    if isinstance(error, EventAlreadyProcessed):
        log.info("duplicate event dropped after a concurrent delivery")
        return None
    if isinstance(error, UserFacingError):
        log.info("user-facing error", extra={"error": error.message})
        return error.message
    reference = secrets.token_hex(4)
    log.error("unhandled error", exc_info=error, extra={"reference": reference})
    return unexpected_error_message(reference)


async def _tell(text: str, context: AsyncBoltContext) -> None:
    # A response_url (slash commands, message buttons) answers in place; without one (App Home
    # clicks, submitted modals, DMs) the answer goes to the person's DM.
    if context.respond is not None and context.response_url:
        await context.respond(text=text, response_type="ephemeral", replace_original=False)
    elif context.client is not None and context.user_id:
        try:
            await context.client.chat_postMessage(channel=context.user_id, text=text)
        except SlackApiError as failure:
            log.warning("could not tell the user", extra={"error": failure.response.get("error")})


def register(app: AsyncApp) -> None:
    app.error(handle_error)
