"""A tour as its leader may see it, as JSON or CSV (`partnerbot export`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from bot.models import Tour

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def tour_record(tour: Tour) -> dict[str, Any]:
    return {
        "id": tour.id,
        "team_id": tour.team_id,
        "title": tour.title,
        "leader_id": tour.leader_id,
        "channel_id": tour.channel_id,
        "anonymous": tour.anonymous,
        "min_responses": tour.min_responses,
        "status": tour.status.value,
        "opens_at": tour.opens_at.isoformat(),
        "closes_at": tour.closes_at.isoformat(),
    }


def to_json(record: dict[str, Any]) -> str:
    return json.dumps(record, indent=2, ensure_ascii=False)


def to_csv(rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([neutralise_formula(cell) for cell in row])
    return buffer.getvalue()


def tour_csv(tour: Tour) -> str:
    record = tour_record(tour)
    return to_csv([("field", "value"), *record.items()])
