"""Block Kit as plain text: each row is a piece of Slack markup or a block, and the exact text a
person reading the transcript should see."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.blocks.home import TourCard, render_home
from bot.blocks.tour import render_invitation
from bot.sandbox.transcript import (
    mrkdwn_to_text,
    render_block,
    render_message,
    render_view,
    shorten,
    wrap,
)

NAMES = {"UDANA": "Dana Fischer", "UALICE": "Alice Nguyen", "CTEAM": "platform-team"}


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text), **extra}


def button(label: str, **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain(label), "action_id": label.lower(), **extra}


def option(text: str, value: str, description: str | None = None) -> dict[str, Any]:
    shaped: dict[str, Any] = {"text": plain(text), "value": value}
    if description:
        shaped["description"] = plain(description)
    return shaped


def text_input(label: str, **element: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": "b",
        "label": plain(label),
        "element": {"type": "plain_text_input", "action_id": "a", **element},
    }


def input_of(label: str, element: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "input", "label": plain(label), "element": element, **extra}


MARKUP = [
    # a mention becomes the person's name from `names`
    pytest.param("Hi <@UDANA>!", "Hi @Dana Fischer!", id="user-mention"),
    # Slack's escaped form carries a label; the name from `names` still wins
    pytest.param("<@UALICE|alice>", "@Alice Nguyen", id="user-mention-named-over-label"),
    # an unknown person falls back to the label, then to the id
    pytest.param("<@UX|xavier> and <@UY>", "@xavier and @UY", id="user-mention-fallbacks"),
    # a channel mention, with and without a name known
    pytest.param("in <#CTEAM> and <#CZ|ops>", "in #platform-team and #ops", id="channel-mention"),
    # a real broadcast is shown as it is, so a reader notices the bot would ping everyone
    pytest.param("<!channel> look", "<!channel> look", id="broadcast-literal"),
    # an escaped one (a member's typed text) reads as typed
    pytest.param("&lt;!here&gt; fix it", "<!here> fix it", id="escaped-broadcast"),
    # entities unescape in one pass: what was typed as "&lt;" stays "&lt;"
    pytest.param("a &amp;lt; b &amp; c &gt; d", "a &lt; b & c > d", id="entities-one-pass"),
    # a link with a label shows both
    pytest.param("<https://x.io/a|the docs>", "the docs (https://x.io/a)", id="labelled-link"),
    # a bare link, and one whose label is its own url, show the url once
    pytest.param(
        "<https://x.io> <https://y.io|https://y.io>", "https://x.io https://y.io", id="bare-link"
    ),
    # a mailto link shows the address
    pytest.param("<mailto:a@b.io|a@b.io>", "a@b.io", id="mailto"),
    # a date token shows its fallback text
    pytest.param("<!date^1392734382^{date}|Feb 18>", "Feb 18", id="date-token"),
    # ...also the tour's close: a style with spaces, and a fallback with a comma and a zone
    pytest.param(
        "Open until <!date^1773097140^{date_long_pretty} at {time}|Monday 9 March, 23:59 "
        "Europe/Berlin>.",
        "Open until Monday 9 March, 23:59 Europe/Berlin.",
        id="date-token-close",
    ),
    # a user group shows its handle
    pytest.param("<!subteam^S1|@oncall> paged", "@oncall paged", id="subteam"),
    # bold, italic, strike and code read fine as typed: kept
    pytest.param("*Question 1* _skipped_ ~no~ `x`", "*Question 1* _skipped_ ~no~ `x`", id="format"),
    # the emoji Partnerbot uses become the emoji; unknown names stay
    pytest.param(":lock: :bust_in_silhouette: :partyparrot:", "🔒 👤 :partyparrot:", id="emoji"),
    # times with colons are not emoji
    pytest.param("at 10:30:45", "at 10:30:45", id="clock-time"),
    # a stray "<" that Slack would have escaped is left alone
    pytest.param("3 < 4", "3 < 4", id="stray-angle"),
]


@pytest.mark.parametrize(("markup", "shown"), MARKUP)
def test_mrkdwn_reads_as_a_person_sees_it(markup: str, shown: str) -> None:
    assert mrkdwn_to_text(markup, names=NAMES) == shown


SHORTENED = [
    # short text is untouched
    pytest.param("hello", 10, "hello", id="short"),
    # text at exactly the limit is untouched
    pytest.param("x" * 10, 10, "x" * 10, id="at-limit"),
    # cut at the last space near the limit, with how much was left out
    pytest.param("aaaa bbbb cccc", 10, "aaaa bbbb… (+5 characters)", id="at-a-space"),
    # no space near the limit: cut mid-word
    pytest.param("a " + "b" * 20, 10, "a bbbbbbbb… (+12 characters)", id="mid-word"),
    # thousands are grouped, as in a 40,000-character answer
    pytest.param("y" * 5000, 4, "yyyy… (+4,996 characters)", id="thousands"),
]


@pytest.mark.parametrize(("text", "limit", "shown"), SHORTENED)
def test_long_text_is_shortened_for_display(text: str, limit: int, shown: str) -> None:
    assert shorten(text, limit) == shown


WRAPPED: list[Any] = [
    # words wrap at the width
    pytest.param("one two three four", 10, {}, ["one two", "three four"], id="width"),
    # the prefix starts the first line, its width indents the rest
    pytest.param("one two three", 10, {"prefix": "> "}, ["> one two", "  three"], id="prefix"),
    # an explicit continuation prefix
    pytest.param(
        "aaa bbb ccc ddd",
        12,
        {"prefix": "- ", "subsequent_prefix": "| "},
        ["- aaa bbb", "| ccc ddd"],
        id="subsequent-prefix",
    ),
    # a bulleted line hangs under its text
    pytest.param("• alpha beta gamma", 12, {}, ["• alpha beta", "  gamma"], id="bullet"),
    # line breaks and blank lines in the text are kept
    pytest.param("a\n\nb", 10, {}, ["a", "", "b"], id="blank-lines"),
    # a word longer than the width is broken
    pytest.param("abcdefghijklmnop", 10, {}, ["abcdefghij", "klmnop"], id="long-word"),
]


@pytest.mark.parametrize(("text", "width", "options", "lines"), WRAPPED)
def test_wrap(text: str, width: int, options: dict[str, str], lines: list[str]) -> None:
    assert wrap(text, width, **options) == lines


BLOCKS: list[Any] = [
    # a header is one marked line
    pytest.param(
        {"type": "header", "text": plain("Your tours")}, ["== Your tours =="], id="header"
    ),
    # a section's mrkdwn, made readable
    pytest.param(section("Hi <@UDANA> :wave:"), ["Hi @Dana Fischer 👋"], id="section"),
    # a section's button sits under it
    pytest.param(
        section("Pick one", accessory=button("Open")), ["Pick one", "  → [ Open ]"], id="accessory"
    ),
    # a section's image accessory shows its alt text
    pytest.param(
        section("Logo", accessory={"type": "image", "image_url": "u", "alt_text": "a cat"}),
        ["Logo", "  → [image: a cat]"],
        id="image-accessory",
    ),
    # context is set off with a dim prefix, its parts side by side
    pytest.param(
        {"type": "context", "elements": [mrkdwn("Closes *Monday*"), plain("2 left")]},
        ["  · Closes *Monday*  2 left"],
        id="context",
    ),
    # an image in context shows its alt text
    pytest.param(
        {"type": "context", "elements": [{"type": "image", "image_url": "u", "alt_text": "logo"}]},
        ["  · [image: logo]"],
        id="context-image",
    ),
    # a divider is a rule
    pytest.param({"type": "divider"}, ["-" * 40], id="divider"),
    # buttons, with their style and whether Slack asks to confirm
    pytest.param(
        {
            "type": "actions",
            "elements": [
                button("Remind now"),
                button("Close now", style="danger", confirm={"title": plain("Sure?")}),
                button("Save", style="primary"),
            ],
        },
        ["[ Remind now ]  [ Close now ] (danger, asks to confirm)  [ Save ] (primary)"],
        id="buttons",
    ),
    # a link button says where it goes
    pytest.param(
        {"type": "actions", "elements": [button("Docs", url="https://x.io")]},
        ["[ Docs ] (opens https://x.io)"],
        id="link-button",
    ),
    # a menu and an overflow in an actions block
    pytest.param(
        {
            "type": "actions",
            "elements": [
                {"type": "static_select", "action_id": "s", "placeholder": plain("Status")},
                {"type": "overflow", "action_id": "o", "options": [option("Edit", "e")]},
            ],
        },
        ["[Status … ▾]  [ ⋯ ]"],
        id="menu-and-overflow",
    ),
    # a text input shows its value
    pytest.param(
        text_input("Title", initial_value="March tour"), ["Title: [March tour]"], id="input-value"
    ),
    # an empty one its placeholder, and "(optional)" when it may stay empty
    pytest.param(
        {**text_input("Question 3", placeholder=plain("Another question")), "optional": True},
        ["Question 3 (optional): [Another question …]"],
        id="input-placeholder",
    ),
    # neither value nor placeholder: an empty box
    pytest.param(text_input("Answer"), ["Answer: [____________]"], id="input-empty"),
    # a long value is shortened and its line breaks shown
    pytest.param(
        text_input("Answer", initial_value="line one\n" + "z" * 200),
        ["Answer: [line one ⏎ " + "z" * 111 + "… (+89 characters)]"],
        id="input-long",
    ),
    # people pickers name the people, channel pickers the channel
    pytest.param(
        input_of("People", {"type": "multi_users_select", "initial_users": ["UALICE", "UDANA"]}),
        ["People: [@Alice Nguyen, @Dana Fischer ▾]"],
        id="people-picker",
    ),
    pytest.param(
        input_of("Channel", {"type": "conversations_select", "initial_conversation": "CTEAM"}),
        ["Channel: [#platform-team ▾]"],
        id="channel-picker",
    ),
    # a date picker shows its date, a number input its number
    pytest.param(
        input_of("Closes on", {"type": "datepicker", "initial_date": "2026-03-09"}),
        ["Closes on: [2026-03-09 ▾]"],
        id="datepicker",
    ),
    pytest.param(
        input_of("Minimum", {"type": "number_input", "initial_value": "3"}),
        ["Minimum: [3]"],
        id="number",
    ),
    # a menu shows the chosen option and lists the others
    pytest.param(
        input_of(
            "Status",
            {
                "type": "static_select",
                "initial_option": option("On track", "ok"),
                "options": [option("On track", "ok"), option("At risk", "risk")],
            },
        ),
        ["Status: [On track ▾]", "  options: On track · At risk"],
        id="static-select",
    ),
    # radio buttons, one option a line, the chosen one marked, descriptions after a dash
    pytest.param(
        input_of(
            "Answers",
            {
                "type": "radio_buttons",
                "initial_option": option("Anonymous", "a"),
                "options": [option("Anonymous", "a", "never with names"), option("Named", "n")],
            },
        ),
        ["Answers:", "  (•) Anonymous — never with names", "  ( ) Named"],
        id="radio",
    ),
    # checkboxes, ticked ones marked
    pytest.param(
        input_of(
            "Reminders",
            {
                "type": "checkboxes",
                "initial_options": [option("Remind", "on")],
                "options": [option("Remind", "on"), option("Weekly", "w")],
            },
        ),
        ["Reminders:", "  [x] Remind", "  [ ] Weekly"],
        id="checkboxes",
    ),
    # an input's hint reads like context under it
    pytest.param(
        input_of("Minimum", {"type": "number_input"}, hint=plain("At least 3")),
        ["Minimum: [____________]", "  · At least 3"],
        id="hint",
    ),
    # an image block shows its alt text
    pytest.param(
        {"type": "image", "image_url": "u", "alt_text": "votes chart"},
        ["[image: votes chart]"],
        id="image",
    ),
    # rich text: words, a mention, a link and a list
    pytest.param(
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        {"type": "text", "text": "Hi "},
                        {"type": "user", "user_id": "UDANA"},
                        {"type": "text", "text": ", see "},
                        {"type": "link", "url": "https://x.io", "text": "this"},
                    ],
                },
                {
                    "type": "rich_text_list",
                    "elements": [
                        {"type": "rich_text_section", "elements": [{"type": "text", "text": "a"}]}
                    ],
                },
            ],
        },
        ["Hi @Dana Fischer, see this (https://x.io)", "• a"],
        id="rich-text",
    ),
    # a block type this renderer does not know is named, not dropped
    pytest.param({"type": "video"}, ["[video block]"], id="unknown"),
]


@pytest.mark.parametrize(("block", "lines"), BLOCKS)
def test_render_block(block: dict[str, Any], lines: list[str]) -> None:
    assert render_block(block, names=NAMES, width=300) == lines


def test_a_long_section_is_shortened_and_wrapped() -> None:
    lines = render_block(section("w" * 40_000), names=NAMES, width=60)
    assert all(len(line) <= 60 for line in lines)
    assert sum(line.count("w") for line in lines) == 400
    assert " ".join(lines).endswith("w… (+39,600 characters)")


def test_fields_sit_two_to_a_row_and_wrap_in_their_column() -> None:
    block = {
        "type": "section",
        "fields": [mrkdwn("*Owner*"), mrkdwn("<@UALICE>"), mrkdwn("*Due* next Friday at noon")],
    }
    # 40 wide: two columns of 18 characters, three spaces apart
    assert render_block(block, names=NAMES, width=40) == [
        "*Owner*" + " " * 14 + "@Alice Nguyen",
        "*Due* next Friday",
        "at noon",
    ]


def test_narrow_fields_are_listed_one_per_line() -> None:
    block = {"type": "section", "fields": [mrkdwn("*Owner*"), mrkdwn("<@UALICE>")]}
    assert render_block(block, names=NAMES, width=30) == ["*Owner*", "@Alice Nguyen"]


MESSAGES = [
    # blocks win over the fallback text, one block after another
    pytest.param(
        {"text": "fallback", "blocks": [section("*Hi*"), {"type": "divider"}]},
        "*Hi*\n" + "-" * 40,
        id="blocks",
    ),
    # a message without blocks shows its text, made readable
    pytest.param(
        {"text": "Ping <@UDANA> &amp; co", "blocks": None}, "Ping @Dana Fischer & co", id="text"
    ),
    # and a long one is shortened like a section
    pytest.param({"text": "v" * 500}, "v" * 400 + "… (+100 characters)", id="long-text"),
]


@pytest.mark.parametrize(("message", "shown"), MESSAGES)
def test_render_message(message: dict[str, Any], shown: str) -> None:
    assert render_message(message, names=NAMES, width=500) == shown


VIEWS = [
    # a modal: its title, its blocks, then Close and Submit as Slack places them
    pytest.param(
        {
            "type": "modal",
            "title": plain("Your answers"),
            "submit": plain("Save"),
            "close": plain("Cancel"),
            "blocks": [text_input("Q1", initial_value="Good")],
        },
        "┌─ Your answers ─┐\nQ1: [Good]\n[ Cancel ]  [ Save ]",
        id="modal",
    ),
    # a notice modal has only a close button
    pytest.param(
        {"type": "modal", "title": plain("Export"), "close": plain("OK"), "blocks": []},
        "┌─ Export ─┐\n[ OK ]",
        id="notice",
    ),
    # the App Home has neither title nor buttons of its own
    pytest.param(
        {"type": "home", "blocks": [{"type": "header", "text": plain("Partnerbot")}]},
        "== Partnerbot ==",
        id="home",
    ),
]


@pytest.mark.parametrize(("view", "shown"), VIEWS)
def test_render_view(view: dict[str, Any], shown: str) -> None:
    assert render_view(view, names=NAMES) == shown


def test_the_tour_invitation_reads_as_a_member_sees_it() -> None:
    """The real renderer's output, end to end: names, emoji, context, rule, button."""
    invitation = render_invitation(
        tour_id=7,
        leader_id="UDANA",
        title="Listening tour – March 2026",
        anonymous=True,
        min_responses=3,
        # 23:59 on Monday 9 March in Berlin, Dana's zone
        closes_at=datetime(2026, 3, 9, 22, 59, tzinfo=UTC),
        leader_tz="Europe/Berlin",
        question="What's working well?",
        position=0,
        question_count=2,
    ).to_dict()
    shown = render_message(invitation, names=NAMES, width=260).splitlines()
    assert shown[1].startswith(
        "🔒 @Dana Fischer sees answers only after the tour closes and only if at least 3 people"
    )
    assert shown[2].startswith("💬 What you type in this chat stays in its history in Slack")
    assert shown[3] == (
        "  · Open until Monday 9 March, 23:59 Europe/Berlin. Reply here, one message per question, "
        "or use the form. Type *skip* to skip a question."
    )
    assert shown[4:] == [
        "-" * 40,
        "*Question 1 of 2*",
        "What's working well?",
        "[ Answer in a form ] (primary)",
    ]


def test_the_leaders_home_shows_the_tour_card_and_buttons() -> None:
    card = TourCard(
        tour_id=7,
        title="Listening tour – March 2026",
        status="open",
        respondents=2,
        participants=4,
        days_left=3,
        close_date=date(2026, 3, 9),
        anonymous=True,
    )
    home = render_home(user_id="UDANA", command="/partner", tours=[card]).to_dict()
    shown = render_view(home, names=NAMES).splitlines()
    at = shown.index("== Your listening tours ==")
    assert shown[at + 1 : at + 3] == [
        "*Listening tour – March 2026* — 2 of 4 answered · 3 days left · anonymous",
        "[ Remind now ]  [ Close now ] (danger, asks to confirm)  [ Export ]",
    ]
