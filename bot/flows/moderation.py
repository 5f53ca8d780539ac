"""Moderation without unmasking: what hiding an answer needs, and how (whether) its author can be
told. Plain Python."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

MAX_REASON_LENGTH = 300


def reason_problem(reason: str) -> str | None:
    """What is wrong with a hiding reason, or None. The author reads it: it must say something."""
    if not reason.strip():
        return "Say why, in a few words: the author reads it and may rewrite their answer."
    if len(reason) > MAX_REASON_LENGTH:
        return f"Keep the reason under {MAX_REASON_LENGTH} characters."
    return None


class AuthorReach(StrEnum):
    """How the author of a hidden answer is told."""

    # A named tour: the answer carries its author, who is told alone.
    BY_NAME = "by_name"
    # An anonymous tour: its answers are shown only once it has closed and its key is gone, so
    # nothing links the answer to anyone. Everyone who answered gets the same notice: its
    # author learns of it, and nobody (the bot included) learns who that is.
    EVERYONE_WHO_ANSWERED = "everyone"


def author_reach(*, anonymous: bool) -> AuthorReach:
    return AuthorReach.EVERYONE_WHO_ANSWERED if anonymous else AuthorReach.BY_NAME


def may_rewrite(*, anonymous: bool, is_open: bool) -> bool:
    """Whether the author can rewrite a hidden answer: in a named tour while it is open (the
    form saves over it). A closed tour takes no answers, and an anonymous one is closed by
    the time anyone can read, and so hide, an answer."""
    return is_open and not anonymous


# Names shorter than this are too often ordinary words ("Al", "Jo") to warn about.
MIN_NAME_LENGTH = 3
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_WORD = re.compile(r"\w+")


def _spoken_names(names: Sequence[str]) -> set[str]:
    """What people call someone: each name Slack has for them, and its first word."""
    spoken = set()
    for name in names:
        for candidate in (name, name.split(" ", 1)[0]):
            if len(candidate.strip()) >= MIN_NAME_LENGTH:
                spoken.add(candidate.strip().casefold())
    return spoken


@dataclass(frozen=True)
class NameIndex:
    """A workspace's spoken names by their first word, so checking an answer costs its words,
    not the size of the workspace (it runs after every DM answer). Build it once per directory
    snapshot with `NameIndex.of`."""

    by_word: Mapping[str, tuple[tuple[str, str], ...]]  # first word -> (user id, name)
    order: Mapping[str, int]  # user id -> its place in the directory, for a stable answer

    @classmethod
    def of(cls, names: Mapping[str, Sequence[str]]) -> NameIndex:
        by_word: dict[str, list[tuple[str, str]]] = {}
        for user_id, their_names in names.items():
            for name in sorted(_spoken_names(their_names)):
                first = _WORD.match(name)
                by_word.setdefault(first.group() if first else "", []).append((user_id, name))
        return cls(
            by_word={word: tuple(pairs) for word, pairs in by_word.items()},
            order={user_id: position for position, user_id in enumerate(names)},
        )


def people_named(text: str, index: NameIndex, *, author: str) -> list[str]:
    """Who an answer names, besides its author: by a Slack mention, or by one of the names
    Slack has for them as a whole word, in any case. For a gentle warning, never a refusal."""
    mentioned = [user for user in _MENTION.findall(text) if user != author]
    folded = text.casefold()
    by_name: set[str] = set()
    for word in dict.fromkeys([*_WORD.findall(folded), ""]):
        for user_id, name in index.by_word.get(word, ()):
            if user_id == author or user_id in by_name or user_id in mentioned:
                continue
            if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", folded):
                by_name.add(user_id)
    ordered = sorted(by_name, key=lambda user_id: index.order.get(user_id, len(index.order)))
    return list(dict.fromkeys([*mentioned, *ordered]))


def naming_warning(named: Sequence[str]) -> str:
    """The gentle note: who is named, why it matters, and that rephrasing is up to them."""
    who = ", ".join(f"<@{user_id}>" for user_id in named[:3])
    return (
        f"This names {who}. In an anonymous tour a name can tell people who wrote an answer, "
        "or single someone out. You might say it without the name — or keep it as it is."
    )
