"""Block Kit as plain text: what a message, modal or App Home looks like, readable in a terminal
and in the README. Pure functions over the dicts the fake Slack stores (`fake.messages`,
`fake.views`, `fake.home_views`); `partnerbot demo` prints its transcript with them.

Slack markup is made readable: `<@U1>` becomes `@Name` (from `names`, which maps user and
channel ids to display names), `<#C1>` `#name`, `<url|label>` `label (url)`, `&lt;` `<`. A real
`<!channel>` stays visible as `<!channel>`, so a transcript shows where the bot would ping
everyone. `*bold*` and `_italic_` are kept as typed: they read fine as plain text.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

DEFAULT_WIDTH = 88
# A section or field longer than this is cut for display (the message itself is not changed).
MAX_TEXT = 400
MAX_FIELD = 200
MAX_INPUT_VALUE = 120
CONTEXT_PREFIX = "  · "
RULE = "-" * 40
_COLUMN_GAP = 3
# Below this width, section fields are listed one per line rather than in two columns.
_MIN_COLUMNS_WIDTH = 40

# The emoji Partnerbot uses, and a few common ones; any other :name: stays as typed.
EMOJI = {
    "lock": "🔒",
    "bust_in_silhouette": "👤",
    "wave": "👋",
    "tada": "🎉",
    "white_check_mark": "✅",
    "warning": "⚠️",
    "bell": "🔔",
    "calendar": "📅",
    "bar_chart": "📊",
    "speech_balloon": "💬",
    "+1": "👍",
    "thumbsup": "👍",
    "heart": "❤️",
    "rocket": "🚀",
    "sparkles": "✨",
}

_ANGLE = re.compile(r"<([^<>]*)>")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")
_BROADCASTS = frozenset({"channel", "here", "everyone"})


# --- text ------------------------------------------------------------------------------------


def mrkdwn_to_text(text: str, *, names: Mapping[str, str]) -> str:
    """Slack's mrkdwn (or a message's plain `text`) as a person would read it."""
    return _unescape(_ANGLE.sub(lambda match: _angle(match.group(1), names), text), names)


def _angle(inner: str, names: Mapping[str, str]) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        user_id = target[1:]
        return "@" + names.get(user_id, label.lstrip("@") or user_id)
    if target.startswith("#"):
        channel_id = target[1:]
        return "#" + names.get(channel_id, label.lstrip("#") or channel_id)
    if target.startswith("!"):
        command = target[1:]
        if command in _BROADCASTS:
            return f"<!{command}>"  # shown as it is: a real ping, which a reader should notice
        if command.startswith("subteam^"):
            return label or "@" + names.get(command.partition("^")[2], "group")
        return label or f"<!{command}>"  # <!date^…|fallback> and the like
    if not label or label == target or target == f"mailto:{label}":
        return target.removeprefix("mailto:")
    return f"{label} ({target})"


def _unescape(text: str, names: Mapping[str, str]) -> str:
    """`&amp;`, `&lt;`, `&gt;` in one pass (so `&amp;lt;` stays `&lt;`), and known emoji."""
    text = _ENTITY.sub(lambda match: _ENTITIES[match.group(1)], text)
    return _EMOJI.sub(lambda match: EMOJI.get(match.group(1), match.group(0)), text)


def plain(obj: Any, *, names: Mapping[str, str]) -> str:
    """A text object (plain_text or mrkdwn), or a bare string, as readable text."""
    if isinstance(obj, str):
        return obj
    if not isinstance(obj, Mapping):
        return ""
    text = str(obj.get("text") or "")
    if obj.get("type") == "mrkdwn":
        return mrkdwn_to_text(text, names=names)
    return _EMOJI.sub(lambda match: EMOJI.get(match.group(1), match.group(0)), text)


def shorten(text: str, limit: int = MAX_TEXT) -> str:
    """`text`, or its first ~`limit` characters (cut at a space when one is near) and a note
    of how much was left out."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space >= limit * 0.8:
        cut = cut[:space]
    cut = cut.rstrip()
    return f"{cut}… (+{len(text) - len(cut):,} characters)"


def wrap(
    text: str,
    width: int = DEFAULT_WIDTH,
    *,
    prefix: str = "",
    subsequent_prefix: str | None = None,
) -> list[str]:
    """Each line of `text` wrapped to `width`; the first output line starts with `prefix`, the
    others with `subsequent_prefix` (default: spaces as wide as `prefix`). A line that starts
    with a bullet keeps its continuation lines under the bullet's text."""
    rest = " " * len(prefix) if subsequent_prefix is None else subsequent_prefix
    out: list[str] = []
    for line in text.split("\n"):
        lead = prefix if not out else rest
        bullet = re.match(r"\s*(?:[•\-*]|\d+\.)\s+", line)
        hanging = rest + " " * (len(bullet.group(0)) if bullet else 0)
        if not line.strip():
            out.append(lead.rstrip())
            continue
        out += textwrap.wrap(
            line,
            width=max(width, len(lead) + 10),
            initial_indent=lead,
            subsequent_indent=hanging,
            break_long_words=True,
            break_on_hyphens=False,
            drop_whitespace=True,
        ) or [lead.rstrip()]
    return out


# --- elements --------------------------------------------------------------------------------


def _at(user_id: str, names: Mapping[str, str]) -> str:
    return "@" + names.get(user_id, user_id)


def _hash(channel_id: str, names: Mapping[str, str]) -> str:
    return "#" + names.get(channel_id, channel_id)


def button(element: Mapping[str, Any], *, names: Mapping[str, str]) -> str:
    """`[ Label ]`, with `(danger)` or `(primary)` for a styled button and a note when Slack
    asks the person to confirm first."""
    shown = f"[ {plain(element.get('text'), names=names)} ]"
    notes = [str(element["style"])] if element.get("style") else []
    if element.get("confirm"):
        notes.append("asks to confirm")
    if element.get("url"):
        notes.append(f"opens {element['url']}")
    return f"{shown} ({', '.join(notes)})" if notes else shown


def _option_text(option: Any, names: Mapping[str, str]) -> str:
    if not isinstance(option, Mapping):
        return ""
    return plain(option.get("text"), names=names)


def _chosen(element: Mapping[str, Any], names: Mapping[str, str]) -> list[str]:
    """What an input element currently holds, as readable values."""
    kind = element.get("type")
    if kind in ("multi_users_select",):
        return [_at(u, names) for u in element.get("initial_users") or []]
    if kind == "users_select" and element.get("initial_user"):
        return [_at(str(element["initial_user"]), names)]
    if kind == "multi_conversations_select":
        return [_hash(c, names) for c in element.get("initial_conversations") or []]
    if kind == "multi_channels_select":
        return [_hash(c, names) for c in element.get("initial_channels") or []]
    if kind == "conversations_select" and element.get("initial_conversation"):
        return [_hash(str(element["initial_conversation"]), names)]
    if kind == "channels_select" and element.get("initial_channel"):
        return [_hash(str(element["initial_channel"]), names)]
    if kind in ("static_select", "external_select") and element.get("initial_option"):
        return [_option_text(element["initial_option"], names)]
    if kind in ("multi_static_select", "multi_external_select"):
        return [_option_text(o, names) for o in element.get("initial_options") or []]
    if kind == "datepicker" and element.get("initial_date"):
        return [str(element["initial_date"])]
    if kind == "timepicker" and element.get("initial_time"):
        return [str(element["initial_time"])]
    if kind == "datetimepicker" and element.get("initial_date_time"):
        return [str(element["initial_date_time"])]
    value = element.get("initial_value")
    if value not in (None, ""):
        return [shorten(str(value), MAX_INPUT_VALUE).replace("\n", " ⏎ ")]
    return []


def field_box(element: Mapping[str, Any], *, names: Mapping[str, str]) -> str:
    """An input or select as `[value]`, or `[placeholder …]` when empty; `▾` marks a menu."""
    values = _chosen(element, names)
    kind = str(element.get("type") or "")
    menu = " ▾" if "select" in kind or kind == "datepicker" else ""
    if values:
        return f"[{', '.join(values)}{menu}]"
    placeholder = plain(element.get("placeholder"), names=names)
    if placeholder:
        return f"[{placeholder} …{menu}]"
    return f"[{'_' * 12}{menu}]"


def _choice_lines(element: Mapping[str, Any], names: Mapping[str, str]) -> list[str]:
    """Radio buttons as `(•)`/`( )` and checkboxes as `[x]`/`[ ]`, one option a line."""
    radio = element.get("type") == "radio_buttons"
    if radio:
        initial = element.get("initial_option")
        picked = {initial.get("value")} if isinstance(initial, Mapping) else set()
    else:
        picked = {o.get("value") for o in element.get("initial_options") or []}
    on, off = ("(•)", "( )") if radio else ("[x]", "[ ]")
    lines = []
    for option in element.get("options") or []:
        mark = on if option.get("value") in picked else off
        line = f"{mark} {_option_text(option, names)}"
        description = plain(option.get("description"), names=names)
        lines.append(f"{line} — {description}" if description else line)
    return lines


def element_text(element: Mapping[str, Any], *, names: Mapping[str, str]) -> str:
    """One interactive element on a single line (buttons, menus, pickers, overflow)."""
    kind = element.get("type")
    if kind == "button":
        return button(element, names=names)
    if kind == "image":
        return f"[image: {element.get('alt_text') or ''}]"
    if kind == "overflow":
        return "[ ⋯ ]"
    if kind in ("radio_buttons", "checkboxes"):
        return "  ".join(_choice_lines(element, names))
    return field_box(element, names=names)


# --- blocks ----------------------------------------------------------------------------------


def _section(block: Mapping[str, Any], names: Mapping[str, str], width: int) -> list[str]:
    lines: list[str] = []
    if block.get("text"):
        lines += wrap(shorten(plain(block["text"], names=names)), width)
    fields = [shorten(plain(f, names=names), MAX_FIELD) for f in block.get("fields") or []]
    lines += _fields(fields, width)
    accessory = block.get("accessory")
    if isinstance(accessory, Mapping):
        if accessory.get("type") in ("radio_buttons", "checkboxes"):
            lines += ["  " + line for line in _choice_lines(accessory, names)]
        else:
            lines.append("  → " + element_text(accessory, names=names))
    return lines


def _fields(fields: Sequence[str], width: int) -> list[str]:
    """Section fields two to a row, as Slack lays them out (one per line when narrow)."""
    if width < _MIN_COLUMNS_WIDTH:
        return [line for text in fields for line in wrap(text, width)]
    column = (width - _COLUMN_GAP) // 2
    lines: list[str] = []
    for start in range(0, len(fields), 2):
        left = wrap(fields[start], column)
        right = wrap(fields[start + 1], column) if start + 1 < len(fields) else []
        for row in range(max(len(left), len(right))):
            a = left[row] if row < len(left) else ""
            b = right[row] if row < len(right) else ""
            lines.append((a.ljust(column + _COLUMN_GAP) + b).rstrip() if b else a)
    return lines


def _context(block: Mapping[str, Any], names: Mapping[str, str], width: int) -> list[str]:
    parts = []
    for element in block.get("elements") or []:
        if element.get("type") == "image":
            parts.append(f"[image: {element.get('alt_text') or ''}]")
        else:
            parts.append(plain(element, names=names))
    return wrap(shorten("  ".join(p for p in parts if p)), width, prefix=CONTEXT_PREFIX)


def _input(block: Mapping[str, Any], names: Mapping[str, str], width: int) -> list[str]:
    label = plain(block.get("label"), names=names)
    if block.get("optional"):
        label += " (optional)"
    element = block.get("element") or {}
    if element.get("type") in ("radio_buttons", "checkboxes"):
        lines = wrap(f"{label}:", width)
        for choice in _choice_lines(element, names):
            lines += wrap(choice, width, prefix="  ", subsequent_prefix="      ")
    else:
        lines = wrap(f"{label}: {field_box(element, names=names)}", width)
        options = [_option_text(o, names) for o in element.get("options") or []]
        if options:
            lines += wrap("options: " + " · ".join(options), width, prefix="  ")
    hint = plain(block.get("hint"), names=names)
    if hint:
        lines += wrap(hint, width, prefix=CONTEXT_PREFIX)
    return lines


def _rich_text(elements: Iterable[Any], names: Mapping[str, str]) -> str:
    """The text of rich_text elements (sections, lists, quotes, code), roughly as shown."""
    out: list[str] = []
    for element in elements:
        if not isinstance(element, Mapping):
            continue
        kind = element.get("type")
        if kind == "text":
            out.append(str(element.get("text") or ""))
        elif kind == "link":
            url = str(element.get("url") or "")
            label = str(element.get("text") or "")
            out.append(f"{label} ({url})" if label and label != url else url)
        elif kind == "user":
            out.append(_at(str(element.get("user_id")), names))
        elif kind == "channel":
            out.append(_hash(str(element.get("channel_id")), names))
        elif kind == "emoji":
            name = str(element.get("name") or "")
            out.append(EMOJI.get(name, f":{name}:"))
        elif kind == "broadcast":
            out.append(f"<!{element.get('range')}>")
        elif kind == "rich_text_list":
            for item in element.get("elements") or []:
                out.append("• " + _rich_text(item.get("elements") or [], names) + "\n")
        elif kind == "rich_text_quote":
            out.append("> " + _rich_text(element.get("elements") or [], names) + "\n")
        elif kind in ("rich_text_section", "rich_text_preformatted"):
            out.append(_rich_text(element.get("elements") or [], names) + "\n")
    return "".join(out)


def render_block(
    block: Mapping[str, Any], *, names: Mapping[str, str], width: int = DEFAULT_WIDTH
) -> list[str]:
    """One block as lines of text."""
    kind = block.get("type")
    if kind == "header":
        return wrap(f"== {plain(block.get('text'), names=names)} ==", width)
    if kind == "section":
        return _section(block, names, width)
    if kind == "context":
        return _context(block, names, width)
    if kind == "divider":
        return [RULE[:width]]
    if kind == "actions":
        shown = [element_text(e, names=names) for e in block.get("elements") or []]
        return wrap("  ".join(shown), width)
    if kind == "input":
        return _input(block, names, width)
    if kind == "image":
        title = plain(block.get("title"), names=names)
        alt = block.get("alt_text") or title
        return [f"[image: {alt}]"]
    if kind == "rich_text":
        text = _rich_text(block.get("elements") or [], names).rstrip("\n")
        return wrap(shorten(text), width)
    if kind == "markdown":
        return wrap(shorten(str(block.get("text") or "")), width)
    return [f"[{kind} block]"]


def render_blocks(
    blocks: Iterable[Mapping[str, Any]], *, names: Mapping[str, str], width: int = DEFAULT_WIDTH
) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        lines += render_block(block, names=names, width=width)
    return lines


# --- surfaces --------------------------------------------------------------------------------


def render_message(
    message: Mapping[str, Any], *, names: Mapping[str, str], width: int = DEFAULT_WIDTH
) -> str:
    """A message as its recipient reads it: its blocks, or its `text` when it has none."""
    blocks = message.get("blocks") or []
    if blocks:
        return "\n".join(render_blocks(blocks, names=names, width=width))
    text = mrkdwn_to_text(str(message.get("text") or ""), names=names)
    return "\n".join(wrap(shorten(text), width))


def render_view(
    view: Mapping[str, Any], *, names: Mapping[str, str], width: int = DEFAULT_WIDTH
) -> str:
    """A modal (title line, blocks, then its Close and Submit buttons as Slack orders them) or
    an App Home tab (blocks only: it has no title or buttons of its own)."""
    lines: list[str] = []
    title = plain(view.get("title"), names=names)
    if title:
        lines += wrap(f"┌─ {title} ─┐", width)
    lines += render_blocks(view.get("blocks") or [], names=names, width=width)
    footer = [
        f"[ {plain(view[key], names=names)} ]" for key in ("close", "submit") if view.get(key)
    ]
    if footer:
        lines.append("  ".join(footer))
    return "\n".join(lines)
