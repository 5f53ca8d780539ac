"""Step 4's rhythm renderers: the owner's check-in DM and its form, snooze, overdue, the
celebration, "you said → we did" and the weekly quick-wins update, as tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from slack_sdk.models.blocks import SectionBlock

from bot.blocks import Message
from bot.blocks.checkins import (
    CheckinAction,
    CheckinBlock,
    CheckinView,
    MissedLine,
    WinLine,
    render_celebration,
    render_checkin,
    render_checkin_modal,
    render_checkin_thanks,
    render_digest,
    render_digest_modal,
    render_extend_modal,
    render_loop_closed,
    render_overdue,
    render_quiet_week,
    render_snoozed,
    status_text,
)
from bot.blocks.initiatives import InitiativeCard
from bot.flows.checkins import CheckinStatus
from bot.flows.outcomes import InitiativeStatus
from bot.sandbox.block_kit import validate_message
from tests.blocks.payloads import (
    AMPERSANDS,
    CARD,
    EVIL,
    EVIL_ESCAPED,
    FRIDAY,
    TODAY,
    assert_no_raw_markup,
    assert_no_raw_mrkdwn,
    buttons,
    by_block_id,
    contexts,
    message_dict,
    mrkdwn_texts,
    view_dict,
)

A = InitiativeStatus.ACCEPTED
DONE = InitiativeStatus.DONE
OWNED = replace(CARD, status=A, owner_id="U2", due_date=FRIDAY, progress=40, last_status="on_track")
EVIL_CARD = replace(OWNED, title=f"*bold* {EVIL}", theme_label=EVIL, outcome=EVIL)
# The longest texts the bot stores: 150-character titles and theme labels, 1,000-character
# wins, all in the character that grows most when escaped; the longest Slack user id.
TITLE_150 = "&" * 150
WIN_1000 = "&" * 1_000
LONG_ID = "U0123456789"
HUGE = replace(
    OWNED,
    title=TITLE_150,
    theme_label=TITLE_150,
    outcome=AMPERSANDS,
    owner_id=LONG_ID,
    due_date=date(2026, 9, 30),  # "Wednesday 30 September": the longest day and month names
    progress=100,
    last_status="off_track",
)
TOUR = "Listening tour – March 2026"


def section_texts(blocks: Sequence[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def actions_rows(blocks: Sequence[dict[str, Any]]) -> list[list[tuple[str, str, str | None]]]:
    """Each row's (action_id, label, value); slack_sdk leaves an empty value out: None."""
    return [
        [(e["action_id"], e["text"]["text"], e.get("value")) for e in b["elements"]]
        for b in blocks
        if b["type"] == "actions"
    ]


def assert_escaped_everywhere(payload: dict[str, Any]) -> None:
    """User text shows escaped in the blocks and in the top-level text; nothing raw survives."""
    assert EVIL_ESCAPED in json.dumps(payload["blocks"], ensure_ascii=False)
    assert_no_raw_mrkdwn(payload["blocks"])
    assert_no_raw_markup(payload)


def test_ids_are_the_agreed_ones() -> None:
    assert {a.name: a.value for a in CheckinAction} == {
        "STATUS": "checkins.status",
        "SNOOZE": "checkins.snooze",
        "LEAVE": "checkins.leave",
        "EXTEND": "checkins.extend",
        "FINISH": "checkins.finish",
        "STOP": "checkins.stop",
        "LOOP_OPT_OUT": "checkins.loop_opt_out",
        "DIGEST_SETTINGS": "checkins.digest_settings",
    }
    assert {v.name: v.value for v in CheckinView} == {
        "ANSWER": "checkins.answer",
        "LEAVE": "checkins.leave",
        "EXTEND": "checkins.extend",
        "DIGEST": "checkins.digest",
    }


@pytest.mark.parametrize(
    ("status", "progress", "expected"),
    [
        ("on_track", 40, "🟢 On track · `▓▓▓▓░░░░░░` 40%"),
        ("at_risk", 0, "🟠 At risk · `░░░░░░░░░░` 0%"),
        ("off_track", 55, "🔴 Off track · `▓▓▓▓▓▓░░░░` 55%"),
        ("done", 100, "✅ Done · `▓▓▓▓▓▓▓▓▓▓` 100%"),
        (None, 0, "No check-in yet · `░░░░░░░░░░` 0%"),
        ("", 10, "No check-in yet · `▓░░░░░░░░░` 10%"),
        ("sideways", 30, "No check-in yet · `▓▓▓░░░░░░░` 30%"),  # an unknown value
    ],
)
def test_status_text(status: str | None, progress: int, expected: str) -> None:
    assert status_text(status, progress) == expected


# --- the owner's check-in ----------------------------------------------------------------------

STATUS_ROW = [
    ("checkins.status.on_track", "🟢 On track", "99"),
    ("checkins.status.at_risk", "🟠 At risk", "99"),
    ("checkins.status.off_track", "🔴 Off track", "99"),
    ("checkins.status.done", "✅ Done", "99"),
]
OTHER_ROW = [
    ("initiatives.win", "Log a quick win", "12"),
    ("checkins.snooze", "Snooze a week", "99"),
    ("checkins.leave", "On leave…", "12"),
]
REPLY_HINT = "Or just reply here, e.g. _on track, 40% — win: Finance saw the first alert_."


@pytest.mark.parametrize(
    ("nudge", "intro", "text", "hint"),
    [
        (
            False,
            "Check-in for *Slip alerts* — week of Monday 16 March.",
            "check-in for Slip alerts",
            REPLY_HINT,
        ),
        (
            True,
            "A reminder: how is *Slip alerts* going this week?",
            "Reminder: check-in for Slip alerts",
            REPLY_HINT + " No more reminders this week after this one.",
        ),
    ],
)
def test_checkin(nudge: bool, intro: str, text: str, hint: str) -> None:
    payload = message_dict(render_checkin(card=OWNED, checkin_id=99, period=TODAY, nudge=nudge))
    assert [b["type"] for b in payload["blocks"]] == ["section", "actions", "actions", "context"]
    assert section_texts(payload["blocks"]) == [
        f"{intro}\n*For* Speed → Weekly releases\n"
        "Last time: 🟢 On track · `▓▓▓▓░░░░░░` 40% · due Friday 3 April"
    ]
    assert actions_rows(payload["blocks"]) == [STATUS_ROW, OTHER_ROW]
    styles = [b.get("style") for b in buttons(payload["blocks"])]
    assert styles == ["primary", None, None, None, None, None, None]
    assert [c.rstrip() for c in contexts(payload["blocks"])] == [hint]
    assert payload["text"] == text


@pytest.mark.parametrize(
    ("changes", "last_time"),
    [
        ({"due_date": None}, "Last time: 🟢 On track · `▓▓▓▓░░░░░░` 40% · no due date"),
        (
            {"last_status": None, "progress": 0},
            "Last time: No check-in yet · `░░░░░░░░░░` 0% · due Friday 3 April",
        ),
        (
            {"last_status": "at_risk", "progress": 70},
            "Last time: 🟠 At risk · `▓▓▓▓▓▓▓░░░` 70% · due Friday 3 April",
        ),
    ],
)
def test_checkin_last_time_line(changes: dict[str, Any], last_time: str) -> None:
    card = replace(OWNED, **changes)
    payload = message_dict(render_checkin(card=card, checkin_id=99, period=TODAY))
    assert section_texts(payload["blocks"])[0].splitlines()[-1] == last_time


def test_checkin_keeps_titles_on_one_line() -> None:
    card = replace(OWNED, title="Slip\nalerts", theme_label="Spe\n\ned", outcome="Weekly\treleases")
    payload = message_dict(render_checkin(card=card, checkin_id=99, period=TODAY))
    assert section_texts(payload["blocks"])[0].splitlines()[:2] == [
        "Check-in for *Slip alerts* — week of Monday 16 March.",
        "*For* Spe ed → Weekly releases",
    ]
    assert payload["text"] == "check-in for Slip alerts"


@pytest.mark.parametrize("nudge", [False, True])
def test_checkin_escapes_user_text(nudge: bool) -> None:
    payload = message_dict(render_checkin(card=EVIL_CARD, checkin_id=99, period=TODAY, nudge=nudge))
    section = section_texts(payload["blocks"])[0]
    assert f"*bold* {EVIL_ESCAPED}" in section
    assert f"*For* {EVIL_ESCAPED} → {EVIL_ESCAPED}\n" in section
    assert payload["text"].endswith(f"check-in for *bold* {EVIL_ESCAPED}")
    assert_escaped_everywhere(payload)


@pytest.mark.parametrize("nudge", [False, True])
def test_checkin_worst_case_fits(nudge: bool) -> None:
    message_dict(render_checkin(card=HUGE, checkin_id=10**12, period=TODAY, nudge=nudge))


# --- the check-in form -------------------------------------------------------------------------


def checkin_modal(
    status: CheckinStatus = CheckinStatus.ON_TRACK,
    progress: int = 40,
    note: str | None = None,
    title: str = "Slip alerts",
) -> dict[str, Any]:
    return view_dict(
        render_checkin_modal(
            checkin_id=99, title=title, status=status, progress=progress, note=note
        )
    )


def test_checkin_modal() -> None:
    payload = checkin_modal(note="Waiting on Finance")
    assert payload["callback_id"] == "checkins.answer"
    assert json.loads(payload["private_metadata"]) == {"checkin_id": 99}
    assert (payload["title"]["text"], payload["submit"]["text"], payload["close"]["text"]) == (
        "Check-in",
        "Send",
        "Cancel",
    )
    assert contexts(payload["blocks"]) == ["*Slip alerts*"]
    blocks = by_block_id(payload["blocks"])
    assert list(blocks) == ["checkin.status", "checkin.progress", "checkin.note", "checkin.win"]
    status = blocks["checkin.status"]["element"]
    assert status["type"] == "radio_buttons"
    assert status["action_id"] == "checkin.status.input"
    assert [(o["value"], o["text"]["text"]) for o in status["options"]] == [
        ("on_track", "On track"),
        ("at_risk", "At risk"),
        ("off_track", "Off track"),
        ("done", "Done"),
    ]
    progress = blocks["checkin.progress"]["element"]
    assert progress["type"] == "static_select"
    assert progress["action_id"] == "checkin.progress.input"
    assert [(o["value"], o["text"]["text"]) for o in progress["options"]] == [
        (str(n), f"{n}%") for n in range(0, 101, 10)
    ]
    note = blocks["checkin.note"]
    assert note["optional"] is True
    assert note["element"]["multiline"] is True
    assert note["element"]["max_length"] == 500
    assert note["element"]["initial_value"] == "Waiting on Finance"
    win = blocks["checkin.win"]
    assert win["optional"] is True
    assert win["element"]["max_length"] == 1_000
    assert "initial_value" not in win["element"]
    assert {b.value for b in CheckinBlock} >= set(blocks)


@pytest.mark.parametrize("status", list(CheckinStatus))
def test_checkin_modal_preselects_the_status(status: CheckinStatus) -> None:
    element = by_block_id(checkin_modal(status=status)["blocks"])["checkin.status"]["element"]
    assert element["initial_option"]["value"] == status.value


# round() rounds halves to the even ten: 5 → 0, 15 → 20, 25 → 20, 45 → 40, 55 → 60, 95 → 100.
@pytest.mark.parametrize(
    ("progress", "preselected"),
    [
        (0, "0"),
        (4, "0"),
        (5, "0"),
        (6, "10"),
        (15, "20"),
        (25, "20"),
        (40, "40"),
        (44, "40"),
        (45, "40"),
        (46, "50"),
        (55, "60"),
        (94, "90"),
        (95, "100"),
        (100, "100"),
        (150, "100"),  # out of range: clamped
        (-20, "0"),
    ],
)
def test_checkin_modal_preselects_the_nearest_step(progress: int, preselected: str) -> None:
    element = by_block_id(checkin_modal(progress=progress)["blocks"])["checkin.progress"]["element"]
    assert element["initial_option"]["value"] == preselected
    assert element["initial_option"]["text"]["text"] == f"{preselected}%"


def test_checkin_modal_escapes_the_title_and_keeps_the_note_raw() -> None:
    payload = checkin_modal(title=f"*bold* {EVIL}", note=EVIL)
    assert contexts(payload["blocks"]) == [f"**bold* {EVIL_ESCAPED}*"]
    # an input's initial value is what the owner edits: raw, never parsed for mentions
    assert by_block_id(payload["blocks"])["checkin.note"]["element"]["initial_value"] == EVIL
    assert_no_raw_mrkdwn(payload["blocks"])


def test_checkin_modal_worst_case_fits() -> None:
    payload = checkin_modal(title=AMPERSANDS, note=AMPERSANDS)
    assert len(contexts(payload["blocks"])[0]) <= 302
    note = by_block_id(payload["blocks"])["checkin.note"]["element"]["initial_value"]
    assert len(note) == 500


# --- short replies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "progress", "win", "expected"),
    [
        ("on_track", 40, False, "Thanks — *Slip alerts*: 🟢 On track · `▓▓▓▓░░░░░░` 40%."),
        (
            "done",
            100,
            True,
            "Thanks — *Slip alerts*: ✅ Done · `▓▓▓▓▓▓▓▓▓▓` 100%. "
            "Your quick win goes into the team's weekly update.",
        ),
    ],
)
def test_checkin_thanks(status: str, progress: int, win: bool, expected: str) -> None:
    assert (
        render_checkin_thanks(title="Slip alerts", status=status, progress=progress, win=win)
        == expected
    )


@pytest.mark.parametrize(
    ("next_day", "expected"),
    [
        (
            date(2026, 3, 23),
            "Snoozed. No more reminders for *Slip alerts* this week; the next check-in comes on "
            "Monday 23 March.",
        ),
        (None, "Snoozed. No more reminders for *Slip alerts* this week."),
    ],
)
def test_snoozed(next_day: date | None, expected: str) -> None:
    assert render_snoozed(title="Slip alerts", next_day=next_day) == expected


@pytest.mark.parametrize(
    "render",
    [
        lambda t: render_checkin_thanks(title=t, status="at_risk", progress=30, win=True),
        lambda t: render_snoozed(title=t, next_day=None),
        lambda t: render_snoozed(title=t, next_day=TODAY),
    ],
    ids=["thanks", "snoozed", "snoozed_until"],
)
def test_short_replies_escape_and_fit(render: Any) -> None:
    text = render(f"*bold* {EVIL}")
    assert f"*bold* {EVIL_ESCAPED}" in text
    assert "<!channel>" not in text
    assert "<@U999>" not in text
    huge = render(AMPERSANDS)
    assert len(huge) < 3_000
    assert validate_message(huge, None) == []


# --- past its due date -------------------------------------------------------------------------


def test_overdue() -> None:
    payload = message_dict(render_overdue(card=OWNED))
    assert section_texts(payload["blocks"]) == [
        "*Slip alerts* was due on Friday 3 April and isn't marked done. "
        "Give it a new date, mark it done, or close it?"
    ]
    assert actions_rows(payload["blocks"]) == [
        [
            ("checkins.extend", "New date…", "12"),
            ("checkins.finish", "Mark done", "12"),
            ("checkins.stop", "Close it", "12"),
        ]
    ]
    assert [b.get("style") for b in buttons(payload["blocks"])] == ["primary", None, None]
    assert payload["text"] == "Slip alerts is past its due date"


def test_overdue_escapes_and_fits() -> None:
    payload = message_dict(render_overdue(card=EVIL_CARD))
    assert section_texts(payload["blocks"])[0].startswith(f"**bold* {EVIL_ESCAPED}* was due")
    assert payload["text"] == f"*bold* {EVIL_ESCAPED} is past its due date"
    assert_escaped_everywhere(payload)
    message_dict(render_overdue(card=replace(HUGE, title=AMPERSANDS)))


@pytest.mark.parametrize(
    ("due", "today", "initial"),
    [
        (date(2026, 3, 1), TODAY, "2026-03-16"),  # already past: today
        (TODAY, TODAY, "2026-03-16"),
        (date(2026, 4, 30), TODAY, "2026-04-30"),  # still ahead: the due date
    ],
)
def test_extend_modal(due: date, today: date, initial: str) -> None:
    payload = view_dict(render_extend_modal(initiative_id=12, due=due, today=today))
    assert payload["callback_id"] == "checkins.extend"
    assert json.loads(payload["private_metadata"]) == {"initiative_id": 12}
    element = by_block_id(payload["blocks"])["checkin.new_due"]["element"]
    assert element["type"] == "datepicker"
    assert element["action_id"] == "checkin.new_due.input"
    assert element["initial_date"] == initial


# --- done: celebrate and close the loop -------------------------------------------------------


def test_celebration() -> None:
    payload = message_dict(render_celebration(card=OWNED))
    assert section_texts(payload["blocks"]) == [
        "🎉 *Slip alerts* is done! Thank you <@U2>.\nYou said: *Speed* → we did: Weekly releases"
    ]
    assert payload["text"] == "Done: Slip alerts"


def test_loop_closed() -> None:
    payload = message_dict(render_loop_closed(card=OWNED, tour_title=TOUR))
    assert section_texts(payload["blocks"]) == [
        f"You answered the listening tour *{TOUR}*. The team raised *Speed* — and "
        "*Slip alerts* is now done, towards this outcome: Weekly releases. "
        "Thank you for speaking up."
    ]
    assert actions_rows(payload["blocks"]) == [
        [("checkins.loop_opt_out", "Don't send me these", None)]
    ]
    assert payload["text"] == "You said → we did"


def test_celebration_escapes_and_fits() -> None:
    payload = message_dict(render_celebration(card=EVIL_CARD))
    assert section_texts(payload["blocks"]) == [
        f"🎉 **bold* {EVIL_ESCAPED}* is done! Thank you <@U2>.\n"
        f"You said: *{EVIL_ESCAPED}* → we did: {EVIL_ESCAPED}"
    ]
    assert payload["text"] == f"Done: *bold* {EVIL_ESCAPED}"
    assert_escaped_everywhere(payload)
    message_dict(render_celebration(card=replace(HUGE, title=AMPERSANDS, theme_label=AMPERSANDS)))


def test_loop_closed_escapes_and_fits() -> None:
    payload = message_dict(render_loop_closed(card=EVIL_CARD, tour_title=EVIL))
    assert section_texts(payload["blocks"]) == [
        f"You answered the listening tour *{EVIL_ESCAPED}*. The team raised *{EVIL_ESCAPED}* — "
        f"and **bold* {EVIL_ESCAPED}* is now done, towards this outcome: {EVIL_ESCAPED}. "
        "Thank you for speaking up."
    ]
    assert_escaped_everywhere(payload)
    huge = replace(HUGE, title=AMPERSANDS, theme_label=AMPERSANDS)
    message_dict(render_loop_closed(card=huge, tour_title=AMPERSANDS))


# --- the weekly quick-wins update --------------------------------------------------------------

WIN = WinLine(
    author_id="U3",
    text="Finance saw the first alert",
    initiative="Slip alerts",
    theme_label="Speed",
    status=DONE,
    progress=100,
)
WIN_TEXT = "• <@U3>: Finance saw the first alert — you said *Speed* → we did _Slip alerts_"
HUGE_WIN = WinLine(author_id=LONG_ID, text=WIN_1000, initiative=TITLE_150, theme_label=TITLE_150)
MISSED = MissedLine(owner_id="U4", initiative="Escalation log")


def digest(
    wins: Sequence[WinLine] = (),
    initiatives: Sequence[InitiativeCard] = (OWNED,),
    missed: Sequence[MissedLine] = (),
    overdue: Sequence[InitiativeCard] = (),
    tour_title: str = TOUR,
    notes: dict[int, str] | None = None,
) -> Message:
    return render_digest(
        tour_title=tour_title,
        week_of=TODAY,
        wins=wins,
        initiatives=initiatives,
        missed=missed,
        overdue=overdue,
        today=date(2026, 3, 20),
        notes=notes,
    )


def section_lengths(message: Message) -> list[int]:
    """Each section's text length, measured before serialising (which refuses over 3,000)."""
    return [len(b.text.text) for b in message.blocks if isinstance(b, SectionBlock) and b.text]


@pytest.mark.parametrize(
    ("count", "sections", "more", "text"),
    [
        (0, [], None, "This week's quick wins: 0 wins for Listening tour – March 2026"),
        (1, [1], None, "This week's quick wins: 1 win for Listening tour – March 2026"),
        (4, [4], None, "This week's quick wins: 4 wins for Listening tour – March 2026"),
        (5, [4, 1], None, "This week's quick wins: 5 wins for Listening tour – March 2026"),
        (
            20,
            [4, 4, 4, 4, 4],
            None,
            "This week's quick wins: 20 wins for Listening tour – March 2026",
        ),
        (
            25,
            [4, 4, 4, 4, 4],
            "…and 5 more wins this week.",
            "This week's quick wins: 25 wins for Listening tour – March 2026",
        ),
    ],
)
def test_digest_wins(count: int, sections: list[int], more: str | None, text: str) -> None:
    wins = [replace(WIN, text=f"Win {n}") for n in range(count)]
    payload = message_dict(digest(wins=wins))
    blocks = payload["blocks"]
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == "This week's quick wins"
    assert contexts(blocks)[0] == f"*{TOUR}* · week of Monday 16 March"
    win_sections = [s for s in section_texts(blocks) if s.startswith("• <@U3>")]
    assert [len(s.splitlines()) for s in win_sections] == sections
    shown = [line for s in win_sections for line in s.splitlines()]
    assert shown == [
        WIN_TEXT.replace("Finance saw the first alert", f"Win {n}") for n in range(min(count, 20))
    ]
    if count == 0:
        assert "No quick wins logged this week." in section_texts(blocks)
    else:
        assert "No quick wins logged this week." not in section_texts(blocks)
    assert [c for c in contexts(blocks) if c.startswith("…and")] == ([more] if more else [])
    assert payload["text"] == text
    # the "Log a win" button comes last
    assert blocks[-1]["type"] == "actions"
    assert actions_rows(blocks) == [[("initiatives.win", "Log a win", None)]]


@pytest.mark.parametrize(
    ("status", "progress", "ending"),
    [
        (DONE, 100, "→ we did _Slip alerts_"),  # marked done: the loop is closed
        (A, 30, "→ we're doing _Slip alerts_ · `▓▓▓░░░░░░░` 30%"),  # under way
        (A, 100, "→ we're doing _Slip alerts_ · `▓▓▓▓▓▓▓▓▓▓` 100%"),  # 100 % is not done
        (A, 0, "→ we're doing _Slip alerts_ · `░░░░░░░░░░` 0%"),  # a first win
        # closed without being finished: neither done nor still being done
        (InitiativeStatus.CLOSED, 40, "→ _Slip alerts_, closed at `▓▓▓▓░░░░░░` 40%"),
    ],
)
def test_digest_says_we_did_only_of_a_done_initiative(
    status: InitiativeStatus, progress: int, ending: str
) -> None:
    payload = message_dict(digest(wins=[replace(WIN, status=status, progress=progress)]))
    [line] = [s for s in section_texts(payload["blocks"]) if s.startswith("• <@U3>")]
    assert line == f"• <@U3>: Finance saw the first alert — you said *Speed* {ending}"


def test_digest_shows_the_owners_note_under_their_initiative() -> None:
    other = replace(OWNED, initiative_id=OWNED.initiative_id + 1, title="Templates", due_date=None)
    payload = message_dict(
        digest(
            initiatives=[OWNED, other],
            notes={OWNED.initiative_id: "Waiting on\nFinance <!channel> & co"},
        )
    )
    (section,) = [s for s in section_texts(payload["blocks"]) if s.startswith("*Initiatives*")]
    assert section.splitlines() == [
        "*Initiatives*",
        "*Slip alerts* — <@U2> · 🟢 On track · `▓▓▓▓░░░░░░` 40% · due Friday 3 April",
        "> Waiting on Finance &lt;!channel&gt; &amp; co",  # one line, escaped: it never pings
        "*Templates* — <@U2> · 🟢 On track · `▓▓▓▓░░░░░░` 40%",  # no note this week
    ]


# Ten initiatives with notes of 500 characters spread over as many sections as it takes.
@pytest.mark.parametrize("char", ["&", "x"])
def test_digest_worst_case_notes_fit(char: str) -> None:
    cards = [replace(HUGE, initiative_id=n) for n in range(15)]
    message = digest(
        wins=[HUGE_WIN] * 25,
        initiatives=cards,
        missed=[MissedLine(LONG_ID, TITLE_150)] * 15,
        overdue=[HUGE] * 15,
        tour_title=AMPERSANDS,
        notes={n: char * 500 for n in range(15)},
    )
    assert max(section_lengths(message)) <= 3_000
    payload = message_dict(message)
    assert len(payload["blocks"]) <= 50
    shown = "\n".join(section_texts(payload["blocks"]))
    assert shown.count("\n> ") == 10  # the ten initiatives shown, each with its note


# The overflow line counts like the rest ("1 more win").
def test_digest_one_more_win_is_singular() -> None:
    payload = message_dict(digest(wins=[WIN] * 21))
    assert "…and 1 more win this week." in contexts(payload["blocks"])


def test_digest_layout() -> None:
    payload = message_dict(digest(wins=[WIN], missed=[MISSED], overdue=[OWNED]))
    assert [b["type"] for b in payload["blocks"]] == [
        "header",
        "context",
        "section",  # the win
        "divider",
        "section",  # initiatives
        "section",  # needs attention
        "actions",
    ]
    assert section_texts(payload["blocks"]) == [
        WIN_TEXT,
        "*Initiatives*\n*Slip alerts* — <@U2> · 🟢 On track · `▓▓▓▓░░░░░░` 40% · "
        "due Friday 3 April",
        "*Needs attention*\n⏰ *Slip alerts* was due Friday 3 April (<@U2>)\n"
        "• Missed check-in: *Escalation log* (<@U4>)",
    ]


@pytest.mark.parametrize(
    ("count", "more"),
    [
        (1, None),
        (10, None),
        (11, "…and 1 more."),
        (15, "…and 5 more."),
    ],
)
def test_digest_initiatives(count: int, more: str | None) -> None:
    cards = [replace(OWNED, title=f"Initiative {n}", due_date=None) for n in range(count)]
    payload = message_dict(digest(initiatives=cards))
    (section,) = [s for s in section_texts(payload["blocks"]) if s.startswith("*Initiatives*")]
    shown = [f"*Initiative {n}* — <@U2> · 🟢 On track · `▓▓▓▓░░░░░░` 40%" for n in range(10)]
    assert section.splitlines()[1:] == shown[:count] + ([more] if more else [])


def test_digest_without_initiatives() -> None:
    payload = message_dict(digest(initiatives=[]))
    assert "*Initiatives*\n—" in section_texts(payload["blocks"])


@pytest.mark.parametrize(
    ("missed", "overdue", "expected"),
    [
        ([], [], None),
        # an overdue card without a due date has nothing to say
        ([], [replace(OWNED, due_date=None)], None),
        (
            [],
            [OWNED, replace(OWNED, title="Templates", owner_id="U5", due_date=date(2026, 3, 13))],
            "*Needs attention*\n⏰ *Slip alerts* was due Friday 3 April (<@U2>)\n"
            "⏰ *Templates* was due Friday 13 March (<@U5>)",
        ),
        (
            [MISSED, MissedLine("U6", "Weekly call")],
            [],
            "*Needs attention*\n• Missed check-in: *Escalation log* (<@U4>)\n"
            "• Missed check-in: *Weekly call* (<@U6>)",
        ),
    ],
)
def test_digest_needs_attention(
    missed: list[MissedLine], overdue: list[InitiativeCard], expected: str | None
) -> None:
    payload = message_dict(digest(missed=missed, overdue=overdue))
    attention = [s for s in section_texts(payload["blocks"]) if s.startswith("*Needs attention*")]
    assert attention == ([expected] if expected else [])


def test_digest_escapes_user_text() -> None:
    evil_win = WinLine(author_id="U3", text=EVIL, initiative=EVIL, theme_label=EVIL, status=DONE)
    payload = message_dict(
        digest(
            wins=[evil_win] * 6,
            initiatives=[EVIL_CARD],
            missed=[MissedLine("U4", EVIL)],
            overdue=[EVIL_CARD],
            tour_title=EVIL,
        )
    )
    texts = mrkdwn_texts(payload["blocks"])
    assert f"• <@U3>: {EVIL_ESCAPED} — you said *{EVIL_ESCAPED}* → we did _{EVIL_ESCAPED}_" in (
        section_texts(payload["blocks"])[0].splitlines()
    )
    assert f"*{EVIL_ESCAPED}* · week of Monday 16 March" in texts
    assert any(f"*Initiatives*\n**bold* {EVIL_ESCAPED}* — <@U2>" in t for t in texts)
    assert any(f"⏰ **bold* {EVIL_ESCAPED}* was due" in t for t in texts)
    assert any(f"Missed check-in: *{EVIL_ESCAPED}* (<@U4>)" in t for t in texts)
    assert payload["text"] == f"This week's quick wins: 6 wins for {EVIL_ESCAPED}"
    assert_escaped_everywhere(payload)


def test_digest_worst_case_block_count() -> None:
    message = digest(
        wins=[HUGE_WIN] * 25,
        initiatives=[HUGE] * 15,
        missed=[MissedLine(LONG_ID, TITLE_150)] * 15,
        overdue=[HUGE] * 15,
        tour_title=AMPERSANDS,
    )
    # header, context, five sections of wins, "…and 5 more", divider, initiatives, two
    # sections of needs attention, the button
    assert len(message.blocks) == 13
    assert len(message.blocks) <= 50


def test_digest_worst_case_initiatives_fit() -> None:
    message = digest(
        wins=[WIN] * 25,
        initiatives=[HUGE] * 15,
        overdue=[HUGE] * 10,
        tour_title=AMPERSANDS,
    )
    assert max(section_lengths(message)) <= 3_000
    payload = message_dict(message)
    assert len(payload["blocks"]) <= 50
    assert len(payload["text"]) <= 400


# A win's line may be 4 + 11 (author id) + 3 + 400 (win) + 4 + 120 (theme) + 1 + 17 + 120
# (initiative) + 22 (the progress bar) = 702 characters: five would pass 3,000, so a section
# holds four.
@pytest.mark.parametrize("char", ["&", "x"])
def test_digest_worst_case_wins_fit(char: str) -> None:
    win = WinLine(LONG_ID, char * 1_000, char * 150, char * 150, progress=100)
    message = digest(wins=[win] * 25, tour_title=char * 150)
    assert max(section_lengths(message)) <= 3_000
    message_dict(message)


# "Needs attention" holds up to ten overdue and ten missed lines of ~200 characters: they are
# spread over as many sections as it takes.
@pytest.mark.parametrize("char", ["&", "x"])
def test_digest_worst_case_needs_attention_fits(char: str) -> None:
    card = replace(HUGE, title=char * 150)
    message = digest(
        initiatives=[card] * 10, missed=[MissedLine(LONG_ID, char * 150)] * 10, overdue=[card] * 10
    )
    assert max(section_lengths(message)) <= 3_000
    message_dict(message)


@pytest.mark.parametrize("missed", [0, 10])
def test_digest_worst_case_one_kind_of_attention_fits(missed: int) -> None:
    message = digest(
        initiatives=[HUGE] * 10,
        missed=[MissedLine(LONG_ID, TITLE_150)] * missed,
        overdue=[] if missed else [HUGE] * 10,
    )
    assert max(section_lengths(message)) <= 3_000
    message_dict(message)


@pytest.mark.parametrize(
    ("under_way", "expected"),
    [
        (
            1,
            f"A quiet week for *{TOUR}*: no quick wins logged and no check-ins changed; "
            "1 initiative is under way.",
        ),
        (
            3,
            f"A quiet week for *{TOUR}*: no quick wins logged and no check-ins changed; "
            "3 initiatives are under way.",
        ),
    ],
)
def test_quiet_week(under_way: int, expected: str) -> None:
    payload = message_dict(render_quiet_week(tour_title=TOUR, under_way=under_way))
    assert [b["type"] for b in payload["blocks"]] == ["context"]
    assert contexts(payload["blocks"]) == [expected]
    assert payload["text"] == expected


def test_quiet_week_escapes_and_fits() -> None:
    payload = message_dict(render_quiet_week(tour_title=EVIL, under_way=2))
    assert f"*{EVIL_ESCAPED}*" in contexts(payload["blocks"])[0]
    assert_escaped_everywhere(payload)
    message_dict(render_quiet_week(tour_title=AMPERSANDS, under_way=10**9))


# --- the weekly update's settings --------------------------------------------------------------


@pytest.mark.parametrize(
    ("weekday", "minute", "day", "time"),
    [
        (4, 15 * 60, ("4", "Friday"), ("900", "15:00")),
        (0, 7 * 60, ("0", "Monday"), ("420", "07:00")),
        (2, 19 * 60, ("2", "Wednesday"), ("1140", "19:00")),
        (5, 9 * 60, ("4", "Friday"), ("540", "09:00")),  # a weekend day: Friday
        (6, 9 * 60, ("4", "Friday"), ("540", "09:00")),
        (1, 15 * 60 + 30, ("1", "Tuesday"), ("900", "15:00")),  # not on the hour: 15:00
        (1, 20 * 60, ("1", "Tuesday"), ("900", "15:00")),  # outside 07:00 to 19:00
        (1, 6 * 60, ("1", "Tuesday"), ("900", "15:00")),
        (3, 0, ("3", "Thursday"), ("900", "15:00")),
    ],
)
def test_digest_modal(
    weekday: int, minute: int, day: tuple[str, str], time: tuple[str, str]
) -> None:
    payload = view_dict(render_digest_modal(tour_id=7, weekday=weekday, minute=minute))
    assert payload["callback_id"] == "checkins.digest"
    assert json.loads(payload["private_metadata"]) == {"tour_id": 7}
    blocks = by_block_id(payload["blocks"])
    days = blocks["digest.day"]["element"]
    hours = blocks["digest.time"]["element"]
    assert (days["action_id"], hours["action_id"]) == ("digest.day.input", "digest.time.input")
    assert [(o["value"], o["text"]["text"]) for o in days["options"]] == [
        ("0", "Monday"),
        ("1", "Tuesday"),
        ("2", "Wednesday"),
        ("3", "Thursday"),
        ("4", "Friday"),
    ]
    assert [(o["value"], o["text"]["text"]) for o in hours["options"]] == [
        (str(h * 60), f"{h:02d}:00") for h in range(7, 20)
    ]
    assert (days["initial_option"]["value"], days["initial_option"]["text"]["text"]) == day
    assert (hours["initial_option"]["value"], hours["initial_option"]["text"]["text"]) == time
