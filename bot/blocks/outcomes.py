"""Step 3 as people see it: the leader asks direct reports for partner-focused outcomes, each
proposes some per theme, the leader commits one per theme and announces them; and the article's
private "letting go" reflection. Pure renderers; user text is escaped and cut to Slack's limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import Message
from bot.blocks.initiatives import InitiativeAction
from bot.blocks.kit import (
    MAX_BUTTON_VALUE,
    MAX_CHECKBOXES,
    MAX_CONTEXT_ELEMENTS,
    MAX_CONTEXT_TEXT,
    clip,
    context_block,
    count_of,
    format_day,
    input_action_id,
    one_line,
    plain,
    section_block,
    text_input,
)
from bot.blocks.metadata import PickedTheme, ProposalMetadata, TourMetadata
from bot.flows.review import MAX_FINAL_THEMES, side_name


class OutcomeAction(StrEnum):
    """Action ids of step 3's buttons; the comment says what rides in the button's value."""

    SET_OUTCOMES = "outcomes.set"  # str(tour_id); leader's Home / DM
    PROPOSE = "outcomes.propose"  # f"{tour_id}:{theme_id}"; in a direct report's DM
    REVIEW = "outcomes.review"  # str(tour_id); leader's Home / DM
    LETTING_GO = "outcomes.letting_go"  # str(tour_id); leader's DM, offered once
    EDIT_PROPOSAL = "outcomes.edit_proposal"  # str(proposal_id); under a saved proposal
    # A proposal written as a DM reply, when the person was asked about several themes: one
    # button per theme, carrying JSON {"tour": id, "theme": id, "text": the reply}.
    PICK_THEME = "outcomes.pick_theme"


class OutcomeView(StrEnum):
    """Callback ids of step 3's modals."""

    SETUP = "outcomes.setup"
    PROPOSE = "outcomes.propose"
    COMMIT = "outcomes.commit"
    LETTING_GO = "outcomes.letting_go"


class OutcomeBlock(StrEnum):
    """Fixed block ids of the modals' inputs; each input's action id is the block id + ".input".
    The commit modal's inputs are numbered by theme: see `outcome_block`."""

    SHAPERS = "outcomes.shapers"
    THEMES = "outcomes.themes"
    PROPOSAL_STATEMENT = "proposal.statement"
    PROPOSAL_MEASURE = "proposal.measure"
    LETGO_MATTER = "letgo.matter"
    LETGO_WAYS = "letgo.ways"
    LETGO_POSSIBLE = "letgo.possible"


MAX_STATEMENT = 500
MAX_MEASURE = 300
MAX_PARTNER = 150
MAX_LETTING_GO = 3_000
PROPOSAL_STATEMENT_CUT = 120
PROPOSAL_MEASURE_CUT = 80
MAX_THANKED = 50

LETTING_GO_QUESTIONS = (
    (OutcomeBlock.LETGO_MATTER, "What outcomes are most important to you?"),
    (OutcomeBlock.LETGO_WAYS, "How many ways can those outcomes be achieved?"),
    (
        OutcomeBlock.LETGO_POSSIBLE,
        "What is possible when the team feels committed to achieving those outcomes?",
    ),
)
PARTNER_PROMPT = (
    "Propose a partner-focused outcome — what will our business partners notice, and how will "
    "we measure it?"
)
STATEMENT_LABEL = "What will our business partners notice?"


@dataclass(frozen=True)
class ThemeChoice:
    """A posted theme the leader may ask outcomes for, with its final vote count."""

    theme_id: int
    label: str
    votes: int
    kind: str = ""  # its side (bot/flows/review.py); "" when unknown


@dataclass(frozen=True)
class ProposalView:
    """One direct report's proposal, shown to the leader with their name (not anonymous)."""

    author_id: str
    statement: str
    measure: str


@dataclass(frozen=True)
class ThemeProposals:
    """A theme in the commit modal: its proposals, and the outcome already committed (to edit)."""

    theme_id: int
    label: str
    proposals: Sequence[ProposalView]
    statement: str | None = None
    partner: str | None = None
    measure: str | None = None
    target_date: date | None = None


@dataclass(frozen=True)
class CommittedOutcome:
    """An outcome as the team channel sees it, with who proposed what it grew from."""

    theme_label: str
    statement: str
    partner: str
    measure: str
    target_date: date
    proposer_ids: Sequence[str]


def outcome_block(theme_id: int, field: str) -> str:
    """Block id of a theme's input in the commit modal: "outcome.12.statement". `field` is
    "statement", "partner", "measure" or "target"."""
    return f"outcome.{theme_id}.{field}"


# --- small pieces ------------------------------------------------------------------------------


def _mentions(user_ids: Sequence[str]) -> str:
    return ", ".join(f"<@{user_id}>" for user_id in user_ids)


def _chunks(lines: Sequence[str]) -> tuple[list[str], int]:
    """Lines joined into at most `MAX_CONTEXT_ELEMENTS` texts of Slack's 3,000 characters; how
    many lines did not fit."""
    # Room for "…and N more." on the last text when some lines do not fit.
    room = MAX_CONTEXT_TEXT - 20
    chunks: list[str] = []
    for index, line in enumerate(lines):
        if chunks and len(chunks[-1]) + 1 + len(line) <= room:
            chunks[-1] = f"{chunks[-1]}\n{line}"
        elif len(chunks) < MAX_CONTEXT_ELEMENTS:
            chunks.append(line)
        else:
            return chunks, len(lines) - index
    return chunks, 0


def _proposal_line(proposal: ProposalView) -> str:
    """ "<@U1>: statement — _measure_", about 220 characters at most."""
    line = f"<@{proposal.author_id}>: {clip(one_line(proposal.statement), PROPOSAL_STATEMENT_CUT)}"
    measure = one_line(proposal.measure)
    if measure:
        line += f" — _{clip(measure, PROPOSAL_MEASURE_CUT)}_"
    return line


def _proposals_context(proposals: Sequence[ProposalView]) -> ContextBlock:
    if not proposals:
        return context_block("No proposals yet.")
    chunks, left_out = _chunks([_proposal_line(p) for p in proposals])
    if left_out:
        chunks[-1] += f"\n…and {left_out} more."
    return ContextBlock(elements=[MarkdownTextObject(text=chunk) for chunk in chunks])


# --- the leader sets up step 3 -----------------------------------------------------------------


def render_setup_modal(
    *, tour_id: int, title: str, themes: Sequence[ThemeChoice], preselected: Sequence[int]
) -> View:
    """Who shapes the outcomes with the leader, and for which themes, in the order given (by
    votes), each with its votes and side; `preselected` start ticked."""
    options = [
        Option(
            value=str(theme.theme_id),
            text=plain(theme.label, 75),
            description=count_of(theme.votes, "vote", "votes")
            + (f" · {side_name(theme.kind)}" if theme.kind else ""),
        )
        for theme in themes[:MAX_CHECKBOXES]
    ]
    chosen = {str(theme_id) for theme_id in preselected}
    initial = [option for option in options if option.value in chosen]
    blocks: list[Block] = [
        section_block(
            f"*{clip(one_line(title), 500)}* — the team has voted. Now share your vision and "
            "work with your direct reports to decide the partner-focused outcomes: what our "
            "business partners will notice, and how we will measure it."
        ),
        InputBlock(
            block_id=OutcomeBlock.SHAPERS,
            label="Who shapes the outcomes with you? (your direct reports)",
            element=UserMultiSelectElement(
                action_id=input_action_id(OutcomeBlock.SHAPERS), placeholder="Choose people"
            ),
        ),
    ]
    if options:
        blocks.append(
            InputBlock(
                block_id=OutcomeBlock.THEMES,
                label="Which themes need an outcome?",
                element=CheckboxesElement(
                    action_id=input_action_id(OutcomeBlock.THEMES),
                    options=options,
                    initial_options=initial or None,
                ),
            )
        )
    else:
        blocks.append(context_block("The poll has no themes to choose from."))
    blocks.append(
        context_block(
            "Each person gets a DM per theme. Their proposals are not anonymous: you'll see "
            "who proposed what."
        )
    )
    return View(
        type="modal",
        callback_id=OutcomeView.SETUP,
        title="Set outcomes",
        submit="Ask them",
        close="Cancel",
        private_metadata=TourMetadata(tour_id=tour_id).dump(),
        blocks=blocks,
    )


# --- a direct report proposes ------------------------------------------------------------------


def render_outcome_request(
    *, tour_id: int, leader_id: str, themes: Sequence[tuple[int, str]]
) -> Message:
    """The DM to a direct report: one [Propose an outcome] button per theme."""
    leader = f"<@{leader_id}>"
    intro = (
        f"{leader} would like your help turning what the team said into outcomes our business "
        "partners will notice."
    )
    blocks: list[Block] = [section_block(intro)]
    for theme_id, label in themes[:MAX_FINAL_THEMES]:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"How should we respond to *{clip(one_line(label), 400)}*? "
                    f"{PARTNER_PROMPT}"
                ),
                accessory=ButtonElement(
                    text="Propose an outcome",
                    action_id=OutcomeAction.PROPOSE,
                    value=f"{tour_id}:{theme_id}",
                ),
            )
        )
    blocks.append(
        context_block(
            f"Not anonymous: {leader} sees your name next to your proposals. Send as many as "
            f"you like; you can change them until {leader} decides."
        )
    )
    return Message(text=intro, blocks=blocks)


def render_proposal_modal(
    *,
    tour_id: int,
    theme_id: int,
    theme_label: str,
    proposal_id: int | None = None,
    statement: str | None = None,
    measure: str | None = None,
) -> View:
    """A new proposal, or (with `proposal_id`) an earlier one to change."""
    return View(
        type="modal",
        callback_id=OutcomeView.PROPOSE,
        title="Propose an outcome" if proposal_id is None else "Change your proposal",
        submit="Send" if proposal_id is None else "Save",
        close="Cancel",
        private_metadata=ProposalMetadata(
            tour_id=tour_id, theme_id=theme_id, proposal_id=proposal_id
        ).dump(),
        blocks=[
            context_block(
                f"Theme: *{clip(one_line(theme_label), 400)}*. Your name is shown with your "
                "proposal."
            ),
            text_input(
                OutcomeBlock.PROPOSAL_STATEMENT,
                STATEMENT_LABEL,
                initial=statement,
                max_length=MAX_STATEMENT,
                optional=False,
                multiline=True,
            ),
            text_input(
                OutcomeBlock.PROPOSAL_MEASURE,
                "How will we measure it? Include a target.",
                initial=measure,
                max_length=MAX_MEASURE,
                optional=False,
            ),
        ],
    )


def render_proposal_thanks(*, theme_label: str, leader_id: str) -> str:
    """The DM (mrkdwn text) after a proposal is sent."""
    return (
        f"Thanks — <@{leader_id}> will see your proposal for *{clip(one_line(theme_label), 400)}*"
        " with your name. Send another any time with the button above."
    )


def render_proposal_saved(
    *, theme_label: str, leader_id: str, proposal_id: int, statement: str, edited: bool = False
) -> Message:
    """The DM after a proposal is saved: what was saved, and an Edit button (until the leader
    decides the theme's outcome)."""
    text = (
        f"Changed your proposal for *{clip(one_line(theme_label), 400)}*."
        if edited
        else render_proposal_thanks(theme_label=theme_label, leader_id=leader_id)
    )
    return Message(
        text=text,
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(text=f"{text}\n> {clip(one_line(statement), 1_500)}"),
                accessory=ButtonElement(
                    text="Edit", action_id=OutcomeAction.EDIT_PROPOSAL, value=str(proposal_id)
                ),
            )
        ],
    )


def render_proposal_closed(*, theme_label: str, leader_id: str) -> str:
    return (
        f"<@{leader_id}> has already decided the outcome for "
        f"*{clip(one_line(theme_label), 400)}*, so proposals for it can no longer change."
    )


def pick_value(tour_id: int, theme_id: int, text: str) -> str:
    """A theme button's value: the reply rides along, cut until the JSON fits Slack's 2,000
    characters (a 500-character reply of quotes or newlines doubles when escaped)."""
    keep = text.replace("\x00", "")[:MAX_STATEMENT]
    while True:
        value = PickedTheme(tour=tour_id, theme=theme_id, text=keep).dump()
        if len(value) <= MAX_BUTTON_VALUE:
            return value
        keep = keep[: len(keep) - (len(value) - MAX_BUTTON_VALUE) // 6 - 1]


def render_pick_theme(*, text: str, themes: Sequence[tuple[int, int, str]]) -> Message:
    """A DM reply from someone asked for outcomes: save it as a proposal, for which theme?
    `themes` are (tour_id, theme_id, label). Each button carries the reply, so nothing is
    stored until the person chooses ("ok, thanks!" does not become a proposal)."""
    if len(themes) == 1:
        intro = (
            f"Save this as your proposal for *{clip(one_line(themes[0][2]), 400)}*? "
            "Press the button to send it."
        )
    else:
        intro = "Thanks! Which theme is this proposal for?"
    return Message(
        text="Save this as your proposal?",
        blocks=[
            section_block(f"{intro}\n> {clip(one_line(text), 1_500)}"),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Save as my proposal" if len(themes) == 1 else plain(label, 75),
                        action_id=f"{OutcomeAction.PICK_THEME}.{theme_id}",
                        value=pick_value(tour_id, theme_id, text),
                    )
                    for tour_id, theme_id, label in themes[:MAX_FINAL_THEMES]
                ]
            ),
            context_block("Not anonymous: the leader sees your name next to your proposal."),
        ],
    )


def render_proposal_too_long() -> str:
    return (
        f"That's longer than a proposal can be ({MAX_STATEMENT} characters). Shorten it, or use "
        "the *Propose an outcome* button for a form."
    )


# --- the leader commits and announces ----------------------------------------------------------


def render_commit_modal(*, tour_id: int, title: str, themes: Sequence[ThemeProposals]) -> View:
    """The proposals per theme side by side, with who proposed them, and one outcome per theme
    to write: prefilled from the committed outcome, else from the first proposal."""
    blocks: list[Block] = [
        context_block(
            f"*{clip(one_line(title), 500)}* — commit one outcome per theme. Merge or rewrite "
            "the proposals as you like; a theme left blank is skipped."
        )
    ]
    for theme in themes[:MAX_FINAL_THEMES]:
        first = theme.proposals[0] if theme.proposals else None
        statement, measure = theme.statement, theme.measure
        if statement is None and first is not None:
            statement = first.statement
        if measure is None and first is not None:
            measure = first.measure
        target = DatePickerElement(
            action_id=input_action_id(outcome_block(theme.theme_id, "target")),
            initial_date=theme.target_date.isoformat() if theme.target_date else None,
        )
        blocks += [
            DividerBlock(),
            section_block(f"*{clip(one_line(theme.label), 400)}*"),
            _proposals_context(theme.proposals),
            text_input(
                outcome_block(theme.theme_id, "statement"),
                STATEMENT_LABEL,
                initial=statement,
                max_length=MAX_STATEMENT,
                optional=True,
                multiline=True,
            ),
            text_input(
                outcome_block(theme.theme_id, "partner"),
                "Which partner or stakeholder does it serve?",
                initial=theme.partner,
                max_length=MAX_PARTNER,
                optional=True,
            ),
            text_input(
                outcome_block(theme.theme_id, "measure"),
                "Measure and target",
                initial=measure,
                max_length=MAX_MEASURE,
                optional=True,
            ),
            InputBlock(
                block_id=outcome_block(theme.theme_id, "target"),
                label="Target date",
                optional=True,
                element=target,
            ),
        ]
    return View(
        type="modal",
        callback_id=OutcomeView.COMMIT,
        title="Commit outcomes",
        submit="Commit",
        close="Cancel",
        private_metadata=TourMetadata(tour_id=tour_id).dump(),
        blocks=blocks,
    )


def _outcome_text(outcome: CommittedOutcome) -> str:
    # At most ~300 + 1,200 + 300 + 600 + 60 characters, inside a section's 3,000.
    return (
        f"*{clip(one_line(outcome.theme_label), 300)}* → "
        f"{clip(one_line(outcome.statement), 1_200)}\n"
        f"*For* {clip(one_line(outcome.partner), 300)} · "
        f"*Measure* {clip(one_line(outcome.measure), 600)} · "
        f"*By* {format_day(outcome.target_date)}"
    )


def render_outcomes_announcement(
    *, tour_id: int, leader_id: str, title: str, outcomes: Sequence[CommittedOutcome]
) -> Message:
    """The team channel post: the committed outcomes, a thank-you to who proposed them, and
    the invitation to step 4: anyone may propose an initiative."""
    shown = outcomes[:MAX_FINAL_THEMES]
    leader = f"<@{leader_id}>"
    blocks: list[Block] = [
        HeaderBlock(text="Our partner-focused outcomes"),
        section_block(
            f"After the listening tour *{clip(one_line(title), 500)}*, {leader} and the team "
            "agreed what our business partners should notice:"
        ),
        *(section_block(_outcome_text(outcome)) for outcome in shown),
    ]
    proposers = list(dict.fromkeys(pid for outcome in shown for pid in outcome.proposer_ids))
    if proposers:
        thanked = _mentions(proposers[:MAX_THANKED])
        if len(proposers) > MAX_THANKED:
            thanked += f" and {len(proposers) - MAX_THANKED} more"
        blocks.append(context_block(f"Thank you {thanked} for your proposals."))
    blocks += [
        section_block(
            "*What should we do about them?* Propose an initiative — a small piece of work "
            "that moves one of these outcomes. Back the ones you believe in."
        ),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Propose an initiative",
                    action_id=InitiativeAction.PROPOSE,
                    value=str(tour_id),
                    style="primary",
                )
            ]
        ),
    ]
    return Message(
        text=f"Our partner-focused outcomes: {leader} and the team agreed "
        f"{count_of(len(shown), 'outcome', 'outcomes')}.",
        blocks=blocks,
    )


# --- letting go --------------------------------------------------------------------------------


def render_letting_go_offer(*, tour_id: int) -> Message:
    """The leader's DM, sent once: the article's note on giving up some control."""
    questions = "\n".join(f"• {question}" for _, question in LETTING_GO_QUESTIONS)
    text = (
        "Deciding outcomes together means giving up some control over what they are — that's "
        "what makes the team committed to them. If letting go is hard, you might ask yourself:"
    )
    return Message(
        text=text,
        blocks=[
            section_block(f"{text}\n{questions}"),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Reflect privately",
                        action_id=OutcomeAction.LETTING_GO,
                        value=str(tour_id),
                    )
                ]
            ),
            context_block("Only you see what you write."),
        ],
    )


def render_letting_go_modal(*, tour_id: int, answers: Sequence[str | None]) -> View:
    blocks: list[Block] = [
        text_input(
            block_id,
            question,
            initial=answers[index] if index < len(answers) else None,
            max_length=MAX_LETTING_GO,
            optional=True,
            multiline=True,
        )
        for index, (block_id, question) in enumerate(LETTING_GO_QUESTIONS)
    ]
    blocks.append(context_block("Only you see these."))
    return View(
        type="modal",
        callback_id=OutcomeView.LETTING_GO,
        title="Letting go",
        submit="Save",
        close="Cancel",
        private_metadata=TourMetadata(tour_id=tour_id).dump(),
        blocks=blocks,
    )
