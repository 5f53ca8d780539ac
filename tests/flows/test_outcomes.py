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
    next_checkin_day,
    next_status,
    outcome_problems,
    outcome_theme_choices,
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


MON, WED, SUN = date(2026, 3, 16), date(2026, 3, 18), date(2026, 3, 22)


@pytest.mark.parametrize(
    ("committed_on", "today", "cadence_weeks", "weekday", "expected"),
    [
        # committed on a Monday: the following Monday, never the same day
        (MON, MON, 1, 0, date(2026, 3, 23)),
        # committed mid-week or on a Sunday: the next Monday
        (WED, WED, 1, 0, date(2026, 3, 23)),
        (SUN, SUN, 1, 0, date(2026, 3, 23)),
        # today is before the first check-in: still the first one
        (WED, date(2026, 3, 20), 2, 0, date(2026, 3, 23)),
        # today is the first check-in: that day
        (WED, date(2026, 3, 23), 1, 0, date(2026, 3, 23)),
        # past the first, weekly: the next Monday
        (WED, date(2026, 3, 24), 1, 0, date(2026, 3, 30)),
        # on a later check-in day: that day
        (WED, date(2026, 3, 30), 1, 0, date(2026, 3, 30)),
        # every two weeks: the Monday in between is skipped
        (WED, date(2026, 3, 24), 2, 0, date(2026, 4, 6)),
        (WED, date(2026, 3, 30), 2, 0, date(2026, 4, 6)),
        (WED, date(2026, 4, 6), 2, 0, date(2026, 4, 6)),
        (WED, date(2026, 4, 7), 2, 0, date(2026, 4, 20)),
        # a cadence of 0 (or less) is treated as weekly
        (WED, date(2026, 3, 24), 0, 0, date(2026, 3, 30)),
        (WED, date(2026, 3, 24), -2, 0, date(2026, 3, 30)),
        # another check-in weekday: Friday
        (WED, WED, 1, 4, date(2026, 3, 20)),
        (date(2026, 3, 20), date(2026, 3, 20), 1, 4, date(2026, 3, 27)),
        (WED, date(2026, 3, 28), 2, 4, date(2026, 4, 3)),
        # across a month and a year
        (date(2026, 12, 30), date(2026, 12, 30), 1, 0, date(2027, 1, 4)),
        (date(2026, 12, 30), date(2027, 1, 5), 1, 0, date(2027, 1, 11)),
        (date(2026, 12, 30), date(2027, 1, 5), 2, 0, date(2027, 1, 18)),
        (date(2026, 1, 28), date(2026, 2, 3), 1, 0, date(2026, 2, 9)),
    ],
)
def test_next_checkin_day(
    committed_on: date, today: date, cadence_weeks: int, weekday: int, expected: date
) -> None:
    assert (
        next_checkin_day(
            committed_on=committed_on, today=today, cadence_weeks=cadence_weeks, weekday=weekday
        )
        == expected
    )


def test_next_checkin_day_defaults_to_monday() -> None:
    assert next_checkin_day(committed_on=WED, today=WED, cadence_weeks=1) == date(2026, 3, 23)


C, S, M, OWN = "challenge", "strength", "mixed", "own"


@pytest.mark.parametrize(
    ("themes", "totals", "order", "ticked"),
    [
        # the most voted first, and only the challenges that received votes start ticked
        ([(1, C), (2, S), (3, C)], {1: 2, 2: 5, 3: 7}, [3, 2, 1], [3, 1]),
        # a strength with one vote is listed but not ticked
        ([(1, S), (2, C)], {1: 1}, [1, 2], []),
        # a challenge nobody voted for is not ticked
        ([(1, C), (2, C)], {2: 3}, [2, 1], [2]),
        # a tie keeps the posted order
        ([(1, C), (2, C), (3, C)], {1: 2, 2: 2, 3: 2}, [1, 2, 3], [1, 2, 3]),
        # at most three start ticked, the most voted
        ([(n, C) for n in range(1, 6)], {n: n for n in range(1, 6)}, [5, 4, 3, 2, 1], [5, 4, 3]),
        # a "mixed" theme (from before sides were kept apart) holds challenges: ticked
        ([(1, M), (2, OWN)], {1: 1, 2: 4}, [2, 1], [1]),
        # no poll, no votes: nothing ticked, posted order
        ([(1, C), (2, S)], {}, [1, 2], []),
    ],
)
def test_set_outcomes_orders_by_votes_and_ticks_voted_challenges(
    themes: list[tuple[int, str]], totals: dict[int, int], order: list[int], ticked: list[int]
) -> None:
    ranked, picked = outcome_theme_choices(themes, totals)
    assert [theme_id for theme_id, _ in ranked] == order
    assert [votes for _, votes in ranked] == [totals.get(theme_id, 0) for theme_id in order]
    assert picked == ticked
