from __future__ import annotations

import pytest

from bot.flows.commands import SUBCOMMANDS, ParsedCommand, parse_command_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, ParsedCommand("help", "")),  # Slack may omit text entirely
        ("", ParsedCommand("help", "")),  # bare /partner
        ("   ", ParsedCommand("help", "")),  # only spaces
        ("help", ParsedCommand("help", "")),
        ("Tour", ParsedCommand("tour", "")),  # subcommands are case-insensitive
        ("  tour  <@U1|a> <#C1|x> ", ParsedCommand("tour", "<@U1|a> <#C1|x>")),  # arguments kept
        ("win Shipped the  status page", ParsedCommand("win", "Shipped the  status page")),
        ("WIN   ", ParsedCommand("win", "")),
    ],
)
def test_parse_command_text(text: str | None, expected: ParsedCommand) -> None:
    assert parse_command_text(text) == expected


def test_every_planned_subcommand_is_documented() -> None:
    names = [sub.name for sub in SUBCOMMANDS]
    assert names == ["tour", "initiative", "win", "help"]
    assert all(sub.summary.endswith(".") for sub in SUBCOMMANDS)
