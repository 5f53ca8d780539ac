"""Step 2's review rules: sides, their order, the themes ticked at first, unthemed answers."""

from __future__ import annotations

import pytest

from bot.flows.review import by_side, default_picks, side_name, side_rank, unthemed_count


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        # challenges first, then strengths, each side in the engine's order
        (["strength", "challenge", "strength", "challenge"], ["c1", "c3", "s0", "s2"]),
        # an old "mixed" theme sits between the two sides
        (["strength", "mixed", "challenge"], ["c2", "m1", "s0"]),
        # already in order: unchanged
        (["challenge", "strength"], ["c0", "s1"]),
        # an unknown kind goes last
        (["future", "strength"], ["s1", "f0"]),
        # nothing to order
        ([], []),
    ],
)
def test_by_side(kinds: list[str], expected: list[str]) -> None:
    themes = [f"{kind[0]}{index}" for index, kind in enumerate(kinds)]
    assert by_side(themes, kinds) == expected


@pytest.mark.parametrize(
    ("kinds", "cap", "expected"),
    [
        # no more than the cap: all picked
        (["challenge", "strength"], 3, [True, True]),
        # challenges fill the first three, a strength follows: it replaces the third
        (
            ["challenge", "challenge", "challenge", "challenge", "strength"],
            3,
            [True, True, False, False, True],
        ),
        # a strength within the first three: the first three
        (["challenge", "strength", "challenge", "strength"], 3, [True, True, True, False]),
        # no strength at all: the first three
        (["challenge"] * 5, 3, [True, True, True, False, False]),
        # only the first strength comes in
        (["challenge"] * 3 + ["strength"] * 2, 3, [True, True, False, True, False]),
        # a cap of one: the strength still wins the single place
        (["challenge", "strength"], 1, [False, True]),
        # a cap of zero picks nothing
        (["challenge", "strength"], 0, [False, False]),
    ],
)
def test_default_picks(kinds: list[str], cap: int, expected: list[bool]) -> None:
    assert default_picks(kinds, cap) == expected
    assert sum(default_picks(kinds, cap)) <= cap


@pytest.mark.parametrize(
    ("total", "counts", "expected"),
    [
        (40, [10, 8, 5], 17),  # 23 answers in themes
        (10, [], 10),  # no themes: every answer is unthemed
        (10, [6, 4], 0),  # every answer in a theme
        (5, [6], 0),  # counts from an older grouping can exceed today's answers: never < 0
    ],
)
def test_unthemed_count(total: int, counts: list[int], expected: int) -> None:
    assert unthemed_count(total, counts) == expected


@pytest.mark.parametrize(
    ("kind", "name", "rank"),
    [
        ("challenge", "Challenge", 0),
        ("mixed", "Working well and challenges", 1),
        ("strength", "Working well", 2),
        ("own", "Your own", 3),
        ("future", "future", 4),  # unknown: shown as stored, listed last
    ],
)
def test_side_names_and_order(kind: str, name: str, rank: int) -> None:
    assert (side_name(kind), side_rank(kind)) == (name, rank)
