"""The slash command's grammar: which subcommands exist and how a typed line splits into them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Subcommand:
    name: str
    arguments: str
    summary: str


# Every subcommand of the four steps (README.md, from "Running a listening tour" on), in the
# order a leader meets them.
SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "tour",
        "[@people] [#channel]",
        "Start a listening tour: ask your team what's working well and what challenges they face.",
    ),
    Subcommand("initiative", "", "Propose an initiative for one of the outcomes the team agreed."),
    Subcommand("win", "<what happened>", "Log a quick win so people see progress."),
    Subcommand("help", "", "Show this help."),
)


@dataclass(frozen=True)
class ParsedCommand:
    subcommand: str
    arguments: str


def parse_command_text(text: str | None) -> ParsedCommand:
    """`"  Tour  @a  #b "` -> ParsedCommand("tour", "@a  #b"); an empty line asks for help."""
    stripped = (text or "").strip()
    if not stripped:
        return ParsedCommand("help", "")
    head, _, rest = stripped.partition(" ")
    return ParsedCommand(head.lower(), rest.strip())
