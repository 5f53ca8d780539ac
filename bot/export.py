"""A tour as its leader may see it, as JSON or CSV (`partnerbot export`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
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
