"""Moderation's refusals: hiding an answer from the leader's page of answers."""

from __future__ import annotations

from bot.errors import UserFacingError

TITLE = "Hide an answer"


def answers_withheld(why: str) -> UserFacingError:
    """The answers are not this person's to read (worded by the tour's visibility rules)."""
    return UserFacingError(why, title=TITLE)


def no_answers_on_page() -> UserFacingError:
    return UserFacingError("There are no answers on this page to hide.", title=TITLE)


def not_a_leader(*, field: str) -> UserFacingError:
    """Shown next to the modal's `field` (the answer picked), the modal kept."""
    return UserFacingError("Only the tour's leaders or an admin can.", title=TITLE, field=field)


def answer_gone(*, field: str) -> UserFacingError:
    return UserFacingError("That answer can't be hidden here any more.", title=TITLE, field=field)
