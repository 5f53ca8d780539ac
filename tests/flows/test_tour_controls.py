from __future__ import annotations

from datetime import date

import pytest

from bot.flows.tour_controls import (
    Control,
    ControlProblem,
    ControlVerb,
    close_date_problem,
    is_control,
    parse_control,
)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("cancel", Control(ControlVerb.CANCEL)),  # the one open tour the person leads
        ("cancel 12", Control(ControlVerb.CANCEL, tour_id=12)),  # a tour by its number
        ("Cancel #12", Control(ControlVerb.CANCEL, tour_id=12)),  # any case, with a #
        (
            "extend 2026-03-12",
            Control(ControlVerb.EXTEND, close_date=date(2026, 3, 12)),
        ),
        (
            "extend 2026-03-12 4",
            Control(ControlVerb.EXTEND, tour_id=4, close_date=date(2026, 3, 12)),
        ),
        ("co-lead <@U42|ana>", Control(ControlVerb.CO_LEAD, user_id="U42")),  # Slack's escape
        ("colead <@U42> 3", Control(ControlVerb.CO_LEAD, tour_id=3, user_id="U42")),
    ],
)
def test_controls_parse(arguments: str, expected: Control) -> None:
    assert parse_control(arguments) == expected


@pytest.mark.parametrize(
    "arguments",
    [
        "extend",  # no date
        "extend 2026-02-30",  # not a day
        "co-lead",  # nobody
        "cancel soon",  # a word it does not know
    ],
)
def test_controls_that_cannot_be_done_say_why(arguments: str) -> None:
    assert isinstance(parse_control(arguments), ControlProblem)


@pytest.mark.parametrize(
    ("arguments", "control"),
    [
        ("cancel", True),
        ("extend 2026-03-12", True),
        ("co-lead <@U1>", True),
        ("<@U1> <#C1|team>", False),  # a launch with people and a channel
        ("", False),  # a plain launch
    ],
)
def test_only_control_words_leave_the_launch(arguments: str, control: bool) -> None:
    assert is_control(arguments) is control


@pytest.mark.parametrize(
    ("new", "fine"),
    [
        (date(2026, 3, 12), True),  # later
        (date(2026, 3, 5), True),  # earlier, from today on: shortened
        (date(2026, 3, 4), False),  # passed
        (date(2026, 3, 9), False),  # unchanged
    ],
)
def test_a_new_close_date(new: date, fine: bool) -> None:
    problem = close_date_problem(new, current=date(2026, 3, 9), today=date(2026, 3, 5))
    assert (problem is None) is fine
