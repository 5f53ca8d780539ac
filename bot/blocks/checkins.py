"""Step 4's rhythm as people see it: the owner's check-in DM and its form, the nudge, the
overdue question, the celebration when an initiative is done, the "you said → we did" DM to the
people who answered the tour, and the weekly quick-wins update in the team channel. Pure
renderers; user text is escaped and cut to Slack's limits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    RadioButtonsElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import Message
from bot.blocks.initiatives import InitiativeAction, InitiativeCard, progress_bar
from bot.blocks.kit import (
    clip,
    context_block,
    count_of,
    format_day,
    input_action_id,
    one_line,
    section_block,
    text_input,
)
from bot.blocks.metadata import CheckinMetadata, InitiativeMetadata, TourMetadata
from bot.flows.checkins import WEEKDAYS, CheckinStatus
from bot.flows.outcomes import InitiativeStatus


class CheckinAction(StrEnum):
    """Action ids; the comment says what rides in the button's value."""

    # One button per status, "checkins.status.on_track" etc.; value str(checkin_id).
    STATUS = "checkins.status"
    SNOOZE = "checkins.snooze"  # str(checkin_id)
    LEAVE = "checkins.leave"  # str(initiative_id)
    EXTEND = "checkins.extend"  # str(initiative_id)
    FINISH = "checkins.finish"  # str(initiative_id): mark done from the overdue question
    STOP = "checkins.stop"  # str(initiative_id): close it without it being done
    LOOP_OPT_OUT = "checkins.loop_opt_out"  # "" (the person who clicks)
    DIGEST_SETTINGS = "checkins.digest_settings"  # str(tour_id)


class CheckinView(StrEnum):
    ANSWER = "checkins.answer"
    LEAVE = "checkins.leave"
    EXTEND = "checkins.extend"
    DIGEST = "checkins.digest"


class CheckinBlock(StrEnum):
    STATUS = "checkin.status"
    PROGRESS = "checkin.progress"
    NOTE = "checkin.note"
    WIN = "checkin.win"
    LEAVE_UNTIL = "checkin.leave_until"
    NEW_DUE = "checkin.new_due"
    DIGEST_DAY = "digest.day"
    DIGEST_TIME = "digest.time"


STATUS_LABELS = {
    CheckinStatus.ON_TRACK: "On track",
    CheckinStatus.AT_RISK: "At risk",
    CheckinStatus.OFF_TRACK: "Off track",
    CheckinStatus.DONE: "Done",
}
STATUS_EMOJI = {
    CheckinStatus.ON_TRACK: "🟢",
    CheckinStatus.AT_RISK: "🟠",
    CheckinStatus.OFF_TRACK: "🔴",
    CheckinStatus.DONE: "✅",
}
MAX_NOTE = 500
MAX_WIN = 1_000
MAX_DIGEST_WINS = 20  # more are summarised in one line
WINS_PER_SECTION = 4
SECTION_BUDGET = 2_900
MAX_DIGEST_INITIATIVES = 10
DIGEST_HOURS = range(7, 20)  # 07:00 to 19:00, on the hour


def status_action(status: CheckinStatus) -> str:
    return f"{CheckinAction.STATUS}.{status.value}"


def status_text(status: str | None, progress: int) -> str:
    """ "🟢 On track · `▓▓▓▓░░░░░░` 40%", or "no check-in yet · …"."""
    try:
        known = CheckinStatus(status) if status else None
    except ValueError:
        known = None
    label = f"{STATUS_EMOJI[known]} {STATUS_LABELS[known]}" if known else "No check-in yet"
    return f"{label} · {progress_bar(progress)}"


def _title(card: InitiativeCard, limit: int = 300) -> str:
    return clip(one_line(card.title), limit)


# --- the owner's check-in ----------------------------------------------------------------------


def render_checkin(
    *, card: InitiativeCard, checkin_id: int, period: date, nudge: bool = False
) -> Message:
    """The owner's DM at their slot (or the one nudge the next day)."""
    title = _title(card)
    intro = (
        f"A reminder: how is *{title}* going this week?"
        if nudge
        else f"Check-in for *{title}* — week of {format_day(period)}."
    )
    due = f"due {format_day(card.due_date)}" if card.due_date else "no due date"
    blocks: list[Block] = [
        section_block(
            f"{intro}\n*For* {clip(one_line(card.theme_label), 200)} → "
            f"{clip(one_line(card.outcome), 500)}\n"
            f"Last time: {status_text(card.last_status, card.progress)} · {due}"
        ),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text=f"{STATUS_EMOJI[status]} {label}",
                    action_id=status_action(status),
                    value=str(checkin_id),
                    style="primary" if status is CheckinStatus.ON_TRACK else None,
                )
                for status, label in STATUS_LABELS.items()
            ]
        ),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Log a quick win",
                    action_id=InitiativeAction.LOG_WIN,
                    value=str(card.initiative_id),
                ),
                ButtonElement(
                    text="Snooze a week", action_id=CheckinAction.SNOOZE, value=str(checkin_id)
                ),
                ButtonElement(
                    text="On leave…",
                    action_id=CheckinAction.LEAVE,
                    value=str(card.initiative_id),
                ),
            ]
        ),
        context_block(
            "Or just reply here, e.g. _on track, 40% — win: Finance saw the first alert_. "
            + ("No more reminders this week after this one." if nudge else "")
        ),
    ]
    return Message(
        text=f"{'Reminder: ' if nudge else ''}check-in for {title}",
        blocks=blocks,
    )


def render_checkin_modal(
    *,
    checkin_id: int,
    title: str,
    status: CheckinStatus,
    progress: int,
    note: str | None = None,
) -> View:
    statuses = [Option(value=s.value, text=label) for s, label in STATUS_LABELS.items()]
    steps = [Option(value=str(n), text=f"{n}%") for n in range(0, 101, 10)]
    nearest = min(100, max(0, round(progress / 10) * 10))
    return View(
        type="modal",
        callback_id=CheckinView.ANSWER,
        title="Check-in",
        submit="Send",
        close="Cancel",
        private_metadata=CheckinMetadata(checkin_id=checkin_id).dump(),
        blocks=[
            context_block(f"*{clip(one_line(title), 300)}*"),
            InputBlock(
                block_id=CheckinBlock.STATUS,
                label="How is it going?",
                element=RadioButtonsElement(
                    action_id=input_action_id(CheckinBlock.STATUS),
                    options=statuses,
                    initial_option=next(o for o in statuses if o.value == status.value),
                ),
            ),
            InputBlock(
                block_id=CheckinBlock.PROGRESS,
                label="Progress",
                element=StaticSelectElement(
                    action_id=input_action_id(CheckinBlock.PROGRESS),
                    options=steps,
                    initial_option=steps[nearest // 10],
                ),
            ),
            text_input(
                CheckinBlock.NOTE,
                "A short note for the team",
                initial=note,
                max_length=MAX_NOTE,
                optional=True,
                multiline=True,
            ),
            text_input(
                CheckinBlock.WIN,
                "Any quick win this week?",
                initial=None,
                max_length=MAX_WIN,
                optional=True,
            ),
        ],
    )


def render_checkin_thanks(*, title: str, status: str, progress: int, win: bool) -> str:
    text = f"Thanks — *{clip(one_line(title), 300)}*: {status_text(status, progress)}."
    if win:
        text += " Your quick win goes into the team's weekly update."
    return text


def render_confirm_done(*, title: str, checkin_id: int) -> Message:
    text = (
        f"Is *{clip(one_line(title), 300)}* done? Confirm it, and the team channel gets to "
        "celebrate."
    )
    return Message(
        text=text,
        blocks=[
            section_block(text),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="✅ Yes, it's done",
                        action_id=status_action(CheckinStatus.DONE),
                        value=str(checkin_id),
                        style="primary",
                    )
                ]
            ),
        ],
    )


def render_checkin_unclear(*, title: str) -> str:
    return (
        f"I couldn't tell how *{clip(one_line(title), 300)}* is going from that. Use the buttons "
        "above, or reply with a status — _on track_, _at risk_, _off track_ or _done_ — and a "
        "percentage, e.g. _at risk, 30% — waiting on Finance_."
    )


def render_snoozed(*, title: str, next_day: date | None) -> str:
    text = f"Snoozed. No more reminders for *{clip(one_line(title), 300)}* this week"
    return text + (f"; the next check-in comes on {format_day(next_day)}." if next_day else ".")


def render_leave_modal(*, initiative_id: int, today: date) -> View:
    return View(
        type="modal",
        callback_id=CheckinView.LEAVE,
        title="On leave",
        submit="Save",
        close="Cancel",
        private_metadata=InitiativeMetadata(initiative_id=initiative_id).dump(),
        blocks=[
            InputBlock(
                block_id=CheckinBlock.LEAVE_UNTIL,
                label="Back on (no check-ins or reminders until then)",
                element=DatePickerElement(
                    action_id=input_action_id(CheckinBlock.LEAVE_UNTIL),
                    initial_date=(today + timedelta(days=7)).isoformat(),
                ),
            ),
        ],
    )


def render_on_leave(*, title: str, back_on: date) -> str:
    return (
        f"Enjoy your time off. No check-ins for *{clip(one_line(title), 300)}* before "
        f"{format_day(back_on)}; they start again with the first one after that."
    )


# --- past its due date -------------------------------------------------------------------------


def render_overdue(*, card: InitiativeCard) -> Message:
    assert card.due_date is not None
    text = (
        f"*{_title(card)}* was due on {format_day(card.due_date)} and isn't marked done. "
        "Give it a new date, mark it done, or close it?"
    )
    return Message(
        text=f"{clip(one_line(card.title), 300)} is past its due date",
        blocks=[
            section_block(text),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="New date…",
                        action_id=CheckinAction.EXTEND,
                        value=str(card.initiative_id),
                        style="primary",
                    ),
                    ButtonElement(
                        text="Mark done",
                        action_id=CheckinAction.FINISH,
                        value=str(card.initiative_id),
                    ),
                    ButtonElement(
                        text="Close it", action_id=CheckinAction.STOP, value=str(card.initiative_id)
                    ),
                ]
            ),
        ],
    )


def render_overdue_for_leader(*, card: InitiativeCard) -> str:
    assert card.due_date is not None
    return (
        f"*{_title(card)}*, owned by <@{card.owner_id}>, was due on {format_day(card.due_date)}. "
        "I've asked them to give it a new date, mark it done or close it."
    )


def render_extend_modal(*, initiative_id: int, due: date, today: date) -> View:
    return View(
        type="modal",
        callback_id=CheckinView.EXTEND,
        title="New due date",
        submit="Save",
        close="Cancel",
        private_metadata=InitiativeMetadata(initiative_id=initiative_id).dump(),
        blocks=[
            InputBlock(
                block_id=CheckinBlock.NEW_DUE,
                label="When will it be done?",
                element=DatePickerElement(
                    action_id=input_action_id(CheckinBlock.NEW_DUE),
                    initial_date=max(due, today).isoformat(),
                ),
            ),
        ],
    )


def render_new_due_for_leader(*, card: InitiativeCard) -> str:
    assert card.due_date is not None
    return f"<@{card.owner_id}> moved *{_title(card)}* to {format_day(card.due_date)}."


def render_closed_for_leader(*, card: InitiativeCard) -> str:
    return f"<@{card.owner_id}> closed *{_title(card)}* without finishing it."


# --- done: celebrate and close the loop -------------------------------------------------------


def render_celebration(*, card: InitiativeCard) -> Message:
    text = (
        f"🎉 *{_title(card)}* is done! Thank you <@{card.owner_id}>.\n"
        f"You said: *{clip(one_line(card.theme_label), 300)}* → we did: "
        f"{clip(one_line(card.outcome), 600)}"
    )
    return Message(text=f"Done: {clip(one_line(card.title), 300)}", blocks=[section_block(text)])


def render_loop_closed(*, card: InitiativeCard, tour_title: str) -> Message:
    """The one-time DM to people who answered the listening tour."""
    text = (
        f"You answered the listening tour *{clip(one_line(tour_title), 300)}*. The team raised "
        f"*{clip(one_line(card.theme_label), 300)}* — and *{_title(card)}* is now done, towards "
        f"this outcome: {clip(one_line(card.outcome), 600)}. Thank you for speaking up."
    )
    return Message(
        text="You said → we did",
        blocks=[
            section_block(text),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Don't send me these", action_id=CheckinAction.LOOP_OPT_OUT, value=""
                    )
                ]
            ),
        ],
    )


# --- the weekly quick-wins update --------------------------------------------------------------


@dataclass(frozen=True)
class WinLine:
    author_id: str
    text: str
    initiative: str
    theme_label: str
    # Where the initiative stands now: only a done one may say "we did".
    status: InitiativeStatus = InitiativeStatus.ACCEPTED
    progress: int = 0


@dataclass(frozen=True)
class MissedLine:
    owner_id: str
    initiative: str


def _win_line(win: WinLine) -> str:
    """A win with the theme it answers: "→ we did" once its initiative is done, "→ we're
    doing" with the progress bar while it is under way (a win is not the whole job), and
    where it stopped if it was closed unfinished."""
    initiative = clip(one_line(win.initiative), 120)
    said = f"you said *{clip(one_line(win.theme_label), 120)}*"
    if win.status is InitiativeStatus.DONE:
        doing = f"we did _{initiative}_"
    elif win.status is InitiativeStatus.CLOSED:
        doing = f"_{initiative}_, closed at {progress_bar(win.progress)}"
    else:
        doing = f"we're doing _{initiative}_ · {progress_bar(win.progress)}"
    return f"• <@{win.author_id}>: {clip(one_line(win.text), 400)} — {said} → {doing}"


def _initiative_line(card: InitiativeCard, note: str | None) -> str:
    line = (
        f"*{_title(card, 150)}* — <@{card.owner_id}> · "
        f"{status_text(card.last_status, card.progress)}"
        + (f" · due {format_day(card.due_date)}" if card.due_date else "")
    )
    if note:
        line += f"\n> {clip(one_line(note), MAX_NOTE)}"
    return line


def _sections(heading: str, lines: Sequence[str]) -> list[Block]:
    """The heading and its lines in as few sections as stay inside a section's 3,000."""
    blocks: list[Block] = []
    section = heading
    for line in lines:
        if len(section) + 1 + len(line) > SECTION_BUDGET:
            blocks.append(section_block(section))
            section = line
        else:
            section += "\n" + line
    blocks.append(section_block(section))
    return blocks


def render_digest(
    *,
    tour_title: str,
    week_of: date,
    wins: Sequence[WinLine],
    initiatives: Sequence[InitiativeCard],
    missed: Sequence[MissedLine],
    overdue: Sequence[InitiativeCard],
    today: date,
    notes: Mapping[int, str] | None = None,
    away: Sequence[MissedLine] = (),
) -> Message:
    """The week's update in the team channel: wins with the theme each answers, every
    initiative's status and progress with its owner's note for the team (`notes`, by
    initiative id), what is overdue or missed, and whose check-in fell in their time off
    (away, not missed); at most ~46 blocks."""
    notes = notes or {}
    blocks: list[Block] = [
        HeaderBlock(text="This week's quick wins"),
        context_block(f"*{clip(one_line(tour_title), 300)}* · week of {format_day(week_of)}"),
    ]
    if wins:
        shown = list(wins[:MAX_DIGEST_WINS])
        # A win's line is at most ~690 characters: four stay inside a section's 3,000.
        for start in range(0, len(shown), WINS_PER_SECTION):
            chunk = shown[start : start + WINS_PER_SECTION]
            blocks.append(section_block("\n".join(_win_line(w) for w in chunk)))
        if len(wins) > MAX_DIGEST_WINS:
            more = count_of(len(wins) - MAX_DIGEST_WINS, "more win", "more wins")
            blocks.append(context_block(f"…and {more} this week."))
    else:
        blocks.append(section_block("No quick wins logged this week."))
    blocks.append(DividerBlock())
    lines = [
        _initiative_line(card, notes.get(card.initiative_id))
        for card in initiatives[:MAX_DIGEST_INITIATIVES]
    ]
    if len(initiatives) > MAX_DIGEST_INITIATIVES:
        lines.append(f"…and {len(initiatives) - MAX_DIGEST_INITIATIVES} more.")
    # With notes of up to 500 characters, ten lines take more than one section.
    blocks += _sections("*Initiatives*", lines or ["—"])
    if away:
        named = [
            f"*{clip(one_line(a.initiative), 150)}* (<@{a.owner_id}>)"
            for a in away[:MAX_DIGEST_INITIATIVES]
        ]
        others = len(away) - len(named)
        blocks.append(
            context_block(
                "🌴 Away on check-in day, so no check-in: "
                + ", ".join(named)
                + (f" and {others} more" if others > 0 else "")
            )
        )
    attention: list[str] = []
    attention += [
        f"⏰ *{_title(card, 150)}* was due {format_day(card.due_date)} (<@{card.owner_id}>)"
        for card in overdue[:MAX_DIGEST_INITIATIVES]
        if card.due_date is not None
    ]
    attention += [
        f"• Missed check-in: *{clip(one_line(m.initiative), 150)}* (<@{m.owner_id}>)"
        for m in missed[:MAX_DIGEST_INITIATIVES]
    ]
    hidden = max(len(overdue) - MAX_DIGEST_INITIATIVES, 0)
    hidden += max(len(missed) - MAX_DIGEST_INITIATIVES, 0)
    if hidden:
        attention.append(f"…and {hidden} more.")
    # Up to twenty lines of ~200 characters: as many sections as it takes to stay under 3,000.
    if attention:
        blocks += _sections("*Needs attention*", attention)
    blocks.append(
        ActionsBlock(
            elements=[ButtonElement(text="Log a win", action_id=InitiativeAction.LOG_WIN, value="")]
        )
    )
    return Message(
        text=f"This week's quick wins: {count_of(len(wins), 'win', 'wins')} for "
        f"{clip(one_line(tour_title), 300)}",
        blocks=blocks,
    )


def render_quiet_week(*, tour_title: str, under_way: int) -> Message:
    text = (
        f"A quiet week for *{clip(one_line(tour_title), 300)}*: no quick wins logged and no "
        f"check-ins changed; {count_of(under_way, 'initiative is', 'initiatives are')} under way."
    )
    return Message(text=text, blocks=[ContextBlock(elements=[MarkdownTextObject(text=text)])])


def render_digest_modal(*, tour_id: int, weekday: int, minute: int) -> View:
    days = [Option(value=str(n), text=name) for n, name in enumerate(WEEKDAYS[:5])]
    hours = [Option(value=str(h * 60), text=f"{h:02d}:00") for h in DIGEST_HOURS]
    return View(
        type="modal",
        callback_id=CheckinView.DIGEST,
        title="Weekly update",
        submit="Save",
        close="Cancel",
        private_metadata=TourMetadata(tour_id=tour_id).dump(),
        blocks=[
            context_block("When the team channel gets the week's quick wins (on your clock)."),
            InputBlock(
                block_id=CheckinBlock.DIGEST_DAY,
                label="Day",
                element=StaticSelectElement(
                    action_id=input_action_id(CheckinBlock.DIGEST_DAY),
                    options=days,
                    initial_option=next((o for o in days if o.value == str(weekday)), days[-1]),
                ),
            ),
            InputBlock(
                block_id=CheckinBlock.DIGEST_TIME,
                label="Time",
                element=StaticSelectElement(
                    action_id=input_action_id(CheckinBlock.DIGEST_TIME),
                    options=hours,
                    initial_option=next((o for o in hours if o.value == str(minute)), hours[8]),
                ),
            ),
        ],
    )
