"""What rides in a modal's `private_metadata` (or a button's structured `value`): one pydantic
model per kind, used by the renderer that writes it (`.dump()`) and by the handler that reads it
back (`.read(view)`, None for a missing or forged one), so the two cannot drift. Slack returns
the string as it was sent, but anyone can forge a request: every id is bounded and is checked
against the requesting team's rows before use."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, ValidationError

# Ids that reach the database: no larger than its integer columns hold (PostgreSQL's integer is
# 32 bits; a bigger value is no row of ours, and would make the driver raise).
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Field(ge=0, le=MAX_ROW_ID)]


class ModalMetadata(BaseModel):
    def dump(self) -> str:
        """The private_metadata string (unset optional fields left out)."""
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def read(cls, view: dict[str, Any]) -> Self | None:
        """What the submitted view carries; None when it is missing or was tampered with."""
        try:
            return cls.model_validate_json(view.get("private_metadata") or "")
        except ValidationError:
            return None


class TourMetadata(ModalMetadata):
    """A leader's modal about one tour (review, preview, set outcomes, commit, weekly update…)."""

    tour_id: RowId


class AnswersPageMetadata(TourMetadata):
    """A page of a tour's answers."""

    page: int = Field(ge=0)


class LaunchMetadata(ModalMetadata):
    """The launch modal: the leader's time zone, looked up when the command opened the modal,
    so the submission need not ask Slack again."""

    leader_tz: str


class AnswerFormMetadata(ModalMetadata):
    """A member's answer form."""

    tour_id: RowId
    mode: Literal["edit", "add"]


class PollMetadata(ModalMetadata):
    """The insight form of a posted poll."""

    poll_id: RowId


class ProposalMetadata(ModalMetadata):
    """An outcome proposal, new or (with `proposal_id`) one being changed."""

    tour_id: RowId
    theme_id: RowId
    proposal_id: RowId | None = None


class ProposeMetadata(ModalMetadata):
    """The initiative proposal form: the outcomes it offered."""

    outcomes: list[RowId]


class InitiativeMetadata(ModalMetadata):
    """A step-4 modal about one initiative (commit, decline, leave, new date). The offer message
    a decline redraws is looked up from what the bot sent, not carried here."""

    initiative_id: RowId


class CheckinMetadata(ModalMetadata):
    """An owner's check-in form."""

    checkin_id: RowId


class PickedTheme(ModalMetadata):
    """A theme button under a DM reply from someone asked for outcomes (a button value, not
    private_metadata): the reply rides along until the person picks the theme."""

    tour: RowId
    theme: RowId
    text: str
