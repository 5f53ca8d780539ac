"""Moderation without unmasking: what hiding an answer needs, and how (whether) its author can be
told. Plain Python."""

from __future__ import annotations

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
