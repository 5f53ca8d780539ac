"""Step 3's refusals: setting outcomes, proposing them, committing them."""

from __future__ import annotations

from bot.errors import UserFacingError

TITLE = "Outcomes"


def findings_not_posted() -> UserFacingError:
    return UserFacingError("Post the findings first: outcomes answer them.", title="Set outcomes")


def not_the_leader() -> UserFacingError:
    return UserFacingError("Only the tour's leader or a workspace admin can do this.", title=TITLE)


def button_without_theme() -> UserFacingError:
    return UserFacingError("That button no longer points at a theme.", title=TITLE)


def not_asked_to_propose() -> UserFacingError:
    return UserFacingError("Only the people the leader asked can propose.", title=TITLE)


def not_asked_to_propose_outcomes() -> UserFacingError:
    """Answers a theme picked under a DM reply, in place of the question."""
    return UserFacingError(
        "Only the people the leader asked can propose outcomes.", title=TITLE, replace_original=True
    )


def proposal_refused(text: str) -> UserFacingError:
    """Step 3's rules refuse a theme picked under a DM reply (decided meanwhile): said in place
    of the question, which no longer stands."""
    return UserFacingError(text, title=TITLE, replace_original=True)


def themes_refused(text: str, *, field: str) -> UserFacingError:
    """Step 3's rules refuse the themes picked in the setup form: said next to them (`field`)."""
    return UserFacingError(text, title="Set outcomes", field=field)


def not_asked() -> UserFacingError:
    return UserFacingError("Only the people the leader asked can.", title=TITLE)


def form_out_of_date() -> UserFacingError:
    return UserFacingError("This form is out of date; open it again.", title=TITLE)


def refused(text: str) -> UserFacingError:
    """A refusal worded by step 3's rules or service (decided meanwhile, not theirs)."""
    return UserFacingError(text, title=TITLE)


def not_your_proposal() -> UserFacingError:
    return UserFacingError("You can change only your own proposals.", title=TITLE)
