"""Block Kit limits: each row is a payload Slack accepts or refuses, at the edge of one limit."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.block_kit import validate_blocks, validate_message, validate_view


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def section(text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text), **extra}


def button(label: str = "Go", action_id: str = "go", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain(label), "action_id": action_id, **extra}


def actions(*elements: dict[str, Any], block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "actions", "elements": list(elements)}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def option(text: str = "One", value: str = "1") -> dict[str, Any]:
    return {"text": plain(text), "value": value}


def select(*options: dict[str, Any]) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "pick", "options": list(options)}


def text_input(block_id: str = "answer", label: str = "Your answer") -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {"type": "plain_text_input", "action_id": "text"},
    }


DIVIDER = {"type": "divider"}

ACCEPTED = [
    # the most blocks a message may hold
    pytest.param([DIVIDER] * 50, "message", id="50-blocks-in-message"),
    # modals and App Home allow twice as many
    pytest.param([DIVIDER] * 100, "modal", id="100-blocks-in-modal"),
    pytest.param([DIVIDER] * 100, "home", id="100-blocks-in-home"),
    # section text at exactly 3000 characters
    pytest.param([section("x" * 3000)], "message", id="section-text-3000"),
    # fields alone make a valid section: ten of them, 2000 characters each
    pytest.param(
        [{"type": "section", "fields": [mrkdwn("f" * 2000)] * 10}], "message", id="ten-fields"
    ),
    # header at 150 plain_text characters
    pytest.param([{"type": "header", "text": plain("h" * 150)}], "message", id="header-150"),
    # button label at 75, value at 2000, action_id at 255, url at 3000
    pytest.param(
        [actions(button("b" * 75, "a" * 255, value="v" * 2000, url="u" * 3000))],
        "message",
        id="button-at-limits",
    ),
    # the same action_id in two blocks (one button per row) is fine: Slack scopes it per block
    pytest.param(
        [actions(button(action_id="vote"), block_id="r1"), actions(button(action_id="vote"))],
        "message",
        id="action-id-reused-across-blocks",
    ),
    # 25 elements in an actions block, 10 in a context block
    pytest.param(
        [actions(*[button(action_id=f"a{i}") for i in range(25)])], "message", id="25-actions"
    ),
    pytest.param([{"type": "context", "elements": [mrkdwn("c")] * 10}], "message", id="10-context"),
    # a select with 100 options whose text is 75 and value 150 characters
    pytest.param(
        [actions(select(*[option("o" * 75, f"{i:03d}" + "v" * 147) for i in range(100)]))],
        "message",
        id="select-at-limits",
    ),
    # input blocks belong in modals, with a label of up to 2000 characters
    pytest.param([text_input(label="l" * 2000)], "modal", id="input-in-modal"),
    # a users_select carries no options at all
    pytest.param(
        [actions({"type": "users_select", "action_id": "who"})], "message", id="users-select"
    ),
    # block_id at 255 characters
    pytest.param([{"type": "divider", "block_id": "b" * 255}], "message", id="block-id-255"),
]


@pytest.mark.parametrize(("blocks", "surface"), ACCEPTED)
def test_slack_accepts(blocks: list[dict[str, Any]], surface: Any) -> None:
    assert validate_blocks(blocks, surface=surface) == []


REFUSED = [
    # one block over a message's 50
    pytest.param([DIVIDER] * 51, "message", "/blocks: at most 50", id="51-blocks-in-message"),
    # one block over a modal's 100
    pytest.param([DIVIDER] * 101, "modal", "/blocks: at most 100", id="101-blocks-in-modal"),
    # a block type Slack does not know
    pytest.param([{"type": "table"}], "message", "/blocks/0/type", id="unknown-type"),
    # section text one character too long
    pytest.param([section("x" * 3001)], "message", "/blocks/0/text/text", id="section-3001"),
    # a section with neither text nor fields
    pytest.param([{"type": "section"}], "message", "needs text or fields", id="empty-section"),
    # empty text in a section
    pytest.param([section("")], "message", "must not be empty", id="section-empty-text"),
    # a text object of an unknown type
    pytest.param(
        [{"type": "section", "text": {"type": "markdown", "text": "x"}}],
        "message",
        "/blocks/0/text/type",
        id="bad-text-type",
    ),
    # eleven fields
    pytest.param(
        [{"type": "section", "fields": [mrkdwn("f")] * 11}],
        "message",
        "at most 10 fields",
        id="eleven-fields",
    ),
    # one field over 2000 characters
    pytest.param(
        [{"type": "section", "fields": [mrkdwn("f" * 2001)]}],
        "message",
        "/blocks/0/fields/0/text",
        id="field-2001",
    ),
    # header over 150
    pytest.param(
        [{"type": "header", "text": plain("h" * 151)}], "message", "/text/text", id="header-151"
    ),
    # headers take plain_text only
    pytest.param(
        [{"type": "header", "text": mrkdwn("h")}], "message", "/text/type", id="header-mrkdwn"
    ),
    # 26 elements in an actions block
    pytest.param(
        [actions(*[button(action_id=f"a{i}") for i in range(26)])],
        "message",
        "at most 25 elements",
        id="26-actions",
    ),
    # 11 elements in a context block
    pytest.param(
        [{"type": "context", "elements": [mrkdwn("c")] * 11}],
        "message",
        "at most 10 elements",
        id="11-context",
    ),
    # a 76-character button label
    pytest.param(
        [actions(button("b" * 76))], "message", "/elements/0/text/text", id="button-label-76"
    ),
    # button labels are plain_text
    pytest.param(
        [actions({"type": "button", "text": mrkdwn("*Go*"), "action_id": "go"})],
        "message",
        "/elements/0/text/type",
        id="button-label-mrkdwn",
    ),
    # a button value over 2000
    pytest.param(
        [actions(button(value="v" * 2001))], "message", "/elements/0/value", id="button-value"
    ),
    # a url over 3000
    pytest.param([actions(button(url="u" * 3001))], "message", "/elements/0/url", id="url-3001"),
    # an action_id over 255
    pytest.param(
        [actions(button(action_id="a" * 256))], "message", "/elements/0/action_id", id="aid-256"
    ),
    # two elements with one action_id inside one block
    pytest.param(
        [actions(button(action_id="go"), button(action_id="go"))],
        "message",
        "duplicate action_id 'go'",
        id="duplicate-action-id-in-block",
    ),
    # two blocks with one block_id
    pytest.param(
        [section(block_id="same"), {"type": "divider", "block_id": "same"}],
        "message",
        "duplicate block_id 'same'",
        id="duplicate-block-id",
    ),
    # a block_id over 255
    pytest.param(
        [{"type": "divider", "block_id": "b" * 256}], "message", "/block_id", id="block-id-256"
    ),
    # input blocks are not allowed in messages
    pytest.param([text_input()], "message", "only allowed in modals", id="input-in-message"),
    # an input label over 2000
    pytest.param([text_input(label="l" * 2001)], "modal", "/label/text", id="input-label-2001"),
    # a button cannot be an input's element
    pytest.param(
        [{"type": "input", "label": plain("x"), "element": button()}],
        "modal",
        "not an input element",
        id="button-as-input",
    ),
    # an option's text over 75
    pytest.param(
        [actions(select(option("o" * 76)))], "message", "/options/0/text/text", id="option-76"
    ),
    # an option's value over 150
    pytest.param(
        [actions(select(option(value="v" * 151)))], "message", "/options/0/value", id="val-151"
    ),
    # 101 options in a static select
    pytest.param(
        [actions(select(*[option(value=str(i)) for i in range(101)]))],
        "message",
        "at most 100 options",
        id="101-options",
    ),
    # a static select needs options
    pytest.param(
        [actions({"type": "static_select", "action_id": "pick"})],
        "message",
        "/options: required",
        id="select-without-options",
    ),
    # an overflow menu needs at least two options
    pytest.param(
        [actions({"type": "overflow", "action_id": "more", "options": [option()]})],
        "message",
        "at least 2 options",
        id="overflow-one-option",
    ),
    # markdown blocks are for messages only
    pytest.param(
        [{"type": "markdown", "text": "**x**"}],
        "modal",
        "only allowed in messages",
        id="markdown-in-modal",
    ),
    # images need alt text
    pytest.param(
        [{"type": "image", "image_url": "https://example.com/a.png"}],
        "message",
        "/blocks/0/alt_text",
        id="image-without-alt",
    ),
]


@pytest.mark.parametrize(("blocks", "surface", "expected"), REFUSED)
def test_slack_refuses(blocks: list[dict[str, Any]], surface: Any, expected: str) -> None:
    problems = validate_blocks(blocks, surface=surface)
    assert any(expected in problem for problem in problems), problems


def modal(**extra: Any) -> dict[str, Any]:
    view: dict[str, Any] = {"type": "modal", "title": plain("Start a tour"), "blocks": []}
    view.update(extra)
    return view


VIEWS = [
    # a plain modal at its limits: title/submit/close 24, callback_id 255, metadata 3000
    pytest.param(
        modal(
            title=plain("t" * 24),
            submit=plain("s" * 24),
            close=plain("c" * 24),
            callback_id="c" * 255,
            private_metadata="m" * 3000,
            blocks=[text_input()],
        ),
        None,
        id="modal-at-limits",
    ),
    # App Home needs no title
    pytest.param({"type": "home", "blocks": [section()]}, None, id="home-without-title"),
    # a 25-character title
    pytest.param(modal(title=plain("t" * 25)), "/title/text", id="title-25"),
    # a modal without a title
    pytest.param({"type": "modal", "blocks": []}, "requires a title", id="no-title"),
    # titles are plain_text
    pytest.param(modal(title=mrkdwn("x")), "/title/type", id="title-mrkdwn"),
    # a 25-character submit label
    pytest.param(modal(submit=plain("s" * 25)), "/submit/text", id="submit-25"),
    # a 25-character close label
    pytest.param(modal(close=plain("c" * 25)), "/close/text", id="close-25"),
    # callback_id over 255
    pytest.param(modal(callback_id="c" * 256), "/callback_id", id="callback-256"),
    # private_metadata over 3000
    pytest.param(modal(private_metadata="m" * 3001), "/private_metadata", id="metadata-3001"),
    # input blocks without a submit button
    pytest.param(modal(blocks=[text_input()]), "requires a submit", id="input-without-submit"),
    # a view type Slack does not have
    pytest.param({"type": "dialog", "blocks": []}, "/type", id="unknown-view-type"),
    # blocks are checked with the modal's limit of 100
    pytest.param(modal(blocks=[DIVIDER] * 101), "at most 100", id="101-blocks"),
    # blocks are required
    pytest.param({"type": "home"}, "/blocks: required", id="no-blocks"),
]


@pytest.mark.parametrize(("view", "expected"), VIEWS)
def test_validate_view(view: dict[str, Any], expected: str | None) -> None:
    problems = validate_view(view)
    if expected is None:
        assert problems == []
    else:
        assert any(expected in problem for problem in problems), problems


MESSAGES = [
    # 40000 characters of text is the limit
    pytest.param("x" * 40_000, None, None, id="text-40000"),
    # one more is too long
    pytest.param("x" * 40_001, None, "/text", id="text-40001"),
    # blocks are checked with the message limits
    pytest.param("fallback", [DIVIDER] * 51, "at most 50", id="51-blocks"),
    # input blocks cannot be sent in a message
    pytest.param("fallback", [text_input()], "only allowed in modals", id="input"),
]


@pytest.mark.parametrize(("text", "blocks", "expected"), MESSAGES)
def test_validate_message(text: str, blocks: list[Any] | None, expected: str | None) -> None:
    problems = validate_message(text, blocks)
    if expected is None:
        assert problems == []
    else:
        assert any(expected in problem for problem in problems), problems
