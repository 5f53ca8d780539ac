"""Suggest up to three themes from a tour's answers, offline. Answers to "What's working well?"
(question 0) and to the other questions are grouped apart, so a theme is a strength or a
challenge, never both. Each side's answers are embedded (MiniLM, or TF-IDF when the model is
unavailable) and grouped by average linkage down to a similarity threshold, so answers like no
other stay unthemed; groups are ranked by people x coherence; each is labelled with a phrase
from its own answers, summed up in a sentence with an example, and quoted by the answers closest
to its centre. Plain data in, plain data out."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np

from bot.flows.review import MAX_FINAL_THEMES
from bot.themes.clustering import Labels, Vectors, average_linkage
from bot.themes.embeddings import MODEL_ENGINE, TFIDF_ENGINE, shared_encoder, unavailable_reason
from bot.themes.keywords import answer_terms, text_for_encoder, tfidf_vectors
from bot.themes.names import names_in_answers, names_someone
from bot.themes.phrases import (
    candidate_phrases,
    example_fragment,
    fallback_label,
    has_substance,
    is_label_like,
    short_clauses,
    summary_sentence,
)
from bot.themes.runner import suggest_themes_async
from bot.themes.types import AnswerText, EncoderUnavailable, Method, SuggestedTheme, ThemeKind

MIN_ANSWERS = 4
MIN_THEME_ANSWERS = 2
MAX_QUOTES = 3
# Mean cosine similarity a group's answers must keep to be merged (average linkage). MiniLM puts
# two answers about the same thing at ~0.5-0.7 and unrelated ones at ~0.1-0.2; TF-IDF vectors
# of short answers share few words, so their scale is lower. Chosen with SAME_TOPIC on the bench
# corpora (bench/themes.py): seeds 1-5 and, held out, 6-20 (see docs/THEMES.md).
MODEL_THRESHOLD = 0.40
TFIDF_THRESHOLD = 0.2
# Two group centres this close are one topic seen twice ("polite drivers" and "paramedics were
# caring"): only the stronger becomes a theme, so the themes read as different topics.
SAME_TOPIC = 0.35
LABEL_CANDIDATES = 24
LABEL_SHARE_WEIGHT = 0.5  # a phrase most of the theme's answers use beats a closer rare one
WORD_SHARE_WEIGHT = 0.5  # "pager duty" gains from "pager" being in most of the answers
LABEL_OVERLAP_WEIGHT = 0.5  # keeps the second and third labels from echoing the first
# A line break lost between two sentences: "find themAction items".
GLUED_SENTENCES = re.compile(r"[a-z][A-Z][a-z]")
LONE_I = re.compile(r"(?<![\w'’])i(?=$|[\s'’])")


@dataclass(frozen=True)
class AnswerGrouping:
    """Every answer with a content word, in canonical order, and the group each is in (what the
    bench scores), before ranking. Groups never span the two sides."""

    engine: str
    answers: tuple[AnswerText, ...]
    vectors: Vectors
    groups: Labels  # group id of each answer (the row of its group's first answer)
    names: frozenset[str]  # words treated as people's names (see bot/themes/names.py)


@dataclass(frozen=True)
class _Group:
    rows: tuple[int, ...]
    strength: bool
    cohesion: float
    centre: Vectors
    similarity: tuple[float, ...]  # of each row to the centre

    @property
    def rank(self) -> float:
        return len(self.rows) * self.cohesion


def engine_name() -> str:
    """What "auto" uses in this process: "minilm-int8", or "tfidf" when the model cannot load.
    The first call loads the model (about a second): call it off the event loop."""
    return MODEL_ENGINE if shared_encoder() is not None else TFIDF_ENGINE


def _vectors(
    texts: Sequence[str], terms: Sequence[Sequence[str]], method: Method
) -> tuple[str, Vectors]:
    if method == "tfidf":
        return TFIDF_ENGINE, tfidf_vectors(terms)
    encoder = shared_encoder()
    if encoder is None:
        if method == "model":
            raise EncoderUnavailable(unavailable_reason() or "the model did not load")
        return TFIDF_ENGINE, tfidf_vectors(terms)
    # Tours repeat themselves ("n/a", "Nothing", the same complaint pasted twice): encode each
    # distinct text once.
    distinct = list(dict.fromkeys(text_for_encoder(text) for text in texts))
    row_of = {text: row for row, text in enumerate(distinct)}
    encoded = encoder.encode(distinct)
    return MODEL_ENGINE, encoded[[row_of[text_for_encoder(text)] for text in texts]]


def is_strength(answer: AnswerText) -> bool:
    """Question 0 is "What's working well?"; every other question asks about challenges."""
    return answer.question == 0


def group_answers(
    answers: Sequence[AnswerText],
    *,
    names: Collection[str] = (),
    method: Method = "auto",
    threshold: float | None = None,
) -> AnswerGrouping | None:
    """Group the answers that have a content word, each side apart; None when fewer than four
    have one. Blank answers, "n/a", "nothing", emoji alone or a name alone can make no theme,
    and a pile of them would otherwise be the tightest group of all. The answers are put in a
    canonical order (text, then id) first, so their order in the input changes nothing."""
    found_names = names_in_answers([answer.text for answer in answers], names)
    canonical = sorted(answers, key=lambda answer: (answer.text, answer.id, answer.question))
    terms = [tuple(answer_terms(answer.text, found_names)) for answer in canonical]
    terms = [held if has_substance(held) else () for held in terms]
    kept = tuple(answer for answer, held in zip(canonical, terms, strict=True) if held)
    if len(kept) < MIN_ANSWERS:
        return None
    engine, vectors = _vectors(
        [answer.text for answer in kept], [held for held in terms if held], method
    )
    if threshold is None:
        threshold = MODEL_THRESHOLD if engine == MODEL_ENGINE else TFIDF_THRESHOLD
    groups = np.arange(len(kept), dtype=np.int64)
    for strength in (False, True):
        rows = np.array([row for row, a in enumerate(kept) if is_strength(a) == strength])
        if len(rows) >= 2:
            groups[rows] = rows[average_linkage(vectors[rows], threshold)]
    return AnswerGrouping(engine, kept, vectors, groups, found_names)


def _groups(grouping: AnswerGrouping) -> list[_Group]:
    found = []
    for group in np.unique(grouping.groups):
        rows = np.flatnonzero(grouping.groups == group)
        if len(rows) < MIN_THEME_ANSWERS:
            continue
        total = grouping.vectors[rows].sum(axis=0)
        norm = float(np.linalg.norm(total))
        centre = (total / norm if norm > 0 else total).astype(np.float32)
        similarity = grouping.vectors[rows] @ centre
        found.append(
            _Group(
                rows=tuple(int(row) for row in rows),
                strength=is_strength(grouping.answers[int(rows[0])]),
                cohesion=round(float(similarity.mean()), 4),
                centre=centre,
                similarity=tuple(round(float(value), 6) for value in similarity),
            )
        )
    return found


def _chosen(groups: list[_Group], max_themes: int) -> list[_Group]:
    """The strongest `max_themes` groups by people x coherence, skipping a group whose centre is
    as close to a stronger chosen one's as answers about one topic are (the other side's
    "staff were kind" after "staff were helpful"), with at least one of each side when both
    have a group and two or more themes are wanted (a leader reports both what works and what
    doesn't); challenges first, then strengths, each side strongest first."""
    ranked = sorted(groups, key=lambda group: (-round(group.rank, 6), group.rows[0]))
    distinct: list[_Group] = []
    for group in ranked:
        if all(float(group.centre @ other.centre) < SAME_TOPIC for other in distinct):
            distinct.append(group)
    chosen = distinct[:max_themes]
    sides = {group.strength for group in chosen}
    if max_themes >= 2 and len(sides) == 1:
        other = next((g for g in distinct if g.strength not in sides), None)
        if other is not None:
            chosen = [*chosen[: max_themes - 1], other]
    return sorted(chosen, key=lambda g: (g.strength, -round(g.rank, 6), g.rows[0]))


def _quote_order(grouping: AnswerGrouping, group: _Group) -> list[int]:
    """The group's rows, most representative first: answers that name nobody, then ones without
    a lost line break ("themAction"), then by closeness to the centre; a text already seen
    (a pasted duplicate) goes last."""
    texts = [grouping.answers[row].text for row in group.rows]
    seen: set[str] = set()
    keyed = []
    for row, text, similarity in zip(group.rows, texts, group.similarity, strict=True):
        duplicate = " ".join(text.casefold().split()) in seen
        seen.add(" ".join(text.casefold().split()))
        keyed.append(
            (
                (
                    duplicate,
                    names_someone(text, grouping.names),
                    bool(GLUED_SENTENCES.search(text)),
                    -similarity,
                    row,
                ),
                row,
            )
        )
    return [row for _, row in sorted(keyed)]


def _labels(grouping: AnswerGrouping, chosen: list[_Group]) -> list[str]:
    """A phrase per theme from its own answers: candidate phrases (2-4 words) that at least two
    of its answers use, ranked by how close the phrase's own embedding is to the theme's centre
    plus how many of its answers use it, minus how close it is to the labels already given
    (themes read differently); TF-IDF ranks by distinctiveness alone."""
    per_answer, forms = candidate_phrases(
        [answer.text for answer in grouping.answers], grouping.names
    )
    everywhere: Counter[tuple[str, ...]] = Counter()
    for held in per_answer:
        everywhere.update(held.keys())
    total = len(grouping.answers)
    encoder = shared_encoder() if grouping.engine == MODEL_ENGINE else None
    given: list[Vectors] = []
    given_words: list[frozenset[str]] = []
    labels = []
    for group in chosen:
        size = len(group.rows)
        inside: Counter[tuple[str, ...]] = Counter()
        for row in group.rows:
            inside.update(per_answer[row].keys())

        def distinct(
            key: tuple[str, ...], inside: Counter[tuple[str, ...]] = inside, size: int = size
        ) -> float:
            # how many of the theme's answers use the phrase, and its most used word, weighted
            # by how rare the phrase is elsewhere (c-TF-IDF)
            word_share = max(inside[(word,)] for word in key) / size
            return (inside[key] / size + WORD_SHARE_WEIGHT * word_share) * math.log1p(
                total / everywhere[key]
            )

        usable = [
            key
            for key in inside
            if len(key) >= 2 and is_label_like(forms[key]) and frozenset(key) not in given_words
        ]
        shared = [key for key in usable if inside[key] >= 2]
        if len(shared) < 3:
            closest = set(_quote_order(grouping, group)[:MAX_QUOTES])
            shared += [
                key
                for key in usable
                if inside[key] < 2 and any(key in per_answer[row] for row in closest)
            ]
        candidates = sorted(shared, key=lambda key: (-distinct(key), forms[key]))
        candidates = candidates[:LABEL_CANDIDATES]
        if not candidates:
            labels.append(_fallback_label(grouping, group, inside, distinct))
            continue
        if encoder is not None:
            embedded = encoder.encode([forms[key] for key in candidates])
            score = embedded @ group.centre[: embedded.shape[1]]
            score += LABEL_SHARE_WEIGHT * np.array(
                [
                    (inside[key] + WORD_SHARE_WEIGHT * max(inside[(w,)] for w in key)) / size
                    for key in candidates
                ]
            )
            if given:
                score -= LABEL_OVERLAP_WEIGHT * np.max(embedded @ np.array(given).T, axis=1)
            best = int(np.argmax(np.round(score, 6)))
            given.append(embedded[best])
        else:
            best = 0
        key = candidates[best]
        given_words.append(frozenset(key))
        text = forms[key]
        labels.append(_as_label(text))
    return labels


def _as_label(text: str) -> str:
    """A phrase as a label: first letter capitalised, and "I" as a word ("Service I received",
    never "Service i received")."""
    text = LONE_I.sub("I", text)
    return text[0].upper() + text[1:]


def _fallback_label(
    grouping: AnswerGrouping,
    group: _Group,
    inside: Counter[tuple[str, ...]],
    distinct: Callable[[tuple[str, ...]], float],
) -> str:
    """No phrase of two words or more is shared: the most representative answer's own short
    clause ("queuing time") when one is 2-6 words and names nobody, else the group's most
    distinctive word in a plain frame ("Problems with parking")."""
    for row in _quote_order(grouping, group):
        for clause in short_clauses(grouping.answers[row].text):
            if is_label_like(clause) and not names_someone(clause, grouping.names):
                return _as_label(clause)
    words = sorted(
        (key for key in inside if len(key) == 1 and is_label_like(f"{key[0]} x")),
        key=lambda key: (-distinct(key), key),
    )
    return fallback_label(words[0][0] if words else None, strength=group.strength)


def suggest_themes(
    answers: Sequence[AnswerText],
    *,
    names: Collection[str] = (),
    max_themes: int = MAX_FINAL_THEMES,
    method: Method = "auto",
) -> list[SuggestedTheme]:
    """At most `max_themes` themes, challenges first then strengths, each side ranked by people x
    coherence; [] with fewer than four answers that have a content word (see `group_answers`).
    Answers in no returned theme are unthemed. `names` (display and real names), names found in
    the answers themselves and <@U…> mentions never reach a label or summary. The same answers in
    any order give the same themes. CPU-bound (≈1-2 s for 500 answers): from async code use
    `suggest_themes_async`. `method="model"` raises EncoderUnavailable if the model cannot load."""
    if max_themes < 1:
        return []
    grouping = group_answers(answers, names=names, method=method)
    if grouping is None:
        return []
    chosen = _chosen(_groups(grouping), max_themes)
    themes = []
    for group, label in zip(chosen, _labels(grouping, chosen), strict=True):
        order = _quote_order(grouping, group)
        fragment = next(
            (
                example_fragment(grouping.answers[row].text)
                for row in order
                if not names_someone(grouping.answers[row].text, grouping.names)
            ),
            None,
        )
        themes.append(
            SuggestedTheme(
                label=label,
                summary=summary_sentence(label, len(group.rows), fragment),
                kind=ThemeKind.STRENGTH if group.strength else ThemeKind.CHALLENGE,
                answer_ids=tuple(grouping.answers[row].id for row in group.rows),
                quote_ids=tuple(grouping.answers[row].id for row in order[:MAX_QUOTES]),
                cohesion=group.cohesion,
            )
        )
    return themes


__all__ = [
    "AnswerText",
    "EncoderUnavailable",
    "Method",
    "SuggestedTheme",
    "ThemeKind",
    "engine_name",
    "group_answers",
    "suggest_themes",
    "suggest_themes_async",
]
