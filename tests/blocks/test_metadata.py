"""A modal's private_metadata is written and read by one model (bot/blocks/metadata.py): what a
renderer writes, the handler's model reads back; anything else reads as None."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from bot.blocks.checkins import render_digest_modal
from bot.blocks.findings import render_insight_modal
from bot.blocks.initiatives import render_decline_modal
from bot.blocks.metadata import (
    MAX_ROW_ID,
    AnswerFormMetadata,
    InitiativeMetadata,
    PickedTheme,
    PollMetadata,
    ProposalMetadata,
    TourMetadata,
)
from bot.blocks.outcomes import pick_value, render_proposal_modal
from bot.blocks.tour import render_answer_form


@pytest.mark.parametrize(
    ("view", "read"),
    [
        # the weekly update settings: the tour
        (render_digest_modal(tour_id=7, weekday=4, minute=600), TourMetadata(tour_id=7)),
        # an insight about a posted poll: the poll
        (render_insight_modal(poll_id=8, themes=[(1, "Speed")]), PollMetadata(poll_id=8)),
        # an owner declining an initiative
        (
            render_decline_modal(initiative_id=9, title="Intake"),
            InitiativeMetadata(initiative_id=9),
        ),
        # a new outcome proposal: no proposal id
        (
            render_proposal_modal(tour_id=1, theme_id=2, theme_label="Speed"),
            ProposalMetadata(tour_id=1, theme_id=2),
        ),
        # changing an earlier proposal
        (
            render_proposal_modal(tour_id=1, theme_id=2, theme_label="Speed", proposal_id=3),
            ProposalMetadata(tour_id=1, theme_id=2, proposal_id=3),
        ),
        # a member's answer form, adding
        (
            render_answer_form(tour_id=4, title="T", questions=["Q?"], answers=[None], mode="add"),
            AnswerFormMetadata(tour_id=4, mode="add"),
        ),
    ],
)
def test_what_a_renderer_writes_its_handler_reads(view: Any, read: BaseModel) -> None:
    assert type(read).read(view.to_dict()) == read


@pytest.mark.parametrize(
    "metadata",
    [
        "",  # missing
        "not json",
        '{"tour_id": -1}',  # not a row id
        f'{{"tour_id": {MAX_ROW_ID + 1}}}',  # bigger than the database's integer
        '{"poll_id": 3}',  # another modal's
    ],
)
def test_missing_or_forged_metadata_reads_as_none(metadata: str) -> None:
    assert TourMetadata.read({"private_metadata": metadata}) is None


def test_a_theme_buttons_value_fits_slack_and_reads_back() -> None:
    value = pick_value(1, 2, '"' * 500)  # quotes double when escaped
    assert len(value) <= 2_000
    picked = PickedTheme.model_validate_json(value)
    assert (picked.tour, picked.theme) == (1, 2)
    assert picked.text == '"' * len(picked.text)
