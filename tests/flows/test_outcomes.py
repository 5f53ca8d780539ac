"""Steps 3 and 4's rules, as tables."""

from __future__ import annotations

from datetime import date

import pytest

from bot.flows.outcomes import (
    InitiativeDraft,
    InitiativeEvent,
    InitiativeStatus,
    OutcomeDraft,
    Refused,
    Step,
    initiative_problems,
    next_status,
    outcome_problems,
)

TODAY = date(2026, 3, 16)
GOOD = OutcomeDraft(
    statement="Finance hears about delivery slips the day we know",
    partner="Finance",
    measure="Slip notices within 1 day, 9 in 10 times",
    target_date=date(2026, 6, 30),
)


@pytest.mark.parametrize(
    ("draft", "proposal", "fields"),
    [
        (GOOD, False, set()),  # a complete commitment
        (OutcomeDraft(GOOD.statement, "", GOOD.measure, None), True, set()),  # a proposal
        (OutcomeDraft("", "Finance", GOOD.measure, GOOD.target_date), False, {"statement"}),
        (OutcomeDraft(GOOD.statement, "", GOOD.measure, GOOD.target_date), False, {"partner"}),
        (OutcomeDraft(GOOD.statement, "Finance", " ", GOOD.target_date), True, {"measure"}),
        (OutcomeDraft(GOOD.statement, "Finance", GOOD.measure, None), False, {"target_date"}),
        # a target date in the past
        (
            OutcomeDraft(GOOD.statement, "Finance", GOOD.measure, date(2026, 3, 1)),
            False,
            {"target_date"},
        ),
        (OutcomeDraft("x" * 501, "Finance", GOOD.measure, GOOD.target_date), False, {"statement"}),
    ],
)
def test_outcome_problems(draft: OutcomeDraft, proposal: bool, fields: set[str]) -> None:
    assert set(outcome_problems(draft, today=TODAY, proposal=proposal)) == fields


@pytest.mark.parametrize(
    ("draft", "fields"),
    [
        (
            InitiativeDraft("Slip alerts", "We tell Finance first", "Weekly count", "A template"),
            set(),
        ),
        (InitiativeDraft("", "We tell Finance first", "Weekly count", ""), {"title"}),
        (InitiativeDraft("Slip alerts", "", "", ""), {"implications", "tracking"}),
        (InitiativeDraft("t" * 151, "x", "y", ""), {"title"}),  # too long a title
    ],
)
def test_initiative_problems(draft: InitiativeDraft, fields: set[str]) -> None:
    assert set(initiative_problems(draft)) == fields


P, OFFERED, A, D = (
    InitiativeStatus.PROPOSED,
    InitiativeStatus.OFFERED,
    InitiativeStatus.ACCEPTED,
    InitiativeStatus.DECLINED,
)


@pytest.mark.parametrize(
    ("status", "event", "active", "expected"),
    [
        (P, InitiativeEvent.COMMIT, 0, Step(OFFERED)),  # committed to an owner
        (P, InitiativeEvent.COMMIT, 2, Step(OFFERED)),  # the third of three
        (P, InitiativeEvent.COMMIT, 3, Step(P, Refused.CAP_REACHED)),  # a fourth: refused
        (OFFERED, InitiativeEvent.ACCEPT, 3, Step(A)),  # accepting keeps the slot it had
        (OFFERED, InitiativeEvent.DECLINE, 3, Step(D)),
        (D, InitiativeEvent.REASSIGN, 2, Step(OFFERED)),  # back to someone else
        (D, InitiativeEvent.REASSIGN, 3, Step(D, Refused.CAP_REACHED)),  # its slot went
        (OFFERED, InitiativeEvent.REASSIGN, 3, Step(OFFERED)),  # still offered: keeps its slot
        (A, InitiativeEvent.FINISH, 3, Step(InitiativeStatus.DONE)),
        (P, InitiativeEvent.ACCEPT, 0, Step(P, Refused.NOT_ALLOWED)),  # nobody offered it
        (A, InitiativeEvent.COMMIT, 0, Step(A, Refused.NOT_ALLOWED)),  # already committed
        (
            InitiativeStatus.DONE,
            InitiativeEvent.STOP,
            0,
            Step(InitiativeStatus.DONE, Refused.NOT_ALLOWED),
        ),
        (A, InitiativeEvent.STOP, 3, Step(InitiativeStatus.CLOSED)),
    ],
)
def test_next_status(
    status: InitiativeStatus, event: InitiativeEvent, active: int, expected: Step
) -> None:
    assert next_status(status, event, active=active, cap=3) == expected
