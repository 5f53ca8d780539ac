from __future__ import annotations

import json

import pytest

from bot.blocks import escape
from bot.blocks.help import render_help
from bot.blocks.home import render_home
from bot.flows.commands import SUBCOMMANDS
from bot.sandbox.block_kit import validate_blocks, validate_view


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("<!channel> hi", "&lt;!channel&gt; hi"),  # never pings
        ("<@U123>", "&lt;@U123&gt;"),  # never mentions
        ("a & b", "a &amp; b"),
        ("&lt;", "&amp;lt;"),  # already-escaped text stays literal
    ],
)
def test_escape(text: str, expected: str) -> None:
    assert escape(text) == expected


def test_help_lists_what_works_apart_from_what_is_coming() -> None:
    message = render_help("/partner", SUBCOMMANDS, available={"help", "tour"})
    first, coming = (json.dumps(block.to_dict()) for block in message.blocks[:2])
    assert "/partner tour" in first
    assert "/partner help" in first
    assert "/partner win" in coming
    assert "Coming soon" in coming
    assert validate_blocks([b.to_dict() for b in message.blocks], surface="message") == []


def test_help_when_everything_is_available_has_no_coming_soon() -> None:
    message = render_help("/partner", SUBCOMMANDS, available={s.name for s in SUBCOMMANDS})
    assert "Coming soon" not in json.dumps(message.to_dict())


def test_unknown_subcommand_is_escaped_in_the_answer() -> None:
    message = render_help("/partner", SUBCOMMANDS, available={"help"}, unknown="<!here>")
    rendered = json.dumps(message.to_dict())
    assert "&lt;!here&gt;" in rendered
    assert "<!here>" not in rendered


def test_home_is_a_valid_view() -> None:
    view = render_home(user_id="U1", command="/partner").to_dict()
    assert validate_view(view) == []
    assert "`/partner help`" in json.dumps(view)
