"""Block Kit renderers: plain data in, `slack_sdk.models` blocks and views out. Pure functions;
every message comes with a fallback `text` for notifications and screen readers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import Block


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[Block] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": [block.to_dict() for block in self.blocks]}


def escape(text: str) -> str:
    """Escape the three characters Slack treats as markup, so user text never pings or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's escaping of message text (`&amp;`, `&lt;`, `&gt;`) to get what was typed.

    Mentions and links stay in Slack's `<...>` form; they are escaped again when shown."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
