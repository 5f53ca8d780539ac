"""Reading what people typed into a modal: `view.state.values` by block id, whatever the
element type. Slack sends each kind of input under a different key."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.blocks.metadata import MAX_ROW_ID, TourMetadata

_VALUE_KEYS = (
    "value",
    "selected_user",
    "selected_users",
    "selected_conversation",
    "selected_channel",
    "selected_date",
    "selected_conversations",
)


def state_values(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    values = (view.get("state") or {}).get("values") or {}
    return values if isinstance(values, dict) else {}


def field(values: dict[str, dict[str, Any]], block_id: str) -> Any:
    """The value of the one input in `block_id`: text, a list of users, an id, a date string,
    the selected option's value, or the list of checked options' values. None when empty."""
    block = values.get(block_id) or {}
    for element in block.values():
        if not isinstance(element, dict):
            continue
        if "selected_option" in element:
            option = element["selected_option"]
            return option.get("value") if isinstance(option, dict) else None
        if "selected_options" in element:
            return [
                o.get("value") for o in element["selected_options"] or [] if isinstance(o, dict)
            ]
        for key in _VALUE_KEYS:
            if key in element:
                return element[key]
    return None


def text_field(values: dict[str, dict[str, Any]], block_id: str) -> str:
    value = field(values, block_id)
    return value if isinstance(value, str) else ""


def is_number(text: str) -> bool:
    """Plain ASCII digits that fit an id column. (str.isdigit() also accepts "²", which int()
    refuses, and any length.)"""
    return text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= MAX_ROW_ID


def as_date(value: Any) -> date | None:
    """A datepicker's "2026-03-09", or None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def metadata_tour_id(view: dict[str, Any]) -> int | None:
    """The tour a modal is about, or None for metadata that is missing or was tampered with."""
    metadata = TourMetadata.read(view)
    return metadata.tour_id if metadata else None
