"""The theme poll's rules, as tables."""

from __future__ import annotations

import pytest

from bot.flows.poll import (
    Change,
    PollRules,
    Refusal,
    VoteResult,
    apply_vote,
    poll_settings_problems,
    ranking,
    tally,
)

RULES = PollRules(budget=3, max_per_theme=2)


@pytest.mark.parametrize(
    ("current", "theme", "change", "expected"),
    [
        ({}, 1, Change.ADD, VoteResult({1: 1}, 2, None, 1)),  # first vote
        ({1: 1}, 1, Change.ADD, VoteResult({1: 2}, 1, None, 1)),  # a second dot on one theme
        ({1: 2}, 1, Change.ADD, VoteResult({1: 2}, 1, Refusal.THEME_FULL, 1)),  # cap of 2
        ({1: 2}, 2, Change.ADD, VoteResult({1: 2, 2: 1}, 0, None, 2)),  # last vote elsewhere
        ({1: 2, 2: 1}, 3, Change.ADD, VoteResult({1: 2, 2: 1}, 0, Refusal.BUDGET_SPENT, 3)),
        ({1: 2, 2: 1}, 1, Change.REMOVE, VoteResult({1: 1, 2: 1}, 1, None, 1)),  # take one back
        ({1: 1}, 1, Change.REMOVE, VoteResult({}, 3, None, 1)),  # withdraw entirely
        ({}, 1, Change.REMOVE, VoteResult({}, 3, Refusal.NOTHING_TO_REMOVE, 1)),
        ({1: 0, 2: 1}, 1, Change.REMOVE, VoteResult({2: 1}, 2, Refusal.NOTHING_TO_REMOVE, 1)),
    ],
)
def test_apply_vote(
    current: dict[int, int], theme: int, change: Change, expected: VoteResult
) -> None:
    assert apply_vote(current, theme, change, RULES) == expected


def test_moving_a_vote_is_remove_then_add() -> None:
    full = {1: 2, 2: 1}
    assert apply_vote(full, 3, Change.ADD, RULES).refused is Refusal.BUDGET_SPENT
    freed = apply_vote(full, 1, Change.REMOVE, RULES)
    moved = apply_vote(freed.votes, 3, Change.ADD, RULES)
    assert moved.votes == {1: 1, 2: 1, 3: 1}
    assert moved.left == 0


@pytest.mark.parametrize(
    ("budget", "cap", "fields"),
    [
        (3, 2, set()),  # the defaults
        (1, 1, set()),
        (10, 10, set()),
        (0, 1, {"budget"}),  # nobody could vote
        (11, 2, {"budget"}),  # more dots than anyone can weigh
        (None, 2, {"budget"}),  # not a number
        (3, 0, {"max_per_theme"}),
        (3, 4, {"max_per_theme"}),  # a cap above the budget means nothing
        (None, None, {"budget", "max_per_theme"}),
    ],
)
def test_poll_settings_problems(budget: int | None, cap: int | None, fields: set[str]) -> None:
    assert set(poll_settings_problems(budget, cap)) == fields


def test_tally_adds_up_everyone() -> None:
    assert tally([(1, 2), (2, 1), (1, 1), (3, 0)]) == {1: 3, 2: 1, 3: 0}


@pytest.mark.parametrize(
    ("themes", "totals", "expected"),
    [
        ([1, 2, 3], {1: 1, 2: 5, 3: 3}, [(2, 5), (3, 3), (1, 1)]),
        ([1, 2, 3], {1: 2, 2: 2}, [(1, 2), (2, 2), (3, 0)]),  # a tie keeps the leader's order
        ([3, 1], {}, [(3, 0), (1, 0)]),  # nobody voted
    ],
)
def test_ranking(
    themes: list[int], totals: dict[int, int], expected: list[tuple[int, int]]
) -> None:
    assert ranking(themes, totals) == expected
