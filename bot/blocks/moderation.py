"""Block Kit for moderation: the leader's "Hide an answer" modal and what it says happened, and
the DM that tells a hidden answer's author (never naming them to anyone else)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import Message
from bot.blocks.kit import clip, context_block, section_block
from bot.blocks.metadata import TourMetadata
from bot.blocks.tour import TourAction
from bot.flows.moderation import MAX_REASON_LENGTH, AuthorReach
from bot.text import shorten

OPTION_TEXT = 75  # Slack's limit for an option's text
MAX_OPTIONS = 100  # and for a static select's options


class ModerationAction(StrEnum):
    """Action ids; the comment says what rides in the value."""

    OPEN = "moderation.open"  # f"{tour_id}:{page}" of the answers page it was pressed on


class ModerationView(StrEnum):
    HIDE = "moderation.hide"  # private_metadata: HideMetadata
    DONE = "moderation.done"


class ModerationBlock(StrEnum):
    ANSWER = "moderation.answer"
    REASON = "moderation.reason"
    ACTIONS = "moderation.actions"


@dataclass(frozen=True)
class HideableAnswer:
    answer_id: str
    question_position: int
    text: str


def hide_button_block(tour_id: int, page: int) -> ActionsBlock:
    """The "Hide an answer…" row under a page of answers."""
    return ActionsBlock(
        block_id=ModerationBlock.ACTIONS,
        elements=[
            ButtonElement(
                text="Hide an answer…", action_id=ModerationAction.OPEN, value=f"{tour_id}:{page}"
            )
        ],
    )


def reach_note(reach: AuthorReach, *, can_rewrite: bool) -> str:
    """What hiding does for the author, said as it is."""
    left_out = "It's left out of themes, quotes, the export and every count."
    if reach is AuthorReach.EVERYONE_WHO_ANSWERED:
        return (
            f"{left_out} Nothing links an answer of this anonymous tour to its author any "
            "more, so Partnerbot sends everyone who answered the same DM, naming the question "
            "and your reason (never the answer): its author learns of it, and nobody — you, "
            "Partnerbot, the database — learns who they are. The tour has closed, so they "
            "can't rewrite it."
        )
    rewrite = (
        " and may rewrite it" if can_rewrite else "; the tour has closed, so they can't rewrite it"
    )
    return f"{left_out} Its author gets a DM from Partnerbot with your reason{rewrite}."


def _option_text(position: int, text: str) -> str:
    return shorten(f"Q{position + 1}: {' '.join(text.split())}", OPTION_TEXT)


def render_hide_modal(
    *,
    tour_id: int,
    title: str,
    answers: Sequence[HideableAnswer],
    reach: AuthorReach,
    can_rewrite: bool,
) -> View:
    """Pick one answer of the page, say why; the author reads the reason, never the leader's
    name for them."""
    options = [
        Option(value=a.answer_id, text=_option_text(a.question_position, a.text))
        for a in answers[:MAX_OPTIONS]
    ]
    blocks: list[Block] = [
        context_block(f"*{clip(title, 500)}* — hide an answer."),
        InputBlock(
            block_id=ModerationBlock.ANSWER,
            label="Answer",
            element=StaticSelectElement(
                action_id=f"{ModerationBlock.ANSWER}.input",
                placeholder="Pick the answer to hide",
                options=options,
            ),
        ),
        InputBlock(
            block_id=ModerationBlock.REASON,
            label="Why (the author reads this)",
            element=PlainTextInputElement(
                action_id=f"{ModerationBlock.REASON}.input",
                multiline=True,
                max_length=MAX_REASON_LENGTH,
                placeholder="e.g. It names a colleague; could you say it without the name?",
            ),
        ),
        context_block(reach_note(reach, can_rewrite=can_rewrite)),
    ]
    return View(
        type="modal",
        callback_id=ModerationView.HIDE,
        title="Hide an answer",
        submit="Hide it",
        close="Back",
        private_metadata=TourMetadata(tour_id=tour_id).dump(),
        blocks=blocks,
    )


def render_hidden_done(*, reach: AuthorReach, told: int, can_rewrite: bool, already: bool) -> View:
    if already:
        text = "That answer was already hidden."
    elif not told:
        text = "Hidden. Its author is no longer among the people asked, so nobody was told."
    else:
        text = "Hidden. " + reach_note(reach, can_rewrite=can_rewrite)
    return View(
        type="modal",
        callback_id=ModerationView.DONE,
        title="Hide an answer",
        close="OK",
        blocks=[section_block(text)],
    )


def render_hidden_notice(
    *,
    tour_id: int,
    title: str,
    question: str,
    reason: str,
    reach: AuthorReach,
    can_rewrite: bool,
) -> Message:
    """The DM about a hidden answer: which question, the leader's reason, and (a named tour,
    open) a way to rewrite it. It never repeats the answer. In an anonymous tour everyone who
    answered gets this same message, so it cannot say whose answer it was."""
    whose = "one of the answers" if reach is AuthorReach.EVERYONE_WHO_ANSWERED else "your answer"
    lines = (
        f"The leader of *{clip(title, 300)}* hid {whose} to “{clip(question, 300)}” "
        f"from the themes, quotes and export:\n>{clip(' '.join(reason.split()), 600)}"
    )
    if reach is AuthorReach.EVERYONE_WHO_ANSWERED:
        more = (
            "Everyone who answered gets this same message: nothing links an answer to its "
            "author, so nobody knows whose it was. If it was yours, it stays hidden; the tour "
            "has closed, so it can't be rewritten."
        )
    elif can_rewrite:
        more = "You can rewrite it: once you save a new version it's shown again."
    else:
        more = "The tour has closed, so it stays hidden."
    blocks: list[Block] = [section_block(f"{lines}\n{more}")]
    if can_rewrite:
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Rewrite my answers", action_id=TourAction.EDIT, value=str(tour_id)
                    )
                ]
            )
        )
    return Message(text=f"The leader of {title} hid {whose}.", blocks=blocks)
