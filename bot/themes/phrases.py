"""A theme's words: candidate phrases from its own answers (2-4 words, no stop word at either
edge, no name), the label chosen among them, the one-sentence summary, and `shorten_quote`, which
cuts a quote only between words."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import pairwise

from bot.text import shorten
from bot.themes.keywords import fold_plural, stop_words, text_for_encoder
from bot.themes.names import WRITTEN_WORD, _key

# Words that can stand in a label but never make one on their own: time words and praise or
# complaint words that say nothing about what is going well or badly.
FILLER = frozenset(
    {
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "today",
        "yesterday",
        "tomorrow",
        "week",
        "day",
        "month",
        "year",
        "morning",
        "afternoon",
        "evening",
        "night",
        "hour",
        "minute",
        "time",
        "good",
        "great",
        "nice",
        "excellent",
        "amazing",
        "brilliant",
        "fantastic",
        "lovely",
        "fine",
        "ok",
        "okay",
        "bad",
        "poor",
        "better",
        "best",
        "worse",
        "worst",
        "thank",
        "thanks",
        "lot",
        "bit",
        "stuff",
        "way",
        "people",
        "everyone",
        "someone",
        "overall",
        "experience",
        "service",
        "team",
        "work",
        "feel",
        "felt",
        "think",
        "need",
        "like",
        "make",
        "made",
        "get",
        "got",
        "help",
        "helped",
        "absolutely",
        "definitely",
        "totally",
        "completely",
        "complete",
        "extremely",
        "exceptionally",
        "outstanding",
        "perfect",
        "wonderful",
        "superb",
        "fabulous",
        "awesome",
        "happy",
        "pleased",
        "satisfied",
        "everything",
        "nothing",
        "anything",
        "particular",
        "give",
        "given",
        "looked",
        "improve",
        "improvement",
    }
)
# A phrase cut out of a sentence around a negation says the opposite or nothing ("ambulance
# was no time"): no label holds one.
_NOT = ("can", "don", "didn", "won", "isn", "wasn", "aren", "weren", "doesn", "couldn", "wouldn")
NEGATIONS = frozenset(
    {"no", "not", "never", "nothing", "nobody", "none", "cannot", "cant", "dont", "didnt"}
    | {"wont", "isnt", "wasnt", "arent", "werent", "doesnt", "couldnt", "wouldnt", "nor"}
    | {f"{stem}'t" for stem in _NOT}
)
# Words between a negation and what it negates: "not so great", "never really clear".
DEGREE_WORDS = frozenset({"so", "very", "too", "really", "quite", "that", "particularly"})
# A subject pronoun or relative word inside a run marks where one clause meets the next ("in
# my opinion | its works", "the time | I face medical", "patients | that staff"): a phrase never
# spans one. Possessives ("lifted my mood") and objects stay inside a phrase.
CLAUSE_WORDS = frozenset({"i", "you", "he", "she", "it", "its", "we", "they", "that", "which"})
CLAUSE_WORDS |= {"who", "whom", "whose", "what"}
# A phrase that stops where its last word's object starts ends in a verb without it, a fragment
# no leader would write as a label: "giving | us help", "staff look | after me", "my care
# staying | here." (see `_cut_before_object`). "You" and "her" may start a clause or a noun
# ("the staff | you meet"), so only a verb particle before them marks an object.
OBJECT_PRONOUNS = frozenset({"me", "us", "him", "them", "myself", "ourselves", "themselves"})
PARTICLE_OBJECTS = OBJECT_PRONOUNS | {"you", "her"}
PLACE_WORDS = frozenset({"here", "there"})
# Particles that follow verbs ("look after me", "listen to you", "shout at us"); "with", "for" and
# "of" follow nouns as often ("planning with us", "time for me"), so they mark no verb.
VERB_PARTICLES = frozenset({"after", "to", "at"})
# A copula or a degree word in the phrase makes its last word an adjective, whose complement is
# no object: "staff were kind | to me", "therapist was supportive | of me", "very nice | to us".
COPULAS = frozenset({"is", "are", "was", "were", "be", "been", "being", "am", "seem", "seemed"})
# Phrases stop at punctuation; a glued "themAction" (a lost line break) splits in two.
CHUNK_BREAK = re.compile(r"[.!?;:,()\[\]{}\"\u201c\u201d\n|/*_~]+|\s[-\u2013\u2014]\s|\s&\s")
GLUED = re.compile(r"(?<=[a-z])(?=[A-Z][a-z])")
MAX_PHRASE_WORDS = 4


@dataclass(frozen=True)
class Phrase:
    key: tuple[str, ...]  # folded words: how occurrences are counted
    text: str  # as most often written, lower case except acronyms


def _surface(word: str) -> str:
    return word if word.isupper() and len(word) > 1 else word.lower().replace("\u2019", "'")


def answer_phrases(text: str, blocked: Collection[str]) -> dict[tuple[str, ...], str]:
    """Every 1-4 word run of an answer with no stop word at its edges, no `blocked` word (names)
    anywhere and at least one word that is neither a stop word nor a filler; keyed by folded
    words, with the written form."""
    stops = stop_words()
    found: dict[tuple[str, ...], str] = {}
    text = GLUED.sub(". ", text_for_encoder(text))
    for chunk in CHUNK_BREAK.split(text):
        run: list[tuple[str, str]] = []
        for written in [*WRITTEN_WORD.findall(chunk), None]:
            key = None if written is None else _key(written)
            if written is None or key is None or key in blocked or len(key) > 30:
                _grams(run, stops, found)
                run = []
                continue
            run.append((fold_plural(key), _surface(written)))
    return found


def _negated(run: list[tuple[str, str]], start: int, stops: frozenset[str]) -> bool:
    """Whether a negation reaches the word at `start`: it is the word before, or comes before
    it with only stop words and degree words between ("not so great", "never very clear")."""
    for key, _ in reversed(run[:start]):
        if key in NEGATIONS:
            return True
        if key not in stops and key not in DEGREE_WORDS:
            return False
    return False


def _grams(
    run: list[tuple[str, str]],
    stops: frozenset[str],
    found: dict[tuple[str, ...], str],
) -> None:
    for start in range(len(run)):
        if _negated(run, start, stops):
            continue  # "(can't) fault the support", "(not so) great driver": the opposite
        for size in range(1, MAX_PHRASE_WORDS + 1):
            gram = run[start : start + size]
            if len(gram) < size:
                break
            keys = tuple(key for key, _ in gram)
            if keys[0] in stops or keys[-1] in stops:
                continue
            if all(key in stops or key in FILLER for key in keys):
                continue
            if any(key in NEGATIONS for key in keys):
                continue
            if any(key in CLAUSE_WORDS for key in keys[1:-1]):
                continue
            # two stop words in a row inside ("service that the give") is a sentence's
            # middle, not a phrase
            if any(a in stops and b in stops for a, b in pairwise(keys)):
                continue
            if size >= 2 and _cut_before_object(keys, run[start + size :]):
                continue
            found.setdefault(keys, " ".join(surface for _, surface in gram))


def _cut_before_object(keys: tuple[str, ...], after: list[tuple[str, str]]) -> bool:
    """Whether a phrase (its folded `keys`) ends in a verb whose object or place follows it in
    the same clause (`after`: the rest of the clause), so that the phrase alone is a fragment:
    it stands right before an object pronoun ("giving | us help"); it ends in an -ing word and
    "here" or "there" closes the clause ("my care staying | here."); or, holding no copula or
    degree word, it stands before a verb particle and a pronoun ("staff look | after me",
    "staff listen | to you"). Without part-of-speech tags this is a cue, not a parse: "The car
    parking here." loses "car parking" in that answer alone."""
    following = [key for key, _ in after[:2]]
    if not following:
        return False
    if following[0] in OBJECT_PRONOUNS:
        return True
    if following[0] in PLACE_WORDS and len(after) == 1 and keys[-1].endswith("ing"):
        return True
    return (
        len(following) == 2
        and following[0] in VERB_PARTICLES
        and following[1] in PARTICLE_OBJECTS
        and not any(key in COPULAS or key in DEGREE_WORDS for key in keys)
    )


def has_substance(terms: Sequence[str]) -> bool:
    """Whether an answer's terms (from `answer_terms`) say what is going well or badly: at least
    one word that is neither a filler nor a negation. "Absolutely nothing", "All good, thanks",
    "Can't think of anything" or "Excellent" alone can make no theme and stay unthemed."""
    return any(
        word not in FILLER and word not in NEGATIONS for term in terms for word in term.split()
    )


def is_label_like(text: str) -> bool:
    """2-6 words, at least one of which is neither a stop word nor a filler."""
    words = [fold_plural(_key(word)) for word in WRITTEN_WORD.findall(text)]
    stops = stop_words()
    return 2 <= len(text.split()) <= 6 and any(w not in stops and w not in FILLER for w in words)


def candidate_phrases(
    texts: Sequence[str], blocked: Collection[str]
) -> tuple[list[Counter[tuple[str, ...]]], dict[tuple[str, ...], str]]:
    """Per answer, the phrase keys it holds (a Counter of 1 each), and each key's written form
    (the form most answers use; ties go to the alphabetically first)."""
    per_answer: list[Counter[tuple[str, ...]]] = []
    forms: dict[tuple[str, ...], Counter[str]] = {}
    for text in texts:
        phrases = answer_phrases(text, blocked)
        per_answer.append(Counter(phrases.keys()))
        for key, written in phrases.items():
            forms.setdefault(key, Counter())[written] += 1
    chosen = {
        key: min(counts.items(), key=lambda item: (-item[1], item[0]))[0]
        for key, counts in forms.items()
    }
    return per_answer, chosen


def short_clauses(text: str) -> list[str]:
    """The clauses of an answer (split at punctuation) as written, without stop words at either
    end, that keep 2-6 words: "queuing time" from "Less queuing time."."""
    stops = stop_words()
    found = []
    for clause in CHUNK_BREAK.split(GLUED.sub(". ", text_for_encoder(text))):
        words = clause.split()
        while words and _key(words[0]).strip(".,!?'\"") in stops:
            words = words[1:]
        while words and _key(words[-1]).strip(".,!?'\"") in stops:
            words = words[:-1]
        if 2 <= len(words) <= 6:
            found.append(" ".join(words))
    return found


def fallback_label(word: str | None, *, strength: bool) -> str:
    """When a group shares no phrase of two words or more: its best word in a plain frame."""
    if word is None:
        return "Praise in general" if strength else "Challenges in general"
    return f"Praise for {word}" if strength else f"Problems with {word}"


def shorten_quote(text: str, limit: int) -> str:
    """A quote that fits `limit` characters, cut between words with "…" (see `bot.text`)."""
    return shorten(text, limit)


def example_fragment(text: str, limit: int = 90) -> str:
    """A short stretch of an answer for a summary: its first sentence when that says something
    (four words or more), else the start of the whole answer, cut between words."""
    flat = " ".join(text_for_encoder(text).split())
    first = re.split(r"(?<=[.!?])\s", flat, maxsplit=1)[0]
    chosen = first if len(first.split()) >= 4 else flat
    return shorten_quote(chosen.rstrip(" ."), limit)


def summary_sentence(label: str, count: int, fragment: str | None) -> str:
    """One sentence a person would say: how many, what about, and an example in their words."""
    who = "Two people" if count == 2 else "Several people"
    about = label[0].lower() + label[1:] if label[1:2].islower() or len(label) < 2 else label
    if fragment:
        return f"{who} mentioned {about}; for example: “{fragment}”"
    return f"{who} mentioned {about}."
