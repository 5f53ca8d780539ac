from __future__ import annotations

import pytest

from bot.flows.moderation import (
    MAX_REASON_LENGTH,
    AuthorReach,
    NameIndex,
    author_reach,
    may_rewrite,
    naming_warning,
    people_named,
    reason_problem,
)


@pytest.mark.parametrize(
    ("reason", "fine"),
    [
        ("It names a colleague.", True),  # a reason
        ("   ", False),  # nothing to tell the author
        ("x" * MAX_REASON_LENGTH, True),  # at the limit
        ("x" * (MAX_REASON_LENGTH + 1), False),  # over it
    ],
)
def test_a_reason_must_say_something_short(reason: str, fine: bool) -> None:
    assert (reason_problem(reason) is None) is fine


@pytest.mark.parametrize(
    ("anonymous", "is_open", "reach", "rewrite"),
    [
        # a named tour names its author: told alone, and may rewrite while it is open
        (False, True, AuthorReach.BY_NAME, True),
        # ...and not once it has closed (a closed tour takes no answers)
        (False, False, AuthorReach.BY_NAME, False),
        # an anonymous tour's answers are read after close, when nothing links them to anyone:
        # everyone who answered gets the same notice
        (True, False, AuthorReach.EVERYONE_WHO_ANSWERED, False),
        (True, True, AuthorReach.EVERYONE_WHO_ANSWERED, False),
    ],
)
def test_who_is_told_and_who_may_rewrite(
    anonymous: bool, is_open: bool, reach: AuthorReach, rewrite: bool
) -> None:
    assert author_reach(anonymous=anonymous) is reach
    assert may_rewrite(anonymous=anonymous, is_open=is_open) is rewrite


NAMES = {
    "UPRIYA": ("priya", "Priya Sharma"),
    "UAL": ("al", "Al Jones"),  # too short to warn about
    "UME": ("me", "Morgan Eve"),  # the author
}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Pairing with Priya taught me a lot.", ["UPRIYA"]),  # a first name, any case
        ("priya's reviews are great", ["UPRIYA"]),  # possessive still a whole word
        ("Priyanka helped", []),  # part of another word
        ("Thanks <@UPRIYA|priya> and <@UOTHER>", ["UPRIYA", "UOTHER"]),  # Slack mentions
        ("Al said so", []),  # short names are ordinary words too often
        ("As Morgan, I think", []),  # the author naming themself
        ("Nothing personal here.", []),
    ],
)
def test_an_answer_naming_someone(text: str, named: list[str]) -> None:
    assert people_named(text, NameIndex.of(NAMES), author="UME") == named


def test_the_warning_names_at_most_three_and_leaves_the_choice() -> None:
    warning = naming_warning(["U1", "U2", "U3", "U4"])
    assert "<@U3>" in warning
    assert "<@U4>" not in warning
    assert "keep it as it is" in warning
