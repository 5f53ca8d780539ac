"""Which words of a tour's answers are people's names, so that no label or summary carries one:
the workspace directory's names, and names the directory does not know, found in the answers
themselves (capitalised words never written in lower case, a word before a colon that opens an
answer, a short list of common first names). Quotes keep the author's words; only the engine's
own text is kept free of names."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from functools import cache
from importlib import resources

from bot.themes.keywords import SLACK_MARKUP, _fold_accents, name_words

# A word as written: letters and digits joined by inner apostrophes or hyphens.
WRITTEN_WORD = re.compile(r"[^\W\d_][^\W_]*(?:['\u2019\-][^\W_]+)*")
SENTENCE_END = re.compile(r"[.!?:;\n]\s*$|^\s*$")
# "Stephen: the wiki..." or "Mark & Shaun -" at the very start of an answer.
LEADING_ADDRESS = re.compile(r"^\s*((?:[A-Z][\w'\u2019\-]*[\s,&/]*){1,3})\s*[:\-\u2013]\s")
# After a title a capitalised word is a surname even when it is also a word ("Dr Hope").
TITLES = frozenset({"dr", "mr", "mrs", "ms", "miss", "nurse", "sister", "prof"})


@cache
def first_names() -> frozenset[str]:
    """The shipped list of common first names (bot/themes/data/first_names.txt)."""
    text = resources.files("bot.themes").joinpath("data/first_names.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _is_titlecase(word: str) -> bool:
    return word[0].isupper() and not word.isupper() and len(word) > 1


def _key(word: str) -> str:
    word = _fold_accents(word.casefold().replace("\u2019", "'"))
    return word[:-2] if word.endswith("'s") else word


def names_in_answers(texts: Iterable[str], directory: Collection[str] = ()) -> frozenset[str]:
    """Lower-case words that are (or may be) people's names in these answers: every word of the
    directory's names, words of the common first-names list (in any case), and capitalised
    words never seen in lower case in any answer that stand mid-sentence, after a title, or
    before a colon that opens an answer. Acronyms (all capitals) are not names; a product
    written only with a capital ("Jira") is treated as one, which keeps it out of labels only."""
    found = set(name_words(directory))
    lower: set[str] = set()
    capitalised_mid: set[str] = set()
    seen: set[str] = set()
    known_first = first_names()
    for text in texts:
        text = SLACK_MARKUP.sub(" ", text)
        opening = LEADING_ADDRESS.match(text)
        if opening:
            capitalised_mid |= {
                _key(word) for word in WRITTEN_WORD.findall(opening.group(1)) if word[0].isupper()
            }
        previous_word = ""
        for match in WRITTEN_WORD.finditer(text):
            word = match.group(0)
            key = _key(word)
            if not word.isupper():
                seen.add(key)
            if word[0].islower():
                lower.add(key)
            elif _is_titlecase(word):
                starts_sentence = bool(SENTENCE_END.search(text[: match.start()]))
                if not starts_sentence or previous_word in TITLES:
                    capitalised_mid.add(key)
            previous_word = key
    found |= seen & known_first
    for key in capitalised_mid - lower:
        # "I'm", "I've" are always capitalised; any other word written only with a capital
        # mid-sentence, even one that is also a stop word ("Will", "May"), is taken for a name
        if not key.startswith("i'") and len(key) > 1:
            found.add(key)
    found |= {part for word in list(found) for part in re.split(r"['\-]", word) if len(part) > 1}
    return frozenset(found)


def words_of(text: str) -> list[str]:
    """The lower-case words of a text, as `names_in_answers` keys them."""
    return [_key(word) for word in WRITTEN_WORD.findall(SLACK_MARKUP.sub(" ", text))]


def names_someone(text: str, names: Collection[str]) -> bool:
    """Whether the text holds one of `names` (from `names_in_answers`) or a Slack mention."""
    if "<@" in text:
        return True
    return any(word in names for word in words_of(text))
