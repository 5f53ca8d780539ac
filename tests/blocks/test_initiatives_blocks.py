"""Step 4's renderers: the initiative card, the leader's commit modal, the owner's offer, quick
wins and the App Home sections, as tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.blocks.initiatives import (
    InitiativeAction,
    InitiativeCard,
    InitiativeView,
    OutcomeOption,
    OwnedInitiative,
    PipelineOutcome,
    progress_bar,
    render_commit_modal,
    render_commitments,
    render_declined_for_leader,
    render_initiative_card,
    render_offer,
    render_offer_held,
    render_pipeline,
    render_propose_modal,
    render_win_modal,
)
from bot.flows.outcomes import InitiativeStatus
from bot.sandbox.block_kit import validate_blocks
from tests.blocks.payloads import (
    AMPERSANDS,
    CARD,
    EVIL,
    EVIL_ESCAPED,
    FRIDAY,
    TODAY,
    assert_no_raw_markup,
    assert_no_raw_mrkdwn,
    buttons,
    by_block_id,
    contexts,
    message_dict,
    view_dict,
)

P = InitiativeStatus.PROPOSED
OFFERED = InitiativeStatus.OFFERED
A = InitiativeStatus.ACCEPTED
D = InitiativeStatus.DECLINED
DONE = InitiativeStatus.DONE
CLOSED = InitiativeStatus.CLOSED


# Every piece of user text at its longest, in the character that grows most when escaped.
HUGE = replace(
    CARD,
    title="&" * 150,
    theme_label=AMPERSANDS,
    outcome=AMPERSANDS,
    implications="&" * 1_000,
    tracking="&" * 300,
    first_quick_win="&" * 300,
    proposer_id="U0123456789",
    suggested_owner_id="U0123456789",
    owner_id="U0123456789",
    backers=10**9,
    due_date=date(2026, 9, 30),  # "Wednesday 30 September": the longest day and month names
    decline_reason=AMPERSANDS,
    progress=100,
    next_checkin=date(2026, 9, 30),
)


def card(status: InitiativeStatus = P, **changes: Any) -> InitiativeCard:
    return replace(CARD, status=status, **changes)


def home_dicts(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    payload = [block.to_dict() for block in blocks]
    assert validate_blocks(payload, surface="home") == []
    return payload


def test_ids_are_the_agreed_ones() -> None:
    assert {a.name: a.value for a in InitiativeAction} == {
        "PROPOSE": "initiatives.propose",
        "BACK": "initiatives.back",
        "COMMIT": "initiatives.commit",
        "ACCEPT": "initiatives.accept",
        "DECLINE": "initiatives.decline",
        "LOG_WIN": "initiatives.win",
        "WITHDRAW": "initiatives.withdraw",
    }
    assert {v.name: v.value for v in InitiativeView} == {
        "PROPOSE": "initiatives.propose",
        "COMMIT": "initiatives.commit",
        "DECLINE": "initiatives.decline",
        "WIN": "initiatives.win",
    }


# --- the card in the channel -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        # a proposal: teammates back it, the leader commits it
        (P, [("initiatives.back", "👍 Back it (3)"), ("initiatives.commit", "Commit… (leader)")]),
        # the owner declined: only the leader's button, to reassign
        (D, [("initiatives.commit", "Commit… (leader)")]),
        # committed, under way or finished: no buttons at all
        (OFFERED, []),
        (A, []),
        (DONE, []),
        (CLOSED, []),
    ],
)
def test_card_buttons_by_status(status: InitiativeStatus, expected: list[tuple[str, str]]) -> None:
    payload = message_dict(render_initiative_card(card(status, backers=3, owner_id="U2")))
    row = buttons(payload["blocks"])
    assert [(b["action_id"], b["text"]["text"]) for b in row] == expected
    assert {b["value"] for b in row} <= {"12"}
    if not expected:
        assert [b["type"] for b in payload["blocks"]] == ["section", "context"]


@pytest.mark.parametrize("backers", [0, 1, 42])
def test_card_back_button_shows_the_count(backers: int) -> None:
    payload = message_dict(render_initiative_card(card(P, backers=backers)))
    (back,) = [b for b in buttons(payload["blocks"]) if b["action_id"] == "initiatives.back"]
    assert back["text"]["text"] == f"👍 Back it ({backers})"
    assert back["value"] == "12"


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        # one backer, singular; nobody suggested as owner
        ({"backers": 1}, "Proposed by <@U1> · 1 teammate backs it"),
        ({"backers": 0}, "Proposed by <@U1> · 0 teammates back it"),
        (
            {"backers": 3, "suggested_owner_id": "U2"},
            "Proposed by <@U1> · 3 teammates back it · suggested owner <@U2>",
        ),
        (
            {"status": OFFERED, "owner_id": "U2", "due_date": FRIDAY, "backers": 2},
            "Committed · offered to <@U2>, due Friday 3 April · 2 teammates back it",
        ),
        (
            {"status": OFFERED, "backers": 1},
            "Committed · offered to nobody yet · 1 teammate backs it",
        ),
        (
            {"status": A, "owner_id": "U2", "due_date": FRIDAY, "cadence_weeks": 2},
            "Committed · <@U2> owns it, due Friday 3 April · check-ins every two weeks",
        ),
        (
            {"status": A, "owner_id": "U2"},
            "Committed · <@U2> owns it · check-ins every week",
        ),
        (
            {"status": D, "owner_id": "U2", "backers": 2},
            "Committed · <@U2> declined; the leader is finding an owner · 2 teammates back it",
        ),
        ({"status": DONE, "backers": 2}, "Done · 2 teammates back it"),
        ({"status": CLOSED, "backers": 1}, "Closed · 1 teammate backs it"),
    ],
)
def test_card_state_line(changes: dict[str, Any], state: str) -> None:
    payload = message_dict(render_initiative_card(replace(CARD, **changes)))
    assert contexts(payload["blocks"]) == [state]


SECTION = (
    "*Initiative:* Slip alerts\n"
    "*For* Speed → Weekly releases\n"
    "*What will we do differently?* We tell Finance first\n"
    "*How will we track progress?* Weekly count"
)


@pytest.mark.parametrize(
    ("first_quick_win", "expected"),
    [
        (None, SECTION),  # no quick win: no line for it
        ("", SECTION),
        ("A template", SECTION + "\n*First quick win:* A template"),
    ],
)
def test_card_section(first_quick_win: str | None, expected: str) -> None:
    payload = message_dict(render_initiative_card(card(first_quick_win=first_quick_win)))
    section = payload["blocks"][0]["text"]
    assert section["type"] == "mrkdwn"
    assert section["text"] == expected
    assert payload["text"] == "Initiative proposed by <@U1>: Slip alerts"


EVIL_CARD = replace(
    CARD,
    title=f"*bold* {EVIL}",
    theme_label=EVIL,
    outcome=EVIL,
    implications=EVIL,
    tracking=EVIL,
    first_quick_win=EVIL,
    owner_id="U2",
    decline_reason=EVIL,
    due_date=FRIDAY,
)


def test_card_escapes_user_text() -> None:
    payload = message_dict(render_initiative_card(EVIL_CARD))
    assert payload["blocks"][0]["text"]["text"] == (
        f"*Initiative:* *bold* {EVIL_ESCAPED}\n"
        f"*For* {EVIL_ESCAPED} → {EVIL_ESCAPED}\n"
        f"*What will we do differently?* {EVIL_ESCAPED}\n"
        f"*How will we track progress?* {EVIL_ESCAPED}\n"
        f"*First quick win:* {EVIL_ESCAPED}"
    )
    assert_no_raw_mrkdwn(payload["blocks"])


@pytest.mark.parametrize("status", list(InitiativeStatus))
def test_offer_and_declined_escape_user_text(status: InitiativeStatus) -> None:
    for message in (
        render_initiative_card(replace(EVIL_CARD, status=status)),
        render_offer(card=replace(EVIL_CARD, status=status), leader_id="UL"),
        render_declined_for_leader(card=replace(EVIL_CARD, status=status)),
    ):
        payload = message_dict(message)
        assert EVIL_ESCAPED in json.dumps(payload["blocks"], ensure_ascii=False)
        assert_no_raw_mrkdwn(payload["blocks"])


# A message's top-level text (what notifications show) is mrkdwn too, so a title such as
# "<!channel>" must be escaped there as in the blocks.
@pytest.mark.parametrize(
    "render",
    [
        lambda c: render_initiative_card(c),
        lambda c: render_offer(card=c, leader_id="UL"),
        lambda c: render_declined_for_leader(card=c),
    ],
    ids=["card", "offer", "declined_for_leader"],
)
def test_fallback_text_escapes_the_title(render: Any) -> None:
    payload = message_dict(render(EVIL_CARD))
    assert_no_raw_markup(payload)


def test_offer() -> None:
    offered = card(OFFERED, owner_id="U2", due_date=FRIDAY, cadence_weeks=2)
    payload = message_dict(render_offer(card=offered, leader_id="UL"))
    section, context, actions = payload["blocks"]
    assert section["text"]["text"].startswith(
        "<@UL> would like you to own an initiative.\n*Slip alerts*\n*For* Speed → Weekly releases"
    )
    assert context["elements"][0]["text"] == (
        "Due Friday 3 April · check-ins every two weeks, on Mondays at 10:00 your time, in a DM "
        "like this one · you can log "
        "quick wins any time"
    )
    assert [(b["action_id"], b["value"], b["text"]["text"]) for b in actions["elements"]] == [
        ("initiatives.accept", "12", "Accept"),
        ("initiatives.decline", "12", "Decline…"),
    ]
    assert payload["text"] == "<@UL> would like you to own an initiative. Slip alerts"


def test_offer_without_a_due_date() -> None:
    payload = message_dict(render_offer(card=card(OFFERED, owner_id="U2"), leader_id="UL"))
    assert contexts(payload["blocks"])[0].startswith("Due no date yet · check-ins every week,")


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("Too busy", "<@U2> declined *Slip alerts*: Too busy"),
        (None, "<@U2> declined *Slip alerts*: no reason given"),
    ],
)
def test_declined_for_leader(reason: str | None, expected: str) -> None:
    payload = message_dict(
        render_declined_for_leader(card=card(D, owner_id="U2", decline_reason=reason))
    )
    assert payload["blocks"][0]["text"]["text"] == expected
    assert [(b["action_id"], b["value"]) for b in buttons(payload["blocks"])] == [
        ("initiatives.commit", "12")
    ]


# --- worst cases -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(InitiativeStatus))
def test_messages_worst_case_fit(status: InitiativeStatus) -> None:
    huge = replace(HUGE, status=status)
    message_dict(render_initiative_card(huge))
    message_dict(render_offer(card=huge, leader_id="U0123456789"))
    message_dict(render_declined_for_leader(card=huge))


@pytest.mark.parametrize("status", [P, D, OFFERED])
def test_commit_modal_worst_case_fits(status: InitiativeStatus) -> None:
    payload = view_dict(
        render_commit_modal(
            card=replace(HUGE, status=status),
            active=10**9,
            cap=10**9,
            today=TODAY,
            default_due=TODAY,
        )
    )
    blocks = by_block_id(payload["blocks"])
    assert len(blocks["initiative.title"]["element"]["initial_value"]) == 150
    assert len(blocks["initiative.implications"]["element"]["initial_value"]) == 1_000


def test_propose_modal_worst_case_fits() -> None:
    outcomes = [OutcomeOption(n, AMPERSANDS, AMPERSANDS) for n in range(150)]
    payload = view_dict(render_propose_modal(outcomes=outcomes, preselected=149))
    element = by_block_id(payload["blocks"])["initiative.outcome"]["element"]
    assert len(element["options"]) == 100
    assert [o["value"] for o in element["options"]] == [str(n) for n in range(100)]
    assert all(len(o["text"]["text"]) <= 75 for o in element["options"])
    assert element["options"][0]["text"]["text"].endswith("…")
    assert "initial_option" not in element  # the 150th outcome is not among the options


def test_win_modal_worst_case_fits() -> None:
    initiatives = [OwnedInitiative(n, "&" * 150) for n in range(150)]
    payload = view_dict(render_win_modal(initiatives=initiatives, text=AMPERSANDS))
    blocks = by_block_id(payload["blocks"])
    options = blocks["win.initiative"]["element"]["options"]
    assert len(options) == 100
    assert all(len(o["text"]["text"]) <= 75 for o in options)
    assert blocks["win.text"]["element"]["initial_value"] == "&" * 1_000


def test_commitments_worst_case_fits() -> None:
    cards = [replace(HUGE, initiative_id=n, status=A) for n in range(30)]
    blocks = home_dicts(render_commitments(cards))
    assert len(blocks) == 11


def pipeline_cards(*statuses: InitiativeStatus) -> list[InitiativeCard]:
    """Initiatives at their longest: a 150-character title, an owner, a long due date."""
    # Plain letters: "&" would make `clip` cut the title to fewer characters.
    return [
        replace(HUGE, initiative_id=n, status=s, title="x" * 150) for n, s in enumerate(statuses)
    ]


# A pipeline section holds the theme (up to 200 characters), the outcome (up to 500) and up to 12
# lines of ~200 characters each, which could pass a section's 3,000 (slack_sdk then refuses the
# block and the leader's App Home cannot be published): lines that would not fit are counted
# in "…and N more." instead. Reachable under the default cap of 3 (three under way plus ten
# declined, which hold no slot) and under the largest cap of 10.


@pytest.mark.parametrize(
    "cards",
    [
        pipeline_cards(*[P] * 30),
        pipeline_cards(*[DONE] * 30),
        pipeline_cards(*[CLOSED] * 30),
        pipeline_cards(*[D] * 30),
        pipeline_cards(*[OFFERED] * 3, *[D] * 10),
        pytest.param(pipeline_cards(*[A] * 3, *[D] * 10), id="cap3-accepted"),
        pytest.param(pipeline_cards(*[A] * 10, *[D] * 3), id="cap10-accepted"),
    ],
)
def test_pipeline_worst_case_fits(cards: list[InitiativeCard]) -> None:
    # A theme label at its input's 150 and a statement at its 500, in plain letters too.
    outcome = PipelineOutcome("t" * 150, "s" * 500, cards)
    blocks = home_dicts(render_pipeline(tour_id=7, outcomes=[outcome] * 3))
    assert [b["type"] for b in blocks] == ["section"] * 3 + ["actions"]
    assert len(blocks[-1]["elements"]) <= 6
    for section in blocks[:3]:
        text = section["text"]["text"]
        assert len(text) <= 3_000
        shown = text.count("\n• ")
        if shown < len(cards):
            assert text.endswith(f"…and {len(cards) - shown} more.")


# --- the leader commits ------------------------------------------------------------------------


def commit_payload(c: InitiativeCard, **kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"active": 1, "cap": 3, "today": TODAY, "default_due": FRIDAY}
    args.update(kwargs)
    return view_dict(render_commit_modal(card=c, **args))


@pytest.mark.parametrize(
    ("changes", "owner", "title"),
    [
        # a proposal: the suggested owner is preselected
        ({"suggested_owner_id": "U2"}, "U2", "Commit initiative"),
        ({}, None, "Commit initiative"),
        # declined: the owner who said no is not offered again
        ({"status": D, "owner_id": "U3", "suggested_owner_id": "U2"}, None, "Reassign initiative"),
        ({"status": D, "suggested_owner_id": "U2"}, None, "Reassign initiative"),
        # still offered: the current owner
        (
            {"status": OFFERED, "owner_id": "U3", "suggested_owner_id": "U2"},
            "U3",
            "Commit initiative",
        ),
    ],
)
def test_commit_modal_owner_and_title(
    changes: dict[str, Any], owner: str | None, title: str
) -> None:
    payload = commit_payload(replace(CARD, **changes))
    assert payload["title"]["text"] == title
    element = by_block_id(payload["blocks"])["initiative.owner"]["element"]
    assert element["type"] == "users_select"
    assert element["action_id"] == "initiative.owner.input"
    assert element.get("initial_user") == owner


@pytest.mark.parametrize(
    ("changes", "first"),
    [
        # declined with a reason: the leader reads it first
        (
            {"status": D, "owner_id": "U3", "decline_reason": "Too\nbusy"},
            "<@U3> declined: “Too busy” Choose someone else.",
        ),
        (
            {"status": D, "owner_id": "U3", "decline_reason": EVIL},
            f"<@U3> declined: “{EVIL_ESCAPED}” Choose someone else.",
        ),
        ({"status": D, "owner_id": "U3"}, "<@U3> declined. Choose someone else."),
        # a proposal: no such line, the modal opens with what it answers
        ({}, None),
    ],
)
def test_commit_modal_shows_the_decline_reason(changes: dict[str, Any], first: str | None) -> None:
    payload = commit_payload(replace(CARD, **changes))
    head = payload["blocks"][0]
    if first is None:
        assert head["type"] == "context"
        assert all(b["type"] != "section" for b in payload["blocks"])
    else:
        assert head["type"] == "section"
        assert head["text"]["text"] == first
    assert_no_raw_mrkdwn(payload["blocks"])


@pytest.mark.parametrize(
    ("cadence_weeks", "initial"),
    [(1, ("1", "Every week")), (2, ("2", "Every two weeks")), (3, ("1", "Every week"))],
)
def test_commit_modal_cadence(cadence_weeks: int, initial: tuple[str, str]) -> None:
    payload = commit_payload(card(cadence_weeks=cadence_weeks))
    element = by_block_id(payload["blocks"])["initiative.cadence"]["element"]
    assert element["type"] == "radio_buttons"
    assert element["action_id"] == "initiative.cadence.input"
    assert [(o["value"], o["text"]["text"]) for o in element["options"]] == [
        ("1", "Every week"),
        ("2", "Every two weeks"),
    ]
    chosen = element["initial_option"]
    assert (chosen["value"], chosen["text"]["text"]) == initial


@pytest.mark.parametrize(
    ("due_date", "default_due", "today", "initial"),
    [
        # no date yet: the default
        (None, date(2026, 4, 13), TODAY, "2026-04-13"),
        # a default already past: today
        (None, date(2026, 3, 1), TODAY, "2026-03-16"),
        # the card's own date wins over the default
        (date(2026, 5, 1), date(2026, 4, 13), TODAY, "2026-05-01"),
        # ...unless it has passed (a declined one reassigned later): today
        (date(2026, 3, 2), date(2026, 4, 13), TODAY, "2026-03-16"),
    ],
)
def test_commit_modal_due_date(
    due_date: date | None, default_due: date, today: date, initial: str
) -> None:
    payload = commit_payload(card(due_date=due_date), today=today, default_due=default_due)
    element = by_block_id(payload["blocks"])["initiative.due"]["element"]
    assert element["type"] == "datepicker"
    assert element["initial_date"] == initial


@pytest.mark.parametrize(
    ("status", "active", "cap", "taken"),
    [
        (P, 0, 3, 0),
        (P, 2, 3, 2),
        # reassigning: a declined one holds no slot, so the count is the others'
        (D, 3, 3, 3),
        (D, 0, 3, 0),
        (OFFERED, 3, 5, 3),
    ],
)
def test_commit_modal_cap_line(status: InitiativeStatus, active: int, cap: int, taken: int) -> None:
    payload = commit_payload(card(status, owner_id="U3"), active=active, cap=cap)
    assert contexts(payload["blocks"])[-1] == (
        f"{taken} of {cap} initiatives are on the go for this tour. A few, done well, beat many "
        "started."
    )


def test_commit_modal_ids_and_prefills() -> None:
    payload = commit_payload(card(backers=3, title=EVIL, implications=f"{EVIL}\nsecond line"))
    assert payload["callback_id"] == "initiatives.commit"
    assert json.loads(payload["private_metadata"]) == {"initiative_id": 12}
    assert (payload["submit"]["text"], payload["close"]["text"]) == ("Offer it", "Cancel")
    blocks = by_block_id(payload["blocks"])
    assert list(blocks) == [
        "initiative.title",
        "initiative.owner",
        "initiative.due",
        "initiative.cadence",
        "initiative.checkin_day",
        "initiative.implications",
    ]
    for block_id, block in blocks.items():
        assert block["element"]["action_id"] == f"{block_id}.input"
    # inputs are prefilled raw: what the leader edits is what was typed
    assert blocks["initiative.title"]["element"]["initial_value"] == EVIL
    implications = blocks["initiative.implications"]["element"]
    assert implications["initial_value"] == f"{EVIL}\nsecond line"
    assert implications["multiline"] is True
    assert (
        contexts(payload["blocks"])[0]
        == "For Speed → Weekly releases · proposed by <@U1> · 3 backers"
    )


# --- proposing and quick wins --------------------------------------------------------------------

TWO = [OutcomeOption(1, "Speed", "Weekly releases"), OutcomeOption(2, "Support", "Fewer tickets")]


@pytest.mark.parametrize(
    ("outcomes", "preselected", "initial"),
    [
        (TWO, 2, "2"),  # the one asked for
        (TWO, None, None),  # two to choose from: none chosen
        (TWO, 99, None),  # not among them: none chosen
        (TWO[:1], None, "1"),  # the only one is chosen
        (TWO[:1], 99, "1"),
    ],
)
def test_propose_modal_preselection(
    outcomes: list[OutcomeOption], preselected: int | None, initial: str | None
) -> None:
    payload = view_dict(render_propose_modal(outcomes=outcomes, preselected=preselected))
    element = by_block_id(payload["blocks"])["initiative.outcome"]["element"]
    assert element.get("initial_option", {}).get("value") == initial
    assert [(o["value"], o["text"]["text"]) for o in element["options"]] == [
        (str(o.outcome_id), f"{o.theme_label} → {o.statement}") for o in outcomes
    ]


def test_propose_modal_inputs() -> None:
    payload = view_dict(render_propose_modal(outcomes=TWO))
    assert payload["callback_id"] == "initiatives.propose"
    assert (payload["title"]["text"], payload["submit"]["text"]) == (
        "Propose an initiative",
        "Propose",
    )
    blocks = by_block_id(payload["blocks"])
    assert {
        block_id: (block["element"]["type"], block.get("optional", False))
        for block_id, block in blocks.items()
    } == {
        "initiative.outcome": ("static_select", False),
        "initiative.title": ("plain_text_input", False),
        "initiative.implications": ("plain_text_input", False),
        "initiative.tracking": ("plain_text_input", False),
        "initiative.quick_win": ("plain_text_input", True),
        "initiative.suggested_owner": ("users_select", True),
    }
    assert {
        b: blocks[b]["element"]["max_length"]
        for b in ("initiative.title", "initiative.implications", "initiative.tracking")
    } == {"initiative.title": 150, "initiative.implications": 1_000, "initiative.tracking": 300}


WINS = [OwnedInitiative(4, "Slip alerts"), OwnedInitiative(9, "Release notes")]


@pytest.mark.parametrize(
    ("initiatives", "preselected", "initial"),
    [
        (WINS, 9, "9"),
        (WINS, None, None),
        (WINS, 5, None),
        (WINS[:1], None, "4"),
        (WINS[:1], 5, "4"),
    ],
)
def test_win_modal_preselection(
    initiatives: list[OwnedInitiative], preselected: int | None, initial: str | None
) -> None:
    payload = view_dict(render_win_modal(initiatives=initiatives, text="", preselected=preselected))
    blocks = by_block_id(payload["blocks"])
    element = blocks["win.initiative"]["element"]
    assert element.get("initial_option", {}).get("value") == initial
    assert [(o["value"], o["text"]["text"]) for o in element["options"]] == [
        (str(i.initiative_id), i.title) for i in initiatives
    ]
    assert "initial_value" not in blocks["win.text"]["element"]


def test_win_modal_prefills_the_text_raw() -> None:
    payload = view_dict(render_win_modal(initiatives=WINS, text=EVIL))
    assert payload["callback_id"] == "initiatives.win"
    assert by_block_id(payload["blocks"])["win.text"]["element"]["initial_value"] == EVIL


# --- App Home ----------------------------------------------------------------------------------


def pipeline(outcomes: Sequence[PipelineOutcome], tour_id: int = 7) -> list[dict[str, Any]]:
    return home_dicts(render_pipeline(tour_id=tour_id, outcomes=outcomes))


def test_pipeline_lines() -> None:
    cards = [
        card(P, initiative_id=1, backers=1),
        card(OFFERED, initiative_id=2, title="Offered", due_date=FRIDAY),
        card(A, initiative_id=3, title="Under way", owner_id="U2", progress=40, due_date=FRIDAY),
        card(DONE, initiative_id=4, title="Done", owner_id="U2", progress=100, due_date=FRIDAY),
        card(CLOSED, initiative_id=5, title="Stopped", owner_id="U3", due_date=FRIDAY),
        card(D, initiative_id=6, title="Declined", owner_id="U4", backers=2),
    ]
    blocks = pipeline([PipelineOutcome(EVIL, EVIL, cards), PipelineOutcome("Support", "Calm")])
    assert [b["type"] for b in blocks] == ["section", "section", "actions"]
    assert blocks[0]["text"]["text"].split("\n") == [
        f"*{EVIL_ESCAPED}* → {EVIL_ESCAPED}",
        "• Slip alerts — proposed · 1 backer",
        "• Offered — no owner · waiting for the owner · due Friday 3 April",
        "• Under way — <@U2> · under way · `▓▓▓▓░░░░░░` 40% · due Friday 3 April",
        "• Done — <@U2> · done · `▓▓▓▓▓▓▓▓▓▓` 100%",
        "• Stopped — <@U3> · closed",
        "• Declined — <@U4> · declined, to reassign",
    ]
    assert blocks[1]["text"]["text"] == "*Support* → Calm\n_No initiatives proposed yet._"
    assert_no_raw_mrkdwn(blocks)


@pytest.mark.parametrize("status", list(InitiativeStatus))
def test_pipeline_progress_bar_only_once_under_way(status: InitiativeStatus) -> None:
    blocks = pipeline([PipelineOutcome("S", "O", [card(status, owner_id="U2", progress=60)])])
    line = blocks[0]["text"]["text"].split("\n")[1]
    assert ("`▓▓▓▓▓▓░░░░` 60%" in line) is (status in (A, DONE))


@pytest.mark.parametrize(
    ("count", "more"), [(12, None), (13, "…and 1 more."), (40, "…and 28 more.")]
)
def test_pipeline_shows_twelve_per_outcome(count: int, more: str | None) -> None:
    cards = [card(A, initiative_id=n, title=f"I{n}", owner_id="U2") for n in range(count)]
    lines = pipeline([PipelineOutcome("S", "O", cards)])[0]["text"]["text"].split("\n")
    assert [line.split(" — ")[0] for line in lines[1:13]] == [f"• I{n}" for n in range(12)]
    assert lines[13:] == ([] if more is None else [more])


def test_pipeline_buttons_declined_first_then_most_backed() -> None:
    first = [
        card(P, initiative_id=1, title="P1", backers=1),
        card(P, initiative_id=2, title="P5", backers=5),
        card(D, initiative_id=3, title="D0", backers=0, owner_id="U2"),
        card(A, initiative_id=4, title="A9", backers=9, owner_id="U2"),
    ]
    second = [
        card(P, initiative_id=5, title="P3", backers=3),
        card(D, initiative_id=6, title="D2", backers=2, owner_id="U2"),
        card(P, initiative_id=7, title="P0", backers=0),  # the sixth waiting: no button
    ]
    blocks = pipeline([PipelineOutcome("S", "O", first), PipelineOutcome("T", "Q", second)])
    actions = blocks[-1]
    assert actions["block_id"] == "home.pipeline.7"
    assert [(b["action_id"], b["value"], b["text"]["text"]) for b in actions["elements"]] == [
        ("initiatives.commit.6", "6", "Reassign: D2"),
        ("initiatives.commit.3", "3", "Reassign: D0"),
        ("initiatives.commit.2", "2", "Commit: P5"),
        ("initiatives.commit.5", "5", "Commit: P3"),
        ("initiatives.commit.1", "1", "Commit: P1"),
        ("initiatives.propose", "7", "Propose an initiative"),
    ]
    action_ids = [b["action_id"] for b in actions["elements"]]
    assert len(set(action_ids)) == len(action_ids)


def test_pipeline_offers_to_withdraw_an_unanswered_offer_after_the_rest() -> None:
    cards = [
        card(OFFERED, initiative_id=8, title="O1", owner_id="U2"),
        card(P, initiative_id=1, title="P1", backers=1),
        card(A, initiative_id=4, title="A9", owner_id="U2"),  # answered: nothing to withdraw
        card(D, initiative_id=3, title="D0", owner_id="U3"),
    ]
    actions = pipeline([PipelineOutcome("S", "O", cards)])[-1]
    assert [(b["action_id"], b["value"], b["text"]["text"]) for b in actions["elements"]] == [
        ("initiatives.commit.3", "3", "Reassign: D0"),
        ("initiatives.commit.1", "1", "Commit: P1"),
        ("initiatives.withdraw.8", "8", "Withdraw offer: O1"),
        ("initiatives.propose", "7", "Propose an initiative"),
    ]


@pytest.mark.parametrize("title", ["&" * 150, "x" * 150, EVIL])
def test_pipeline_button_text_fits(title: str) -> None:
    blocks = pipeline([PipelineOutcome("S", "O", [card(P, title=title)])])
    commit, _ = blocks[-1]["elements"]
    assert len(commit["text"]["text"]) <= 75
    assert commit["text"]["text"].startswith("Commit: ")


def test_pipeline_without_outcomes_still_offers_to_propose() -> None:
    blocks = pipeline([], tour_id=3)
    assert [(b["type"], b["block_id"]) for b in blocks] == [("actions", "home.pipeline.3")]
    assert [(e["action_id"], e["value"]) for e in blocks[0]["elements"]] == [
        ("initiatives.propose", "3")
    ]


def test_commitments_empty() -> None:
    blocks = home_dicts(render_commitments([]))
    assert [b["type"] for b in blocks] == ["context"]
    assert contexts(blocks) == [
        "Nothing yet. When your leader offers you an initiative, it shows here with its check-ins."
    ]


@pytest.mark.parametrize(
    ("changes", "text", "accessory"),
    [
        (
            {"status": OFFERED, "due_date": FRIDAY},
            "*Slip alerts* — waiting for the owner · due Friday 3 April\nFor Weekly releases",
            ("initiatives.accept", "Accept"),
        ),
        (
            {"status": A, "progress": 40, "next_checkin": date(2026, 3, 23)},
            "*Slip alerts* — under way · no due date\nFor Weekly releases\n"
            "`▓▓▓▓░░░░░░` 40% · next check-in Monday 23 March",
            ("initiatives.win", "Log a win"),
        ),
        (
            {"status": A, "due_date": FRIDAY},
            "*Slip alerts* — under way · due Friday 3 April\nFor Weekly releases\n"
            "`░░░░░░░░░░` 0% · check-ins every week",
            ("initiatives.win", "Log a win"),
        ),
        (
            {"status": A, "cadence_weeks": 2},
            "*Slip alerts* — under way · no due date\nFor Weekly releases\n"
            "`░░░░░░░░░░` 0% · check-ins every two weeks",
            ("initiatives.win", "Log a win"),
        ),
        (
            {"status": DONE, "progress": 100},
            "*Slip alerts* — done · no due date\nFor Weekly releases",
            None,
        ),
        (
            {"status": D},
            "*Slip alerts* — declined, to reassign · no due date\nFor Weekly releases",
            None,
        ),
    ],
)
def test_commitments_rows(
    changes: dict[str, Any], text: str, accessory: tuple[str, str] | None
) -> None:
    (block,) = home_dicts(render_commitments([replace(CARD, **changes)]))
    assert block["text"]["text"] == text
    if accessory is None:
        assert "accessory" not in block
    else:
        button = block["accessory"]
        assert (button["action_id"], button["text"]["text"]) == accessory
        assert button["value"] == "12"


def test_commitments_escape_user_text() -> None:
    blocks = home_dicts(render_commitments([replace(EVIL_CARD, status=A)]))
    assert blocks[0]["text"]["text"].startswith(f"**bold* {EVIL_ESCAPED}* — under way")
    assert_no_raw_mrkdwn(blocks)


@pytest.mark.parametrize(("count", "note"), [(1, None), (10, None), (11, "Showing 10 of 11.")])
def test_commitments_show_ten(count: int, note: str | None) -> None:
    cards = [card(OFFERED, initiative_id=n) for n in range(count)]
    blocks = home_dicts(render_commitments(cards))
    sections = [b for b in blocks if b["type"] == "section"]
    assert [s["accessory"]["value"] for s in sections] == [str(n) for n in range(min(count, 10))]
    assert contexts(blocks) == ([] if note is None else [note])


@pytest.mark.parametrize(
    ("percent", "expected"),
    [
        (-5, "`░░░░░░░░░░` 0%"),
        (0, "`░░░░░░░░░░` 0%"),
        (4, "`░░░░░░░░░░` 4%"),  # under half a cell
        (5, "`▓░░░░░░░░░` 5%"),  # half a cell rounds up
        (15, "`▓▓░░░░░░░░` 15%"),
        (50, "`▓▓▓▓▓░░░░░` 50%"),
        (99, "`▓▓▓▓▓▓▓▓▓▓` 99%"),
        (100, "`▓▓▓▓▓▓▓▓▓▓` 100%"),
        (150, "`▓▓▓▓▓▓▓▓▓▓` 100%"),
    ],
)
def test_progress_bar(percent: int, expected: str) -> None:
    assert progress_bar(percent) == expected


@pytest.mark.parametrize(
    ("back", "says"),
    [
        # Away until a known day: the offer waits for their first working hours back.
        (
            date(2026, 3, 6),
            "away until Friday 6 March, so the offer waits and reaches them in "
            "their first working hours back",
        ),
        # No end set: it goes in their next working hours, to be read when back.
        (
            None,
            "away with no end date set, so the offer waits and reaches them in their next "
            "working hours",
        ),
    ],
)
def test_the_leader_hears_an_offer_waits_for_an_owner_away(back: date | None, says: str) -> None:
    told = render_offer_held(owner_id="UT05", back=back)
    assert told.startswith("Offered to <@UT05>. Their Slack status says they're ")
    assert says in told
    assert "withdraw it from your App Home and offer it to someone else" in told
