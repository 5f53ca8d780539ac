"""The listening tour's refusals (step 1, and who may act for a tour)."""

from __future__ import annotations

from bot.errors import UserFacingError

TITLE = "Listening tour"


def tour_gone() -> UserFacingError:
    return UserFacingError("I can't find that tour any more.")


def button_without_tour() -> UserFacingError:
    return UserFacingError("That button no longer points at a tour.")


def not_the_leader(*, leader_id: str, verb: str) -> UserFacingError:
    """`verb` is what they tried: "close", "set outcomes for"…"""
    return UserFacingError(
        f"Only <@{leader_id}>, who leads this tour, or a workspace admin can {verb} it.",
        title=TITLE,
    )


def already_closed() -> UserFacingError:
    return UserFacingError("This tour was already closed.", title=TITLE)


def form_out_of_date() -> UserFacingError:
    return UserFacingError("This form is out of date; please open it again.", title=TITLE)


def answers_withheld(*, respondents: int, participants: int, why: str) -> UserFacingError:
    """An export asked for before enough people answered (`why` says how many more)."""
    return UserFacingError(f"{respondents} of {participants} have answered. {why}", title="Export")


def answer_form_refused(text: str) -> UserFacingError:
    """The tour service's answer to an answer form it will not open (closed, not asked)."""
    return UserFacingError(text, title=TITLE)
