"""Shortening people's words for display: the one place text is cut (quotes, labels, summaries,
option and button texts). Cut between words, never inside one where that can be helped:
"…what feasible rou…" puts words in people's mouths."""

from __future__ import annotations

from collections.abc import Callable

# Dropped before a cut: the "…" that follows already says the sentence goes on.
WORD_END_PUNCTUATION = ",;:-–—("


def cut_between_words(text: str, room: int, width: Callable[[str], int] = lambda char: 1) -> str:
    """The longest start of `text` that fits `room` (each character counted at `width`), cut
    between words and without the punctuation before the cut; only a single word longer than
    half the room (a link, a run of letters) is cut inside. The caller adds the "…"."""
    used = 0
    kept: list[str] = []
    for char in text:
        if used + width(char) > room:
            break
        kept.append(char)
        used += width(char)
    cut = "".join(kept)
    inside_a_word = len(cut) < len(text) and bool(cut[-1:].strip() and text[len(cut)].strip())
    if inside_a_word:
        boundary = max(cut.rfind(" "), cut.rfind("\n"), cut.rfind("\t"))
        if boundary >= len(cut) // 2:
            cut = cut[:boundary]
    return cut.rstrip().rstrip(WORD_END_PUNCTUATION).rstrip()


def shorten(text: str, limit: int) -> str:
    """`text` if it fits `limit` characters, else its start cut between words (line breaks and
    runs of spaces folded) followed by "…", `limit` characters at most."""
    if limit < 2:
        raise ValueError("limit must be at least 2")
    if len(text) <= limit:
        return text
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return cut_between_words(flat, limit - 1) + "…"
