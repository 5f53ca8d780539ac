"""The App Home tab: what Partnerbot is for, and the leader's listening tours."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.checkins import CheckinAction
from bot.blocks.findings import FindingsAction
from bot.blocks.initiatives import (
    InitiativeCard,
    PipelineOutcome,
    render_commitments,
    render_pipeline,
)
from bot.blocks.kit import (
    clip,
    format_day,
)
from bot.blocks.outcomes import OutcomeAction
from bot.blocks.tour import tour_actions_block


class HomeId(StrEnum):
    WELCOME = "home.welcome"
    STEPS = "home.steps"
    HELP = "home.help"
    TOURS = "home.tours"
    COMMITMENTS = "home.commitments"
    MORE_TOURS = "home.tours.more"


# The home tab holds 100 blocks; ten tours keep it readable and well inside that.
MAX_HOME_TOURS = 10


@dataclass(frozen=True)
class TourCard:
    """One of the user's tours as the home tab shows it (a count, never who answered)."""

    tour_id: int
    title: str
    status: str  # "launching" | "open" | "closed" | "cancelled"
    respondents: int
    participants: int
    days_left: int
    close_date: date
    anonymous: bool
    # "listening" | "review" (closed, themes not posted) | "voting" (poll open) | "voted" (poll
    # closed) | "outcomes" (direct reports asked for outcomes) | "committed" (outcomes agreed:
    # initiatives are proposed and committed)
    stage: str = "listening"
    # The day it actually closed, in the leader's zone: earlier than close_date if closed early.
    closed_on: date | None = None


STEPS = (
    ("Listen", "Ask your team by DM: what's working well, and what challenges do you face?"),
    ("Report", "Share no more than three themes with the team, and let them vote."),
    (
        "Agree outcomes",
        "Decide with your direct reports what your business partners should notice.",
    ),
    ("Commit and track", "Take on a few initiatives, check in weekly, and celebrate quick wins."),
)


def render_home(
    *,
    user_id: str,
    command: str,
    tours: Sequence[TourCard] = (),
    commitments: Sequence[InitiativeCard] = (),
    pipelines: Mapping[int, Sequence[PipelineOutcome]] | None = None,
) -> View:
    """Everyone's Home: what Partnerbot is for and the initiatives they own; a leader's also
    lists their tours with each one's next step and, once outcomes are agreed, its pipeline
    (themes → outcomes → initiatives)."""
    steps = "\n".join(
        f"*{number}. {title}* — {summary}" for number, (title, summary) in enumerate(STEPS, 1)
    )
    blocks: list[Block] = [
        HeaderBlock(text="Partnerbot"),
        SectionBlock(
            block_id=HomeId.WELCOME,
            text=MarkdownTextObject(
                text=f"Hi <@{user_id}>! Partnerbot helps a team strengthen its partnership "
                "with the business, together: listen first, then agree what to do about it."
            ),
        ),
        DividerBlock(),
        SectionBlock(block_id=HomeId.STEPS, text=MarkdownTextObject(text=steps)),
        DividerBlock(),
        HeaderBlock(block_id=HomeId.COMMITMENTS, text="My commitments"),
        *render_commitments(commitments),
        DividerBlock(),
        HeaderBlock(block_id=HomeId.TOURS, text="Your listening tours"),
        *_tour_blocks(tours, command=command, pipelines=pipelines or {}),
        DividerBlock(),
        ContextBlock(
            block_id=HomeId.HELP,
            elements=[
                MarkdownTextObject(
                    text=f"Type `{command} help` in any channel to see what you can do."
                )
            ],
        ),
    ]
    return View(type="home", blocks=blocks)


def _tour_blocks(
    tours: Sequence[TourCard],
    *,
    command: str,
    pipelines: Mapping[int, Sequence[PipelineOutcome]],
) -> list[Block]:
    if not tours:
        return [
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"No listening tours yet. Type `{command} tour` in any channel to ask "
                    "your team what's working well and what's getting in the way."
                )
            )
        ]
    newest = sorted(tours, key=lambda tour: tour.tour_id, reverse=True)
    blocks: list[Block] = []
    for tour in newest[:MAX_HOME_TOURS]:
        is_open = tour.status == "open"
        blocks += [
            SectionBlock(
                block_id=f"home.tour.{tour.tour_id}",
                text=MarkdownTextObject(text=tour_summary(tour)),
            ),
            _tour_actions(tour, is_open=is_open),
        ]
        if pipelines.get(tour.tour_id):
            weekly = ButtonElement(
                text="Weekly update…",
                action_id=CheckinAction.DIGEST_SETTINGS,
                value=str(tour.tour_id),
            )
            blocks += render_pipeline(
                tour_id=tour.tour_id, outcomes=pipelines[tour.tour_id], extra=[weekly]
            )
    if len(newest) > MAX_HOME_TOURS:
        blocks.append(
            ContextBlock(
                block_id=HomeId.MORE_TOURS,
                elements=[
                    MarkdownTextObject(
                        text=f"Showing your {MAX_HOME_TOURS} most recent tours of {len(newest)}."
                    )
                ],
            )
        )
    return blocks


def _tour_actions(tour: TourCard, *, is_open: bool) -> ActionsBlock:
    block_id = f"home.tour.{tour.tour_id}.actions"
    actions = tour_actions_block(tour.tour_id, is_open=is_open, block_id=block_id)
    next_step = NEXT_STEPS.get(tour.stage)
    if next_step is not None:
        label, action_id = next_step
        actions.elements.append(
            ButtonElement(text=label, action_id=action_id, value=str(tour.tour_id), style="primary")
        )
    return actions


# The leader's next step by stage, as a primary button next to Export.
NEXT_STEPS: dict[str, tuple[str, str]] = {
    "review": ("Review themes", FindingsAction.REVIEW),
    "voted": ("Set outcomes", OutcomeAction.SET_OUTCOMES),
    "outcomes": ("Review proposals", OutcomeAction.REVIEW),
    # Outcomes agreed: themes left blank can still be committed, and outcomes rewritten.
    "committed": ("Review outcomes", OutcomeAction.REVIEW),
}


STAGE_NOTES = {
    "review": "themes to review",
    "voting": "the team is voting",
    "voted": "poll closed",
    "outcomes": "outcomes being proposed",
    "committed": "outcomes agreed",
}


def tour_summary(tour: TourCard) -> str:
    """ "*Title* — 7 of 25 answered · 3 days left · anonymous"."""
    if tour.status == "launching":
        return f"*{clip(tour.title, 500)}* — launching: working out whom to ask…"
    if tour.status == "cancelled":
        when = f"cancelled on {format_day(tour.closed_on or tour.close_date)}"
    elif tour.status != "open":
        when = f"closed on {format_day(tour.closed_on or tour.close_date)}"
    elif tour.days_left > 1:
        when = f"{tour.days_left} days left"
    elif tour.days_left == 1:
        when = f"last day ({format_day(tour.close_date)})"
    else:
        when = "closing now"
    kind = "anonymous" if tour.anonymous else "named"
    stage = f" · {STAGE_NOTES[tour.stage]}" if tour.stage in STAGE_NOTES else ""
    return (
        f"*{clip(tour.title, 500)}* — {tour.respondents} of {tour.participants} answered"
        f" · {when} · {kind}{stage}"
    )
