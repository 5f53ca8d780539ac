"""Step 2's review rules: which side of the tour a theme is on, the order the leader reads the
suggestions in (challenges to act on first, then what works), which ones start ticked so that
no more than three go to the team, and how many answers fit no theme. Plain Python."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")

MAX_FINAL_THEMES = 3  # the hard cap on what goes to the team
MAX_SUGGESTED_THEMES = 5  # what the engine is asked for: room to swap in a strength


class Side(StrEnum):
    """A theme's `kind` as stored: the question its answers came from."""

    CHALLENGE = "challenge"  # "What challenges is your team experiencing?" and later questions
    MIXED = "mixed"  # only themes suggested before sides were kept apart
    STRENGTH = "strength"  # "What's working well?"
    OWN = "own"  # written by the leader


# How people read a side, in the review, the post and the export.
SIDE_NAMES: dict[str, str] = {
    Side.CHALLENGE: "Challenge",
    Side.STRENGTH: "Working well",
    Side.MIXED: "Working well and challenges",
    Side.OWN: "Your own",
}


def side_name(kind: str) -> str:
    """ "Challenge", "Working well"…; an unknown kind as stored."""
    return SIDE_NAMES.get(kind, kind)


# The order the review lists the sides in: what to act on before what to celebrate.
_SIDE_ORDER = {Side.CHALLENGE: 0, Side.MIXED: 1, Side.STRENGTH: 2, Side.OWN: 3}


def side_rank(kind: str) -> int:
    """Where a theme of this kind goes in the review; an unknown kind goes last."""
    try:
        return _SIDE_ORDER[Side(kind)]
    except ValueError:
        return len(_SIDE_ORDER)


def by_side(themes: Sequence[T], kinds: Sequence[str]) -> list[T]:
    """The themes challenges first, then mixed, then strengths; within a side, as given (the
    engine's own ranking)."""
    order = sorted(range(len(themes)), key=lambda index: side_rank(kinds[index]))
    return [themes[index] for index in order]


def default_picks(kinds: Sequence[str], cap: int = MAX_FINAL_THEMES) -> list[bool]:
    """Which themes start ticked in the review: the first `cap`, except that when all of them
    are challenges and a strength was suggested too, the strongest strength takes the last
    place, so the team hears what works as well as what to fix. The leader can change it."""
    picked = [index < cap for index in range(len(kinds))]
    if cap < 1 or any(picked[i] and kinds[i] == Side.STRENGTH for i in range(len(kinds))):
        return picked
    strength = next((i for i in range(cap, len(kinds)) if kinds[i] == Side.STRENGTH), None)
    if strength is not None:
        last = max(i for i in range(len(kinds)) if picked[i])
        picked[last], picked[strength] = False, True
    return picked


def unthemed_count(total_answers: int, theme_answer_counts: Sequence[int]) -> int:
    """Answers in none of the themes. A theme's answers are its own (the grouping gives each
    answer one theme at most), so they add up; never below zero."""
    return max(0, total_answers - sum(theme_answer_counts))
