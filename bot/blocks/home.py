"""The App Home tab."""

from __future__ import annotations

from enum import StrEnum

from slack_sdk.models.blocks import (
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View


class HomeId(StrEnum):
    WELCOME = "home.welcome"
    STEPS = "home.steps"
    HELP = "home.help"


STEPS = (
    ("Listen", "Ask your team by DM: what's working well, and what challenges do you face?"),
    ("Report", "Share no more than three themes with the team, and let them vote."),
    (
        "Agree outcomes",
        "Decide with your direct reports what your business partners should notice.",
    ),
    ("Commit and track", "Take on a few initiatives, check in weekly, and celebrate quick wins."),
)


def render_home(*, user_id: str, command: str) -> View:
    steps = "\n".join(
        f"*{number}. {title}* — {summary}" for number, (title, summary) in enumerate(STEPS, 1)
    )
    return View(
        type="home",
        blocks=[
            HeaderBlock(text="Partnerbot"),
            SectionBlock(
                block_id=HomeId.WELCOME,
                text=MarkdownTextObject(
                    text=f"Hi <@{user_id}>! Partnerbot helps a team strengthen its partnership "
                    "with the business, together: listen first, then agree what to do about it."
                ),
            ),
            DividerBlock(),
            SectionBlock(block_id=HomeId.STEPS, text=MarkdownTextObject(text=steps)),
            DividerBlock(),
            ContextBlock(
                block_id=HomeId.HELP,
                elements=[
                    MarkdownTextObject(
                        text=f"Type `{command} help` in any channel to see what you can do."
                    )
                ],
            ),
        ],
    )
