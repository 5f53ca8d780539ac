"""A tour as its leader may see it, as JSON or CSV (`partnerbot export`): formulas
neutralised, and people's display names next to their Slack ids when the directory gave them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# A spreadsheet runs a cell that starts with one of these as a formula, also after leading
# spaces, and some read the full-width signs (U+FF1D, U+FF0B, U+FF0D, U+FF20) as ASCII ones.
FORMULA_SIGNS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
FORMULA_PREFIXES = (*FORMULA_SIGNS, "\t", "\r")


def neutralise_formula(value: object) -> str:
    """The cell as text, with a leading apostrophe when a spreadsheet would run it."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES) or text.lstrip().startswith(FORMULA_SIGNS):
        return "'" + text
    return text


def to_json(record: dict[str, Any]) -> str:
    return json.dumps(record, indent=2, ensure_ascii=False)


def to_csv(rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    # RFC 4180 rows end in CRLF; with that terminator the csv module also quotes every cell
    # holding a lone \r, which "\n" alone would leave bare to split the row in a reader.
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([neutralise_formula(cell) for cell in row])
    return buffer.getvalue()


# The keys (JSON) and columns (CSV) that hold a person's Slack id, and where their name goes.
PERSON_KEYS = {
    "user_id": "user_name",
    "leader_id": "leader_name",
    "owner_id": "owner_name",
    "proposer_id": "proposer_name",
    "author_id": "author_name",
}


def _name(user_id: object, names: Mapping[str, str]) -> str | None:
    return names.get(user_id) if isinstance(user_id, str) else None


def with_names(value: Any, names: Mapping[str, str]) -> Any:
    """The record with each person's display name right after their id ("owner_name" after
    "owner_id"), at any depth; null for an id the directory does not know. Names go only next
    to ids the record already holds: an anonymous tour's answers hold none, so none of its
    answers ever gets a name."""
    if isinstance(value, list):
        return [with_names(item, names) for item in value]
    if not isinstance(value, dict):
        return value
    named: dict[str, Any] = {}
    for key, item in value.items():
        named[key] = with_names(item, names)
        if key in PERSON_KEYS:
            named[PERSON_KEYS[key]] = _name(item, names)
    return named


def rows_with_names(
    rows: Sequence[Sequence[object]], names: Mapping[str, str]
) -> list[list[object]]:
    """CSV rows (a header first) with a name column right after each person's id column."""
    if not rows:
        return []
    header = [str(cell) for cell in rows[0]]
    people = {index for index, column in enumerate(header) if column in PERSON_KEYS}
    named: list[list[object]] = []
    for number, row in enumerate(rows):
        out: list[object] = []
        for index, cell in enumerate(row):
            out.append(cell)
            if index in people:
                out.append(PERSON_KEYS[header[index]] if number == 0 else _name(cell, names))
        named.append(out)
    return named
