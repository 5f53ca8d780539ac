"""Step 4 as people see it: anyone proposes an initiative for an agreed outcome and the team backs
it; the leader commits a few to owners, who accept or decline; owners log quick wins. Pure
renderers; user text is escaped and cut to Slack's limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DatePickerElement,
    InputBlock,
    Option,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import Message
from bot.blocks.kit import (
    MAX_BUTTON_TEXT,
    MAX_OPTION_TEXT,
    MAX_SECTION_TEXT,
    MAX_SELECT_OPTIONS,
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
from bot.blocks.metadata import InitiativeMetadata, ProposeMetadata
from bot.flows.outcomes import MAX_SHORT, InitiativeStatus


class InitiativeAction(StrEnum):
    """Action ids of step 4's buttons; the comment says what rides in the button's value."""

    PROPOSE = "initiatives.propose"  # str(tour_id), or "" for every outcome the person may see
    BACK = "initiatives.back"  # str(initiative_id); on the proposal's card in the channel
    # str(initiative_id); the leader commits or reassigns. On the App Home, where several sit in
    # one block, the action id carries the initiative id too: "initiatives.commit.12".
    COMMIT = "initiatives.commit"
    ACCEPT = "initiatives.accept"  # str(initiative_id); in the owner's DM
    DECLINE = "initiatives.decline"  # str(initiative_id); in the owner's DM, asks for a reason
    LOG_WIN = "initiatives.win"  # str(initiative_id), or "" to choose
    # str(initiative_id); on the leader's App Home, for an offer its owner has not answered;
    # the action id carries the id too, as COMMIT's does there: "initiatives.withdraw.12".
    WITHDRAW = "initiatives.withdraw"


class InitiativeView(StrEnum):
    PROPOSE = "initiatives.propose"
    COMMIT = "initiatives.commit"
    DECLINE = "initiatives.decline"
    WIN = "initiatives.win"


class InitiativeBlock(StrEnum):
    """Block ids of the modals' inputs; each input's action id is the block id + ".input"."""

    OUTCOME = "initiative.outcome"
    TITLE = "initiative.title"
    IMPLICATIONS = "initiative.implications"
    TRACKING = "initiative.tracking"
    QUICK_WIN = "initiative.quick_win"
    SUGGESTED_OWNER = "initiative.suggested_owner"
    OWNER = "initiative.owner"
    DUE = "initiative.due"
    CADENCE = "initiative.cadence"
    CHECKIN_DAY = "initiative.checkin_day"
    REASON = "initiative.reason"
    WIN_FOR = "win.initiative"
    WIN_TEXT = "win.text"


MAX_IMPLICATIONS = 1_000
MAX_TRACKING = 300
MAX_QUICK_WIN = 300
MAX_REASON = 500
MAX_WIN = 1_000
CADENCE_LABELS = {1: "Every week", 2: "Every two weeks"}
STATUS_LABELS = {
    InitiativeStatus.PROPOSED: "proposed",
    InitiativeStatus.OFFERED: "waiting for the owner",
    InitiativeStatus.ACCEPTED: "under way",
    InitiativeStatus.DECLINED: "declined, to reassign",
    InitiativeStatus.DONE: "done",
    InitiativeStatus.CLOSED: "closed",
}
IMPLICATIONS_LABEL = "What will we do differently?"
TRACKING_LABEL = "How will we track progress?"


@dataclass(frozen=True)
class OutcomeOption:
    """A committed outcome someone may propose an initiative for."""

    outcome_id: int
    theme_label: str
    statement: str


@dataclass(frozen=True)
class InitiativeCard:
    """An initiative with what it answers: enough for its channel card, the leader's commit
    modal and the owner's offer."""

    initiative_id: int
    tour_id: int
    title: str
    theme_label: str
    outcome: str
    implications: str
    tracking: str
    first_quick_win: str | None
    proposer_id: str
    suggested_owner_id: str | None
    status: InitiativeStatus
    backers: int = 0
    owner_id: str | None = None
    due_date: date | None = None
    cadence_weeks: int = 1
    decline_reason: str | None = None
    progress: int = 0
    next_checkin: date | None = None  # the owner's next check-in day, in their zone
    last_status: str | None = None  # the latest check-in's CheckinStatus value
    checkin_weekday: int = 0  # Monday


def cadence_text(weeks: int) -> str:
    return CADENCE_LABELS.get(weeks, f"Every {weeks} weeks").lower()


WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def checkin_text(card: InitiativeCard) -> str:
    """ "every week, on Mondays at 10:00 your time", for the owner."""
    day = WEEKDAY_NAMES[card.checkin_weekday] if 0 <= card.checkin_weekday < 5 else "Monday"
    return f"{cadence_text(card.cadence_weeks)}, on {day}s at 10:00 your time"


def _answers(card: InitiativeCard) -> str:
    """ "*For* theme → outcome" and the proposal's own words, inside one section's 3,000."""
    lines = [
        f"*For* {clip(one_line(card.theme_label), 200)} → {clip(one_line(card.outcome), 500)}",
        f"*{IMPLICATIONS_LABEL}* {clip(card.implications, 1_000)}",
        f"*{TRACKING_LABEL}* {clip(card.tracking, 400)}",
    ]
    if card.first_quick_win:
        lines.append(f"*First quick win:* {clip(card.first_quick_win, 400)}")
    return "\n".join(lines)


def _state_line(card: InitiativeCard) -> str:
    backed = count_of(card.backers, "teammate backs it", "teammates back it")
    if card.status is InitiativeStatus.PROPOSED:
        suggested = (
            f" · suggested owner <@{card.suggested_owner_id}>" if card.suggested_owner_id else ""
        )
        return f"Proposed by <@{card.proposer_id}> · {backed}{suggested}"
    due = f", due {format_day(card.due_date)}" if card.due_date else ""
    owner = f"<@{card.owner_id}>" if card.owner_id else "nobody yet"
    if card.status is InitiativeStatus.OFFERED:
        return f"Committed · offered to {owner}{due} · {backed}"
    if card.status is InitiativeStatus.ACCEPTED:
        return f"Committed · {owner} owns it{due} · check-ins {cadence_text(card.cadence_weeks)}"
    if card.status is InitiativeStatus.DECLINED:
        return f"Committed · {owner} declined; the leader is finding an owner · {backed}"
    return f"{STATUS_LABELS[card.status].capitalize()} · {backed}"


# --- proposing ---------------------------------------------------------------------------------


def render_propose_modal(
    *, outcomes: Sequence[OutcomeOption], preselected: int | None = None
) -> View:
    """The proposal form. Its private_metadata lists the outcomes offered (Slack returns it
    as sent), so the submission is checked without asking Slack again before its ack."""
    options = [
        Option(
            value=str(o.outcome_id),
            text=plain(f"{o.theme_label} → {o.statement}", MAX_OPTION_TEXT),
        )
        for o in outcomes[:MAX_SELECT_OPTIONS]
    ]
    initial = next((o for o in options if o.value == str(preselected)), None)
    if initial is None and len(options) == 1:
        initial = options[0]
    return View(
        type="modal",
        callback_id=InitiativeView.PROPOSE,
        title="Propose an initiative",
        submit="Propose",
        close="Cancel",
        private_metadata=ProposeMetadata(
            outcomes=[o.outcome_id for o in outcomes[:MAX_SELECT_OPTIONS]]
        ).dump(),
        blocks=[
            context_block(
                "A small piece of work that moves one of our outcomes. Your proposal is posted "
                "in the team channel with your name, for teammates to back."
            ),
            InputBlock(
                block_id=InitiativeBlock.OUTCOME,
                label="Which outcome does it serve?",
                element=StaticSelectElement(
                    action_id=input_action_id(InitiativeBlock.OUTCOME),
                    placeholder="Choose an outcome",
                    options=options,
                    initial_option=initial,
                ),
            ),
            text_input(
                InitiativeBlock.TITLE, "Title", initial=None, max_length=MAX_SHORT, optional=False
            ),
            text_input(
                InitiativeBlock.IMPLICATIONS,
                IMPLICATIONS_LABEL,
                initial=None,
                max_length=MAX_IMPLICATIONS,
                optional=False,
                multiline=True,
            ),
            text_input(
                InitiativeBlock.TRACKING,
                TRACKING_LABEL,
                initial=None,
                max_length=MAX_TRACKING,
                optional=False,
            ),
            text_input(
                InitiativeBlock.QUICK_WIN,
                "A first quick win people would notice",
                initial=None,
                max_length=MAX_QUICK_WIN,
                optional=True,
            ),
            InputBlock(
                block_id=InitiativeBlock.SUGGESTED_OWNER,
                label="Who could own it?",
                optional=True,
                element=UserSelectElement(
                    action_id=input_action_id(InitiativeBlock.SUGGESTED_OWNER),
                    placeholder="Suggest someone (you, perhaps)",
                ),
            ),
        ],
    )


def render_initiative_card(card: InitiativeCard) -> Message:
    """The proposal's card in the team channel: what it is, what it answers, who backs it."""
    blocks: list[Block] = [
        section_block(f"*Initiative:* {clip(one_line(card.title), 300)}\n{_answers(card)}"),
        context_block(_state_line(card)),
    ]
    buttons: list[ButtonElement] = []
    if card.status is InitiativeStatus.PROPOSED:
        buttons.append(
            ButtonElement(
                text=f"👍 Back it ({card.backers})",
                action_id=InitiativeAction.BACK,
                value=str(card.initiative_id),
            )
        )
    if card.status in (InitiativeStatus.PROPOSED, InitiativeStatus.DECLINED):
        buttons.append(
            ButtonElement(
                text="Commit… (leader)",
                action_id=InitiativeAction.COMMIT,
                value=str(card.initiative_id),
            )
        )
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return Message(
        text=f"Initiative proposed by <@{card.proposer_id}>: {clip(one_line(card.title), 300)}",
        blocks=blocks,
    )


def render_back_ack(*, backed: bool, title: str, own: bool = False) -> str:
    name = clip(one_line(title), 200)
    if own:
        return f"You proposed *{name}*; backing is for your teammates."
    if backed:
        return f"You back *{name}*. Click again to take it back."
    return f"You no longer back *{name}*."


# --- the leader commits ------------------------------------------------------------------------


def render_commit_modal(
    *, card: InitiativeCard, active: int, cap: int, today: date, default_due: date
) -> View:
    """Owner, due date and cadence for one proposal (or a new owner for a declined one); the
    title and implications may be sharpened on the way."""
    reassign = card.status is InitiativeStatus.DECLINED
    owner = None if reassign else (card.owner_id or card.suggested_owner_id)
    cadence_options = [Option(value=str(w), text=label) for w, label in CADENCE_LABELS.items()]
    cadence = next((o for o in cadence_options if o.value == str(card.cadence_weeks)), None)
    day_options = [Option(value=str(n), text=name) for n, name in enumerate(WEEKDAY_NAMES)]
    blocks: list[Block] = []
    if reassign and card.owner_id:
        reason = f": “{clip(one_line(card.decline_reason), 600)}”" if card.decline_reason else "."
        blocks.append(section_block(f"<@{card.owner_id}> declined{reason} Choose someone else."))
    blocks += [
        context_block(
            f"For {clip(one_line(card.theme_label), 200)} → "
            f"{clip(one_line(card.outcome), 500)} · proposed by <@{card.proposer_id}> · "
            f"{count_of(card.backers, 'backer', 'backers')}"
        ),
        text_input(
            InitiativeBlock.TITLE,
            "Title",
            initial=card.title,
            max_length=MAX_SHORT,
            optional=False,
        ),
        InputBlock(
            block_id=InitiativeBlock.OWNER,
            label="Owner",
            hint="They get a DM and can accept or decline.",
            element=UserSelectElement(
                action_id=input_action_id(InitiativeBlock.OWNER),
                placeholder="Choose the owner",
                initial_user=owner,
            ),
        ),
        InputBlock(
            block_id=InitiativeBlock.DUE,
            label="Due date",
            element=DatePickerElement(
                action_id=input_action_id(InitiativeBlock.DUE),
                initial_date=max(card.due_date or default_due, today).isoformat(),
            ),
        ),
        InputBlock(
            block_id=InitiativeBlock.CADENCE,
            label="Check-ins",
            element=RadioButtonsElement(
                action_id=input_action_id(InitiativeBlock.CADENCE),
                options=cadence_options,
                initial_option=cadence or cadence_options[0],
            ),
        ),
        InputBlock(
            block_id=InitiativeBlock.CHECKIN_DAY,
            label="Check-in day (10:00 on the owner's clock)",
            element=StaticSelectElement(
                action_id=input_action_id(InitiativeBlock.CHECKIN_DAY),
                options=day_options,
                initial_option=day_options[card.checkin_weekday]
                if 0 <= card.checkin_weekday < len(day_options)
                else day_options[0],
            ),
        ),
        text_input(
            InitiativeBlock.IMPLICATIONS,
            IMPLICATIONS_LABEL,
            initial=card.implications,
            max_length=MAX_IMPLICATIONS,
            optional=False,
            multiline=True,
        ),
    ]
    blocks.append(
        context_block(
            f"{active} of {cap} initiatives are on the go for this tour. A few, done well, "
            "beat many started."
        )
    )
    return View(
        type="modal",
        callback_id=InitiativeView.COMMIT,
        title="Reassign initiative" if reassign else "Commit initiative",
        submit="Offer it",
        close="Cancel",
        private_metadata=InitiativeMetadata(initiative_id=card.initiative_id).dump(),
        blocks=blocks,
    )


def render_cap_reached(cap: int) -> str:
    return (
        f"This tour already has {cap} initiatives on the go, its limit. A new one can start "
        "when one of them is done or closed — a few done well beat many started."
    )


def render_offer_held(*, owner_id: str, back: date | None) -> str:
    """The leader's word, on committing, that the owner is away by their Slack status: the
    offer waits for them, and the leader may still give it to someone else."""
    until = f"until {format_day(back)}" if back else "with no end date set"
    when = "in their first working hours back" if back else "in their next working hours"
    return (
        f"Offered to <@{owner_id}>. Their Slack status says they're away {until}, so the offer "
        f"waits and reaches them {when}; it has no deadline that runs while they're away. If "
        "it can't wait, withdraw it from your App Home and offer it to someone else."
    )


def render_offer(*, card: InitiativeCard, leader_id: str) -> Message:
    """The owner's DM: what they are asked to own, with Accept and Decline."""
    due = format_day(card.due_date) if card.due_date else "no date yet"
    intro = f"<@{leader_id}> would like you to own an initiative."
    return Message(
        text=f"{intro} {clip(one_line(card.title), 300)}",
        blocks=[
            section_block(f"{intro}\n*{clip(one_line(card.title), 300)}*\n{_answers(card)}"),
            context_block(
                f"Due {due} · check-ins {checkin_text(card)}, in a DM like this one · you can "
                "log quick wins any time"
            ),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Accept",
                        action_id=InitiativeAction.ACCEPT,
                        value=str(card.initiative_id),
                        style="primary",
                    ),
                    ButtonElement(
                        text="Decline…",
                        action_id=InitiativeAction.DECLINE,
                        value=str(card.initiative_id),
                    ),
                ]
            ),
        ],
    )


def render_offer_answered(*, card: InitiativeCard, accepted: bool, command: str) -> Message:
    """What the offer DM becomes once answered (its buttons gone)."""
    name = clip(one_line(card.title), 300)
    if accepted:
        text = (
            f"You own *{name}*. Thank you! Check-ins come {checkin_text(card)}; "
            f"log a quick win any time with `{command} win <what happened>`."
        )
    else:
        text = f"You declined *{name}*. Your reason went to the leader, who will find someone else."
    return Message(text=text, blocks=[section_block(text)])


def render_decline_modal(*, initiative_id: int, title: str) -> View:
    return View(
        type="modal",
        callback_id=InitiativeView.DECLINE,
        title="Decline initiative",
        submit="Decline",
        close="Cancel",
        private_metadata=InitiativeMetadata(initiative_id=initiative_id).dump(),
        blocks=[
            context_block(f"*{clip(one_line(title), 300)}*"),
            text_input(
                InitiativeBlock.REASON,
                "Why not? The leader sees this.",
                initial=None,
                max_length=MAX_REASON,
                optional=False,
                multiline=True,
            ),
        ],
    )


def render_declined_for_leader(*, card: InitiativeCard) -> Message:
    reason = clip(card.decline_reason or "no reason given", 1_000)
    text = f"<@{card.owner_id}> declined *{clip(one_line(card.title), 300)}*: {reason}"
    return Message(
        text=f"An owner declined {clip(one_line(card.title), 300)}",
        blocks=[
            section_block(text),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Reassign…",
                        action_id=InitiativeAction.COMMIT,
                        value=str(card.initiative_id),
                        style="primary",
                    )
                ]
            ),
        ],
    )


def render_offer_withdrawn(*, title: str, leader_id: str) -> str:
    """The owner's DM when the leader takes back an offer they had not answered."""
    return (
        f"<@{leader_id}> withdrew the offer to own *{clip(one_line(title), 300)}*, so there "
        "is nothing for you to accept or decline. Thank you for considering it."
    )


def render_accepted_for_leader(*, card: InitiativeCard) -> str:
    due = f", due {format_day(card.due_date)}" if card.due_date else ""
    return f"<@{card.owner_id}> accepted *{clip(one_line(card.title), 300)}*{due}."


# --- quick wins --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnedInitiative:
    initiative_id: int
    title: str


def render_win_modal(
    *, initiatives: Sequence[OwnedInitiative], text: str, preselected: int | None = None
) -> View:
    options = [
        Option(value=str(i.initiative_id), text=plain(i.title, MAX_OPTION_TEXT))
        for i in initiatives[:MAX_SELECT_OPTIONS]
    ]
    initial = next((o for o in options if o.value == str(preselected)), None)
    if initial is None and len(options) == 1:
        initial = options[0]
    return View(
        type="modal",
        callback_id=InitiativeView.WIN,
        title="Log a quick win",
        submit="Log it",
        close="Cancel",
        blocks=[
            InputBlock(
                block_id=InitiativeBlock.WIN_FOR,
                label="Which initiative?",
                element=StaticSelectElement(
                    action_id=input_action_id(InitiativeBlock.WIN_FOR),
                    placeholder="Choose one",
                    options=options,
                    initial_option=initial,
                ),
            ),
            text_input(
                InitiativeBlock.WIN_TEXT,
                "What happened that people would notice?",
                initial=text,
                max_length=MAX_WIN,
                optional=False,
                multiline=True,
            ),
            context_block("Quick wins go into the team's weekly update."),
        ],
    )


def render_win_logged(*, title: str) -> str:
    return (
        f"Logged your quick win for *{clip(one_line(title), 300)}*. The team will see it in "
        "the weekly update."
    )


# --- App Home ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineOutcome:
    """A committed outcome in the leader's Home, with its initiatives."""

    theme_label: str
    statement: str
    initiatives: Sequence[InitiativeCard] = field(default_factory=tuple)


def progress_bar(percent: int, width: int = 10) -> str:
    """ "`▓▓▓▓░░░░░░` 40%"."""
    percent = max(0, min(100, percent))
    filled = (percent * width + 50) // 100
    return f"`{'▓' * filled}{'░' * (width - filled)}` {percent}%"


def _pipeline_line(card: InitiativeCard) -> str:
    title = clip(one_line(card.title), 120)
    if card.status is InitiativeStatus.PROPOSED:
        return f"• {title} — proposed · {count_of(card.backers, 'backer', 'backers')}"
    owner = f"<@{card.owner_id}>" if card.owner_id else "no owner"
    line = f"• {title} — {owner} · {STATUS_LABELS[card.status]}"
    if card.status in (InitiativeStatus.ACCEPTED, InitiativeStatus.DONE):
        line += f" · {progress_bar(card.progress)}"
    if card.due_date and card.status not in (InitiativeStatus.DONE, InitiativeStatus.CLOSED):
        line += f" · due {format_day(card.due_date)}"
    return line


PIPELINE_LINES = 12  # per outcome, at most; fewer when long lines would pass MAX_SECTION_TEXT
MAX_COMMIT_BUTTONS = 5
# What the leader can do next to each, in the order the buttons come.
_WAITING_ON_THE_LEADER = {
    InitiativeStatus.DECLINED: 0,  # reassign it
    InitiativeStatus.PROPOSED: 1,  # commit it
    InitiativeStatus.OFFERED: 2,  # withdraw the offer, while its owner has not answered
}


def _pipeline_button(card: InitiativeCard) -> ButtonElement:
    # Action ids must differ within a block; the handlers match the prefix.
    if card.status is InitiativeStatus.OFFERED:
        label, action = "Withdraw offer: ", InitiativeAction.WITHDRAW
    else:
        reassign = card.status is InitiativeStatus.DECLINED
        label, action = ("Reassign: " if reassign else "Commit: "), InitiativeAction.COMMIT
    return ButtonElement(
        text=plain(label + card.title, MAX_BUTTON_TEXT),
        action_id=f"{action}.{card.initiative_id}",
        value=str(card.initiative_id),
    )


def render_pipeline(
    *,
    tour_id: int,
    outcomes: Sequence[PipelineOutcome],
    extra: Sequence[ButtonElement] = (),
) -> list[Block]:
    """Themes → outcomes → initiatives for one tour, and a button per proposal waiting on the
    leader (at most a handful, so the Home tab stays inside its 100 blocks)."""
    blocks: list[Block] = []
    waiting: list[InitiativeCard] = []
    for outcome in outcomes:
        lines = [
            f"*{clip(one_line(outcome.theme_label), 200)}* → "
            f"{clip(one_line(outcome.statement), 500)}"
        ]
        cards = list(outcome.initiatives)
        used = len(lines[0])
        for shown, card in enumerate(cards):
            line = _pipeline_line(card)
            # Room is kept for the "…and N more." line, inside a section's 3,000 characters.
            if shown == PIPELINE_LINES or used + 1 + len(line) > MAX_SECTION_TEXT - 30:
                lines.append(f"…and {len(cards) - shown} more.")
                break
            lines.append(line)
            used += 1 + len(line)
        if not cards:
            lines.append("_No initiatives proposed yet._")
        blocks.append(section_block("\n".join(lines)))
        waiting += [card for card in cards if card.status in _WAITING_ON_THE_LEADER]
    waiting = list({card.initiative_id: card for card in waiting}.values())  # ids stay unique
    # Declined first (someone must be found), then proposals by backing, then offers.
    waiting.sort(key=lambda card: (_WAITING_ON_THE_LEADER[card.status], -card.backers))
    buttons = [_pipeline_button(card) for card in waiting[:MAX_COMMIT_BUTTONS]]
    buttons.append(
        ButtonElement(
            text="Propose an initiative", action_id=InitiativeAction.PROPOSE, value=str(tour_id)
        )
    )
    buttons += extra
    blocks.append(ActionsBlock(block_id=f"home.pipeline.{tour_id}", elements=buttons))
    return blocks


MAX_HOME_COMMITMENTS = 10


def render_commitments(cards: Sequence[InitiativeCard]) -> list[Block]:
    """ "My commitments": what I own (or am offered), its status, due date and next check-in."""
    if not cards:
        return [
            context_block(
                "Nothing yet. When your leader offers you an initiative, it shows here with "
                "its check-ins."
            )
        ]
    blocks: list[Block] = []
    for card in cards[:MAX_HOME_COMMITMENTS]:
        due = f"due {format_day(card.due_date)}" if card.due_date else "no due date"
        text = (
            f"*{clip(one_line(card.title), 300)}* — {STATUS_LABELS[card.status]} · {due}\n"
            f"For {clip(one_line(card.outcome), 400)}"
        )
        if card.status is InitiativeStatus.ACCEPTED:
            checkin = (
                f"next check-in {format_day(card.next_checkin)}"
                if card.next_checkin
                else f"check-ins {cadence_text(card.cadence_weeks)}"
            )
            text += f"\n{progress_bar(card.progress)} · {checkin}"
        accessory = None
        if card.status is InitiativeStatus.OFFERED:
            accessory = ButtonElement(
                text="Accept", action_id=InitiativeAction.ACCEPT, value=str(card.initiative_id)
            )
        elif card.status is InitiativeStatus.ACCEPTED:
            accessory = ButtonElement(
                text="Log a win", action_id=InitiativeAction.LOG_WIN, value=str(card.initiative_id)
            )
        blocks.append(SectionBlock(text=section_block(text).text, accessory=accessory))
    if len(cards) > MAX_HOME_COMMITMENTS:
        blocks.append(context_block(f"Showing {MAX_HOME_COMMITMENTS} of {len(cards)}."))
    return blocks
