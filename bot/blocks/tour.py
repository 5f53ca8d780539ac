"""The listening tour as people see it: the launch modal, the DMs a member gets, the answer form,
and what the leader is told. Pure renderers; user text is escaped and cut to Slack's limits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ConversationFilter,
    ConversationSelectElement,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import Message, escape
from bot.blocks.kit import (
    MAX_INITIAL_VALUE,
    MAX_LABEL,
    MAX_MODAL_TITLE,
    MAX_SECTION_TEXT,
    clip,
    context_block,
    fair_shares,
    format_day,
    input_action_id,
    pack_sections,
    people,
    section_block,
    text_input,
)
from bot.blocks.metadata import AnswerFormMetadata
from bot.flows.tour import (
    MAX_QUESTION_LENGTH,
    MAX_QUESTIONS,
    MAX_TITLE_LENGTH,
    MIN_INVITED,
    MIN_RESPONSES_FLOOR,
    QUOTE_MIN_RESPONSES,
    LaunchBlock,
    Reminded,
    RemindOutcome,
    Visibility,
    question_block,
    zone,
)

MAX_WORKING_HOURS_TEXT = 60


class TourAction(StrEnum):
    """Action ids of the tour's buttons; each button's value is the tour id."""

    ANSWER_FORM = "tour.answer_form"
    EDIT = "tour.edit"
    ADD_MORE = "tour.add_more"
    REMIND = "tour.remind"
    CLOSE = "tour.close"
    EXPORT = "tour.export"


class TourView(StrEnum):
    """Callback ids of the tour's modals."""

    LAUNCH = "tour.launch"
    ANSWERS = "tour.answers"
    NOTICE = "tour.notice"


ANONYMOUS, NAMED = "anonymous", "named"
REMINDERS_ON = "on"

# Slack refuses a section over 3,000 characters; leave room for the question above the answer.
MAX_ANSWER_IN_MESSAGE = 2_800
# A plain_text_input's initial_value may be at most 3,000 characters.
MAX_EXPORT_ANSWER = 300
MAX_EXPORT_BLOCKS = 45
# A member cannot run the export, so their own copy says where the rest went.
ANSWER_CUT_FOR_MEMBER = "… (cut short here; your full answer is saved)"
SKIPPED = "_skipped_"


# Slack's date token: a long date ("today", "tomorrow" when it is), then the time, both in the
# reader's own time zone and clock format.
CLOSE_STYLE = "{date_long_pretty} at {time}"


def slack_time(at: datetime, *, fallback: str, style: str = CLOSE_STYLE) -> str:
    """`at` as Slack's date token, which each reader sees in their own time zone; `fallback`
    (escaped here) shows wherever the token cannot render, such as notifications.

    Slack parses the token only in mrkdwn text: never put it in plain_text or in a message's
    top-level `text`, which carry the fallback wording instead."""
    if at.utcoffset() is None:
        raise ValueError("slack_time needs a timezone-aware datetime")
    if any(char in style for char in "^|<>"):
        raise ValueError(f"a date token's style cannot contain ^, |, < or >: {style!r}")
    return f"<!date^{int(at.timestamp())}^{style}|{escape(fallback)}>"


def leader_time(at: datetime, tz_name: str) -> str:
    """ "Monday 9 March, 23:59 Asia/Tokyo": `at` on the leader's clock, with the zone named, for
    text that Slack shows as typed. An unknown zone is read, and named, as UTC."""
    tz = zone(tz_name)
    local = at.astimezone(tz)
    return f"{format_day(local.date())}, {local:%H:%M} {tz.key}"


def _closing(closes_at: datetime, leader_tz: str) -> str:
    """When the tour closes, for mrkdwn: in the reader's zone, the leader's as the fallback."""
    return slack_time(closes_at, fallback=leader_time(closes_at, leader_tz))


def _form_button(tour_id: int, *, anonymous: bool) -> ButtonElement:
    """ "Answer in a form": the primary way to answer an anonymous tour, since a modal, unlike
    the DM, leaves nothing in the conversation's history."""
    return _button(
        TourAction.ANSWER_FORM, "Answer in a form", tour_id, style="primary" if anonymous else None
    )


def _button(
    action: TourAction, label: str, tour_id: int, *, style: str | None = None
) -> ButtonElement:
    confirm = _close_confirm() if action is TourAction.CLOSE else None
    return ButtonElement(
        text=label, action_id=action, value=str(tour_id), style=style, confirm=confirm
    )


def _close_confirm() -> ConfirmObject:
    return ConfirmObject(
        title="Close this tour now?",
        text="Nobody will be able to answer or change their answers after this.",
        confirm="Close it",
        deny="Keep it open",
        style="danger",
    )


def tour_actions_block(tour_id: int, *, is_open: bool, block_id: str | None = None) -> ActionsBlock:
    """The leader's buttons for a tour: Remind, Close and Export while open; Export once closed."""
    buttons = [_button(TourAction.EXPORT, "Export", tour_id)]
    if is_open:
        buttons = [
            _button(TourAction.REMIND, "Remind now", tour_id),
            _button(TourAction.CLOSE, "Close now", tour_id, style="danger"),
            *buttons,
        ]
    return ActionsBlock(block_id=block_id, elements=buttons)


def _question_text(position: int, question_count: int, question: str) -> str:
    return f"*Question {position + 1} of {question_count}*\n{clip(question, 2_000)}"


# --- The launch modal --------------------------------------------------------------------------


def render_launch_modal(
    *,
    title: str,
    user_ids: Sequence[str],
    channel_id: str | None,
    results_channel_id: str | None,
    questions: Sequence[str],
    close_date: date,
    today: date,
    private_metadata: str,
    working_hours: str = "",
) -> View:
    """What the leader fills in to start a tour. Initial values are raw text: they are what the
    leader edits and submits back, and modals never notify anyone."""
    anonymous = Option(
        value=ANONYMOUS,
        text="Anonymous",
        description="Grouped, only once enough people answer, never with names",
    )
    named = Option(value=NAMED, text="Named", description="You see who said what")
    reminders = Option(
        value=REMINDERS_ON,
        text="Remind people who haven't answered",
        description="2 days before and on the last day, in their working hours",
    )
    question_inputs: list[Block] = []
    for position in range(MAX_QUESTIONS):
        block_id = question_block(position)
        initial = questions[position][:MAX_QUESTION_LENGTH] if position < len(questions) else None
        question_inputs.append(
            InputBlock(
                block_id=block_id,
                label=f"Question {position + 1}",
                optional=position > 0,
                element=PlainTextInputElement(
                    action_id=input_action_id(block_id),
                    initial_value=initial or None,
                    max_length=MAX_QUESTION_LENGTH,
                    placeholder=None if position == 0 else "Optional: another question",
                ),
            )
        )
    blocks: list[Block] = [
        context_block(
            "Everyone you pick gets a direct message from Partnerbot with your questions and can "
            "reply right there. Listen first: nothing is decided until you've heard them out."
        ),
        InputBlock(
            block_id=LaunchBlock.TITLE,
            label="Title",
            element=PlainTextInputElement(
                action_id=input_action_id(LaunchBlock.TITLE),
                initial_value=title[:MAX_TITLE_LENGTH] or None,
                max_length=MAX_TITLE_LENGTH,
            ),
            hint="People see this in the message that asks them.",
        ),
        InputBlock(
            block_id=LaunchBlock.PEOPLE,
            label="People to ask",
            optional=True,
            element=UserMultiSelectElement(
                action_id=input_action_id(LaunchBlock.PEOPLE),
                initial_users=list(user_ids) or None,
                placeholder="Pick people",
            ),
        ),
        InputBlock(
            block_id=LaunchBlock.CHANNEL,
            label="Also ask everyone in",
            optional=True,
            element=ConversationSelectElement(
                action_id=input_action_id(LaunchBlock.CHANNEL),
                initial_conversation=channel_id,
                filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True),
                placeholder="Pick a channel",
            ),
            hint="Bots and deactivated accounts are left out.",
        ),
        *question_inputs,
        InputBlock(
            block_id=LaunchBlock.ANONYMITY,
            label="Answers",
            element=RadioButtonsElement(
                action_id=input_action_id(LaunchBlock.ANONYMITY),
                options=[anonymous, named],
                initial_option=anonymous,
            ),
        ),
        InputBlock(
            block_id=LaunchBlock.MIN_RESPONSES,
            label="Show answers once this many others have answered",
            element=NumberInputElement(
                action_id=input_action_id(LaunchBlock.MIN_RESPONSES),
                is_decimal_allowed=False,
                initial_value=str(MIN_RESPONSES_FLOOR),
                min_value=str(MIN_RESPONSES_FLOOR),
            ),
            hint=f"At least {MIN_RESPONSES_FLOOR}, not counting you: with fewer, you could tell "
            "who said what.",
        ),
        InputBlock(
            block_id=LaunchBlock.CLOSE_DATE,
            label="Closes on",
            element=DatePickerElement(
                action_id=input_action_id(LaunchBlock.CLOSE_DATE),
                initial_date=close_date.isoformat(),
            ),
            hint=f"Today is {format_day(today)}. The tour closes at the end of that day, "
            "your time.",
        ),
        InputBlock(
            block_id=LaunchBlock.RESULTS,
            label="Team channel for the findings",
            # Picking a channel tells the bot at once, so the submit can check membership
            # without calling Slack before its acknowledgement.
            dispatch_action=True,
            element=ConversationSelectElement(
                action_id=input_action_id(LaunchBlock.RESULTS),
                initial_conversation=results_channel_id,
                filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True),
                placeholder="Pick a channel",
            ),
            hint="Partnerbot must be in the channel: type /invite @Partnerbot there",
        ),
        InputBlock(
            block_id=LaunchBlock.REMINDERS,
            label="Reminders",
            optional=True,
            element=CheckboxesElement(
                action_id=input_action_id(LaunchBlock.REMINDERS),
                options=[reminders],
                initial_options=[reminders],
            ),
        ),
        text_input(
            LaunchBlock.WORKING_HOURS,
            "Message people only in their own working hours",
            initial=working_hours,
            max_length=MAX_WORKING_HOURS_TEXT,
            optional=True,
        ),
        context_block(
            "Days and hours on each person's own clock, like Mon-Fri 09:00-18:00: invitations,"
            " reminders and later prompts wait for them. Blank: the default."
        ),
    ]
    return View(
        type="modal",
        callback_id=TourView.LAUNCH,
        title="Listening tour",
        submit="Start tour",
        close="Cancel",
        private_metadata=private_metadata,
        blocks=blocks,
    )


# --- What a member sees ------------------------------------------------------------------------


def render_invitation(
    *,
    tour_id: int,
    leader_id: str,
    title: str,
    anonymous: bool,
    min_responses: int,
    closes_at: datetime,
    leader_tz: str,
    question: str,
    position: int,
    question_count: int,
    quote_min_responses: int = QUOTE_MIN_RESPONSES,
) -> Message:
    """The first DM of a tour: who asks and why, what the leader will see, then question 1.
    `closes_at` is shown in each member's own time zone; `leader_tz` names the fallback's."""
    safe_title = clip(title, 500)
    notice = (
        f":lock: <@{leader_id}> sees answers only after the tour closes and only if at least "
        f"{min_responses} people other than them answered, grouped together and never with "
        f"your name; your own words are quoted only if at least "
        f"{max(quote_min_responses, min_responses)} did."
        if anonymous
        else f":bust_in_silhouette: <@{leader_id}> will see your name next to your answers."
    )
    how = "Reply here, one message per question"
    blocks: list[Block] = [
        section_block(
            f"Hi! <@{leader_id}> would like to hear what's working well for the team and what's "
            f"getting in the way — before deciding anything. *{safe_title}*"
        ),
        section_block(notice),
    ]
    if anonymous:
        # Slack keeps a DM's messages, and the bot's token can read them back: say so, and
        # offer the form, whose answers never become messages.
        blocks.append(section_block(DM_HISTORY_NOTICE))
        how += ", or use the form"
    blocks += [
        context_block(
            f"Open until {_closing(closes_at, leader_tz)}. {how}. Type *skip* to skip a question."
        ),
        DividerBlock(),
        section_block(_question_text(position, question_count, question)),
        ActionsBlock(elements=[_form_button(tour_id, anonymous=anonymous)]),
    ]
    return Message(
        text=f"<@{leader_id}> would like your thoughts for the listening tour {safe_title}.",
        blocks=blocks,
    )


DM_HISTORY_NOTICE = (
    ":speech_balloon: What you type in this chat stays in its history in Slack, where whoever "
    "runs Partnerbot (anyone holding its bot token) could read it. *Answer in a form* keeps "
    "your words out of this chat."
)


def render_question(*, position: int, question_count: int, question: str) -> Message:
    return Message(
        text=f"Question {position + 1} of {question_count}: {clip(question, 500)}",
        blocks=[
            section_block(_question_text(position, question_count, question)),
            context_block("Reply here, or type *skip*."),
        ],
    )


def render_appended(*, question: str, current: str | None = None) -> Message:
    """A message sent right after an answer joined it; the question still waiting is repeated
    so it stays the last thing in the conversation."""
    text = f"Added that to your answer to “{clip(question, 500)}”."
    blocks: list[Block] = [context_block(text)]
    if current:
        blocks.append(section_block(f"Still waiting for you:\n*{clip(current, 1_000)}*"))
    return Message(text=text, blocks=blocks)


def render_already_finished(*, tour_id: int, title: str) -> Message:
    """A message after the last question: not saved, and how to add it."""
    text = (
        f"You've answered every question of “{clip(title, 500)}”, so I haven't saved that "
        "message. To add it to an answer, press *Add more*; to change one, *Edit answers*."
    )
    return Message(
        text=text,
        blocks=[
            section_block(text),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Add more", action_id=TourAction.ADD_MORE, value=str(tour_id)
                    ),
                    ButtonElement(
                        text="Edit answers", action_id=TourAction.EDIT, value=str(tour_id)
                    ),
                ]
            ),
        ],
    )


def _answer_section(question: str, answer: str | None, *, suffix: str) -> SectionBlock:
    heading = f"*{clip(question, 1_000)}*\n"
    if not answer or not answer.strip():
        return section_block(heading + SKIPPED)
    room = min(MAX_ANSWER_IN_MESSAGE, MAX_SECTION_TEXT - len(heading))
    return section_block(heading + clip(answer, room, suffix))


def render_finished(
    *,
    tour_id: int,
    title: str,
    answers: Sequence[tuple[str, str | None]],
    closes_at: datetime,
    leader_tz: str,
    anonymous: bool,
) -> Message:
    """The thank-you at the end of the questions (and after each save of the form). A named
    tour shows the member's own answers to check; an anonymous one only says what it received:
    quoting them would put answers given in the form into the DM's history, readable with the
    bot's token."""
    buttons = ActionsBlock(
        elements=[
            _button(TourAction.EDIT, "Edit answers", tour_id),
            _button(TourAction.ADD_MORE, "Add more", tour_id),
        ]
    )
    closing = _closing(closes_at, leader_tz)
    if anonymous:
        given = sum(1 for _, answer in answers if answer and answer.strip())
        skipped = len(answers) - given
        saved = (
            f"Thank you! Your {_count(given, 'answer')} for *{clip(title, 500)}* "
            f"{'is' if given == 1 else 'are'} saved"
            if given
            else f"Thank you! You skipped every question of *{clip(title, 500)}*, so nothing "
            "is saved"
        )
        if given and skipped:
            saved += f" ({_count(skipped, 'question')} skipped)"
        return Message(
            text="Thank you! Your answers are saved." if given else "Thank you!",
            blocks=[
                section_block(saved + "."),
                context_block(
                    f"You can change them until {closing}: *Edit answers* and *Add more* open "
                    "them in a form. (I never repeat answers in this chat.)"
                ),
                buttons,
            ],
        )
    blocks: list[Block] = [
        section_block(f"Thank you! Here's what you said for *{clip(title, 500)}*:")
    ]
    blocks += [
        _answer_section(question, answer, suffix=ANSWER_CUT_FOR_MEMBER)
        for question, answer in answers[:MAX_QUESTIONS]
    ]
    blocks += [context_block(f"You can change your answers until {closing}."), buttons]
    return Message(text="Thank you! Here's what you said.", blocks=blocks)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def render_dm_help(
    *,
    title: str | None,
    position: int | None,
    question_count: int | None,
    question: str | None,
) -> Message:
    if title is None:
        text = (
            "You have no open listening tour right now. When someone asks for your thoughts, "
            "the question will appear here."
        )
        return Message(text=text, blocks=[section_block(text)])
    how = (
        f"You're answering *{clip(title, 500)}*. Each message you send here answers the current "
        "question, then I ask the next one. Type *skip* to skip a question. Prefer a form? Use "
        "*Answer in a form* on my first message, or *Edit answers* once you're done."
    )
    blocks: list[Block] = [section_block(how)]
    if question is not None and position is not None and question_count is not None:
        blocks.append(section_block(_question_text(position, question_count, question)))
    else:
        blocks.append(
            context_block(
                "You've answered everything. *Edit answers* or *Add more* lets you change it."
            )
        )
    return Message(text="How answering works", blocks=blocks)


def render_tour_closed_for_member(*, title: str, closed_on: date) -> Message:
    text = (
        f"The listening tour “{clip(title, 500)}” closed on {format_day(closed_on)}, so I "
        "haven't saved that message. Thank you — there's nothing more to do."
    )
    return Message(text=text, blocks=[section_block(text)])


def answer_block(position: int) -> str:
    """Block id of the answer form's box for question `position` (from 1): "answer.2"."""
    return f"answer.{position}"


def render_answer_form(
    *,
    tour_id: int,
    title: str,
    questions: Sequence[str],
    answers: Sequence[str | None],
    mode: Literal["edit", "add"],
) -> View:
    """All questions in one modal. In "edit" mode an empty box clears the answer, except where
    the answer was too long to put in the box (then empty keeps it); in "add" mode an empty box
    adds nothing. Labels are plain text, which Slack never parses for mentions."""
    blocks: list[Block] = [context_block(f"*{clip(title, 500)}*")]
    for index, question in enumerate(questions[:MAX_QUESTIONS]):
        answer = answers[index] if index < len(answers) else None
        block_id = answer_block(index + 1)
        initial: str | None = None
        label = question
        note: str | None = None
        if mode == "edit" and answer:
            if len(answer) <= MAX_INITIAL_VALUE:
                initial = answer
            else:
                note = (
                    "Your answer is longer than this box; type here to replace it, or leave "
                    "empty to keep it."
                )
        elif mode == "add" and answer:
            label = f"Add to: {question}"
            note = f"So far: “{clip(answer, 200)}”"
        blocks.append(
            InputBlock(
                block_id=block_id,
                label=label[:MAX_LABEL],
                optional=True,
                element=PlainTextInputElement(
                    action_id=f"{block_id}.input", multiline=True, initial_value=initial
                ),
            )
        )
        if note:
            blocks.append(context_block(note))
    return View(
        type="modal",
        callback_id=TourView.ANSWERS,
        title="Your answers",
        submit="Save",
        close="Cancel",
        private_metadata=AnswerFormMetadata(tour_id=tour_id, mode=mode).dump(),
        blocks=blocks,
    )


def render_reminder(
    *,
    tour_id: int,
    leader_id: str,
    title: str,
    closes_at: datetime,
    leader_tz: str,
    question: str | None,
    position: int | None,
    question_count: int,
    anonymous: bool,
) -> Message:
    """A nudge to someone who hasn't finished. The close is shown in their own time zone (the
    token says "today" or "tomorrow" when it is, for them); the notification names the leader's
    zone, since a bare "today" could be the wrong day for the reader."""
    nudge = (
        f"A gentle nudge: <@{leader_id}>'s listening tour *{clip(title, 500)}* closes "
        f"{_closing(closes_at, leader_tz)}. A few words are plenty."
    )
    blocks: list[Block] = [section_block(nudge)]
    if question is not None and position is not None:
        blocks += [
            section_block(_question_text(position, question_count, question)),
            context_block("Reply here, or type *skip*."),
        ]
    else:
        blocks.append(context_block("Pick up where you left off: reply here, or use the form."))
    if anonymous:
        blocks.append(context_block("*Answer in a form* keeps your words out of this chat."))
    blocks.append(ActionsBlock(elements=[_form_button(tour_id, anonymous=anonymous)]))
    return Message(
        text=f"A gentle nudge: the listening tour {clip(title, 500)} closes "
        f"{leader_time(closes_at, leader_tz)}.",
        blocks=blocks,
    )


# --- What the leader sees ----------------------------------------------------------------------


def render_launch_delayed(*, title: str) -> Message:
    """Told to the leader when Slack holds up working out a launch's audience."""
    text = (
        f"Slack is busy right now, so *{clip(title, 500)}* is saved but not sent yet. I'll "
        "send the invitations as soon as Slack lets me and tell you here how many went out; "
        "there's nothing you need to do."
    )
    return Message(text=text)


def render_leader_confirmation(
    *,
    tour_id: int,
    title: str,
    invited: int,
    skipped: int,
    anonymous: bool,
    min_responses: int,
    closes_at: datetime,
    leader_tz: str,
    results_channel_id: str,
    timing: str = "",
    quote_min_responses: int = QUOTE_MIN_RESPONSES,
) -> Message:
    """`timing` says when people are asked when not all at once ("8 now, 3 tomorrow at 09:00
    their time"): invitations wait for each person's working hours."""
    safe_title = clip(title, 500)
    started = f"Your listening tour *{safe_title}* is under way: {people(invited)} invited."
    if timing:
        started += f"\nEach is asked in their own working hours: {timing}."
    if skipped:
        started += (
            f"\nSkipped {skipped} (deactivated accounts, bots, or people Slack doesn't know)."
        )
    seen = (
        "Answers are anonymous: you'll see them grouped, never with names, once the tour has "
        f"closed and if at least {min_responses} people other than you answered; their own "
        f"words (quotes, the answers) once at least {max(quote_min_responses, min_responses)} "
        "did. Until then, a count."
        + (
            f" With fewer than {MIN_INVITED} people asked, an anonymous tour never shows what "
            "anyone wrote: it would be too easy to tell who said what."
            if invited < MIN_INVITED
            else ""
        )
        if anonymous
        else "Answers are named: you'll see who said what."
    )
    blocks: list[Block] = [
        section_block(started),
        section_block(seen),
        context_block(
            f"It closes {_closing(closes_at, leader_tz)}. Then you review the findings "
            f"before anything is shared in <#{results_channel_id}>."
        ),
        tour_actions_block(tour_id, is_open=True),
    ]
    return Message(
        text=f"Your listening tour {safe_title} is under way: {people(invited)} invited.",
        blocks=blocks,
    )


def withheld_reason(
    visibility: Visibility, *, leader_id: str | None = None, reader_id: str | None = None
) -> str:
    """Why what people wrote is not shown, told to the leader, or to `reader_id` (an admin
    acting for `leader_id`): neither's own answers count toward the minimum."""
    besides = "you" if reader_id in (None, leader_id) else f"you and <@{leader_id}>"
    have = "1 has" if visibility.others == 1 else f"{visibility.others} have"
    if visibility.too_few_asked:
        return (
            f"This anonymous tour asked {visibility.invited} "
            f"{'person' if visibility.invited == 1 else 'people'}: with fewer than {MIN_INVITED}, "
            "answers and themes are never shown, since it would be too easy to tell who wrote what."
        )
    if visibility.others < visibility.min_responses:
        return (
            f"Answers and themes are shown only when at least {visibility.min_responses} people "
            f"besides {besides} have answered, so nobody can be singled out; {have}. "
            "Your own answers don't count toward that: you know which ones they are."
        )
    if not visibility.show_themes:
        return (
            "Answers stay hidden until this anonymous tour closes: comparing what you saw "
            "before and after someone answered would single them out."
        )
    return (
        f"Themes are shown, but people's own words (quotes and the answers) only once at least "
        f"{visibility.quotes_from} people besides {besides} have answered; {have}."
    )


def render_close_notice(
    *, tour_id: int, title: str, respondents: int, participants: int, visibility: Visibility
) -> Message:
    counts = f"*{clip(title, 500)}* has closed: {respondents} of {participants} answered."
    if not visibility.show_themes:
        blocks: list[Block] = [
            section_block(
                f"{counts}\n{withheld_reason(visibility)} So nothing people wrote will be "
                "shown, and no themes are suggested."
            )
        ]
    elif not visibility.show_answers:
        blocks = [
            section_block(
                f"{counts}\n{withheld_reason(visibility)} I'll suggest themes for you to review, "
                "without quotes."
            )
        ]
    else:
        blocks = [
            section_block(f"{counts}\nPress *Export* to read the answers, grouped by question."),
            tour_actions_block(tour_id, is_open=False),
        ]
    return Message(
        text=f"{clip(title, 500)} has closed: {respondents} of {participants} answered.",
        blocks=blocks,
    )


def render_remind_outcome(
    reminded: Reminded, *, anonymous: bool = True, automatic: bool = True
) -> str:
    """What the leader is told after pressing Remind now (never who was reminded). In an
    anonymous tour the people away are not counted apart: with their statuses in plain sight,
    "1 away" would tell the leader whether the one person on holiday has answered."""
    if reminded.outcome is RemindOutcome.CLOSED:
        return "This tour has closed, so there is nobody left to remind."
    if reminded.outcome is RemindOutcome.TOO_SOON:
        return (
            "Everyone heard from Partnerbot less than a day ago (the invitation or a reminder). "
            "You can remind them again tomorrow."
        )
    if reminded.outcome is RemindOutcome.NOBODY:
        return "Everyone has already answered. Nobody needs a reminder."
    later = (
        "the tour's next reminder reaches them once they're back"
        if automatic
        else "press Remind again once they're back"
    )
    if anonymous:
        everyone = _unfinished(reminded.people + reminded.away)
        return (
            f"Reminder on its way to {everyone}, each in their own working "
            f"hours. Anyone whose Slack status says they're away is not reminded now: {later}. "
            "(Who they are stays private.)"
        )
    away = (
        f" {people(reminded.away)} {'is' if reminded.away == 1 else 'are'} away by their "
        f"Slack status, so not reminded now: {later}."
        if reminded.away
        else ""
    )
    if not reminded.people:
        return f"Nobody reminded now.{away}"
    return (
        f"Reminder on its way to {_unfinished(reminded.people)}, each in "
        f"their own working hours.{away} (Who they are stays private.)"
    )


def _unfinished(count: int) -> str:
    return "1 person who hasn't finished" if count == 1 else f"{count} people who haven't finished"


def render_notice_modal(*, title: str, text: str) -> View:
    """A polite refusal or explanation. `text` is mrkdwn written by the caller, who escapes any
    user text inside it (so it may carry `<@U…>` mentions on purpose)."""
    return View(
        type="modal",
        callback_id=TourView.NOTICE,
        title=(title or "Partnerbot")[:MAX_MODAL_TITLE],
        close="OK",
        blocks=[section_block(text[:MAX_SECTION_TEXT])],
    )


def render_export_message(
    *,
    title: str,
    respondents: int,
    participants: int,
    questions: Sequence[tuple[str, Sequence[str]]],
    named: Sequence[tuple[str, Sequence[tuple[str, str]]]] | None,
    tour_id: int,
    see_answers_action: str | None = None,
) -> Message:
    """The findings, question by question, in the given order. `named` (a named tour) replaces
    the grouped answers with "<@U…>: answer" lines. Long answers are cut; when the message runs
    out of blocks, each question gets a fair share and the rest are counted at the end.
    `see_answers_action`: the action id of "See all answers" (the paged view, where the leader
    may hide an answer), when the caller offers it."""
    texts: list[tuple[str, list[tuple[str, str]]]] = (
        [(question, [(f"<@{user}>: ", text) for user, text in rows]) for question, rows in named]
        if named is not None
        else [(question, [("", text) for text in answers]) for question, answers in questions]
    )
    cut = any(len(escape(text)) > MAX_EXPORT_ANSWER for _, rows in texts for _, text in rows)
    grouped = [
        (
            f"*{clip(question, 1_000)}*",
            # A joined answer keeps its lines under one bullet.
            [
                f"• {who}{clip(text, MAX_EXPORT_ANSWER)}".replace("\n", "\n    ")
                for who, text in rows
            ],
        )
        for question, rows in texts
    ]
    safe_title = clip(title, 500)
    blocks: list[Block] = [
        HeaderBlock(text="Listening tour findings"),
        section_block(f"*{safe_title}* — {respondents} of {participants} answered."),
    ]
    # One block stays free for the closing note, and one for "See all answers".
    available = MAX_EXPORT_BLOCKS - len(blocks) - 1 - (1 if see_answers_action else 0)
    needs = [len(pack_sections(lines, heading, available)[0]) for heading, lines in grouped]
    omitted = 0
    for (heading, lines), share in zip(grouped, fair_shares(needs, available), strict=True):
        if share == 0:
            omitted += len(lines)
            continue
        if not lines:
            blocks.append(section_block(f"{heading}\n_No answers._"))
            continue
        chunks, left_out = pack_sections(lines, heading, share)
        if left_out:
            chunks[-1] += f"\n_…and {left_out} more_"
        omitted += left_out
        blocks += [section_block(chunk) for chunk in chunks]
    if omitted:
        blocks.append(
            context_block(
                f"…and {omitted} more answers — run `partnerbot export {tour_id}` for all of them."
            )
        )
    elif cut:
        blocks.append(
            context_block(
                f"Long answers are cut at {MAX_EXPORT_ANSWER} characters here; "
                f"`partnerbot export {tour_id}` has them in full."
            )
        )
    if see_answers_action:
        button = ButtonElement(
            text="See all answers", action_id=see_answers_action, value=f"{tour_id}:0"
        )
        blocks.append(ActionsBlock(elements=[button]))
    return Message(
        text=f"Findings from {safe_title}: {respondents} of {participants} answered.",
        blocks=blocks,
    )
