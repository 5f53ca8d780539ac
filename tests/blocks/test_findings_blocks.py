from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.blocks import Message
from bot.blocks.findings import (
    BAR_EMPTY,
    BAR_FULL,
    MAX_FINAL_THEMES,
    FindingsAction,
    FindingsBlock,
    FindingsView,
    PollTheme,
    ThemeDraft,
    bar,
    render_answers_page,
    render_final_ranking,
    render_findings_post,
    render_insight_modal,
    render_preview_modal,
    render_review_modal,
    render_review_prompt,
    render_vote_ack,
)
from bot.blocks.home import TourCard, render_home
from bot.blocks.metadata import MAX_ROW_ID
from bot.blocks.outcomes import OutcomeAction
from bot.blocks.tour import TourAction
from bot.flows.poll import Change, Refusal
from bot.flows.review import MAX_SUGGESTED_THEMES
from bot.flows.tour import MAX_QUESTIONS
from bot.sandbox.block_kit import validate_message, validate_view

EVIL = "<!channel> ping <@U999> & <#C1>"
EVIL_ESCAPED = "&lt;!channel&gt; ping &lt;@U999&gt; &amp; &lt;#C1&gt;"
RAW_MARKUP = ("<!channel>", "<@U999>", "<#C1>")

FLAVOURS = {
    # escaping grows "&" five-fold: the worst case for a 3,000-character section
    "ampersands": "&<>" * 100,
    # emoji with joiners and right-to-left text
    "emoji_rtl": ("👩🏽‍💻 שלום عالم ") * 30,
    # an answer's line breaks become indented lines under its bullet
    "newlines": "a\n" * 150,
}


def worst(flavour: str, length: int) -> str:
    return (FLAVOURS[flavour] * (length // len(FLAVOURS[flavour]) + 1))[:length]


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


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def by_block_id(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in blocks if "block_id" in b}


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def draft(
    label: str = "Slow approvals",
    *,
    summary: str = "Sign-off takes weeks.",
    kind: str = "challenge",
    answers: int = 12,
    quotes: tuple[str, ...] = ("We wait two weeks.", "Nobody knows who approves."),
) -> ThemeDraft:
    return ThemeDraft(label=label, summary=summary, kind=kind, answer_count=answers, quotes=quotes)


def poll_themes(votes: tuple[int | None, ...] = (7, 0, 3), text: str = "") -> list[PollTheme]:
    return [
        PollTheme(
            theme_id=10 + i,
            label=text or f"Theme {i}",
            summary=text or f"Summary {i}",
            quote=text or f"Quote {i}",
            votes=count,
        )
        for i, count in enumerate(votes)
    ]


def post(
    *,
    themes: list[PollTheme] | None = None,
    hide_results: bool = False,
    closed: bool = False,
    title: str = "Q1 tour",
    questions: list[str] | None = None,
    voters: int = 4,
    unthemed: int = 0,
    answers: int = 0,
) -> Message:
    return render_findings_post(
        poll_id=9,
        leader_id="U1",
        title=title,
        questions=questions if questions is not None else ["What works?", "What's in the way?"],
        respondents=7,
        participants=10,
        themes=themes if themes is not None else poll_themes(),
        budget=3,
        max_per_theme=2,
        hide_results=hide_results,
        closed=closed,
        voters=voters,
        unthemed=unthemed,
        answers=answers,
    )


def review(
    themes: list[ThemeDraft], reflections: list[str | None] | None = None, *, unthemed: int = 0
) -> View:
    return render_review_modal(
        tour_id=5,
        title="Q1 tour",
        respondents=7,
        themes=themes,
        reflections=reflections if reflections is not None else [None, None, None],
        unthemed=unthemed,
    )


def preview(
    themes: list[ThemeDraft],
    *,
    hide_results: bool = False,
    allow_outsiders: bool = False,
    title: str = "Q1 tour",
    questions: list[str] | None = None,
    leader_id: str | None = None,
    budget: int = 3,
) -> View:
    return render_preview_modal(
        tour_id=5,
        title=title,
        questions=questions if questions is not None else ["What works?", "What's in the way?"],
        respondents=7,
        participants=10,
        themes=themes,
        budget=budget,
        max_per_theme=2,
        hide_results=hide_results,
        allow_outsiders=allow_outsiders,
        leader_id=leader_id,
    )


# --- Slack's limits, worst cases ---------------------------------------------------------------


def worst_message(name: str, flavour: str) -> Message:
    label, summary = worst(flavour, 150), worst(flavour, 300)
    quote, title = worst(flavour, 40_000), worst(flavour, 150)
    questions = [worst(flavour, 300)] * MAX_QUESTIONS
    themes = [
        PollTheme(
            theme_id=2**31 + i,
            label=label,
            summary=summary,
            quote=quote,
            votes=10**6,
            kind=worst(flavour, 300),  # a kind stored by some future version
        )
        for i in range(MAX_FINAL_THEMES + 2)  # more than may be posted
    ]
    if name == "prompt":
        return render_review_prompt(
            tour_id=MAX_ROW_ID,
            title=title,
            respondents=10**5,
            participants=10**5,
            sides=[worst(flavour, 300)] * 99,
        )
    if name == "final_ranking":
        return render_final_ranking(poll_id=MAX_ROW_ID, title=title, ranking=[(label, 10**6)] * 50)
    return render_findings_post(
        poll_id=MAX_ROW_ID,
        leader_id="U0123456789",
        title=title,
        questions=questions,
        respondents=10**5,
        participants=10**5,
        themes=themes,
        budget=10,
        max_per_theme=10,
        hide_results=name == "post_hidden",
        closed=name == "post_closed",
        voters=10**5,
        unthemed=10**6,
        answers=10**6,
    )


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
@pytest.mark.parametrize(
    "name",
    [
        "prompt",  # the leader's DM with the longest title
        "post_open",  # five themes offered (three shown), 150/300/40,000-character texts
        "post_hidden",  # the same with results hidden
        "post_closed",  # the same, closed, with its final bars
        "final_ranking",  # fifty long labels
    ],
)
def test_messages_stay_within_slack_limits(name: str, flavour: str) -> None:
    message = worst_message(name, flavour)
    assert message_problems(message) == []
    assert message.text


def worst_view(name: str, flavour: str) -> View:
    label, summary = worst(flavour, 150), worst(flavour, 300)
    quote, title = worst(flavour, 40_000), worst(flavour, 150)
    themes = [
        draft(label, summary=summary, quotes=(quote,) * 5, answers=10**5)
        for _ in range(MAX_SUGGESTED_THEMES + 2)  # more than may be shown
    ]
    if name == "review":
        return review(themes, [quote, quote, quote], unthemed=10**6)
    if name == "preview":
        return render_preview_modal(
            tour_id=MAX_ROW_ID,
            title=title,
            questions=[worst(flavour, 300)] * MAX_QUESTIONS,
            respondents=10**5,
            participants=10**5,
            themes=themes,
            budget=99,  # out of range: the input's initial value is kept within min and max
            max_per_theme=99,
            hide_results=False,
            allow_outsiders=True,
            leader_id="U0123456789",
            unthemed=10**6,
            answers=10**6,
        )
    if name == "insight":
        return render_insight_modal(
            poll_id=MAX_ROW_ID, themes=[(2**31 + i, label) for i in range(150)]
        )
    answers = [worst(flavour, 2_000)] * (1_000 if name == "answers_flood" else 100)
    return render_answers_page(
        tour_id=MAX_ROW_ID,
        title=title,
        page=5,
        page_count=10,
        questions=[(worst(flavour, 300), answers)] * MAX_QUESTIONS,
    )


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
@pytest.mark.parametrize(
    "name",
    [
        "review",  # seven themes offered, 40,000-character quotes and reflections
        "preview",  # five long questions, five themes offered, settings out of range
        "insight",  # 150 themes with 150-character labels
        "answers",  # five questions with 100 answers of 2,000 characters each
        "answers_flood",  # five questions with 1,000 answers each on one page
    ],
)
def test_views_stay_within_slack_limits(name: str, flavour: str) -> None:
    assert validate_view(worst_view(name, flavour).to_dict()) == []


@pytest.mark.parametrize(
    ("answers", "sections_at_least", "note"),
    [
        (100, 2, False),  # 100 long answers: packed into several sections, all shown
        (1_000, 90, True),  # more than one view holds: the rest are counted
    ],
)
def test_answers_page_packs_and_counts_what_does_not_fit(
    answers: int, sections_at_least: int, note: bool
) -> None:
    blocks = render_answers_page(
        tour_id=1, title="T", page=0, page_count=1, questions=[("Q", ["x" * 2_000] * answers)]
    ).to_dict()["blocks"]
    sections = section_texts(blocks)
    assert len(sections) >= sections_at_least
    assert all(len(text) <= 3_000 for text in sections)
    shown = sum(text.count("• ") for text in sections)
    rendered = json.dumps(blocks)
    assert ("didn't fit on this page" in rendered) is note
    if not note:
        assert shown == answers
    else:
        assert f"{answers - shown} answers didn't fit" in rendered


# --- escaping ----------------------------------------------------------------------------------


MESSAGE_RENDERERS: dict[str, Callable[[str], Message]] = {
    # labels, summaries and quotes in the channel post
    "post_labels": lambda text: post(themes=poll_themes(text=text)),
    # the same once closed: the fallback text lists the labels under the title
    "post_closed": lambda text: post(themes=poll_themes(text=text), closed=True, title=text),
    # the tour's title and questions in the post
    "post_title": lambda text: post(title=text, questions=[text, text]),
    # the leader's DM
    "prompt": lambda text: render_review_prompt(
        tour_id=1, title=text, respondents=3, participants=4, sides=["challenge"] * 2
    ),
    # the final ranking's labels and title
    "ranking": lambda text: render_final_ranking(poll_id=1, title=text, ranking=[(text, 3)]),
}


@pytest.mark.parametrize("name", sorted(MESSAGE_RENDERERS))
def test_messages_never_ping_or_link(name: str) -> None:
    rendered = json.dumps(MESSAGE_RENDERERS[name](EVIL).to_dict(), ensure_ascii=False)
    # The fallback text is what notifications show, and Slack parses it too.
    for markup in RAW_MARKUP:
        assert markup not in rendered
    assert EVIL_ESCAPED in rendered


VIEW_RENDERERS: dict[str, Callable[[str], View]] = {
    # quotes, kind and title in the review modal
    "review": lambda text: review([draft(text, summary=text, kind=text, quotes=(text,))]),
    # the preview shows the post: labels, summaries, quotes, title and questions
    "preview": lambda text: preview(
        [draft(text, summary=text, quotes=(text,))], title=text, questions=[text]
    ),
    # the answers page: questions and answers
    "answers": lambda text: render_answers_page(
        tour_id=1, title=text, page=0, page_count=1, questions=[(text, [text])]
    ),
}


@pytest.mark.parametrize("name", sorted(VIEW_RENDERERS))
def test_views_escape_user_text_wherever_slack_parses_it(name: str) -> None:
    texts = list(mrkdwn_texts(VIEW_RENDERERS[name](EVIL).to_dict()))
    assert any(EVIL_ESCAPED in text for text in texts)
    for markup in RAW_MARKUP:
        assert not any(markup in text for text in texts)


def test_leaders_insights_go_back_raw_into_their_boxes_and_nowhere_parsed() -> None:
    # Input values are never parsed by Slack; escaping them would add "&lt;" on every save.
    view = review([draft(EVIL, summary=EVIL)], [EVIL, EVIL, None]).to_dict()
    blocks = by_block_id(view["blocks"])
    for block_id in ("theme.1.label", "theme.1.summary", "reflect.insights", "reflect.next"):
        assert blocks[block_id]["element"]["initial_value"] == EVIL
    assert "initial_value" not in blocks["reflect.involve"]["element"]
    assert not any("<!channel>" in text for text in mrkdwn_texts(view))


def test_insight_modal_shows_labels_as_plain_text() -> None:
    view = render_insight_modal(poll_id=1, themes=[(3, EVIL)]).to_dict()
    options = by_block_id(view["blocks"])["insight.theme"]["element"]["options"]
    assert [o["text"] for o in options] == [
        {"type": "plain_text", "text": "Not about one theme", "emoji": True},
        {"type": "plain_text", "text": EVIL, "emoji": True},  # plain text never pings
    ]


@pytest.mark.parametrize(
    ("label", "shown"),
    [
        # fits the 75 characters of an option: as written
        ("Priorities change without a why", "Priorities change without a why"),
        # too long: cut between two words, with "…"
        (
            "Priorities change every couple of weeks and nobody in the room ever explains why",
            "Priorities change every couple of weeks and nobody in the room ever…",
        ),
        # one long word: cut inside it, the only place there is
        ("x" * 100, "x" * 74 + "…"),
    ],
)
def test_insight_modal_cuts_long_labels_between_words(label: str, shown: str) -> None:
    view = render_insight_modal(poll_id=1, themes=[(3, label)]).to_dict()
    options = by_block_id(view["blocks"])["insight.theme"]["element"]["options"]
    assert options[1]["text"]["text"] == shown
    assert len(shown) <= 75


@pytest.mark.parametrize(
    ("kwargs", "escaped"),
    [
        # the theme clicked
        ({"theme": EVIL, "change": Change.ADD, "refused": None, "placed": []}, True),
        # a theme where the person's votes are
        ({"refused": Refusal.BUDGET_SPENT, "placed": [(EVIL, 2)]}, True),
        # a reason the caller wrote
        ({"refused": EVIL, "placed": []}, True),
    ],
)
def test_vote_ack_escapes_labels(kwargs: dict[str, Any], escaped: bool) -> None:
    text = render_vote_ack(votes_left=1, **kwargs)
    assert (EVIL_ESCAPED in text) is escaped
    for markup in RAW_MARKUP:
        assert markup not in text


# --- bars and hidden results -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "top", "expected"),
    [
        (7, 10, "`▇▇▇▇▇▇▇░░░` 7"),  # the example: seven of ten
        (7, 7, "`▇▇▇▇▇▇▇▇▇▇` 7"),  # the leader fills the bar
        (0, 7, "`░░░░░░░░░░` 0"),  # no votes: an empty bar and a 0
        (0, 0, "`░░░░░░░░░░` 0"),  # nobody voted yet: no division by zero
        (1, 100, "`▇░░░░░░░░░` 1"),  # any vote shows at least one cell
        (5, 10, "`▇▇▇▇▇░░░░░` 5"),  # half exactly
        (1, 4, "`▇▇▇░░░░░░░` 1"),  # 2.5 cells round up, not to even
        (9, 12, "`▇▇▇▇▇▇▇▇░░` 9"),  # 7.5 cells round up
    ],
)
def test_bar(count: int, top: int, expected: str) -> None:
    assert bar(count, top) == expected


def test_post_bars_scale_to_the_largest_count() -> None:
    texts = section_texts(post(themes=poll_themes((4, 2, 0))).to_dict()["blocks"])
    bars = [line for text in texts for line in text.splitlines() if line.startswith("`")]
    assert bars == ["`▇▇▇▇▇▇▇▇▇▇` 4", "`▇▇▇▇▇░░░░░` 2", "`░░░░░░░░░░` 0"]


@pytest.mark.parametrize(
    ("hide_results", "closed", "counts_shown"),
    [
        (False, False, True),  # open, live tallies
        (True, False, False),  # hidden until the poll closes
        (True, True, True),  # a hidden poll reveals its tallies when it closes
        (False, True, True),  # closed: final tallies
    ],
)
def test_hidden_results_show_no_counts_anywhere(
    hide_results: bool, closed: bool, counts_shown: bool
) -> None:
    # Distinctive tallies, so a count cannot hide among the other numbers in the post.
    message = post(themes=poll_themes((37, 58, 91)), hide_results=hide_results, closed=closed)
    rendered = json.dumps(message.to_dict(), ensure_ascii=False)
    for count in ("37", "58", "91"):
        assert (count in rendered) is counts_shown
    assert (BAR_FULL in rendered or BAR_EMPTY in rendered) is counts_shown
    # The fallback text alone, too.
    assert ("91" in message.text) is (counts_shown and closed)


# --- buttons and values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("closed", "actions"),
    [
        # open: Vote and Remove my vote under each theme, then Share an insight and Close poll
        (
            False,
            [FindingsAction.VOTE, FindingsAction.UNVOTE] * 3
            + [FindingsAction.SHARE_INSIGHT, FindingsAction.CLOSE_POLL],
        ),
        # closed: only Share an insight
        (True, [FindingsAction.SHARE_INSIGHT]),
    ],
)
def test_post_buttons(closed: bool, actions: list[FindingsAction]) -> None:
    blocks = post(closed=closed).to_dict()["blocks"]
    row = buttons(blocks)
    assert [b["action_id"] for b in row] == actions
    assert [b["value"] for b in row if b["action_id"] == FindingsAction.VOTE] == (
        [] if closed else ["9:10", "9:11", "9:12"]
    )
    assert [b["value"] for b in row if b["action_id"] == FindingsAction.UNVOTE] == (
        [] if closed else ["9:10", "9:11", "9:12"]
    )
    assert {b["value"] for b in row if b["action_id"] != FindingsAction.VOTE} <= {
        "9",
        "9:10",
        "9:11",
        "9:12",
    }
    close = [b for b in row if b["action_id"] == FindingsAction.CLOSE_POLL]
    assert all("confirm" in b and b["value"] == "9" for b in close)
    assert blocks[0]["text"]["text"] == ("Final ranking" if closed else "What we heard")


@pytest.mark.parametrize(
    ("render", "expected"),
    [
        # the leader's one DM at close: Review themes and Export carry the tour id
        (
            lambda: render_review_prompt(
                tour_id=5, title="T", respondents=3, participants=4, sides=["challenge"] * 2
            ).to_dict()["blocks"],
            [(FindingsAction.REVIEW, "5"), (TourAction.EXPORT, "5")],
        ),
        # the review modal: See all answers opens page 0 of the tour
        (lambda: review([draft()]).to_dict()["blocks"], [(FindingsAction.SEE_ANSWERS, "5:0")]),
        # the first page: Next only
        (
            lambda: render_answers_page(
                tour_id=5, title="T", page=0, page_count=3, questions=[("Q", ["a"])]
            ).to_dict()["blocks"],
            [(FindingsAction.ANSWERS_PAGE, "5:1")],
        ),
        # a middle page: Previous and Next
        (
            lambda: render_answers_page(
                tour_id=5, title="T", page=1, page_count=3, questions=[("Q", ["a"])]
            ).to_dict()["blocks"],
            [(FindingsAction.ANSWERS_PAGE, "5:0"), (FindingsAction.ANSWERS_PAGE, "5:2")],
        ),
        # the last page: Previous only
        (
            lambda: render_answers_page(
                tour_id=5, title="T", page=2, page_count=3, questions=[("Q", ["a"])]
            ).to_dict()["blocks"],
            [(FindingsAction.ANSWERS_PAGE, "5:1")],
        ),
        # a single page: no pager
        (
            lambda: render_answers_page(
                tour_id=5, title="T", page=0, page_count=1, questions=[("Q", ["a"])]
            ).to_dict()["blocks"],
            [],
        ),
        # the preview shows the post without any button
        (lambda: preview([draft()]).to_dict()["blocks"], []),
    ],
)
def test_button_values_carry_the_ids(
    render: Callable[[], list[dict[str, Any]]], expected: list[tuple[str, str]]
) -> None:
    assert [(b["action_id"], b["value"]) for b in buttons(render())] == expected


@pytest.mark.parametrize(
    ("page", "page_count", "shown"),
    [
        (0, 3, "Page 1 of 3"),  # pages count from 0, people count from 1
        (2, 3, "Page 3 of 3"),  # the last
        (0, 0, "Page 1 of 1"),  # no answers at all still reads sensibly
    ],
)
def test_answers_page_says_where_you_are(page: int, page_count: int, shown: str) -> None:
    view = render_answers_page(
        tour_id=5, title="T", page=page, page_count=page_count, questions=[]
    ).to_dict()
    assert shown in json.dumps(view)
    assert view["callback_id"] == FindingsView.ANSWERS
    assert view["title"]["text"] == "All answers"
    assert view["close"]["text"] == "Back"
    assert "submit" not in view


# --- the review modal --------------------------------------------------------------------------


def theme_inputs(count: int) -> list[str]:
    fields = ("label", "summary", "keep", "order")
    return [f"theme.{i}.{f}" for i in range(1, count + 1) for f in fields]


THEME_INPUTS = theme_inputs(3)
OWN_INPUTS = ["theme.new.label", "theme.new.summary", "theme.new.order"]
REFLECT_INPUTS = ["reflect.insights", "reflect.next", "reflect.involve"]


@pytest.mark.parametrize(
    ("themes", "inputs"),
    [
        # three suggestions: all editable, then the leader's own and the reflections
        ([draft(f"T{i}") for i in range(3)], THEME_INPUTS + OWN_INPUTS + REFLECT_INPUTS),
        # one suggestion
        ([draft()], THEME_INPUTS[:4] + OWN_INPUTS + REFLECT_INPUTS),
        # none: the leader can still write their own
        ([], OWN_INPUTS + REFLECT_INPUTS),
        # five offered: all five shown, so the leader can choose three among them
        ([draft(f"T{i}") for i in range(5)], theme_inputs(5) + OWN_INPUTS + REFLECT_INPUTS),
        # seven offered: never more than five shown
        ([draft(f"T{i}") for i in range(7)], theme_inputs(5) + OWN_INPUTS + REFLECT_INPUTS),
    ],
)
def test_review_modal_block_ids(themes: list[ThemeDraft], inputs: list[str]) -> None:
    view = review(themes).to_dict()
    found = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in found] == inputs
    assert all(b["element"]["action_id"] == b["block_id"] + ".input" for b in found)
    assert view["callback_id"] == FindingsView.REVIEW
    assert json.loads(view["private_metadata"]) == {"tour_id": 5}
    assert (view["title"]["text"], view["submit"]["text"], view["close"]["text"]) == (
        "Review themes",
        "Preview",
        "Cancel",
    )


def test_review_modal_initial_values() -> None:
    themes = [draft("A", summary="sa"), draft("B", summary="sb", kind="strength", answers=1)]
    view = review(themes, ["mine", None, "team"]).to_dict()
    blocks = by_block_id(view["blocks"])
    for i, label, summary in ((1, "A", "sa"), (2, "B", "sb")):
        assert blocks[f"theme.{i}.label"]["element"]["initial_value"] == label
        assert blocks[f"theme.{i}.label"]["element"]["max_length"] == 150
        assert blocks[f"theme.{i}.summary"]["element"]["initial_value"] == summary
        assert blocks[f"theme.{i}.summary"]["optional"] is True
        keep = blocks[f"theme.{i}.keep"]["element"]
        assert [o["value"] for o in keep["initial_options"]] == ["keep"]
        order = blocks[f"theme.{i}.order"]["element"]
        assert [o["value"] for o in order["options"]] == ["1", "2", "3"]  # two themes and yours
        assert order["initial_option"]["value"] == str(i)
    assert blocks["theme.new.order"]["element"]["initial_option"]["value"] == "3"
    assert "initial_value" not in blocks["theme.new.label"]["element"]
    assert blocks["reflect.insights"]["element"]["initial_value"] == "mine"
    assert "initial_value" not in blocks["reflect.next"]["element"]
    assert blocks["reflect.involve"]["element"]["initial_value"] == "team"
    assert all(blocks[r]["element"]["multiline"] for r in REFLECT_INPUTS)
    texts = "\n".join(mrkdwn_texts(view))
    assert "*Theme 1* · Challenge · 12 answers" in texts
    assert "*Theme 2* · Working well · 1 answer" in texts  # singular
    assert "“We wait two weeks.”" in texts  # quotes shown
    assert "Only you see these." in texts
    assert "no more than three" in texts


@pytest.mark.parametrize(
    ("kinds", "ticked"),
    [
        # three or fewer: all ticked, whatever their side
        (["challenge", "challenge", "strength"], [1, 2, 3]),
        # challenges first, then a strength: the strongest strength takes the third place
        (["challenge"] * 4 + ["strength"], [1, 2, 5]),
        # a strength already among the first three: the first three
        (["challenge", "strength", "challenge", "challenge", "strength"], [1, 2, 3]),
        # no strength suggested: the first three
        (["challenge"] * 5, [1, 2, 3]),
        # themes stored before sides were kept apart still read
        (["mixed", "challenge", "mixed", "strength"], [1, 2, 4]),
    ],
)
def test_review_modal_ticks_no_more_than_three(kinds: list[str], ticked: list[int]) -> None:
    view = review([draft(f"T{i}", kind=kind) for i, kind in enumerate(kinds)]).to_dict()
    blocks = by_block_id(view["blocks"])
    found = [
        i
        for i in range(1, len(kinds) + 1)
        if blocks[f"theme.{i}.keep"]["element"].get("initial_options")
    ]
    assert found == ticked
    assert validate_view(view) == []


@pytest.mark.parametrize(
    ("kind", "tag"),
    [
        ("challenge", "*Theme 1* · Challenge · 12 answers"),  # what to act on
        ("strength", "*Theme 1* · Working well · 12 answers"),  # what to celebrate
        ("mixed", "*Theme 1* · Working well and challenges · 12 answers"),  # an old row
        ("own", "*Theme 1* · Your own"),  # the leader's own: no count
    ],
)
def test_review_modal_tags_each_theme_with_its_side(kind: str, tag: str) -> None:
    texts = list(mrkdwn_texts(review([draft(kind=kind)]).to_dict()))
    assert tag in texts


@pytest.mark.parametrize(
    ("unthemed", "themes", "line"),
    [
        (7, 3, "7 answers didn't fit a theme — see all answers."),
        (1, 3, "1 answer didn't fit a theme — see all answers."),  # singular
        (0, 3, "Every answer is behind one of these themes — see all answers."),
        (9, 0, "See all answers, then write your own themes."),  # nothing suggested
    ],
)
def test_review_modal_counts_answers_in_no_theme(unthemed: int, themes: int, line: str) -> None:
    view = review([draft(f"T{i}") for i in range(themes)], unthemed=unthemed).to_dict()
    blocks = view["blocks"]
    [at] = [i for i, b in enumerate(blocks) if b.get("block_id") == FindingsBlock.SEE_ANSWERS]
    assert blocks[at - 1]["elements"][0]["text"] == line  # said right above the button
    assert [e["action_id"] for e in blocks[at]["elements"]] == [FindingsAction.SEE_ANSWERS]


def test_review_modal_clips_long_quotes() -> None:
    view = review([draft(quotes=("x" * 5_000,))]).to_dict()
    quote = next(t for t in mrkdwn_texts(view) if t.startswith("“x"))
    assert len(quote) <= 210
    assert quote.endswith("…”")


# --- the preview -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hide_results", "allow_outsiders", "chosen"),
    [
        (False, False, None),  # neither: no initial options at all (Slack refuses an empty list)
        (True, False, ["hide"]),  # hidden results
        (False, True, ["outsiders"]),  # outsiders may vote
        (True, True, ["hide", "outsiders"]),  # both
    ],
)
def test_preview_settings(
    hide_results: bool, allow_outsiders: bool, chosen: list[str] | None
) -> None:
    view = preview([draft()], hide_results=hide_results, allow_outsiders=allow_outsiders)
    payload = view.to_dict()
    blocks = by_block_id(payload["blocks"])
    options = blocks["poll.options"]["element"]
    initial = options.get("initial_options")
    assert (None if initial is None else [o["value"] for o in initial]) == chosen
    assert [o["value"] for o in options["options"]] == ["hide", "outsiders"]
    budget = blocks["poll.budget"]["element"]
    assert (budget["initial_value"], budget["min_value"], budget["max_value"]) == ("3", "1", "10")
    assert blocks["poll.max_per_theme"]["element"]["min_value"] == "1"
    assert all(
        blocks[b]["element"]["action_id"] == b + ".input"
        for b in ("poll.budget", "poll.max_per_theme", "poll.options")
    )
    assert payload["callback_id"] == FindingsView.PREVIEW
    assert json.loads(payload["private_metadata"]) == {"tour_id": 5}
    assert (payload["title"]["text"], payload["submit"]["text"], payload["close"]["text"]) == (
        "Post findings",
        "Post findings",
        "Back",
    )


@pytest.mark.parametrize(
    "hide_results",
    [
        False,  # with empty bars, as the post starts
        True,  # without bars
    ],
)
def test_preview_reads_like_the_post(hide_results: bool) -> None:
    drafts = [draft("A", summary="sa", quotes=("qa", "other")), draft("B", summary="sb")]
    shown = preview(drafts, hide_results=hide_results, leader_id="U1").to_dict()["blocks"]
    posted = post(
        themes=[
            PollTheme(theme_id=1, label="A", summary="sa", quote="qa", votes=0, kind="challenge"),
            PollTheme(
                theme_id=2,
                label="B",
                summary="sb",
                quote="We wait two weeks.",
                votes=0,
                kind="challenge",
            ),
        ],
        hide_results=hide_results,
        voters=0,
    ).to_dict()["blocks"]
    assert section_texts(posted) == section_texts(shown)[: len(section_texts(posted))]


@pytest.mark.parametrize(
    ("budget", "initial"),
    [
        (3, "3"),  # the default
        (99, "10"),  # above the input's maximum: Slack would refuse the modal
        (0, "1"),  # below its minimum
    ],
)
def test_preview_budget_stays_within_its_input(budget: int, initial: str) -> None:
    blocks = by_block_id(preview([draft()], budget=budget).to_dict()["blocks"])
    assert blocks["poll.budget"]["element"]["initial_value"] == initial


def test_preview_without_leader_speaks_to_the_leader() -> None:
    texts = "\n".join(mrkdwn_texts(preview([draft()]).to_dict()))
    assert "You asked 10 people" in texts
    assert "not even to you" in texts


# --- the post's wording ------------------------------------------------------------------------


def test_post_wording() -> None:
    blocks = post(themes=poll_themes((2, 1, 0))).to_dict()["blocks"]
    texts = section_texts(blocks)
    assert texts[0] == (
        "*Q1 tour*\n<@U1> asked 10 people: “What works?” and “What's in the way?”. 7 answered "
        "— thank you. Here are the themes (no more than three):"
    )
    assert texts[1] == "*1. Theme 0*\nSummary 0\n> Quote 0\n`▇▇▇▇▇▇▇▇▇▇` 2"
    footer = [b for b in blocks if b["type"] == "context"][-1]["elements"][0]["text"]
    assert "Each person has 3 votes, at most 2 on one theme." in footer
    assert "not even to <@U1>" in footer
    assert "4 people have voted." in footer


@pytest.mark.parametrize(
    ("kind", "heading"),
    [
        ("challenge", "*1. Theme 0* · _Challenge_"),
        ("strength", "*1. Theme 0* · _Working well_"),
        ("mixed", "*1. Theme 0* · _Working well and challenges_"),  # an old row
        ("own", "*1. Theme 0*"),  # the leader's own theme is on no side
    ],
)
def test_post_tags_each_theme_with_its_side(kind: str, heading: str) -> None:
    [theme] = poll_themes((1,))
    themes = [PollTheme(**{**theme.__dict__, "kind": kind})]
    texts = section_texts(post(themes=themes).to_dict()["blocks"])
    assert texts[1].splitlines()[0] == heading


@pytest.mark.parametrize(
    ("unthemed", "answers", "line"),
    [
        (7, 40, "7 of 40 answers fit none of these themes."),
        (1, 1, "1 of 1 answer fit none of these themes."),
        (0, 40, None),  # every answer is in a theme: nothing to say
    ],
)
def test_post_counts_answers_in_no_theme(unthemed: int, answers: int, line: str | None) -> None:
    blocks = post(unthemed=unthemed, answers=answers).to_dict()["blocks"]
    contexts = [b["elements"][0]["text"] for b in blocks if b["type"] == "context"]
    assert (line in contexts) if line else not any("fit none" in t for t in contexts)


def test_post_quote_is_clipped() -> None:
    themes = [PollTheme(theme_id=1, label="L", summary="S", quote="y" * 40_000, votes=1)]
    quote = section_texts(post(themes=themes).to_dict()["blocks"])[1].splitlines()[2]
    assert quote.startswith("> y")
    assert len(quote) <= 2 + 300


@pytest.mark.parametrize(
    "closed",
    [
        False,  # open: three themes, three rows of vote buttons
        True,  # closed: the fallback text ranks three themes
    ],
)
def test_post_shows_no_more_than_three_themes(closed: bool) -> None:
    message = post(themes=poll_themes((5, 4, 3, 2, 1)), closed=closed)
    blocks = message.to_dict()["blocks"]
    assert [b["block_id"] for b in blocks if b["type"] == "section" and "block_id" in b] == [
        "poll.theme.10",
        "poll.theme.11",
        "poll.theme.12",
    ]
    assert "4." not in message.text
    assert "Theme 3" not in json.dumps(message.to_dict())


def test_closed_post_names_the_next_step() -> None:
    message = post(closed=True)
    footer = [b for b in message.to_dict()["blocks"] if b["type"] == "context"][-1]
    assert "Poll closed." in footer["elements"][0]["text"]
    assert "<@U1> and the team agree outcomes for the top themes" in footer["elements"][0]["text"]
    assert message.text.startswith("Final ranking for Q1 tour: 1. Theme 0 (7 votes)")


@pytest.mark.parametrize(
    ("sides", "wording"),
    [
        # three, both sides
        (
            ["challenge", "challenge", "strength"],
            "I found 3 themes — review them before anything is shared. 2 challenges to act on "
            "and 1 thing working well.",
        ),
        # more than the team may hear: the leader chooses
        (
            ["challenge"] * 3 + ["strength"] * 2,
            "I found 5 themes — review them before anything is shared. 3 challenges to act on "
            "and 2 things working well. The team hears no more than 3: you choose.",
        ),
        # one side only
        (
            ["strength"],
            "I found 1 theme — review them before anything is shared. 1 thing working well.",
        ),
        # old rows of neither side: just the count
        (["mixed", "mixed"], "I found 2 themes — review them before anything is shared."),
        # none: write your own
        (
            [],
            "There weren't enough answers to group into themes. You can still read them and "
            "write your own themes before anything is shared.",
        ),
    ],
)
def test_review_prompt(sides: list[str], wording: str) -> None:
    message = render_review_prompt(
        tour_id=5, title="Q1 tour", respondents=7, participants=10, sides=sides
    )
    assert message.text == f"Q1 tour closed: 7 of 10 answered. {wording}"
    assert [b["action_id"] for b in buttons(message.to_dict()["blocks"])] == [
        FindingsAction.REVIEW,
        TourAction.EXPORT,
    ]


def test_final_ranking() -> None:
    message = render_final_ranking(poll_id=9, title="Q1", ranking=[("A", 9), ("B", 1), ("C", 0)])
    assert section_texts(message.to_dict()["blocks"]) == [
        "Final ranking for *Q1*:\n1. A — 9 votes\n2. B — 1 vote\n3. C — 0 votes"
    ]
    assert message.text == "Final ranking for Q1: 1. A — 9 votes; 2. B — 1 vote; 3. C — 0 votes"


def test_insight_modal() -> None:
    view = render_insight_modal(poll_id=9, themes=[(10, "A"), (11, "x" * 150)]).to_dict()
    blocks = by_block_id(view["blocks"])
    select = blocks["insight.theme"]
    assert select["optional"] is True
    assert [o["value"] for o in select["element"]["options"]] == ["none", "10", "11"]
    assert len(select["element"]["options"][2]["text"]["text"]) <= 75
    text = blocks["insight.text"]
    assert text.get("optional", False) is False
    assert text["element"]["multiline"] is True
    assert text["label"]["text"] == "What insights do you have?"
    assert view["callback_id"] == FindingsView.INSIGHT
    assert json.loads(view["private_metadata"]) == {"poll_id": 9}
    assert (view["title"]["text"], view["submit"]["text"]) == ("Share an insight", "Share")
    assert "without your name" in json.dumps(view)


# --- the vote acknowledgement ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # placed: the theme, what is left and where the votes are
        (
            {
                "votes_left": 1,
                "placed": [("A", 1), ("B", 1)],
                "refused": None,
                "theme": "B",
                "change": Change.ADD,
            },
            "Vote placed on “B”. You have 1 vote left. Your votes: 1 on “A”, 1 on “B”.",
        ),
        # removed: the last vote taken back
        (
            {
                "votes_left": 3,
                "placed": [("A", 0)],
                "refused": None,
                "theme": "A",
                "change": Change.REMOVE,
            },
            "Vote removed from “A”. You have 3 votes left. You have no votes on any theme.",
        ),
        # refused: the budget is spent, and how to move a vote
        (
            {
                "votes_left": 0,
                "placed": [("A", 2), ("B", 1)],
                "refused": Refusal.BUDGET_SPENT,
                "theme": "C",
                "change": Change.ADD,
            },
            "You've used all your votes, so that one didn't count. Your votes: 2 on “A”, 1 on "
            "“B”. To move a vote, press *Remove my vote* on one of those themes first.",
        ),
        # refused: the theme already holds the most one person may put on it
        (
            {
                "votes_left": 1,
                "placed": [("A", 2)],
                "refused": Refusal.THEME_FULL,
                "theme": "A",
                "change": Change.ADD,
            },
            "“A” already has 2 of your votes, the most one theme can take. You have 1 vote "
            "left. Your votes: 2 on “A”.",
        ),
        # refused: a cap of one
        (
            {"votes_left": 2, "placed": [("A", 1)], "refused": Refusal.THEME_FULL, "theme": "A"},
            "“A” already has your vote, the most one theme can take. You have 2 votes left. "
            "Your votes: 1 on “A”.",
        ),
        # nothing to remove
        (
            {
                "votes_left": 3,
                "placed": [],
                "refused": Refusal.NOTHING_TO_REMOVE,
                "theme": "A",
                "change": Change.REMOVE,
            },
            "You have no vote on “A” to remove. You have 3 votes left. You have no votes on any "
            "theme.",
        ),
        # the poll closed between the render and the click
        (
            {"votes_left": 3, "placed": [], "refused": Refusal.CLOSED},
            "This poll has closed, so votes can't change any more.",
        ),
        # the leader did not let outsiders vote
        (
            {"votes_left": 3, "placed": [], "refused": Refusal.NOT_IN_CHANNEL},
            "Only people in the channel can vote in this poll.",
        ),
        # called with the three arguments only: wording true for either click
        (
            {"votes_left": 0, "placed": [("A", 3)], "refused": None},
            "Done. You have no votes left. Your votes: 3 on “A”.",
        ),
    ],
)
def test_vote_ack(kwargs: dict[str, Any], expected: str) -> None:
    assert render_vote_ack(**kwargs) == expected


# --- ids and the home tab ----------------------------------------------------------------------


def test_ids_are_the_agreed_ones() -> None:
    assert {a.name: a.value for a in FindingsAction} == {
        "REVIEW": "findings.review",
        "SEE_ANSWERS": "findings.see_answers",
        "ANSWERS_PAGE": "findings.answers_page",
        "POST": "findings.post",
        "VOTE": "poll.vote",
        "UNVOTE": "poll.unvote",
        "SHARE_INSIGHT": "poll.insight",
        "CLOSE_POLL": "poll.close",
    }
    assert {v.name: v.value for v in FindingsView} == {
        "REVIEW": "findings.review",
        "PREVIEW": "findings.preview",
        "ANSWERS": "findings.answers",
        "INSIGHT": "findings.insight",
    }
    assert FindingsBlock.POLL_BUDGET == "poll.budget"
    assert MAX_FINAL_THEMES == 3


def home_card(stage: str) -> TourCard:
    return TourCard(
        tour_id=3,
        title="Tour",
        status="closed",
        respondents=7,
        participants=25,
        days_left=0,
        close_date=date(2026, 3, 13),
        anonymous=True,
        stage=stage,
    )


@pytest.mark.parametrize(
    ("stage", "actions", "note"),
    [
        # closed, themes waiting for the leader: Review themes next to Export
        ("review", [TourAction.EXPORT, FindingsAction.REVIEW], " · themes to review"),
        # the poll is open: nothing new to press here
        ("voting", [TourAction.EXPORT], " · the team is voting"),
        # the poll has closed
        ("voted", [TourAction.EXPORT, OutcomeAction.SET_OUTCOMES], " · poll closed"),
        # the default: as before step 2 existed
        ("listening", [TourAction.EXPORT], ""),
    ],
)
def test_home_tour_card_by_stage(stage: str, actions: list[str], note: str) -> None:
    payload = render_home(user_id="U1", command="/partner", tours=[home_card(stage)]).to_dict()
    assert validate_view(payload) == []
    blocks = by_block_id(payload["blocks"])
    row = blocks["home.tour.3.actions"]["elements"]
    assert [b["action_id"] for b in row] == actions
    assert {b["value"] for b in row} == {"3"}
    summary = blocks["home.tour.3"]["text"]["text"]
    assert summary == f"*Tour* — 7 of 25 answered · closed on Friday 13 March · anonymous{note}"


@pytest.mark.parametrize("remote", [None, "llm.example.com"])
def test_the_review_says_when_answers_went_to_an_llm_on_another_machine(
    remote: str | None,
) -> None:
    view = render_review_modal(
        tour_id=5,
        title="Q1 tour",
        respondents=7,
        themes=[],
        reflections=[None, None, None],
        remote_llm=remote,
    )
    assert validate_view(view.to_dict()) == []
    shown = json.dumps(view.to_dict())
    if remote is None:
        assert "LLM" not in shown
    else:
        assert "LLM at *llm.example.com*" in shown
        assert "answers were sent to that machine" in shown
