from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.views import View

from bot.blocks import Message, escape
from bot.blocks.home import TourCard, render_home
from bot.blocks.tour import (
    ANSWER_CUT_FOR_MEMBER,
    MAX_EXPORT_BLOCKS,
    TourAction,
    TourView,
    clip,
    format_day,
    leader_time,
    render_answer_form,
    render_appended,
    render_close_notice,
    render_dm_help,
    render_export_message,
    render_finished,
    render_invitation,
    render_launch_modal,
    render_leader_confirmation,
    render_notice_modal,
    render_question,
    render_remind_outcome,
    render_reminder,
    render_tour_closed_for_member,
    slack_time,
)
from bot.flows.tour import (
    DEFAULT_QUESTIONS,
    MAX_QUESTIONS,
    LaunchBlock,
    Reminded,
    RemindOutcome,
    Visibility,
    question_block,
)
from bot.sandbox.block_kit import validate_message, validate_view

CLOSE = date(2026, 3, 13)  # a Friday
TODAY = date(2026, 3, 6)
LEADER_TZ = "Europe/Berlin"
# The tour closes at 23:59 on CLOSE in the leader's zone: 22:59 UTC in Berlin's winter.
CLOSES_AT = datetime(2026, 3, 13, 22, 59, tzinfo=UTC)
CLOSE_FALLBACK = "Friday 13 March, 23:59 Europe/Berlin"
# Slack's date token: <!date^unix_ts^style|fallback>
DATE_TOKEN = re.compile(r"<!date\^(\d+)\^([^^|<>]+)\|([^<>]*)>")
EVIL = "<!channel> ping <@U999> & <#C1>"
EVIL_ESCAPED = "&lt;!channel&gt; ping &lt;@U999&gt; &amp; &lt;#C1&gt;"


# --- helpers -----------------------------------------------------------------------------------


def message_problems(message: Message) -> list[str]:
    payload = message.to_dict()
    return validate_message(payload["text"], payload["blocks"])


def mrkdwn_texts(node: Any) -> Iterator[str]:
    """Every mrkdwn string in a payload: the text Slack parses for mentions and links."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from mrkdwn_texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from mrkdwn_texts(item)


def all_text(message: Message) -> str:
    """The notification text and every mrkdwn text of a message, one per line."""
    payload = message.to_dict()
    return "\n".join([payload["text"], *mrkdwn_texts(payload["blocks"])])


def date_tokens(message: Message) -> list[tuple[int, str, str]]:
    """(timestamp, style, fallback) of every date token in the message's mrkdwn."""
    texts = mrkdwn_texts(message.to_dict()["blocks"])
    return [
        (int(ts), style, fallback)
        for text in texts
        for ts, style, fallback in DATE_TOKEN.findall(text)
    ]


def buttons(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in payload["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def section_texts(payload: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]


def input_block(view: View, block_id: str) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = view.to_dict()["blocks"]
    found = [b for b in blocks if b.get("block_id") == block_id]
    assert len(found) == 1, f"{block_id}: {len(found)} blocks"
    return found[0]


def card(
    tour_id: int,
    *,
    status: str = "open",
    title: str = "Tour",
    days_left: int = 3,
    closed_on: date | None = None,
) -> TourCard:
    return TourCard(
        tour_id=tour_id,
        title=title,
        status=status,
        respondents=7,
        participants=25,
        days_left=days_left,
        close_date=CLOSE,
        anonymous=True,
        closed_on=closed_on,
    )


# --- dates and clipping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 13), "Friday 13 March"),  # the example from the brief
        (date(2026, 3, 1), "Sunday 1 March"),  # no leading zero
        (date(2025, 12, 31), "Wednesday 31 December"),  # long month name
    ],
)
def test_format_day(day: date, expected: str) -> None:
    assert format_day(day) == expected


@pytest.mark.parametrize(
    ("at", "fallback", "style", "expected"),
    [
        # the tour's close, in UTC: the token carries its unix time and the default style
        (
            CLOSES_AT,
            CLOSE_FALLBACK,
            None,
            "<!date^1773442740^{date_long_pretty} at {time}|Friday 13 March, 23:59 Europe/Berlin>",
        ),
        # the same instant written in another zone gives the same token: only the instant counts
        (
            CLOSES_AT.astimezone(timezone(timedelta(hours=9))),
            "x",
            None,
            "<!date^1773442740^{date_long_pretty} at {time}|x>",
        ),
        # a caller's own style is used as given
        (CLOSES_AT, "13 March", "{date_short}", "<!date^1773442740^{date_short}|13 March>"),
        # the fallback is escaped, so it can never close the token early or ping anyone
        (
            CLOSES_AT,
            "<!channel> & co",
            "{date}",
            "<!date^1773442740^{date}|&lt;!channel&gt; &amp; co>",
        ),
        # fractions of a second are dropped, never rounded up past the moment
        (
            datetime(2026, 3, 13, 22, 59, 59, 999_999, tzinfo=UTC),
            "x",
            "{time}",
            "<!date^1773442799^{time}|x>",
        ),
    ],
)
def test_slack_time(at: datetime, fallback: str, style: str | None, expected: str) -> None:
    token = (
        slack_time(at, fallback=fallback)
        if style is None
        else slack_time(at, fallback=fallback, style=style)
    )
    assert token == expected
    parsed = DATE_TOKEN.fullmatch(token)
    assert parsed is not None
    assert int(parsed.group(1)) == int(at.timestamp())


@pytest.mark.parametrize(
    ("at", "style", "problem"),
    [
        # a naive datetime would be read in the server's own zone: refused
        (datetime(2026, 3, 13, 22, 59), "{time}", "timezone-aware"),
        # "|" would end the style early and turn the rest into the fallback
        (CLOSES_AT, "{date}|{time}", "cannot contain"),
        # "^" would start the token's optional link
        (CLOSES_AT, "{date}^https://x.io", "cannot contain"),
    ],
)
def test_slack_time_refuses_what_slack_would_misread(
    at: datetime, style: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        slack_time(at, fallback="x", style=style)


@pytest.mark.parametrize(
    ("at", "tz_name", "expected"),
    [
        # the leader's 23:59 in Berlin's winter (UTC+1)
        (CLOSES_AT, "Europe/Berlin", "Friday 13 March, 23:59 Europe/Berlin"),
        # a leader in Tokyo: 23:59 on Monday 9 March there is 14:59 UTC
        (
            datetime(2026, 3, 9, 14, 59, tzinfo=UTC),
            "Asia/Tokyo",
            "Monday 9 March, 23:59 Asia/Tokyo",
        ),
        # Los Angeles in summer time (UTC-7 since 8 March): the date can differ from UTC's
        (
            datetime(2026, 3, 14, 6, 59, tzinfo=UTC),
            "America/Los_Angeles",
            "Friday 13 March, 23:59 America/Los_Angeles",
        ),
        # an unknown zone is read as UTC, and says so rather than naming the bad zone
        (CLOSES_AT, "Mars/Olympus", "Friday 13 March, 22:59 UTC"),
    ],
)
def test_leader_time(at: datetime, tz_name: str, expected: str) -> None:
    assert leader_time(at, tz_name) == expected


@pytest.mark.parametrize(
    ("text", "limit", "suffix", "expected"),
    [
        ("short", 10, "…", "short"),  # fits: unchanged
        ("exactly10!", 10, "…", "exactly10!"),  # exactly at the limit: unchanged
        ("abcdefghijk", 10, "…", "abcdefghi…"),  # one over: cut, suffix included in the limit
        ("<<<<", 10, "…", "&lt;&lt;…"),  # entities are never split into a stray "&l"
        ("a & b", 5, "…", "a…"),  # escaped width counts; trailing space dropped before suffix
        ("<!channel>", 100, "…", "&lt;!channel&gt;"),  # always escaped, even when short
        (
            "x" * 50,
            30,
            "… (full answer in the export)",
            "x… (full answer in the export)",
        ),  # long suffix
        # a quote is cut between words, never inside one ("…what feasible rou…")
        ("we asked what feasible routes exist", 25, "…", "we asked what feasible…"),
        # the cut lands right after a word: that word stays whole
        ("Release dates slip and we", 20, "…", "Release dates slip…"),
        # the cut lands on a space: the word before it stays, the space goes
        ("Release dates slip and we", 19, "…", "Release dates slip…"),
        # punctuation before the cut is dropped: "…" already says the sentence goes on
        ("Dates slip; Finance hears it last", 17, "…", "Dates slip…"),
        # a line break is a word boundary too
        ("Dates slip\nFinance hears", 16, "…", "Dates slip…"),
        # one word longer than half the room (a link, a run of letters) is cut inside
        ("see https://example.com/a/very/long/path", 20, "…", "see https://example…"),
        # escaped width still counts, and the cut stays between words
        ("Q&A sessions are great", 20, "…", "Q&amp;A sessions…"),
    ],
)
def test_clip(text: str, limit: int, suffix: str, expected: str) -> None:
    clipped = clip(text, limit, suffix)
    assert clipped == expected
    assert len(clipped) <= limit


# --- anonymity wording -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anonymous", "min_responses", "present", "absent"),
    [
        # anonymous: grouped, a threshold, and never the name
        (
            True,
            3,
            "if at least 3 people other than them answered, grouped together and never with",
            "name next",
        ),
        # the leader's own threshold is quoted, not the floor
        (True, 5, "at least 5 people", "at least 3 people"),
        (True, 3, "never with your name", "will see your name"),
        # named: says plainly that the leader sees names
        (False, 3, "<@UDANA> will see your name next to your answers.", "never with your name"),
        (False, 3, "will see your name", "at least 3 people"),
    ],
)
def test_invitation_anonymity_notice_is_honest(
    anonymous: bool, min_responses: int, present: str, absent: str
) -> None:
    message = render_invitation(
        tour_id=1,
        leader_id="UDANA",
        title="Spring tour",
        anonymous=anonymous,
        min_responses=min_responses,
        closes_at=CLOSES_AT,
        leader_tz=LEADER_TZ,
        question=DEFAULT_QUESTIONS[0],
        position=0,
        question_count=2,
    )
    rendered = "\n".join(section_texts(message.to_dict()))
    assert present in rendered
    assert absent not in rendered


def invitation(*, anonymous: bool) -> Message:
    return render_invitation(
        tour_id=7,
        leader_id="UDANA",
        title="Spring tour",
        anonymous=anonymous,
        min_responses=3,
        closes_at=CLOSES_AT,
        leader_tz=LEADER_TZ,
        question=DEFAULT_QUESTIONS[0],
        position=0,
        question_count=2,
    )


def test_an_anonymous_invitation_says_the_dm_keeps_history_and_offers_the_form() -> None:
    message = invitation(anonymous=True).to_dict()
    rendered = "\n".join(section_texts(message))
    assert (
        "What you type in this chat stays in its history in Slack, where whoever runs "
        "Partnerbot (anyone holding its bot token) could read it." in rendered
    )
    assert "*Answer in a form* keeps your words out of this chat." in rendered
    [form] = buttons(message)
    assert (form["action_id"], form["text"]["text"]) == (TourAction.ANSWER_FORM, "Answer in a form")
    assert form.get("style") == "primary"  # the way to answer without leaving history


def test_a_named_invitation_keeps_the_form_as_a_plain_option() -> None:
    message = invitation(anonymous=False).to_dict()
    assert "stays in its history" not in json.dumps(message)
    [form] = buttons(message)
    assert form["action_id"] == TourAction.ANSWER_FORM
    assert "style" not in form


@pytest.mark.parametrize("anonymous", [True, False])
def test_a_reminder_makes_the_form_primary_only_in_an_anonymous_tour(anonymous: bool) -> None:
    message = render_reminder(
        tour_id=7,
        leader_id="UDANA",
        title="T",
        closes_at=CLOSES_AT,
        leader_tz=LEADER_TZ,
        question="Q?",
        position=0,
        question_count=2,
        anonymous=anonymous,
    ).to_dict()
    [form] = buttons(message)
    assert (form.get("style") == "primary") is anonymous


@pytest.mark.parametrize(
    ("answers", "says"),
    [
        # both answered
        ([("Q1?", "Fast deploys"), ("Q2?", "Slow reviews")], "Your 2 answers for *T* are saved."),
        # one answered, one skipped
        ([("Q1?", "Fast deploys"), ("Q2?", None)], "Your 1 answer for *T* is saved (1 question"),
        # everything skipped
        ([("Q1?", None), ("Q2?", "  ")], "You skipped every question of *T*, so nothing is saved"),
    ],
)
def test_the_anonymous_thank_you_counts_answers_without_quoting_them(
    answers: list[tuple[str, str | None]], says: str
) -> None:
    message = render_finished(
        tour_id=42,
        title="T",
        answers=answers,
        closes_at=CLOSES_AT,
        leader_tz=LEADER_TZ,
        anonymous=True,
    ).to_dict()
    rendered = json.dumps(message, ensure_ascii=False)
    assert says in rendered
    for question, answer in answers:
        assert question not in rendered
        if answer and answer.strip():
            assert answer not in rendered
    assert [b["action_id"] for b in buttons(message)] == [TourAction.EDIT, TourAction.ADD_MORE]


@pytest.mark.parametrize(
    ("anonymous", "present", "absent"),
    [
        # anonymous
        (
            True,
            "once the tour has closed and if at least 4 people other than you answered",
            "who said what",
        ),
        (False, "you'll see who said what", "never with names"),  # named
    ],
)
def test_leader_confirmation_says_what_the_leader_will_see(
    anonymous: bool, present: str, absent: str
) -> None:
    message = render_leader_confirmation(
        tour_id=1,
        title="T",
        invited=12,
        skipped=0,
        anonymous=anonymous,
        min_responses=4,
        closes_at=CLOSES_AT,
        leader_tz=LEADER_TZ,
        results_channel_id="CTEAM",
    )
    rendered = json.dumps(message.to_dict())
    assert present in rendered
    assert absent not in rendered


@pytest.mark.parametrize(
    ("invited", "quote_floor", "present", "absent"),
    [
        # the default floor: words from 5 answers
        (12, 5, "their own words (quotes, the answers) once at least 5 did", "fewer than 5"),
        # the floor never below the leader's own minimum (4 here)
        (12, 3, "once at least 4 did", "fewer than 5"),
        # too small an anonymous tour: said at launch, not discovered at close
        (4, 5, "With fewer than 5 people asked, an anonymous tour never shows", "are named"),
    ],
)
def test_leader_confirmation_names_the_anonymity_floors(
    invited: int, quote_floor: int, present: str, absent: str
) -> None:
    rendered = json.dumps(
        render_leader_confirmation(
            tour_id=1,
            title="T",
            invited=invited,
            skipped=0,
            anonymous=True,
            min_responses=4,
            closes_at=CLOSES_AT,
            leader_tz=LEADER_TZ,
            results_channel_id="CTEAM",
            quote_min_responses=quote_floor,
        ).to_dict()
    )
    assert present in rendered
    assert absent not in rendered


# --- when the tour closes, in each reader's own time zone ---------------------------------------

CLOSING: dict[str, Callable[[datetime, str], Message]] = {
    "invitation": lambda at, tz: render_invitation(
        tour_id=1,
        leader_id="UL",
        title="T",
        anonymous=True,
        min_responses=3,
        closes_at=at,
        leader_tz=tz,
        question="Q?",
        position=0,
        question_count=2,
    ),
    "finished": lambda at, tz: render_finished(
        tour_id=1, title="T", answers=[("Q?", "A")], closes_at=at, leader_tz=tz, anonymous=False
    ),
    "reminder": lambda at, tz: render_reminder(
        tour_id=1,
        leader_id="UL",
        title="T",
        closes_at=at,
        leader_tz=tz,
        question="Q?",
        position=0,
        question_count=2,
        anonymous=False,
    ),
    "confirmation": lambda at, tz: render_leader_confirmation(
        tour_id=1,
        title="T",
        invited=3,
        skipped=0,
        anonymous=True,
        min_responses=3,
        closes_at=at,
        leader_tz=tz,
        results_channel_id="C2",
    ),
}


@pytest.mark.parametrize(
    ("name", "before", "after"),
    [
        (
            "invitation",
            "Open until ",
            ". Reply here, one message per question, or use the form.",
        ),  # context
        ("finished", "You can change your answers until ", "."),  # under the answers
        ("reminder", "*T* closes ", ". A few words are plenty."),  # the nudge itself
        ("confirmation", "It closes ", ". Then you review the findings"),  # the leader's own
    ],
)
def test_the_close_is_a_date_token_in_mrkdwn_only(name: str, before: str, after: str) -> None:
    message = CLOSING[name](CLOSES_AT, LEADER_TZ)
    payload = message.to_dict()
    # one token, at the close instant, with the leader's date and zone as its fallback
    assert date_tokens(message) == [
        (int(CLOSES_AT.timestamp()), "{date_long_pretty} at {time}", CLOSE_FALLBACK)
    ]
    token = slack_time(CLOSES_AT, fallback=CLOSE_FALLBACK)
    assert any(f"{before}{token}{after}" in text for text in mrkdwn_texts(payload["blocks"]))
    # nowhere else: Slack would show a token in `text` or plain_text as raw markup
    assert json.dumps(payload).count("<!date^") == 1
    assert "<!date" not in payload["text"]
    assert message_problems(message) == []


@pytest.mark.parametrize("name", sorted(CLOSING))
def test_a_member_west_of_the_leader_sees_the_close_on_their_own_clock(name: str) -> None:
    # The review's case: a leader in Tokyo closes on Monday 9 March, which is 23:59 there
    # and 07:59 that morning in Los Angeles (on summer time since 8 March; 06:59 in winter).
    # The token carries that instant, so the member sees their own morning, not "9 March".
    closes_at = datetime(2026, 3, 9, 14, 59, tzinfo=UTC)
    [(timestamp, _, fallback)] = date_tokens(CLOSING[name](closes_at, "Asia/Tokyo"))
    in_los_angeles = datetime.fromtimestamp(timestamp, ZoneInfo("America/Los_Angeles"))
    assert in_los_angeles.replace(tzinfo=None) == datetime(2026, 3, 9, 7, 59)
    assert fallback == "Monday 9 March, 23:59 Asia/Tokyo"


# --- escaping user text ------------------------------------------------------------------------

MESSAGE_RENDERERS: dict[str, Callable[[str], Message]] = {
    "invitation": lambda t: render_invitation(
        tour_id=1,
        leader_id="UL",
        title=t,
        anonymous=True,
        min_responses=3,
        closes_at=CLOSES_AT,
        leader_tz=LEADER_TZ,
        question=t,
        position=0,
        question_count=2,
    ),
    "question": lambda t: render_question(position=1, question_count=2, question=t),
    "appended": lambda t: render_appended(question=t),
    "finished": lambda t: render_finished(
        tour_id=1,
        title=t,
        answers=[(t, t)],
        closes_at=CLOSES_AT,
        leader_tz=LEADER_TZ,
        anonymous=False,
    ),
    "finished_anonymous": lambda t: render_finished(
        tour_id=1,
        title=t,
        answers=[(t, t)],
        closes_at=CLOSES_AT,
        leader_tz=LEADER_TZ,
        anonymous=True,
    ),
    "dm_help": lambda t: render_dm_help(title=t, position=0, question_count=2, question=t),
    "closed_for_member": lambda t: render_tour_closed_for_member(title=t, closed_on=CLOSE),
    "reminder": lambda t: render_reminder(
        tour_id=1,
        leader_id="UL",
        title=t,
        closes_at=CLOSES_AT,
        leader_tz=LEADER_TZ,
        question=t,
        position=0,
        question_count=2,
        anonymous=False,
    ),
    "leader_confirmation": lambda t: render_leader_confirmation(
        tour_id=1,
        title=t,
        invited=3,
        skipped=0,
        anonymous=True,
        min_responses=3,
        closes_at=CLOSES_AT,
        leader_tz=LEADER_TZ,
        results_channel_id="C2",
    ),
    "close_notice": lambda t: render_close_notice(
        tour_id=1,
        title=t,
        respondents=5,
        participants=9,
        visibility=Visibility(others=5, min_responses=3, anonymous=True, closed=True),
    ),
    "export": lambda t: render_export_message(
        title=t, respondents=5, participants=9, questions=[(t, [t, t])], named=None, tour_id=1
    ),
    "export_named": lambda t: render_export_message(
        title=t, respondents=5, participants=9, questions=[], named=[(t, [("U5", t)])], tour_id=1
    ),
}


@pytest.mark.parametrize(
    "name",
    [
        "invitation",  # title and first question
        "question",  # the next question
        "appended",  # the question quoted back
        "finished",  # title, question and the member's answer
        "finished_anonymous",  # title only
        "dm_help",  # title and the repeated question
        "closed_for_member",  # title
        "reminder",  # title and the current question
        "leader_confirmation",  # title
        "close_notice",  # title, in the blocks and the notification text
        "export",  # title, questions and every answer
        "export_named",  # answers next to names
    ],
)
def test_user_text_never_pings_or_links(name: str) -> None:
    payload = MESSAGE_RENDERERS[name](EVIL).to_dict()
    rendered = json.dumps(payload, ensure_ascii=False)
    # The fallback text is what notifications show, and Slack parses it too.
    assert "<!channel>" not in rendered
    assert "<@U999>" not in rendered
    assert "<#C1>" not in rendered
    assert EVIL_ESCAPED in rendered


@pytest.mark.parametrize(
    "view_factory",
    [
        # the answer form: tour title on top, the existing answer quoted in add mode
        lambda: render_answer_form(
            tour_id=1, title=EVIL, questions=[EVIL], answers=[EVIL], mode="add"
        ),
        # the home tab: every tour's title
        lambda: render_home(user_id="U1", command="/partner", tours=[card(1, title=EVIL)]),
    ],
)
def test_views_escape_user_text_wherever_slack_parses_it(view_factory: Callable[[], View]) -> None:
    texts = list(mrkdwn_texts(view_factory().to_dict()))
    assert any(EVIL_ESCAPED in text for text in texts)
    assert not any("<!channel>" in text for text in texts)


def test_named_export_mentions_people_with_slack_syntax() -> None:
    message = render_export_message(
        title="T",
        respondents=3,
        participants=3,
        questions=[],
        named=[("Q?", [("U1", "More focus"), ("U2", "Less noise")])],
        tour_id=1,
    )
    sections = section_texts(message.to_dict())
    assert "• <@U1>: More focus\n• <@U2>: Less noise" in sections[-1]


# --- limits with worst-case input --------------------------------------------------------------

FLAVOURS = {
    # escaping grows "&" five-fold: the worst case for a 3,000-character section
    "ampersands": "&<>" * 100,
    # emoji with joiners and right-to-left text
    "emoji_rtl": ("👩🏽‍💻 שלום عالم ") * 30,
}


def worst_questions(flavour: str) -> list[str]:
    return [(f"{i} " + FLAVOURS[flavour])[:300] for i in range(MAX_QUESTIONS)]


def worst_answer(flavour: str) -> str:
    return (FLAVOURS[flavour] * 200)[:40_000]


def worst_title(flavour: str) -> str:
    return FLAVOURS[flavour][:150]


def worst_message(name: str, flavour: str) -> Message:
    qs, answer, title = worst_questions(flavour), worst_answer(flavour), worst_title(flavour)
    if name == "invitation":
        return render_invitation(
            tour_id=2**31,
            leader_id="U0123456789",
            title=title,
            anonymous=True,
            min_responses=999,
            closes_at=CLOSES_AT,
            leader_tz=LEADER_TZ,
            question=qs[0],
            position=0,
            question_count=5,
        )
    if name == "question":
        return render_question(position=4, question_count=5, question=qs[4])
    if name == "appended":
        return render_appended(question=qs[0])
    if name in ("finished", "finished_anonymous"):
        return render_finished(
            tour_id=1,
            title=title,
            answers=[(q, answer) for q in qs],
            closes_at=CLOSES_AT,
            leader_tz=LEADER_TZ,
            anonymous=name == "finished_anonymous",
        )
    if name == "dm_help":
        return render_dm_help(title=title, position=4, question_count=5, question=qs[4])
    if name == "closed":
        return render_tour_closed_for_member(title=title, closed_on=CLOSE)
    if name in ("reminder", "reminder_anonymous"):
        return render_reminder(
            tour_id=1,
            leader_id="UL",
            title=title,
            closes_at=CLOSES_AT,
            leader_tz=LEADER_TZ,
            question=qs[2],
            position=2,
            question_count=5,
            anonymous=name == "reminder_anonymous",
        )
    if name == "confirmation":
        return render_leader_confirmation(
            tour_id=1,
            title=title,
            invited=10_000,
            skipped=10_000,
            anonymous=True,
            min_responses=3,
            closes_at=CLOSES_AT,
            leader_tz=LEADER_TZ,
            results_channel_id="C1",
        )
    if name == "close_notice":
        return render_close_notice(
            tour_id=1,
            title=title,
            respondents=500,
            participants=10_000,
            visibility=Visibility(others=500, min_responses=3, anonymous=True, closed=True),
        )
    if name == "export":
        return render_export_message(
            title=title,
            respondents=500,
            participants=600,
            questions=[(q, [answer] * 100) for q in qs],
            named=None,
            tour_id=1,
        )
    assert name == "export_named"
    return render_export_message(
        title=title,
        respondents=500,
        participants=600,
        questions=[],
        named=[(q, [(f"U{i}", answer) for i in range(100)]) for q in qs],
        tour_id=1,
    )


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
@pytest.mark.parametrize(
    "name",
    [
        "invitation",  # longest title, question and min_responses
        "question",  # last of five 300-character questions
        "appended",  # a 300-character question quoted back
        "finished",  # five 40,000-character answers under five long questions
        "finished_anonymous",  # the same, counted rather than quoted
        "dm_help",  # help repeating a long question
        "closed",  # long title
        "reminder",  # last-day reminder with a long question
        "reminder_anonymous",  # the same, with the form's notice
        "confirmation",  # huge counts and a long title
        "close_notice",  # answers visible: the export button is there too
        "export",  # 500 long answers, grouped
        "export_named",  # 500 long answers with names
    ],
)
def test_messages_stay_within_slack_limits(name: str, flavour: str) -> None:
    message = worst_message(name, flavour)
    assert message_problems(message) == []
    assert message.text


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
@pytest.mark.parametrize(
    "name",
    [
        "launch",  # five 300-character questions, a 150-character title, 500 people
        "answers_edit",  # answers too long for the box
        "answers_edit_fits",  # answers that just fit in the box
        "answers_add",  # add mode quoting a long answer
        "notice",  # a title too long for a modal
        "home",  # ten long tours, plus more than fit
    ],
)
def test_views_stay_within_slack_limits(name: str, flavour: str) -> None:
    qs, answer, title = worst_questions(flavour), worst_answer(flavour), worst_title(flavour)
    views: dict[str, Callable[[], View]] = {
        "launch": lambda: render_launch_modal(
            title=title,
            user_ids=[f"U{i:08d}" for i in range(500)],
            channel_id="C1",
            results_channel_id="C2",
            questions=qs,
            close_date=CLOSE,
            today=TODAY,
            private_metadata=json.dumps({"channel": "C1"}),
        ),
        "answers_edit": lambda: render_answer_form(
            tour_id=1, title=title, questions=qs, answers=[answer] * 5, mode="edit"
        ),
        "answers_edit_fits": lambda: render_answer_form(
            tour_id=1, title=title, questions=qs, answers=[answer[:3000]] * 5, mode="edit"
        ),
        "answers_add": lambda: render_answer_form(
            tour_id=1, title=title, questions=qs, answers=[answer] * 5, mode="add"
        ),
        "notice": lambda: render_notice_modal(title=title, text=escape(answer)),
        "home": lambda: render_home(
            user_id="U1",
            command="/partner",
            tours=[card(i, title=title, status=("open", "closed")[i % 2]) for i in range(12)],
        ),
    }
    assert validate_view(views[name]().to_dict()) == []


# --- truncation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "cut"),
    [
        (100, False),  # a normal answer
        (2_800, False),  # right at the limit: shown whole
        (2_801, True),  # one over: cut
        (40_000, True),  # the largest answer Slack delivers
    ],
)
def test_finished_cuts_long_answers(length: int, cut: bool) -> None:
    message = render_finished(
        tour_id=1,
        title="T",
        answers=[("Q?", "y" * length)],
        closes_at=CLOSES_AT,
        leader_tz=LEADER_TZ,
        anonymous=False,
    )
    answer_section = section_texts(message.to_dict())[1]
    assert len(answer_section) <= 3_000
    shown = answer_section.removeprefix("*Q?*\n")
    if cut:
        assert shown.endswith(ANSWER_CUT_FOR_MEMBER)
        assert 2_000 < shown.count("y") < length
    else:
        assert shown == "y" * length


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (None, "*Q?*\n_skipped_"),  # skipped
        ("", "*Q?*\n_skipped_"),  # empty counts as skipped
        ("  \n", "*Q?*\n_skipped_"),  # so does whitespace
        ("Fast reviews", "*Q?*\nFast reviews"),  # shown as given
    ],
)
def test_finished_shows_skipped_questions(answer: str | None, expected: str) -> None:
    message = render_finished(
        tour_id=1,
        title="T",
        answers=[("Q?", answer)],
        closes_at=CLOSES_AT,
        leader_tz=LEADER_TZ,
        anonymous=False,
    )
    assert section_texts(message.to_dict())[1] == expected


# --- buttons -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # the invitation offers the form
        (
            render_invitation(
                tour_id=42,
                leader_id="UL",
                title="T",
                anonymous=True,
                min_responses=3,
                closes_at=CLOSES_AT,
                leader_tz=LEADER_TZ,
                question="Q?",
                position=0,
                question_count=1,
            ),
            [TourAction.ANSWER_FORM],
        ),
        # the thank-you offers Edit and Add more
        (
            render_finished(
                tour_id=42,
                title="T",
                answers=[("Q?", "A")],
                closes_at=CLOSES_AT,
                leader_tz=LEADER_TZ,
                anonymous=False,
            ),
            [TourAction.EDIT, TourAction.ADD_MORE],
        ),
        # a reminder offers the form
        (
            render_reminder(
                tour_id=42,
                leader_id="UL",
                title="T",
                closes_at=CLOSES_AT,
                leader_tz=LEADER_TZ,
                question=None,
                position=None,
                question_count=2,
                anonymous=False,
            ),
            [TourAction.ANSWER_FORM],
        ),
        # the leader can remind, close and export an open tour
        (
            render_leader_confirmation(
                tour_id=42,
                title="T",
                invited=2,
                skipped=0,
                anonymous=False,
                min_responses=3,
                closes_at=CLOSES_AT,
                leader_tz=LEADER_TZ,
                results_channel_id="C1",
            ),
            [TourAction.REMIND, TourAction.CLOSE, TourAction.EXPORT],
        ),
        # a closed tour with enough answers can be exported
        (
            render_close_notice(
                tour_id=42,
                title="T",
                respondents=5,
                participants=5,
                visibility=Visibility(others=5, min_responses=3, anonymous=True, closed=True),
            ),
            [TourAction.EXPORT],
        ),
        # too few answers: nothing to export
        (
            render_close_notice(
                tour_id=42,
                title="T",
                respondents=2,
                participants=5,
                visibility=Visibility(others=2, min_responses=3, anonymous=True, closed=True),
            ),
            [],
        ),
    ],
)
def test_buttons_carry_the_tour_id(message: Message, expected: list[TourAction]) -> None:
    found = buttons(message.to_dict())
    assert [b["action_id"] for b in found] == expected
    assert {b["value"] for b in found} <= {"42"}
    for button in found:
        assert ("confirm" in button) is (button["action_id"] == TourAction.CLOSE)


@pytest.mark.parametrize(
    ("respondents", "others", "present", "absent"),
    [
        # below the minimum
        (2, 2, "at least 3 people besides you have answered, so nobody", "Press *Export*"),
        # exactly the minimum: themes, but no words below the quote floor of 5
        (3, 3, "only once at least 5 people besides you have answered; 3 have", "Export"),
        (3, 3, "suggest themes for you to review, without quotes", "no themes are suggested"),
        # the leader answered too: three answered, two of them others — hidden, and why
        (3, 2, "besides you have answered, so nobody can be singled out; 2 have", "Export"),
        (3, 2, "no themes are suggested", "Press *Export*"),
        # the leader and five others: the answers themselves
        (6, 5, "Press *Export*", "shown only when"),
    ],
)
def test_close_notice_hides_answers_below_the_minimum_of_others(
    respondents: int, others: int, present: str, absent: str
) -> None:
    message = render_close_notice(
        tour_id=1,
        title="T",
        respondents=respondents,
        participants=9,
        visibility=Visibility(
            others=others, min_responses=3, anonymous=True, closed=True, invited=9
        ),
    )
    rendered = json.dumps(message.to_dict())
    assert f"{respondents} of 9 answered" in rendered
    assert present in rendered
    assert absent not in rendered


@pytest.mark.parametrize(
    ("invited", "skipped", "present", "absent"),
    [
        (1, 0, "1 person invited", "Skipped"),  # singular, nobody skipped
        (12, 3, "12 people invited.\nSkipped 3 (deactivated accounts", "1 person"),  # skipped
    ],
)
def test_leader_confirmation_counts(invited: int, skipped: int, present: str, absent: str) -> None:
    message = render_leader_confirmation(
        tour_id=1,
        title="T",
        invited=invited,
        skipped=skipped,
        anonymous=True,
        min_responses=3,
        closes_at=CLOSES_AT,
        leader_tz=LEADER_TZ,
        results_channel_id="CTEAM",
    )
    rendered = all_text(message)
    assert present in rendered
    assert absent not in rendered
    assert "<#CTEAM>" in rendered
    assert "Friday 13 March" in rendered


@pytest.mark.parametrize(
    ("question", "present"),
    [
        ("Q?", "*Question 1 of 2*\nQ?"),  # repeats the current question
        (None, "Pick up where you left off"),  # no current question
    ],
)
def test_reminder(question: str | None, present: str) -> None:
    message = render_reminder(
        tour_id=1,
        leader_id="UL",
        title="T",
        closes_at=CLOSES_AT,
        leader_tz=LEADER_TZ,
        question=question,
        position=0 if question else None,
        question_count=2,
        anonymous=False,
    )
    rendered = all_text(message)
    assert present in rendered
    assert "<@UL>'s listening tour *T* closes <!date^1773442740^" in rendered
    assert ("Question 1 of 2" in rendered) is (question is not None)
    # The notification can't show a token: it names the leader's date, time and zone, and
    # never a bare "today", which may be another day where the member is.
    assert message.text == (
        "A gentle nudge: the listening tour T closes Friday 13 March, 23:59 Europe/Berlin."
    )


@pytest.mark.parametrize(
    ("title", "question", "present"),
    [
        (None, None, "You have no open listening tour right now."),  # nothing open
        ("T", "What's working?", "*Question 2 of 3*\nWhat's working?"),  # repeats the question
        ("T", None, "You've answered everything"),  # finished
    ],
)
def test_dm_help(title: str | None, question: str | None, present: str) -> None:
    message = render_dm_help(
        title=title,
        position=1 if question else None,
        question_count=3 if question else None,
        question=question,
    )
    assert present in all_text(message)


def test_question_message() -> None:
    payload = render_question(position=1, question_count=3, question="Q?").to_dict()
    assert section_texts(payload) == ["*Question 2 of 3*\nQ?"]
    assert "type *skip*" in json.dumps(payload)


# --- the launch modal --------------------------------------------------------------------------


def launch_modal(questions: tuple[str, ...] = DEFAULT_QUESTIONS) -> View:
    return render_launch_modal(
        title="Spring listening tour",
        user_ids=["U1", "U2"],
        channel_id="CTEAM",
        results_channel_id="CRESULTS",
        questions=questions,
        close_date=CLOSE,
        today=TODAY,
        private_metadata='{"x": 1}',
    )


@pytest.mark.parametrize(
    ("block_id", "key", "expected"),
    [
        (LaunchBlock.TITLE, "initial_value", "Spring listening tour"),  # the suggested title
        (LaunchBlock.PEOPLE, "initial_users", ["U1", "U2"]),  # people from the command
        (LaunchBlock.CHANNEL, "initial_conversation", "CTEAM"),  # channel from the command
        (question_block(0), "initial_value", DEFAULT_QUESTIONS[0]),  # default question 1
        (question_block(1), "initial_value", DEFAULT_QUESTIONS[1]),  # default question 2
        (question_block(2), "initial_value", None),  # the spare ones start empty
        (question_block(4), "initial_value", None),  # ...up to the fifth
        (LaunchBlock.MIN_RESPONSES, "initial_value", "3"),  # the floor
        (LaunchBlock.MIN_RESPONSES, "min_value", "3"),  # and Slack enforces it
        (LaunchBlock.MIN_RESPONSES, "type", "number_input"),  # whole numbers only
        (LaunchBlock.MIN_RESPONSES, "is_decimal_allowed", False),
        (LaunchBlock.CLOSE_DATE, "initial_date", "2026-03-13"),  # the default close date
        (LaunchBlock.RESULTS, "initial_conversation", "CRESULTS"),  # the team channel
        (LaunchBlock.RESULTS, "type", "conversations_select"),
        (
            LaunchBlock.RESULTS,
            "filter",
            {"include": ["public", "private"], "exclude_bot_users": True},
        ),
        (LaunchBlock.PEOPLE, "type", "multi_users_select"),
        (LaunchBlock.ANONYMITY, "type", "radio_buttons"),
    ],
)
def test_launch_modal_initial_values(block_id: str, key: str, expected: object) -> None:
    element = input_block(launch_modal(), block_id)["element"]
    assert element.get(key) == expected


@pytest.mark.parametrize(
    ("block_id", "optional"),
    [
        (LaunchBlock.TITLE, False),  # a tour needs a title
        (LaunchBlock.PEOPLE, True),  # people or a channel: the handler checks one is given
        (LaunchBlock.CHANNEL, True),
        (question_block(0), False),  # at least one question
        (question_block(1), True),
        (question_block(4), True),
        (LaunchBlock.ANONYMITY, False),
        (LaunchBlock.MIN_RESPONSES, False),
        (LaunchBlock.CLOSE_DATE, False),
        (LaunchBlock.RESULTS, False),  # findings need somewhere to go
        (LaunchBlock.REMINDERS, True),  # unticking must still submit
    ],
)
def test_launch_modal_block_ids_and_action_ids(block_id: str, optional: bool) -> None:
    block = input_block(launch_modal(), block_id)
    assert block["type"] == "input"
    assert block["element"]["action_id"] == f"{block_id}.input"
    assert bool(block.get("optional")) is optional


def test_launch_modal_frame_and_choices() -> None:
    view = launch_modal()
    payload = view.to_dict()
    assert payload["callback_id"] == TourView.LAUNCH
    assert payload["title"]["text"] == "Listening tour"
    assert payload["submit"]["text"] == "Start tour"
    assert payload["close"]["text"] == "Cancel"
    assert payload["private_metadata"] == '{"x": 1}'
    radios = input_block(view, LaunchBlock.ANONYMITY)["element"]
    assert [o["value"] for o in radios["options"]] == ["anonymous", "named"]
    assert radios["initial_option"]["value"] == "anonymous"
    checks = input_block(view, LaunchBlock.REMINDERS)["element"]
    assert [o["value"] for o in checks["initial_options"]] == ["on"]
    results = input_block(view, LaunchBlock.RESULTS)
    assert "/invite @Partnerbot" in results["hint"]["text"]
    question_ids = [b["block_id"] for b in payload["blocks"] if "question" in b.get("block_id", "")]
    assert question_ids == [question_block(i) for i in range(MAX_QUESTIONS)]
    assert validate_view(payload) == []


def test_launch_modal_with_five_questions_fills_them_all() -> None:
    questions = tuple(f"Question number {i}?" for i in range(MAX_QUESTIONS))
    view = launch_modal(questions)
    for position, question in enumerate(questions):
        element = input_block(view, question_block(position))["element"]
        assert element["initial_value"] == question


# --- the answer form ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "answer", "initial", "label", "note"),
    [
        ("edit", "Short answer", "Short answer", "Q?", None),  # editable in place
        ("edit", None, None, "Q?", None),  # skipped: an empty box
        ("edit", "z" * 3_000, "z" * 3_000, "Q?", None),  # just fits the box
        ("edit", "z" * 3_001, None, "Q?", "longer than this box"),  # too long: kept, explained
        ("add", "Short answer", None, "Add to: Q?", "So far: “Short answer”"),  # add to it
        ("add", None, None, "Q?", None),  # nothing yet to add to
    ],
)
def test_answer_form(
    mode: Literal["edit", "add"],
    answer: str | None,
    initial: str | None,
    label: str,
    note: str | None,
) -> None:
    view = render_answer_form(
        tour_id=9, title="T", questions=["Q?", "R?"], answers=[answer], mode=mode
    )
    payload = view.to_dict()
    assert payload["callback_id"] == TourView.ANSWERS
    assert json.loads(payload["private_metadata"]) == {"tour_id": 9, "mode": mode}
    assert payload["title"]["text"] == "Your answers"
    assert payload["submit"]["text"] == "Save"
    first = input_block(view, "answer.1")
    assert first["element"]["action_id"] == "answer.1.input"
    assert first["element"]["multiline"] is True
    assert first["optional"] is True
    assert first["element"].get("initial_value") == initial
    assert first["label"]["text"] == label
    assert input_block(view, "answer.2")["element"]["action_id"] == "answer.2.input"
    contexts = [b["elements"][0]["text"] for b in payload["blocks"] if b["type"] == "context"][
        1:
    ]  # the first is the tour's title
    if note is None:
        assert contexts == []
    else:
        assert len(contexts) == 1
        assert note in contexts[0]
    assert validate_view(payload) == []


# --- the export --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question_count", "answers_each", "length", "omitted"),
    [
        (2, 3, 20, False),  # a small tour fits whole
        (5, 20, 300, False),  # 100 full-length answers still fit
        (1, 2_000, 300, True),  # one question with far too many answers
        (5, 400, 300, True),  # every question overflows
        (5, 2_000, 5, True),  # many short answers overflow too
    ],
)
def test_export_summarises_past_45_blocks(
    question_count: int, answers_each: int, length: int, omitted: bool
) -> None:
    questions = [
        (f"Question {q}?", [f"{q}-{i} " + "w" * length for i in range(answers_each)])
        for q in range(question_count)
    ]
    message = render_export_message(
        title="T",
        respondents=50,
        participants=60,
        questions=questions,
        named=None,
        tour_id=77,
    )
    payload = message.to_dict()
    assert len(payload["blocks"]) <= MAX_EXPORT_BLOCKS
    assert message_problems(message) == []
    shown = sum(text.count("\n• ") + text.startswith("• ") for text in section_texts(payload))
    total = question_count * answers_each
    footer = payload["blocks"][-1]
    if omitted:
        summary = footer["elements"][0]["text"]
        assert f"…and {total - shown} more answers" in summary
        assert "`partnerbot export 77`" in summary
        assert shown < total
        # every question gets a share of the message
        for q in range(question_count):
            assert any(f"*Question {q}?*" in text for text in section_texts(payload))
    else:
        assert shown == total
        assert footer["type"] != "context" or "more answers" not in json.dumps(footer)


@pytest.mark.parametrize(
    ("answer", "cut"),
    [
        ("w" * 300, False),  # exactly 300: whole
        ("w" * 301, True),  # over 300: cut, and the note says where the rest is
    ],
)
def test_export_cuts_each_answer_at_300(answer: str, cut: bool) -> None:
    message = render_export_message(
        title="T",
        respondents=3,
        participants=3,
        questions=[("Q?", [answer])],
        named=None,
        tour_id=5,
    )
    payload = message.to_dict()
    line = section_texts(payload)[-1].split("\n")[1]
    assert len(line) <= len("• ") + 300
    assert line.endswith("…") is cut
    assert ("`partnerbot export 5`" in json.dumps(payload)) is cut


def test_export_marks_questions_without_answers() -> None:
    message = render_export_message(
        title="T", respondents=3, participants=3, questions=[("Q?", [])], named=None, tour_id=5
    )
    assert section_texts(message.to_dict())[-1] == "*Q?*\n_No answers._"


# --- the notice modal --------------------------------------------------------------------------


def test_notice_modal() -> None:
    view = render_notice_modal(
        title="Only the leader can close", text="Only <@U1>, who leads this tour, can close it."
    )
    payload = view.to_dict()
    assert payload["callback_id"] == TourView.NOTICE
    assert payload["title"]["text"] == "Only the leader can clos"  # cut to Slack's 24
    assert payload["close"]["text"] == "OK"
    # the caller's mention is kept: the text is the caller's own mrkdwn
    assert section_texts(payload) == ["Only <@U1>, who leads this tour, can close it."]
    assert validate_view(payload) == []


# --- the home tab ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tours", "sections", "more"),
    [
        ([], 0, False),  # no tours: an invitation to start one
        ([card(1)], 1, False),  # one open tour
        ([card(i, status=("open", "closed")[i % 2]) for i in range(10)], 10, False),  # ten
        ([card(i) for i in range(12)], 10, True),  # twelve: the ten newest, and a note
    ],
)
def test_home_lists_tours(tours: list[TourCard], sections: int, more: bool) -> None:
    payload = render_home(user_id="U1", command="/partner", tours=tours).to_dict()
    assert validate_view(payload) == []
    tour_sections = [
        b["block_id"]
        for b in payload["blocks"]
        if b.get("block_id", "").startswith("home.tour.") and b["type"] == "section"
    ]
    assert len(tour_sections) == sections
    ids = sorted((t.tour_id for t in tours), reverse=True)[:sections]
    assert tour_sections == [f"home.tour.{i}" for i in ids]  # newest first
    rendered = json.dumps(payload)
    assert ("`/partner tour`" in rendered) is (not tours)
    assert ("most recent tours" in rendered) is more
    assert "home.welcome" in rendered  # the welcome and steps stay


@pytest.mark.parametrize(
    ("tour", "summary", "actions"),
    [
        # open, several days to go
        (
            card(3, days_left=3),
            "*Tour* — 7 of 25 answered · 3 days left · anonymous",
            [TourAction.REMIND, TourAction.CLOSE, TourAction.EXPORT],
        ),
        # open, its last day
        (
            card(3, days_left=1),
            "*Tour* — 7 of 25 answered · last day (Friday 13 March) · anonymous",
            [TourAction.REMIND, TourAction.CLOSE, TourAction.EXPORT],
        ),
        # closed: only the export is left
        (
            card(3, status="closed", days_left=0),
            "*Tour* — 7 of 25 answered · closed on Friday 13 March · anonymous",
            [TourAction.EXPORT],
        ),
        # closed early with Close now: the day it closed, not the day it was planned to
        (
            card(3, status="closed", days_left=3, closed_on=date(2026, 3, 10)),
            "*Tour* — 7 of 25 answered · closed on Tuesday 10 March · anonymous",
            [TourAction.EXPORT],
        ),
    ],
)
def test_home_tour_card(tour: TourCard, summary: str, actions: list[TourAction]) -> None:
    payload = render_home(user_id="U1", command="/partner", tours=[tour]).to_dict()
    blocks = {b.get("block_id"): b for b in payload["blocks"]}
    assert blocks["home.tour.3"]["text"]["text"] == summary
    row = blocks["home.tour.3.actions"]["elements"]
    assert [b["action_id"] for b in row] == actions
    assert {b["value"] for b in row} == {"3"}
    close = [b for b in row if b["action_id"] == TourAction.CLOSE]
    assert all(b["style"] == "danger" and "confirm" in b for b in close)


def test_action_and_view_ids_are_the_agreed_ones() -> None:
    assert {a.name: a.value for a in TourAction} == {
        "ANSWER_FORM": "tour.answer_form",
        "EDIT": "tour.edit",
        "ADD_MORE": "tour.add_more",
        "REMIND": "tour.remind",
        "CLOSE": "tour.close",
        "EXPORT": "tour.export",
    }
    assert {v.name: v.value for v in TourView} == {
        "LAUNCH": "tour.launch",
        "ANSWERS": "tour.answers",
        "NOTICE": "tour.notice",
    }


@pytest.mark.parametrize(
    ("reminded", "anonymous", "automatic", "says", "never"),
    [
        # Named, some away: the count apart, and when they will hear.
        (
            Reminded(RemindOutcome.QUEUED, 12, 3),
            False,
            True,
            "12 people who haven't finished, each in their own working hours. 3 people are away "
            "by their Slack status, so not reminded now: the tour's next reminder reaches them "
            "once they're back.",
            "Anyone",
        ),
        # Named, one away, reminders off: the leader is told to press again.
        (
            Reminded(RemindOutcome.QUEUED, 1, 1),
            False,
            False,
            "1 person who hasn't finished, each in their own working hours. 1 person is away by "
            "their Slack status, so not reminded now: press Remind again once they're back.",
            "tour's next reminder",
        ),
        # Named, everyone left is away: nobody reminded now, and why.
        (
            Reminded(RemindOutcome.QUEUED, 0, 2),
            False,
            True,
            "Nobody reminded now. 2 people are away",
            "on its way",
        ),
        # Named, nobody away: as before, no word about time off.
        (
            Reminded(RemindOutcome.QUEUED, 4, 0),
            False,
            True,
            "Reminder on its way to 4 people who haven't finished",
            "away",
        ),
        # Anonymous: one count (reminded + away) and no away count of its own.
        (
            Reminded(RemindOutcome.QUEUED, 9, 3),
            True,
            True,
            "Reminder on its way to 12 people who haven't finished",
            "3 people",
        ),
    ],
)
def test_remind_now_tells_the_leader_about_people_away(
    reminded: Reminded, anonymous: bool, automatic: bool, says: str, never: str
) -> None:
    told = render_remind_outcome(reminded, anonymous=anonymous, automatic=automatic)
    assert says in told
    assert never not in told
