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


def no_outcomes(command: str) -> UserFacingError:
    """`command` is the slash command, as the person typed it."""
    return UserFacingError(
        "I couldn't find agreed outcomes you can propose an initiative for. Initiatives are "
        "proposed by the team of a listening tour once its leader has committed the outcomes; "
        f"then `{command} initiative`, or the button on the announcement, opens the form.",
        title="Propose an initiative",
    )


def backing_closed() -> UserFacingError:
    return UserFacingError(
        "The leader has already decided on this one, so backing is closed.", title=TITLE
    )


def not_on_the_team_to_back() -> UserFacingError:
    return UserFacingError("Only the tour's team can back its initiatives.", title=TITLE)


def no_initiatives(command: str, *, offered: int = 0) -> UserFacingError:
    """Nothing to log a win against; `offered` counts the offers not accepted yet."""
    if offered:
        text = (
            "You've been offered an initiative but haven't accepted it yet: accept it from the "
            f"DM (or your App Home), then `{command} win <what happened>` logs a win."
        )
    else:
        text = (
            "You don't own an initiative yet, so there's nothing to log a win against. When "
            f"your leader offers you one and you accept it, `{command} win <what happened>` "
            "logs a win."
        )
    return UserFacingError(text, title="Quick wins")


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
