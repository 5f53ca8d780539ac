"""Check-ins' refusals (step 4's weekly check-in, leave, new dates, closing)."""

from __future__ import annotations

from bot.errors import UserFacingError

TITLE = "Check-in"


def checkin_gone() -> UserFacingError:
    return UserFacingError("I can't find that check-in any more.", title=TITLE)


def refused(text: str, *, title: str = TITLE, field: str | None = None) -> UserFacingError:
    """A refusal worded by the check-in service (not theirs, already answered…); `field`, a
    block id of the submitted form, shows it next to that input."""
    return UserFacingError(text, title=title, field=field)


def form_out_of_date() -> UserFacingError:
    return UserFacingError("This form is out of date; open it again.", title=TITLE)


def check_in_form_out_of_date() -> UserFacingError:
    return UserFacingError(
        "This form is out of date; use the buttons in the check-in again.", title=TITLE
    )


def initiative_gone() -> UserFacingError:
    return UserFacingError("I can't find that initiative any more.", title=TITLE)


def not_the_leader() -> UserFacingError:
    return UserFacingError(
        "Only the tour's leader or a workspace admin can change this.", title=TITLE
    )
