"""The pieces every Block Kit renderer shares: Slack's limits, defined once, and the small
builders (a mrkdwn section, a context line, a text input, text clipped to a limit) that the
feature modules of `bot/blocks/` compose."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from slack_sdk.models.blocks import (
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)

from bot.blocks import escape
from bot.text import cut_between_words, shorten

# --- Slack's limits (https://api.slack.com/reference/block-kit) --------------------------------

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100  # a modal or the App Home
MAX_SECTION_TEXT = 3_000
MAX_CONTEXT_TEXT = 3_000  # one element of a context block
MAX_CONTEXT_ELEMENTS = 10
MAX_INITIAL_VALUE = 3_000  # a plain_text_input's initial_value
MAX_LABEL = 2_000  # an input block's label
MAX_MODAL_TITLE = 24
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2_000
MAX_OPTION_TEXT = 75
MAX_SELECT_OPTIONS = 100  # a static select's options
MAX_CHECKBOXES = 10  # a checkboxes element's options


# Dropped before "…", which reads as the sentence going on.
def _escaped_width(char: str) -> int:
    return len(escape(char))


def clip(text: str, limit: int, suffix: str = "…") -> str:
    """`text` escaped for mrkdwn, cut between words (see `cut_between_words`) so the escaped
    result, suffix included, fits `limit`. Cutting after escaping could split `&lt;` into a
    stray `&l`, so the cut is made on the raw text, counting each character at its escaped
    width."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    return escape(cut_between_words(text, limit - len(suffix), _escaped_width)) + suffix


def format_day(day: date) -> str:
    """ "Friday 13 March": English names, no leading zero, no year (tours last days, not years)."""
    return f"{day:%A} {day.day} {day:%B}"


def one_line(text: str) -> str:
    # A quote or label keeps to one line so a "> " quote or a bold label is not broken by it.
    return " ".join(text.split())


def plain(text: str, limit: int) -> str:
    """Plain text (never parsed by Slack) on one line, cut to `limit` characters."""
    return shorten(one_line(text), limit)


def count_of(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def people(count: int) -> str:
    return f"{count} person" if count == 1 else f"{count} people"


def mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def section_block(text: str, *, block_id: str | None = None) -> SectionBlock:
    return SectionBlock(block_id=block_id, text=mrkdwn(text))


def context_block(text: str, *, block_id: str | None = None) -> ContextBlock:
    return ContextBlock(block_id=block_id, elements=[mrkdwn(text)])


def input_action_id(block_id: str) -> str:
    return f"{block_id}.input"


def text_input(
    block_id: str,
    label: str,
    *,
    initial: str | None,
    max_length: int,
    optional: bool,
    multiline: bool = False,
) -> InputBlock:
    # A plain_text_input's initial value is what the leader edits and submits back, raw: input
    # values are never parsed for mentions, so they are cut but not escaped.
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=optional,
        element=PlainTextInputElement(
            action_id=input_action_id(block_id),
            initial_value=(initial or "")[:max_length] or None,
            max_length=max_length,
            multiline=multiline,
        ),
    )


def pack_sections(lines: Sequence[str], heading: str, budget: int) -> tuple[list[str], int]:
    """Lines into at most `budget` section texts under `heading`; how many lines did not fit."""
    # Room for "…and N more" on the last section when some answers do not fit.
    room = MAX_SECTION_TEXT - 40
    chunks: list[str] = []
    current = heading
    for index, line in enumerate(lines):
        if len(current) + 1 + len(line) <= room:
            current = f"{current}\n{line}"
            continue
        if len(chunks) + 1 >= budget:
            chunks.append(current)
            return chunks, len(lines) - index
        chunks.append(current)
        current = line
    chunks.append(current)
    return chunks, 0


def fair_shares(needs: Sequence[int], available: int) -> list[int]:
    """Blocks per question: each gets what it needs if all fits; otherwise an equal share, and
    what small questions leave over goes to the larger ones, earlier questions first."""
    shares = [0] * len(needs)
    remaining = available
    pending = [index for index, need in enumerate(needs) if need > 0]
    while pending and remaining > 0:
        equal = max(remaining // len(pending), 1)
        for index in pending:
            give = min(needs[index] - shares[index], equal, remaining)
            shares[index] += give
            remaining -= give
        pending = [index for index in pending if shares[index] < needs[index]]
    return shares
