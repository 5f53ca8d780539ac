"""Step 4's refusals: proposing, committing, an owner's answer, quick wins."""

from __future__ import annotations

from bot.errors import UserFacingError

TITLE = "Initiatives"


def initiative_gone() -> UserFacingError:
    return UserFacingError("I can't find that initiative any more.", title=TITLE)


def not_the_leader(*, leader_id: str, doing: str) -> UserFacingError:
    return UserFacingError(
        f"Only <@{leader_id}>, who leads this tour, or a workspace admin can {doing}.",
        title=TITLE,
    )


def not_the_leader_to_commit() -> UserFacingError:
    return UserFacingError(
        "Only the tour's leader or a workspace admin can commit initiatives.", title=TITLE
    )


def not_on_the_team() -> UserFacingError:
    return UserFacingError(
        "Initiatives are proposed by the team that agreed the outcomes, and you're not on "
        "it. Ask the tour's leader to add you.",
        title="Propose an initiative",
    )


def not_on_the_tours_team() -> UserFacingError:
    return UserFacingError(
        "Only the tour's team can propose for it.", title="Propose an initiative"
    )


def already_answered_offer() -> UserFacingError:
    return UserFacingError(
        "Its owner has already answered that offer, so it can't be withdrawn; close it "
        "from its check-in instead, or reassign it if it was declined.",
        title=TITLE,
    )


def already_committed(*, owner: str = "an owner") -> UserFacingError:
    """`owner` is a mention (`<@U…>`) when known."""
    return UserFacingError(f"This one is already committed to {owner}.", title=TITLE)


def cap_reached(text: str) -> UserFacingError:
    """The tour's cap on active initiatives, as `blocks.initiatives.render_cap_reached` says."""
    return UserFacingError(text, title=TITLE)


def already_answered() -> UserFacingError:
    return UserFacingError("You've already answered this one.", title=TITLE)


def refused(text: str) -> UserFacingError:
    """A refusal worded by step 4's service."""
    return UserFacingError(text, title=TITLE)


def not_your_initiative() -> UserFacingError:
    return UserFacingError("You can log wins only on initiatives you own.", title="Quick wins")


def not_the_owner() -> UserFacingError:
    return UserFacingError("Only the initiative's owner can do this.", title="Initiative")


def not_offered_to_you(*, declining: bool = False) -> UserFacingError:
    return UserFacingError(
        "Only the person it was offered to can decline it."
        if declining
        else "Only the person it was offered to can accept or decline it.",
        title=TITLE,
    )


def offer_closed() -> UserFacingError:
    return UserFacingError(
        "That offer isn't open any more: the leader withdrew it, or it was closed.", title=TITLE
    )
