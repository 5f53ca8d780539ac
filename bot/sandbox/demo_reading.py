"""What a simulated person reads off Slack in `partnerbot demo`: the buttons on a message, the
options in a modal, which theme a quote belongs to. Plain functions over the fake Slack's
records; they find things the way a person scanning the screen would, by label or position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.sandbox.demo_cast import ANSWERS, Topic
from bot.sandbox.demo_stage import DemoFailure
from bot.sandbox.transcript import mrkdwn_to_text

Json = dict[str, Any]
# Every box of a checkboxes input unticked, as Slack submits it.
CHECKBOXES_NONE = {"type": "checkboxes", "selected_options": []}
CHECKBOXES_KEEP = {"type": "checkboxes", "selected_options": [{"value": "keep"}]}
# Words that say nothing about a team on their own: a label made only of them is too generic.
GENERIC_WORDS = frozenset(
    {
        "team",
        "work",
        "things",
        "stuff",
        "people",
        "good",
        "great",
        "issues",
        "issue",
        "problems",
        "problem",
        "general",
        "other",
        "misc",
        "miscellaneous",
        "feedback",
        "communication",
        "process",
        "processes",
        "time",
    }
)


def text_of(message: Mapping[str, Any]) -> str:
    """A message's text and block text, for checks (not for printing)."""
    return f"{message.get('text') or ''} {message.get('blocks') or ''}"


def buttons_of(message: Mapping[str, Any]) -> list[Json]:
    """Every button on a message: in actions blocks and beside sections."""
    found: list[Json] = []
    for block in message.get("blocks") or []:
        found += [e for e in block.get("elements") or [] if e.get("type") == "button"]
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") == "button":
            found.append(accessory)
    return found


def button_beside(message: Mapping[str, Any], text: str, action_id: str) -> str:
    """The value of the button next to the section that mentions `text`."""
    for block in message.get("blocks") or []:
        accessory = block.get("accessory") or {}
        said = str((block.get("text") or {}).get("text") or "")
        if accessory.get("action_id") == action_id and text in said:
            return str(accessory.get("value") or "")
    raise DemoFailure(f"no {action_id!r} button beside “{text}”")


def button_text(element: Mapping[str, Any]) -> str:
    return str((element.get("text") or {}).get("text") or "")


def checkbox_options(
    view: Mapping[str, Any], block_id: str, *, initial: bool = False
) -> list[Json]:
    """A checkboxes input's options (or, with `initial`, the ones ticked when it opened)."""
    for block in view.get("blocks") or []:
        if block.get("block_id") == block_id:
            element = block.get("element") or {}
            key = "initial_options" if initial else "options"
            return list(element.get(key) or [])
    return []


def static_options(view: Mapping[str, Any], block_id: str) -> list[Json]:
    """The options of a select menu in a modal's input block."""
    for block in view.get("blocks") or []:
        if block.get("block_id") == block_id:
            return list((block.get("element") or {}).get("options") or [])
    return []


def option_text(option: Mapping[str, Any]) -> str:
    return str((option.get("text") or {}).get("text") or "")


def commit_themes(view: Mapping[str, Any]) -> list[tuple[int, str]]:
    """(theme id, label) of each theme in the outcomes' commit form, in order."""
    found = []
    label = ""
    for block in view.get("blocks") or []:
        if block.get("type") == "section":
            label = mrkdwn_to_text(str((block.get("text") or {}).get("text") or ""), names={})
        match = re.fullmatch(r"outcome\.(\d+)\.statement", str(block.get("block_id") or ""))
        if match:
            found.append((int(match.group(1)), label.strip("*")))
    return found


def one(block_id: str, value: Any) -> Json:
    """A modal input's submitted value, keyed as Slack sends it: {block: {action: value}}."""
    return {block_id: {f"{block_id}.input": value}}


@dataclass(frozen=True)
class ReviewedTheme:
    """A suggested theme as the leader reads it in the review modal."""

    position: int  # counts from 1, as the modal's block ids do
    label: str  # the engine's label, in the Label input
    side: str  # the tag beside "Theme N": "Challenge", "Working well"…
    ticked: bool  # "Include this theme" as the modal opened
    topic: Topic | None  # what most of its quotes are about


def review_themes(review: Mapping[str, Any]) -> list[ReviewedTheme]:
    """Each theme in the review modal, in order: its suggested label and side, whether it
    starts ticked, and the topic most of its quotes are about."""
    themes: list[ReviewedTheme] = []
    blocks = list(review.get("blocks") or [])
    inputs = {
        str(b.get("block_id")): b.get("element") or {} for b in blocks if b.get("type") == "input"
    }
    for index, block in enumerate(blocks):
        text = str((block.get("text") or {}).get("text") or "")
        heading = re.match(r"\*Theme (\d+)\* · ([^·]+)", text)
        if block.get("type") != "section" or not heading:
            continue
        position = int(heading.group(1))
        following = blocks[index + 1] if index + 1 < len(blocks) else {}
        quotes = []
        if following.get("type") == "context":
            for element in following.get("elements") or []:
                quotes += mrkdwn_to_text(str(element.get("text") or ""), names={}).split("\n")
        themes.append(
            ReviewedTheme(
                position=position,
                label=str(inputs.get(f"theme.{position}.label", {}).get("initial_value") or ""),
                side=heading.group(2).strip(),
                ticked=bool(inputs.get(f"theme.{position}.keep", {}).get("initial_options")),
                topic=majority([topic_of(quote) for quote in quotes]),
            )
        )
    return themes


def label_problem(label: str) -> str | None:
    """Why a leader would rewrite a suggested label, or None when it reads like something a
    person would say: a short phrase in sentence case, not a list of keywords (lower-case
    words, or one word in two forms, such as "change changing") and not only generic words."""
    words = re.findall(r"[\w'’-]+", label)
    if len(words) < 2:
        return "a single word"
    if len(words) > 6:
        return "too long to read at a glance"
    if all(word.lower() in GENERIC_WORDS for word in words):
        return "too generic"
    stems = [word.lower()[:5] for word in words if len(word) >= 5]
    if len(set(stems)) < len(stems) or not label[:1].isupper():
        return "a list of keywords"
    return None


def topic_of(quote: str) -> Topic | None:
    """The topic of the answer a (possibly shortened) quote comes from."""
    said = quote.strip().strip("“”").removesuffix("…").strip()
    if not said:
        return None
    for pair in ANSWERS:
        if pair.working_well.startswith(said):
            return pair.working_well_topic
        if pair.challenge.startswith(said):
            return pair.challenge_topic
    return None


def majority(topics: list[Topic | None]) -> Topic | None:
    """The most frequent known topic (the first seen, on a tie)."""
    known = [topic for topic in topics if topic is not None]
    if not known:
        return None
    return max(dict.fromkeys(known), key=known.count)


def post_theme_labels(post: Mapping[str, Any]) -> list[str]:
    """The themes of the findings post, in order ("*1. Releases slip*" sections)."""
    labels = []
    for block in post.get("blocks") or []:
        text = str((block.get("text") or {}).get("text") or "")
        found = re.match(r"\*\d+\. (.+?)\*(?: · _[^\n]*_)?(?:\n|$)", text)
        if block.get("type") == "section" and found:
            labels.append(mrkdwn_to_text(found.group(1), names={}))
    return labels


def ballot_text(ballot: list[int], labels: list[str]) -> str:
    """“Releases slip” twice and “Code reviews”: a ballot as the voter would say it."""
    counted = {index: ballot.count(index) for index in ballot}
    return " and ".join(
        f"“{labels[index]}”" + (" twice" if count == 2 else "") for index, count in counted.items()
    )
