"""The `/partner help` answer."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.blocks import Message, escape
from bot.flows.commands import Subcommand


def render_help(
    command: str,
    subcommands: Sequence[Subcommand],
    *,
    available: Collection[str],
    unknown: str | None = None,
) -> Message:
    def line(sub: Subcommand) -> str:
        usage = f"{command} {sub.name} {sub.arguments}".rstrip()
        return f"• `{usage}` — {sub.summary}"

    ready = [line(sub) for sub in subcommands if sub.name in available]
    coming = [line(sub) for sub in subcommands if sub.name not in available]
    intro = (
        f"I don't know `{escape(unknown)}`. Here is what `{command}` can do:"
        if unknown
        else f"Here is what `{command}` can do:"
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=intro + "\n" + "\n".join(ready)))
    ]
    if coming:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text="*Coming soon*\n" + "\n".join(coming)))
        )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Open Partnerbot's *Home* tab to see your tours, outcomes and initiatives."
                )
            ]
        )
    )
    fallback = intro + " " + ", ".join(f"{command} {sub.name}" for sub in subcommands)
    return Message(text=fallback, blocks=blocks)
