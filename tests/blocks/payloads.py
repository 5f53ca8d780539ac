"""Shared by the renderer tests: hostile text, payloads turned into dicts and checked against
Block Kit's rules, the pieces of a payload a test looks at, and a sample initiative card."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from slack_sdk.models.views import View

from bot.blocks import Message
from bot.blocks.initiatives import InitiativeCard
from bot.flows.outcomes import InitiativeStatus
from bot.sandbox.block_kit import validate_message, validate_view

# --- hostile text, payloads checked against Block Kit's rules ------------------------------------
EVIL = "<!channel> ping <@U999> & <#C1>"

EVIL_ESCAPED = "&lt;!channel&gt; ping &lt;@U999&gt; &amp; &lt;#C1&gt;"

RAW_MARKUP = ("<!channel>", "<@U999>", "<#C1>")

# Escaping grows "&" five-fold: the worst case for any length limit.
AMPERSANDS = "&" * 5_000


def view_dict(view: View) -> dict[str, Any]:
    payload = view.to_dict()
    assert validate_view(payload) == []
    return payload


def message_dict(message: Message) -> dict[str, Any]:
    payload = message.to_dict()
    assert payload["text"]
    assert validate_message(payload["text"], payload["blocks"]) == []
    return payload


def by_block_id(blocks: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {block["block_id"]: block for block in blocks if "block_id" in block}


def assert_no_raw_markup(payload: dict[str, Any]) -> None:
    rendered = json.dumps(payload)
    for markup in RAW_MARKUP:
        assert markup not in rendered


# --- an initiative card, the dates around it, what a payload shows -------------------------------
TODAY = date(2026, 3, 16)  # a Monday

FRIDAY = date(2026, 4, 3)

CARD = InitiativeCard(
    initiative_id=12,
    tour_id=7,
    title="Slip alerts",
    theme_label="Speed",
    outcome="Weekly releases",
    implications="We tell Finance first",
    tracking="Weekly count",
    first_quick_win=None,
    proposer_id="U1",
    suggested_owner_id=None,
    status=InitiativeStatus.PROPOSED,
)


def mrkdwn_texts(payload: Any) -> list[str]:
    """Every mrkdwn text object's text, anywhere in a payload: what Slack parses for markup."""
    found: list[str] = []
    if isinstance(payload, dict):
        if payload.get("type") == "mrkdwn":
            found.append(payload["text"])
        for value in payload.values():
            found += mrkdwn_texts(value)
    elif isinstance(payload, list):
        for value in payload:
            found += mrkdwn_texts(value)
    return found


def assert_no_raw_mrkdwn(payload: Any) -> None:
    texts = mrkdwn_texts(payload)
    assert texts
    for text in texts:
        for markup in RAW_MARKUP:
            assert markup not in text


def buttons(blocks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def contexts(blocks: Sequence[dict[str, Any]]) -> list[str]:
    return [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
