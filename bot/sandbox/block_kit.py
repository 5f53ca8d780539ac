"""Slack's Block Kit limits as pure functions, so the fake Slack can refuse what Slack refuses.

Each problem reads "<json-pointer>: <what is wrong>"; an empty list means Slack would accept it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

Surface = Literal["message", "modal", "home"]

MAX_BLOCKS: dict[str, int] = {"message": 50, "modal": 100, "home": 100}
MAX_MESSAGE_TEXT = 40_000
MAX_MARKDOWN_BLOCK_TEXT = 12_000

BLOCK_TYPES = frozenset(
    {
        "section",
        "header",
        "divider",
        "actions",
        "context",
        "input",
        "image",
        "rich_text",
        "markdown",
    }
)
SELECT_TYPES = frozenset(
    {
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
    }
)
INPUT_ONLY_TYPES = frozenset(
    {
        "plain_text_input",
        "number_input",
        "email_text_input",
        "url_text_input",
        "rich_text_input",
        "file_input",
    }
)
INTERACTIVE_TYPES = (
    SELECT_TYPES
    | INPUT_ONLY_TYPES
    | {
        "button",
        "overflow",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "checkboxes",
        "radio_buttons",
    }
)
ELEMENT_TYPES = INTERACTIVE_TYPES | {"image"}
# Buttons and overflow menus only trigger actions; Slack refuses them as an input block's element.
NOT_INPUT_ELEMENTS = frozenset({"button", "overflow", "image"})


def validate_blocks(blocks: Sequence[Any], *, surface: Surface) -> list[str]:
    """Problems Slack would report for these blocks on this surface."""
    return _BlockChecker(surface).check_blocks(blocks, "/blocks")


def validate_view(view: Mapping[str, Any]) -> list[str]:
    """Problems Slack would report for a modal or App Home view (views.open/push/update/publish)."""
    problems: list[str] = []
    view_type = view.get("type")
    if view_type not in ("modal", "home"):
        return [f"/type: must be 'modal' or 'home' (got {view_type!r})"]
    surface: Surface = "modal" if view_type == "modal" else "home"
    if view_type == "modal":
        if "title" not in view:
            problems.append("/title: a modal requires a title")
        else:
            problems += _text_object(view["title"], "/title", max_len=24, plain_only=True)
    for key in ("submit", "close"):
        if key in view and view[key] is not None:
            problems += _text_object(view[key], f"/{key}", max_len=24, plain_only=True)
    for key, limit in (("callback_id", 255), ("external_id", 255), ("private_metadata", 3000)):
        value = view.get(key)
        if value is not None:
            problems += _string(value, f"/{key}", max_len=limit, allow_empty=True)
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        problems.append("/blocks: required, must be a list")
        return problems
    problems += _BlockChecker(surface).check_blocks(blocks, "/blocks")
    has_input = any(isinstance(b, Mapping) and b.get("type") == "input" for b in blocks)
    if view_type == "modal" and has_input and not view.get("submit"):
        problems.append("/submit: a modal with input blocks requires a submit button")
    return problems


def validate_message(text: Any, blocks: Sequence[Any] | None) -> list[str]:
    """Problems Slack would report for a message's text and blocks (chat.postMessage/update)."""
    problems: list[str] = []
    if text is not None:
        if not isinstance(text, str):
            problems.append("/text: must be a string")
        elif len(text) > MAX_MESSAGE_TEXT:
            problems.append(
                f"/text: must be at most {MAX_MESSAGE_TEXT} characters (got {len(text)})"
            )
    if blocks is not None:
        problems += validate_blocks(blocks, surface="message")
    return problems


def _string(value: Any, path: str, *, max_len: int, allow_empty: bool = False) -> list[str]:
    if not isinstance(value, str):
        return [f"{path}: must be a string"]
    if not value and not allow_empty:
        return [f"{path}: must not be empty"]
    if len(value) > max_len:
        return [f"{path}: must be at most {max_len} characters (got {len(value)})"]
    return []


def _text_object(obj: Any, path: str, *, max_len: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, Mapping):
        return [f"{path}: must be a text object"]
    kind = obj.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        return [f"{path}/type: must be {' or '.join(allowed)} (got {kind!r})"]
    return _string(obj.get("text"), f"{path}/text", max_len=max_len)


class _BlockChecker:
    """Walks one surface; block_ids are unique per surface, action_ids per block (Slack's rule)."""

    def __init__(self, surface: Surface) -> None:
        self.surface = surface
        self.block_ids: set[str] = set()

    def check_blocks(self, blocks: Any, path: str) -> list[str]:
        if not isinstance(blocks, Sequence) or isinstance(blocks, str):
            return [f"{path}: must be a list of blocks"]
        problems: list[str] = []
        limit = MAX_BLOCKS[self.surface]
        if len(blocks) > limit:
            problems.append(
                f"{path}: at most {limit} blocks in a {self.surface} (got {len(blocks)})"
            )
        for index, block in enumerate(blocks):
            problems += self.check_block(block, f"{path}/{index}")
        return problems

    def check_block(self, block: Any, path: str) -> list[str]:
        if not isinstance(block, Mapping):
            return [f"{path}: must be an object"]
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            return [f"{path}/type: unknown block type {kind!r}"]
        problems = self._block_id(block, path)
        action_ids: set[str] = set()
        check = getattr(self, f"_check_{kind}")
        problems += check(block, path, action_ids)
        return problems

    def _block_id(self, block: Mapping[str, Any], path: str) -> list[str]:
        if "block_id" not in block:
            return []
        block_id = block["block_id"]
        problems = _string(block_id, f"{path}/block_id", max_len=255)
        if isinstance(block_id, str):
            if block_id in self.block_ids:
                problems.append(f"{path}/block_id: duplicate block_id {block_id!r}")
            self.block_ids.add(block_id)
        return problems

    def _check_section(
        self, block: Mapping[str, Any], path: str, action_ids: set[str]
    ) -> list[str]:
        problems: list[str] = []
        text, fields = block.get("text"), block.get("fields")
        if text is None and not fields:
            problems.append(f"{path}: a section needs text or fields")
        if text is not None:
            problems += _text_object(text, f"{path}/text", max_len=3000)
        if fields is not None:
            if not isinstance(fields, list):
                problems.append(f"{path}/fields: must be a list")
            else:
                if len(fields) > 10:
                    problems.append(f"{path}/fields: at most 10 fields (got {len(fields)})")
                for i, field in enumerate(fields):
                    problems += _text_object(field, f"{path}/fields/{i}", max_len=2000)
        if "accessory" in block:
            problems += self._element(block["accessory"], f"{path}/accessory", action_ids)
        return problems

    def _check_header(self, block: Mapping[str, Any], path: str, action_ids: set[str]) -> list[str]:
        return _text_object(block.get("text"), f"{path}/text", max_len=150, plain_only=True)

    def _check_divider(
        self, block: Mapping[str, Any], path: str, action_ids: set[str]
    ) -> list[str]:
        return []

    def _check_actions(
        self, block: Mapping[str, Any], path: str, action_ids: set[str]
    ) -> list[str]:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            return [f"{path}/elements: required, a non-empty list"]
        problems: list[str] = []
        if len(elements) > 25:
            problems.append(f"{path}/elements: at most 25 elements (got {len(elements)})")
        for i, element in enumerate(elements):
            element_path = f"{path}/elements/{i}"
            if isinstance(element, Mapping) and element.get("type") == "image":
                problems.append(f"{element_path}/type: image is not allowed in an actions block")
                continue
            problems += self._element(element, element_path, action_ids)
        return problems

    def _check_context(
        self, block: Mapping[str, Any], path: str, action_ids: set[str]
    ) -> list[str]:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            return [f"{path}/elements: required, a non-empty list"]
        problems: list[str] = []
        if len(elements) > 10:
            problems.append(f"{path}/elements: at most 10 elements (got {len(elements)})")
        for i, element in enumerate(elements):
            element_path = f"{path}/elements/{i}"
            if isinstance(element, Mapping) and element.get("type") == "image":
                problems += _image_element(element, element_path)
            else:
                problems += _text_object(element, element_path, max_len=3000)
        return problems

    def _check_input(self, block: Mapping[str, Any], path: str, action_ids: set[str]) -> list[str]:
        problems: list[str] = []
        if self.surface == "message":
            problems.append(f"{path}/type: input blocks are only allowed in modals and App Home")
        problems += _text_object(block.get("label"), f"{path}/label", max_len=2000, plain_only=True)
        if "hint" in block:
            problems += _text_object(block["hint"], f"{path}/hint", max_len=2000, plain_only=True)
        element = block.get("element")
        if isinstance(element, Mapping) and element.get("type") in NOT_INPUT_ELEMENTS:
            problems.append(f"{path}/element/type: {element.get('type')} is not an input element")
        else:
            problems += self._element(element, f"{path}/element", action_ids)
        return problems

    def _check_image(self, block: Mapping[str, Any], path: str, action_ids: set[str]) -> list[str]:
        problems = _image_element(block, path)
        if "title" in block:
            problems += _text_object(block["title"], f"{path}/title", max_len=2000, plain_only=True)
        return problems

    def _check_rich_text(
        self, block: Mapping[str, Any], path: str, action_ids: set[str]
    ) -> list[str]:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            return [f"{path}/elements: required, a non-empty list"]
        return []

    def _check_markdown(
        self, block: Mapping[str, Any], path: str, action_ids: set[str]
    ) -> list[str]:
        problems: list[str] = []
        if self.surface != "message":
            problems.append(f"{path}/type: markdown blocks are only allowed in messages")
        problems += _string(block.get("text"), f"{path}/text", max_len=MAX_MARKDOWN_BLOCK_TEXT)
        return problems

    def _element(self, element: Any, path: str, action_ids: set[str]) -> list[str]:
        if not isinstance(element, Mapping):
            return [f"{path}: must be an element object"]
        kind = element.get("type")
        if kind not in ELEMENT_TYPES:
            return [f"{path}/type: unknown element type {kind!r}"]
        if kind == "image":
            return _image_element(element, path)
        problems: list[str] = []
        if "action_id" in element:
            action_id = element["action_id"]
            problems += _string(action_id, f"{path}/action_id", max_len=255)
            # Slack only requires uniqueness within the containing block: the same
            # action_id on one button per row, in separate blocks, is valid and common.
            if isinstance(action_id, str):
                if action_id in action_ids:
                    problems.append(f"{path}/action_id: duplicate action_id {action_id!r}")
                action_ids.add(action_id)
        if "placeholder" in element:
            problems += _text_object(
                element["placeholder"], f"{path}/placeholder", max_len=150, plain_only=True
            )
        if kind == "button":
            problems += _button(element, path)
        elif kind in SELECT_TYPES:
            problems += _options_list(element, path, max_options=100, option_max_len=75)
        elif kind == "overflow":
            problems += _options_list(element, path, max_options=5, option_max_len=75, minimum=2)
        elif kind in ("checkboxes", "radio_buttons"):
            problems += _options_list(element, path, max_options=10, option_max_len=75, minimum=1)
        elif kind == "plain_text_input":
            for key in ("min_length", "max_length"):
                value = element.get(key)
                if value is not None and not (isinstance(value, int) and 0 <= value <= 3000):
                    problems.append(f"{path}/{key}: must be an integer from 0 to 3000")
        return problems


def _button(element: Mapping[str, Any], path: str) -> list[str]:
    problems = _text_object(element.get("text"), f"{path}/text", max_len=75, plain_only=True)
    if "value" in element:
        problems += _string(element["value"], f"{path}/value", max_len=2000)
    if "url" in element:
        problems += _string(element["url"], f"{path}/url", max_len=3000)
    style = element.get("style")
    if style is not None and style not in ("primary", "danger"):
        problems.append(f"{path}/style: must be 'primary' or 'danger' (got {style!r})")
    return problems


def _image_element(element: Mapping[str, Any], path: str) -> list[str]:
    problems: list[str] = []
    if "slack_file" not in element:
        problems += _string(element.get("image_url"), f"{path}/image_url", max_len=3000)
    problems += _string(element.get("alt_text"), f"{path}/alt_text", max_len=2000)
    return problems


def _options_list(
    element: Mapping[str, Any],
    path: str,
    *,
    max_options: int,
    option_max_len: int,
    minimum: int = 0,
) -> list[str]:
    problems: list[str] = []
    groups = element.get("option_groups")
    if groups is not None:
        if not isinstance(groups, list):
            return [f"{path}/option_groups: must be a list"]
        if len(groups) > 100:
            problems.append(f"{path}/option_groups: at most 100 groups (got {len(groups)})")
        for g, group in enumerate(groups):
            group_path = f"{path}/option_groups/{g}"
            if not isinstance(group, Mapping):
                problems.append(f"{group_path}: must be an object")
                continue
            problems += _text_object(
                group.get("label"), f"{group_path}/label", max_len=75, plain_only=True
            )
            problems += _options(group.get("options"), f"{group_path}/options", 100, 1)
        return problems
    options = element.get("options")
    # Only static menus, overflow, checkboxes and radios carry options; a users_select has none.
    if options is None and element.get("type") not in ("static_select", "multi_static_select"):
        if minimum:
            problems.append(f"{path}/options: required")
        return problems
    return problems + _options(options, f"{path}/options", max_options, max(minimum, 1))


def _options(options: Any, path: str, max_options: int, minimum: int) -> list[str]:
    if not isinstance(options, list):
        return [f"{path}: required, must be a list"]
    problems: list[str] = []
    if len(options) < minimum:
        problems.append(f"{path}: at least {minimum} options (got {len(options)})")
    if len(options) > max_options:
        problems.append(f"{path}: at most {max_options} options (got {len(options)})")
    for i, option in enumerate(options):
        problems += _option(option, f"{path}/{i}")
    return problems


def _option(option: Any, path: str) -> list[str]:
    if not isinstance(option, Mapping):
        return [f"{path}: must be an option object"]
    problems = _text_object(option.get("text"), f"{path}/text", max_len=75)
    problems += _string(option.get("value"), f"{path}/value", max_len=150)
    if "description" in option:
        problems += _text_object(option["description"], f"{path}/description", max_len=75)
    if "url" in option:
        problems += _string(option["url"], f"{path}/url", max_len=3000)
    return problems


def iter_elements(blocks: Iterable[Any]) -> Iterable[tuple[str | None, Mapping[str, Any]]]:
    """Every interactive element in blocks, with the block_id of its block (None when unset)."""
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        block_id = block.get("block_id")
        candidates: list[Any] = []
        if isinstance(block.get("elements"), list) and block.get("type") == "actions":
            candidates += block["elements"]
        for key in ("accessory", "element"):
            if key in block:
                candidates.append(block[key])
        for element in candidates:
            if isinstance(element, Mapping) and element.get("type") in INTERACTIVE_TYPES:
                yield block_id, element
