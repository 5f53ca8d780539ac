"""Step 2's refusals: the leader's review of the themes, the poll, insights."""

from __future__ import annotations

from bot.errors import UserFacingError


def review_blocked(text: str) -> UserFacingError:
    """Why the themes cannot be reviewed yet (worded by the review's own rules)."""
    return UserFacingError(text, title="Review themes")


def steering_refused(text: str, *, title: str) -> UserFacingError:
    """Why this person may not change the findings now (worded by the review's own rules)."""
    return UserFacingError(text, title=title)


def findings_gone() -> UserFacingError:
    return UserFacingError("I can't find those findings any more.", title="Share an insight")


def button_without_poll() -> UserFacingError:
    return UserFacingError("That button no longer points at a poll.", title="Vote")


def poll_gone() -> UserFacingError:
    return UserFacingError("I can't find that poll any more.", title="Close poll")


def poll_already_closed() -> UserFacingError:
    return UserFacingError("This poll was already closed.", title="Close poll")
