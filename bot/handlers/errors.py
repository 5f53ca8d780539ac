"""The one error handler: a short answer to the person, a log line with a reference to quote."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.tour import render_notice_modal
from bot.errors import EventAlreadyProcessed, UserFacingError

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
    respond: AsyncRespond | None,
    response: BoltResponse | None,
    client: AsyncWebClient | None,
    context: AsyncBoltContext,
) -> BoltResponse | None:
    if isinstance(error, EventAlreadyProcessed):
        log.info("duplicate event dropped after a concurrent delivery")
        return None
    if isinstance(error, UserFacingError):
        log.info("user-facing error", extra={"error": error.message})
        text = error.message
    else:
        reference = secrets.token_hex(4)
        log.error("unhandled error", exc_info=error, extra={"reference": reference})
        text = unexpected_error_message(reference)
    if response is not None and body.get("type") == "event_callback":
        # An event not yet acknowledged (the database was busy or down): a 503 makes Slack
        # deliver it again later, rather than drop the person's message.
        return BoltResponse(status=503, body="")
    if response is not None:
        # Not acknowledged yet: the answer rides on the acknowledgement itself; a modal is
        # replaced by a notice, anything else gets an ephemeral message.
        answer: dict[str, Any] = (
            {
                "response_action": "update",
                "view": render_notice_modal(title="Partnerbot", text=text).to_dict(),
            }
            if body.get("type") == "view_submission"
            else {"response_type": "ephemeral", "text": text}
        )
        return BoltResponse(
            status=200, body=answer, headers={"content-type": "application/json;charset=utf-8"}
        )
    if respond is not None and _has_response_url(body):
        await respond(text=text, response_type="ephemeral", replace_original=False)
    elif client is not None and context.user_id:
        # No response_url (App Home clicks, submitted modals, DMs): tell them in their DM.
        try:
            await client.chat_postMessage(channel=context.user_id, text=text)
        except SlackApiError as failure:
            log.warning("could not tell the user", extra={"error": failure.response.get("error")})
    return None


def _has_response_url(body: dict[str, Any]) -> bool:
    return bool(body.get("response_url") or body.get("response_urls"))


def register(app: AsyncApp) -> None:
    app.error(handle_error)
