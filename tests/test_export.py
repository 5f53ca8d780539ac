"""The export's CSV: every cell survives a round trip through a CSV reader, and no cell reaches
a spreadsheet as a formula."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.export import neutralise_formula, to_csv


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
