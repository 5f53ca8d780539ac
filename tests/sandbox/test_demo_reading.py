"""How the demo's scripted leader judges a suggested theme label: kept when it reads like a
person's words, rewritten when it is a keyword list, too generic, or too long."""

from __future__ import annotations

import pytest

from bot.sandbox.demo_reading import label_problem


@pytest.mark.parametrize(
    ("label", "problem"),
    [
        ("Release dates slip", None),  # a phrase in sentence case: kept
        ("Code reviews that teach", None),  # kept
        ("On-call is calm", None),  # hyphenated words still read as words: kept
        ("date release slip", "a list of keywords"),  # lower-case keywords: rewritten
        ("Priority change changing", "a list of keywords"),  # one word in two forms
        ("Team communication", "too generic"),  # only words that fit any team
        ("Staging", "a single word"),
        ("", "a single word"),  # nothing at all
        ("The release date moves every month again", "too long to read at a glance"),
    ],
)
def test_label_problem(label: str, problem: str | None) -> None:
    assert label_problem(label) == problem
