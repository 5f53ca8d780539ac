from __future__ import annotations

import pytest

from bot.flows.moderation import (
    MAX_REASON_LENGTH,
    AuthorReach,
    author_reach,
    may_rewrite,
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
