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


# --- `/partner tour cancel|extend|co-lead`: the leader's controls --------------------------------


def control_refused(text: str) -> UserFacingError:
    """What the control's own rules say is wrong with it (a date, a missing number)."""
    return UserFacingError(text, title=TITLE)


def tour_number_unknown(tour_id: int) -> UserFacingError:
    return UserFacingError(f"I can't find tour {tour_id}.", title=TITLE)


def leads_no_open_tour() -> UserFacingError:
    return UserFacingError(
        "You don't lead an open listening tour. Add the tour's number if it's someone else's.",
        title=TITLE,
    )


def leads_several_tours(*, count: int, listed: str) -> UserFacingError:
    """`listed` names each ("12: Finance partnership; 14: …")."""
    return UserFacingError(
        f"You lead {count} open tours ({listed}). Add the number of the one you mean.",
        title=TITLE,
    )


def not_a_leader_to_control(*, leader_id: str, verb: str) -> UserFacingError:
    """`verb` is what they tried: "cancel", "change the close date of"…"""
    return UserFacingError(
        f"Only <@{leader_id}>, who leads this tour, a co-leader or a workspace admin can "
        f"{verb} it.",
        title=TITLE,
    )


def co_leader_unknown(user_id: str) -> UserFacingError:
    return UserFacingError(f"Slack doesn't know <@{user_id}>.", title=TITLE)


def co_leader_inactive(user_id: str) -> UserFacingError:
    return UserFacingError(
        f"<@{user_id}> can't lead a tour: only a person with an active account can.", title=TITLE
    )


def not_open_to_control() -> UserFacingError:
    return UserFacingError(
        "This tour is not open any more: only an open tour can be changed.", title=TITLE
    )


def already_leads(*, user_id: str, title: str) -> UserFacingError:
    """`title` is the tour's, already shortened for display."""
    return UserFacingError(f"<@{user_id}> already leads *{title}*.", title=TITLE)
