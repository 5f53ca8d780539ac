from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest

from bot.blocks.home import TourCard, render_home
from bot.blocks.initiatives import InitiativeAction
from bot.blocks.outcomes import (
    MAX_MEASURE,
    MAX_STATEMENT,
    CommittedOutcome,
    OutcomeAction,
    OutcomeBlock,
    OutcomeView,
    ProposalView,
    ThemeChoice,
    ThemeProposals,
    outcome_block,
    pick_value,
    render_commit_modal,
    render_letting_go_modal,
    render_letting_go_offer,
    render_outcome_request,
    render_outcomes_announcement,
    render_pick_theme,
    render_proposal_modal,
    render_proposal_saved,
    render_proposal_thanks,
    render_setup_modal,
)
from bot.blocks.tour import TourAction
from bot.sandbox.block_kit import validate_message
from tests.blocks.payloads import (
    AMPERSANDS,
    EVIL,
    EVIL_ESCAPED,
    RAW_MARKUP,
    assert_no_raw_markup,
    by_block_id,
    message_dict,
    view_dict,
)


def test_ids_are_the_agreed_ones() -> None:
    assert {a.name: a.value for a in OutcomeAction} == {
        "SET_OUTCOMES": "outcomes.set",
        "PROPOSE": "outcomes.propose",
        "REVIEW": "outcomes.review",
        "LETTING_GO": "outcomes.letting_go",
        "EDIT_PROPOSAL": "outcomes.edit_proposal",
        "PICK_THEME": "outcomes.pick_theme",
    }
    assert {v.name: v.value for v in OutcomeView} == {
        "SETUP": "outcomes.setup",
        "PROPOSE": "outcomes.propose",
        "COMMIT": "outcomes.commit",
        "LETTING_GO": "outcomes.letting_go",
    }
    assert outcome_block(12, "statement") == "outcome.12.statement"


# --- setup -------------------------------------------------------------------------------------

THEMES = [ThemeChoice(1, "Slow releases", 9, "challenge"), ThemeChoice(2, "Great support", 1)]


def test_setup_modal_says_each_themes_votes_and_side() -> None:
    payload = view_dict(render_setup_modal(tour_id=7, title="T", themes=THEMES, preselected=[]))
    options = by_block_id(payload["blocks"])["outcomes.themes"]["element"]["options"]
    assert [o["description"]["text"] for o in options] == ["9 votes · Challenge", "1 vote"]


@pytest.mark.parametrize(
    ("preselected", "initial"),
    [
        ([], None),  # nothing preselected: no initial_options at all (Slack refuses [])
        ([2], ["2"]),  # the top theme is ticked
        ([2, 1], ["1", "2"]),  # both ticked, in the themes' order
        ([99], None),  # an id not among the themes is dropped, not sent to Slack
    ],
)
def test_setup_modal_preselects_the_given_themes(
    preselected: list[int], initial: list[str] | None
) -> None:
    payload = view_dict(
        render_setup_modal(tour_id=7, title="Tour", themes=THEMES, preselected=preselected)
    )
    themes = by_block_id(payload["blocks"])["outcomes.themes"]["element"]
    if initial is None:
        assert "initial_options" not in themes
    else:
        assert [o["value"] for o in themes["initial_options"]] == initial


def test_setup_modal_ids_options_and_texts() -> None:
    payload = view_dict(render_setup_modal(tour_id=7, title=EVIL, themes=THEMES, preselected=[1]))
    assert payload["callback_id"] == "outcomes.setup"
    assert json.loads(payload["private_metadata"]) == {"tour_id": 7}
    assert payload["title"]["text"] == "Set outcomes"
    assert payload["submit"]["text"] == "Ask them"
    assert payload["close"]["text"] == "Cancel"
    blocks = by_block_id(payload["blocks"])
    shapers = blocks["outcomes.shapers"]
    assert shapers["element"]["type"] == "multi_users_select"
    assert shapers["element"]["action_id"] == "outcomes.shapers.input"
    assert shapers.get("optional", False) is False
    themes = blocks["outcomes.themes"]
    assert themes["element"]["action_id"] == "outcomes.themes.input"
    assert themes.get("optional", False) is False
    assert [
        (o["value"], o["text"]["text"], o["description"]["text"])
        for o in themes["element"]["options"]
    ] == [
        ("1", "Slow releases", "9 votes · Challenge"),
        ("2", "Great support", "1 vote"),
    ]
    rendered = json.dumps(payload)
    assert "you'll see who proposed what" in rendered
    assert EVIL_ESCAPED in rendered
    assert_no_raw_markup(payload)


def test_setup_modal_worst_case_fits() -> None:
    # More themes than a checkboxes element takes, each with a label past an option's 75.
    themes = [ThemeChoice(n, AMPERSANDS, 10**9) for n in range(1, 15)]
    payload = view_dict(
        render_setup_modal(
            tour_id=7, title=AMPERSANDS, themes=themes, preselected=list(range(1, 15))
        )
    )
    options = by_block_id(payload["blocks"])["outcomes.themes"]["element"]["options"]
    assert len(options) == 10
    assert all(len(o["text"]["text"]) <= 75 for o in options)


def test_setup_modal_without_themes_has_no_empty_checkboxes() -> None:
    payload = view_dict(render_setup_modal(tour_id=7, title="T", themes=[], preselected=[]))
    assert "outcomes.themes" not in by_block_id(payload["blocks"])


# --- a direct report proposes --------------------------------------------------------------------


def test_outcome_request_has_a_propose_button_per_theme() -> None:
    payload = message_dict(
        render_outcome_request(tour_id=7, leader_id="UL", themes=[(1, EVIL), (2, "Support")])
    )
    buttons = [b["accessory"] for b in payload["blocks"] if "accessory" in b]
    assert [(b["action_id"], b["value"], b["text"]["text"]) for b in buttons] == [
        ("outcomes.propose", "7:1", "Propose an outcome"),
        ("outcomes.propose", "7:2", "Propose an outcome"),
    ]
    rendered = json.dumps(payload)
    assert payload["text"].startswith("<@UL> would like your help")
    assert f"How should we respond to *{EVIL_ESCAPED}*?" in rendered
    assert "Not anonymous: <@UL> sees your name" in rendered
    assert "until <@UL> decides" in rendered
    assert_no_raw_markup(payload)


def test_outcome_request_worst_case_fits() -> None:
    themes = [(n, AMPERSANDS) for n in range(60)]
    payload = message_dict(render_outcome_request(tour_id=7, leader_id="UL", themes=themes))
    assert len(payload["blocks"]) == 5  # intro, three themes, the not-anonymous note


def test_proposal_modal() -> None:
    payload = view_dict(render_proposal_modal(tour_id=7, theme_id=3, theme_label=EVIL))
    assert payload["callback_id"] == "outcomes.propose"
    assert json.loads(payload["private_metadata"]) == {"tour_id": 7, "theme_id": 3}
    assert payload["title"]["text"] == "Propose an outcome"
    assert payload["submit"]["text"] == "Send"
    blocks = by_block_id(payload["blocks"])
    statement = blocks["proposal.statement"]["element"]
    assert statement["action_id"] == "proposal.statement.input"
    assert statement["multiline"] is True
    assert statement["max_length"] == 500
    assert blocks["proposal.measure"]["element"]["action_id"] == "proposal.measure.input"
    assert (
        blocks["proposal.measure"]["label"]["text"] == "How will we measure it? Include a target."
    )
    assert EVIL_ESCAPED in json.dumps(payload)
    assert_no_raw_markup(payload)


def test_proposal_thanks_escapes_the_label() -> None:
    text = render_proposal_thanks(theme_label=EVIL, leader_id="UL")
    assert "<@UL>" in text
    assert f"*{EVIL_ESCAPED}*" in text
    assert all(markup not in text for markup in RAW_MARKUP)


# --- commit ------------------------------------------------------------------------------------

FIRST = ProposalView("U1", "Partners get releases weekly", "Lead time < 7 days")
SECOND = ProposalView("U2", "Fewer escalations", "Escalations halved")


@pytest.mark.parametrize(
    ("theme", "statement", "partner", "measure", "target"),
    [
        # nothing committed: prefilled from the first proposal, no partner or date
        (
            ThemeProposals(1, "Speed", [FIRST, SECOND]),
            FIRST.statement,
            None,
            FIRST.measure,
            None,
        ),
        # already committed: the committed outcome wins over the proposals
        (
            ThemeProposals(
                1, "Speed", [FIRST], "Rewritten", "Sales", "Cycle time", date(2026, 6, 30)
            ),
            "Rewritten",
            "Sales",
            "Cycle time",
            "2026-06-30",
        ),
        # no proposals, nothing committed: all blank
        (ThemeProposals(1, "Speed", []), None, None, None, None),
        # committed statement only: the measure still comes from the first proposal
        (ThemeProposals(1, "Speed", [FIRST], statement="Mine"), "Mine", None, FIRST.measure, None),
        # a raw value is prefilled raw (inputs are never parsed) but cut to the input's max
        (
            ThemeProposals(1, "Speed", [ProposalView("U1", AMPERSANDS, AMPERSANDS)]),
            AMPERSANDS[:MAX_STATEMENT],
            None,
            AMPERSANDS[:MAX_MEASURE],
            None,
        ),
    ],
)
def test_commit_modal_initial_values(
    theme: ThemeProposals,
    statement: str | None,
    partner: str | None,
    measure: str | None,
    target: str | None,
) -> None:
    payload = view_dict(render_commit_modal(tour_id=7, title="Tour", themes=[theme]))
    blocks = by_block_id(payload["blocks"])
    for field, expected, key in (
        ("statement", statement, "initial_value"),
        ("partner", partner, "initial_value"),
        ("measure", measure, "initial_value"),
        ("target", target, "initial_date"),
    ):
        block = blocks[f"outcome.1.{field}"]
        assert block["optional"] is True
        assert block["element"]["action_id"] == f"outcome.1.{field}.input"
        assert block["element"].get(key) == expected


def proposal_texts(payload: dict[str, Any]) -> list[str]:
    return [
        element["text"]
        for block in payload["blocks"]
        if block["type"] == "context"
        for element in block["elements"]
    ]


@pytest.mark.parametrize(
    ("proposals", "expected"),
    [
        # who proposed, what, and the measure in italics
        ([FIRST], "<@U1>: Partners get releases weekly — _Lead time &lt; 7 days_"),
        # user text is escaped, so a proposal cannot ping
        ([ProposalView("U1", EVIL, "")], f"<@U1>: {EVIL_ESCAPED}"),
        # line breaks are flattened so the italics hold
        ([ProposalView("U1", "a\nb", "c\nd")], "<@U1>: a b — _c d_"),
        # no proposals yet
        ([], "No proposals yet."),
    ],
)
def test_commit_modal_lists_proposals(proposals: list[ProposalView], expected: str) -> None:
    payload = view_dict(
        render_commit_modal(tour_id=7, title="T", themes=[ThemeProposals(1, "S", proposals)])
    )
    assert expected in proposal_texts(payload)


def test_commit_modal_ids() -> None:
    payload = view_dict(
        render_commit_modal(tour_id=7, title=EVIL, themes=[ThemeProposals(4, EVIL, [FIRST])])
    )
    assert payload["callback_id"] == "outcomes.commit"
    assert json.loads(payload["private_metadata"]) == {"tour_id": 7}
    assert (payload["title"]["text"], payload["submit"]["text"], payload["close"]["text"]) == (
        "Commit outcomes",
        "Commit",
        "Cancel",
    )
    assert f"*{EVIL_ESCAPED}*" in json.dumps(payload)
    assert_no_raw_markup(payload)
    assert by_block_id(payload["blocks"])["outcome.4.target"]["element"]["type"] == "datepicker"


def test_commit_modal_worst_case_fits() -> None:
    # Five themes (three are shown), each with 500 proposals of escaping-heavy text.
    proposals = [ProposalView(f"U{n:010}", AMPERSANDS, AMPERSANDS) for n in range(500)]
    themes = [
        ThemeProposals(n, AMPERSANDS, proposals, AMPERSANDS, AMPERSANDS, AMPERSANDS)
        for n in range(5)
    ]
    payload = view_dict(render_commit_modal(tour_id=7, title=AMPERSANDS, themes=themes))
    assert len(payload["blocks"]) <= 100
    assert {b.split(".")[1] for b in by_block_id(payload["blocks"])} == {"0", "1", "2"}
    assert any("more." in text for text in proposal_texts(payload))


# --- announcement ------------------------------------------------------------------------------


def outcome(label: str = "Speed", proposers: Sequence[str] = ("U1",)) -> CommittedOutcome:
    return CommittedOutcome(
        label, "Weekly releases", "Sales", "Lead time < 7 days", date(2026, 3, 13), proposers
    )


@pytest.mark.parametrize(
    ("outcomes", "thanks"),
    [
        # one outcome, one proposer
        ([outcome(proposers=["U1"])], "Thank you <@U1> for your proposals."),
        # a person who proposed for two themes is thanked once, in order of first appearance
        (
            [outcome(proposers=["U2", "U1"]), outcome(proposers=["U1", "U3"])],
            "Thank you <@U2>, <@U1>, <@U3> for your proposals.",
        ),
        # the leader wrote it all: no thank-you line
        ([outcome(proposers=[])], None),
    ],
)
def test_announcement_thanks_each_proposer_once(
    outcomes: list[CommittedOutcome], thanks: str | None
) -> None:
    payload = message_dict(
        render_outcomes_announcement(tour_id=1, leader_id="UL", title="T", outcomes=outcomes)
    )
    contexts = [b for b in payload["blocks"] if b["type"] == "context"]
    if thanks is None:
        assert contexts == []
    else:
        assert [c["elements"][0]["text"] for c in contexts] == [thanks]


def test_announcement_text() -> None:
    payload = message_dict(
        render_outcomes_announcement(
            tour_id=1, leader_id="UL", title="Tour", outcomes=[outcome(EVIL)]
        )
    )
    header, intro, section = payload["blocks"][:3]
    assert header["text"]["text"] == "Our partner-focused outcomes"
    assert intro["text"]["text"] == (
        "After the listening tour *Tour*, <@UL> and the team agreed what our business partners "
        "should notice:"
    )
    assert section["text"]["text"] == (
        f"*{EVIL_ESCAPED}* → Weekly releases\n"
        "*For* Sales · *Measure* Lead time &lt; 7 days · *By* Friday 13 March"
    )
    assert_no_raw_markup(payload)


def test_announcement_worst_case_fits() -> None:
    big = CommittedOutcome(
        AMPERSANDS,
        AMPERSANDS,
        AMPERSANDS,
        AMPERSANDS,
        date(2026, 9, 30),
        [f"U{n:010}" for n in range(400)],
    )
    payload = message_dict(
        render_outcomes_announcement(
            tour_id=1, leader_id="UL", title=AMPERSANDS, outcomes=[big] * 60
        )
    )
    # the intro, three outcomes, and the invitation to propose initiatives
    assert len([b for b in payload["blocks"] if b["type"] == "section"]) == 1 + 3 + 1


def test_announcement_invites_initiatives() -> None:
    payload = message_dict(
        render_outcomes_announcement(tour_id=42, leader_id="UL", title="T", outcomes=[outcome()])
    )
    (button,) = [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == InitiativeAction.PROPOSE
    assert button["value"] == "42"


# --- letting go --------------------------------------------------------------------------------


def test_letting_go_offer() -> None:
    payload = message_dict(render_letting_go_offer(tour_id=7))
    (button,) = [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (button["action_id"], button["value"], button["text"]["text"]) == (
        "outcomes.letting_go",
        "7",
        "Reflect privately",
    )
    rendered = json.dumps(payload)
    assert "If letting go is hard, you might ask yourself:" in rendered
    assert "How many ways can those outcomes be achieved?" in rendered


@pytest.mark.parametrize(
    ("answers", "initial"),
    [
        # first time: all blank
        ([], [None, None, None]),
        # saved earlier, one skipped
        (["Trust", None, "Ownership"], ["Trust", None, "Ownership"]),
        # an over-long answer is cut to the input's 3,000
        ([AMPERSANDS], ["&" * 3000, None, None]),
    ],
)
def test_letting_go_modal(answers: list[str | None], initial: list[str | None]) -> None:
    payload = view_dict(render_letting_go_modal(tour_id=7, answers=answers))
    assert payload["callback_id"] == "outcomes.letting_go"
    assert json.loads(payload["private_metadata"]) == {"tour_id": 7}
    assert (payload["title"]["text"], payload["submit"]["text"]) == ("Letting go", "Save")
    blocks = by_block_id(payload["blocks"])
    ids = [OutcomeBlock.LETGO_MATTER, OutcomeBlock.LETGO_WAYS, OutcomeBlock.LETGO_POSSIBLE]
    assert [blocks[i]["element"].get("initial_value") for i in ids] == initial
    assert all(blocks[i]["optional"] is True for i in ids)
    assert "Only you see these." in json.dumps(payload)


# --- home --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "actions", "note"),
    [
        # the poll closed: the leader's next step is to set outcomes
        ("voted", [TourAction.EXPORT, OutcomeAction.SET_OUTCOMES], " · poll closed"),
        # direct reports were asked: the leader reviews their proposals
        ("outcomes", [TourAction.EXPORT, OutcomeAction.REVIEW], " · outcomes being proposed"),
        # the poll is still open: nothing new
        ("voting", [TourAction.EXPORT], " · the team is voting"),
    ],
)
def test_home_buttons_by_stage(stage: str, actions: list[str], note: str) -> None:
    card = TourCard(
        tour_id=3,
        title="Tour",
        status="closed",
        respondents=7,
        participants=25,
        days_left=0,
        close_date=date(2026, 3, 13),
        anonymous=True,
        stage=stage,
    )
    payload = view_dict(render_home(user_id="U1", command="/partner", tours=[card]))
    blocks = by_block_id(payload["blocks"])
    assert blocks["home.tour.3"]["text"]["text"].endswith(f"anonymous{note}")
    row = blocks["home.tour.3.actions"]["elements"]
    assert [b["action_id"] for b in row] == actions
    assert {b["value"] for b in row} == {"3"}
    assert [b.get("style") for b in row[1:]] == ["primary"] * (len(actions) - 1)


# --- proposals by DM, and edits -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "plain reply",
        '"' * 500,  # each quote escapes to two characters
        "\n" * 500,
        "\x01" * 500,  # control characters escape to six
        "😀" * 500,
        "x" * 2_000,  # longer than a statement: cut to one
    ],
)
def test_pick_value_fits_a_button_and_round_trips(text: str) -> None:
    value = pick_value(7, 3, text)
    assert len(value) <= 2_000
    decoded = json.loads(value)
    assert (decoded["tour"], decoded["theme"]) == (7, 3)
    assert text.startswith(decoded["text"])
    assert len(decoded["text"]) >= min(len(text), 300)


def test_pick_theme_offers_one_button_per_theme() -> None:
    payload = message_dict(
        render_pick_theme(text=EVIL, themes=[(7, 3, "Slips"), (7, 4, AMPERSANDS)])
    )
    assert validate_message(payload.get("text"), payload["blocks"]) == []
    actions = [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [a["action_id"] for a in actions] == ["outcomes.pick_theme.3", "outcomes.pick_theme.4"]
    assert json.loads(actions[0]["value"])["text"] == EVIL  # raw: it is stored, not shown
    assert_no_raw_markup({"shown": [b for b in payload["blocks"] if b["type"] != "actions"]})


@pytest.mark.parametrize("edited", [False, True])
def test_proposal_saved_has_an_edit_button(edited: bool) -> None:
    payload = message_dict(
        render_proposal_saved(
            theme_label=EVIL, leader_id="UL", proposal_id=9, statement=EVIL, edited=edited
        )
    )
    assert validate_message(payload.get("text"), payload["blocks"]) == []
    [section] = payload["blocks"]
    assert section["accessory"]["action_id"] == "outcomes.edit_proposal"
    assert section["accessory"]["value"] == "9"
    assert ("Changed your proposal" in section["text"]["text"]) is edited
    assert_no_raw_markup(payload)
