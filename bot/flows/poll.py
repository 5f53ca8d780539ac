"""The theme poll's rules: dot voting with a budget per person and a cap per theme, votes
that can be moved or withdrawn, tallies and the final ranking. Plain Python."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_BUDGET = 3
DEFAULT_MAX_PER_THEME = 2
MAX_BUDGET = 10


@dataclass(frozen=True)
class PollRules:
    budget: int = DEFAULT_BUDGET
    max_per_theme: int = DEFAULT_MAX_PER_THEME


def poll_settings_problems(budget: int | None, max_per_theme: int | None) -> dict[str, str]:
    """Problems with the leader's poll settings, by field name ("budget", "max_per_theme")."""
    problems: dict[str, str] = {}
    if budget is None or not 1 <= budget <= MAX_BUDGET:
        problems["budget"] = f"Give each person between 1 and {MAX_BUDGET} votes."
    if max_per_theme is None or max_per_theme < 1:
        problems["max_per_theme"] = "Allow at least 1 vote on a theme."
    elif "budget" not in problems and budget is not None and max_per_theme > budget:
        problems["max_per_theme"] = "This can't be more than the votes each person has."
    return problems


class Change(StrEnum):
    ADD = "add"
    REMOVE = "remove"


class Refusal(StrEnum):
    BUDGET_SPENT = "budget_spent"
    THEME_FULL = "theme_full"
    NOTHING_TO_REMOVE = "nothing_to_remove"
    CLOSED = "closed"
    NOT_IN_CHANNEL = "not_in_channel"
    UNKNOWN_THEME = "unknown_theme"


@dataclass(frozen=True)
class VoteResult:
    """One person's votes after a click, and why a click was refused (if it was)."""

    votes: Mapping[int, int]  # theme id -> this person's votes on it
    left: int
    refused: Refusal | None = None
    theme_id: int | None = None


def apply_vote(
    current: Mapping[int, int], theme_id: int, change: Change, rules: PollRules
) -> VoteResult:
    """A click on Vote or Remove my vote, checked against the person's budget and the cap.

    Moving a vote is a Remove on one theme and a Vote on another: two clicks, each valid."""
    votes = {theme: count for theme, count in current.items() if count > 0}
    spent = sum(votes.values())
    on_theme = votes.get(theme_id, 0)
    if change is Change.ADD:
        if spent >= rules.budget:
            return VoteResult(votes, 0, Refusal.BUDGET_SPENT, theme_id)
        if on_theme >= rules.max_per_theme:
            return VoteResult(votes, rules.budget - spent, Refusal.THEME_FULL, theme_id)
        votes[theme_id] = on_theme + 1
        return VoteResult(votes, rules.budget - spent - 1, None, theme_id)
    if on_theme == 0:
        return VoteResult(votes, rules.budget - spent, Refusal.NOTHING_TO_REMOVE, theme_id)
    if on_theme == 1:
        del votes[theme_id]
    else:
        votes[theme_id] = on_theme - 1
    return VoteResult(votes, rules.budget - spent + 1, None, theme_id)


def tally(rows: Iterable[tuple[int, int]]) -> dict[int, int]:
    """(theme id, votes) rows, one per person and theme -> votes per theme."""
    totals: dict[int, int] = {}
    for theme_id, count in rows:
        totals[theme_id] = totals.get(theme_id, 0) + count
    return totals


def ranking(theme_ids: Sequence[int], totals: Mapping[int, int]) -> list[tuple[int, int]]:
    """Themes by votes, most first; a tie keeps the leader's order."""
    order = {theme_id: position for position, theme_id in enumerate(theme_ids)}
    return sorted(
        ((theme_id, totals.get(theme_id, 0)) for theme_id in theme_ids),
        key=lambda item: (-item[1], order[item[0]]),
    )
