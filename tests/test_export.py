"""The export's CSV: every cell survives a round trip through a CSV reader, and no cell reaches
a spreadsheet as a formula."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.export import neutralise_formula, rows_with_names, to_csv, with_names


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),  # a formula
        ("  =1+1", "'  =1+1"),  # a formula after spaces: spreadsheets trim, then run it
        ("\u3000=1+1", "'\u3000=1+1"),  # after an ideographic space
        ("\uff1dSUM(A1)", "'\uff1dSUM(A1)"),  # a full-width equals sign
        (" \uff0b1", "' \uff0b1"),  # a full-width plus after a space
        ("\uff20cmd", "'\uff20cmd"),  # a full-width at sign
        ("-2", "'-2"),  # a minus starts a formula too
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),  # a tab or a carriage return first: Excel's DDE forms
        ("\rx", "'\rx"),
        ("plain = fine", "plain = fine"),  # a sign later in the text is harmless
        ("", ""),
        (None, ""),
        (3, "3"),
    ],
)
def test_a_cell_that_a_spreadsheet_would_run_gets_an_apostrophe(cell: object, written: str) -> None:
    assert neutralise_formula(cell) == written


def test_cells_with_line_breaks_and_quotes_stay_one_row_each() -> None:
    rows = [
        ["question", "answer"],
        ["Q1", "first line\rsecond line"],  # a lone CR used to be written bare
        ["Q2", "a\nb"],
        ["Q3", 'she said "ship it", then left'],
        ["Q4", "a\r\nb"],
    ]
    text = to_csv(rows)
    assert text.endswith("\r\n")
    assert list(csv.reader(io.StringIO(text, newline=""))) == rows
    # Each of the five rows ends with the row terminator, outside any quotes.
    assert text.count('"\r\n') + text.count("answer\r\n") == 5


@given(
    st.lists(
        st.lists(
            st.text(
                st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=20,
            ),
            min_size=1,
            max_size=4,
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_cells_round_trip_through_a_csv_reader(rows: list[list[str]]) -> None:
    read = list(csv.reader(io.StringIO(to_csv(rows), newline="")))
    assert read == [[neutralise_formula(cell) for cell in row] for row in rows]


NAMES = {"U1": "Ana", "U2": "Ben"}


@pytest.mark.parametrize(
    ("record", "named"),
    [
        # a name right after each person's id
        (
            {"leader_id": "U1", "title": "T"},
            {"leader_id": "U1", "leader_name": "Ana", "title": "T"},
        ),
        # at any depth
        (
            {"initiatives": [{"owner_id": "U2", "proposer_id": "U1"}]},
            {
                "initiatives": [
                    {
                        "owner_id": "U2",
                        "owner_name": "Ben",
                        "proposer_id": "U1",
                        "proposer_name": "Ana",
                    }
                ]
            },
        ),
        # an id the directory does not know, or none (an offer not yet made): null
        ({"owner_id": "UGONE"}, {"owner_id": "UGONE", "owner_name": None}),
        ({"owner_id": None}, {"owner_id": None, "owner_name": None}),
        # an anonymous tour's answers are bare texts: nothing to put a name next to
        ({"answers": ["U1 was great"]}, {"answers": ["U1 was great"]}),
        # other ids are not people
        ({"channel_id": "C1", "team_id": "T1"}, {"channel_id": "C1", "team_id": "T1"}),
    ],
)
def test_names_go_next_to_peoples_ids(record: dict[str, object], named: dict[str, object]) -> None:
    result = with_names(record, NAMES)
    assert result == named
    assert json.dumps(result) == json.dumps(named)  # in that order too


@pytest.mark.parametrize(
    ("rows", "named"),
    [
        # a name column after each person column
        (
            [("question", "user_id", "answer"), ("Q", "U1", "hi")],
            [["question", "user_id", "user_name", "answer"], ["Q", "U1", "Ana", "hi"]],
        ),
        (
            [("owner_id", "x", "proposer_id"), ("U2", 1, "UGONE")],
            [
                ["owner_id", "owner_name", "x", "proposer_id", "proposer_name"],
                ["U2", "Ben", 1, "UGONE", None],
            ],
        ),
        # an anonymous tour's answers: no person column, nothing added
        (
            [("question", "answer"), ("Q", "U1 was great")],
            [["question", "answer"], ["Q", "U1 was great"]],
        ),
        ([], []),
    ],
)
def test_csv_rows_get_a_name_column_after_each_person(
    rows: list[tuple[object, ...]], named: list[list[object]]
) -> None:
    assert rows_with_names(rows, NAMES) == named
