"""Suggest up to three themes from a tour's answers, offline: embed (MiniLM, or TF-IDF when the
model is unavailable), cluster, rank clusters by size x cohesion, label each with its distinctive
keywords and pick the answers closest to its centre as quotes. Plain data in, plain data out."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import numpy as np

from bot.themes.embeddings import (
    MODEL_ENGINE,
    TFIDF_ENGINE,
    EncoderUnavailable,
    shared_encoder,
    unavailable_reason,
)
from bot.themes.keywords import (
    MENTION,
    answer_terms,
    name_words,
    term_table,
    text_for_encoder,
    tfidf_vectors,
)
from themes_v1.clustering import Clustering, Vectors, cluster_vectors
from themes_v1.keywords import label_from_keywords, ranked_keywords, summary_from_keywords

Method = Literal["auto", "model", "tfidf"]
MIN_ANSWERS = 4
MIN_THEME_ANSWERS = 2
MAX_QUOTES = 3


@dataclass(frozen=True)
class AnswerText:
    id: str  # stable id to cite (the answer row id)
    question: int  # 0-based question position (0 is usually "what's working well")
    text: str  # verbatim


class ThemeKind(StrEnum):
    STRENGTH = "strength"
    CHALLENGE = "challenge"
    MIXED = "mixed"


@dataclass(frozen=True)
class SuggestedTheme:
    label: str  # 2-5 words, no stop words, no people's names, singular/plural folded
    summary: str  # one line: the count and the top keywords
    kind: ThemeKind  # question 0 → strength, others → challenge; mixed when neither has ≥ 2/3
    answer_ids: tuple[str, ...]  # every answer behind it, in the order given
    quote_ids: tuple[str, ...]  # 2-3 answers closest to the centre, preferring ones naming nobody
    cohesion: float  # mean cosine similarity of its answers to their centre


@dataclass(frozen=True)
class AnswerClustering:
    """All clusters of the answers with a content word (what the bench scores), before ranking."""

    engine: str
    positions: tuple[int, ...]  # positions in the input of the answers clustered
    vectors: Vectors
    clustering: Clustering
    terms: tuple[tuple[str, ...], ...]  # label terms of each clustered answer


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


def cluster_answers(
    answers: Sequence[AnswerText],
    *,
    names: Collection[str] = (),
    method: Method = "auto",
    k: int | None = None,
) -> AnswerClustering | None:
    """Cluster the answers that have a content word (k chosen by silhouette unless given); None
    when fewer than four have one. Blank answers, "n/a", "nothing", emoji alone or a name alone
    can make no theme, and a pile of them would otherwise be the tightest cluster of all."""
    removed = name_words(names)
    all_terms = [tuple(answer_terms(answer.text, removed)) for answer in answers]
    positions = tuple(index for index, terms in enumerate(all_terms) if terms)
    if len(positions) < MIN_ANSWERS:
        return None
    terms = tuple(all_terms[index] for index in positions)
    engine, vectors = _vectors([answers[index].text for index in positions], terms, method)
    return AnswerClustering(engine, positions, vectors, cluster_vectors(vectors, k=k), terms)


def _kind(questions: Sequence[int]) -> ThemeKind:
    strengths = sum(1 for question in questions if question == 0)
    if 3 * strengths >= 2 * len(questions):
        return ThemeKind.STRENGTH
    if 3 * (len(questions) - strengths) >= 2 * len(questions):
        return ThemeKind.CHALLENGE
    return ThemeKind.MIXED


def suggest_themes(
    answers: Sequence[AnswerText],
    *,
    names: Collection[str] = (),
    max_themes: int = 3,
    method: Method = "auto",
) -> list[SuggestedTheme]:
    """At most `max_themes` themes, strongest first; [] with fewer than four answers that have a
    content word (see `cluster_answers`). `names`
    (display and real names) and <@U…> mentions never reach a label or summary. Deterministic
    for the same input. CPU-bound (≈1 s for 500 answers): from async code use
    `suggest_themes_async`. `method="model"` raises EncoderUnavailable if the model cannot load."""
    if max_themes < 1:
        return []
    clustered = cluster_answers(answers, names=names, method=method)
    if clustered is None:
        return []
    assignment = clustered.clustering.assignment
    # Cohesion and quotes are measured in the full embedding (or TF-IDF) space.
    membership = np.zeros((len(assignment), clustered.clustering.k), dtype=np.float32)
    membership[np.arange(len(assignment)), assignment] = 1.0
    sums = membership.T @ clustered.vectors
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    centroids = sums / np.where(norms > 0, norms, 1.0)
    similarity = np.sum(clustered.vectors * centroids[assignment], axis=1)
    ranked: list[tuple[float, int, int]] = []
    for cluster in range(clustered.clustering.k):
        rows = np.flatnonzero(assignment == cluster)
        if len(rows) >= MIN_THEME_ANSWERS:
            cohesion = float(similarity[rows].mean())
            ranked.append((len(rows) * cohesion, cluster, int(rows[0])))
    ranked.sort(key=lambda entry: (-round(entry[0], 9), entry[2]))

    removed = name_words(names)

    def names_someone(row: int) -> bool:
        text = answers[clustered.positions[row]].text
        return bool(MENTION.search(text)) or bool(removed & name_words([text]))

    table = term_table(clustered.terms)
    themes = []
    for _, cluster, _ in ranked[:max_themes]:
        members = [int(row) for row in np.flatnonzero(assignment == cluster)]
        chosen = [answers[clustered.positions[row]] for row in members]
        keywords = ranked_keywords(table, assignment, cluster)
        quotes = sorted(
            members, key=lambda row: (names_someone(row), -round(float(similarity[row]), 6), row)
        )
        themes.append(
            SuggestedTheme(
                label=label_from_keywords(keywords),
                summary=summary_from_keywords(len(members), keywords),
                kind=_kind([answer.question for answer in chosen]),
                answer_ids=tuple(answer.id for answer in chosen),
                quote_ids=tuple(
                    answers[clustered.positions[row]].id for row in quotes[:MAX_QUOTES]
                ),
                cohesion=round(float(similarity[members].mean()), 4),
            )
        )
    return themes


async def suggest_themes_async(
    answers: Sequence[AnswerText],
    *,
    names: Collection[str] = (),
    max_themes: int = 3,
    method: Method = "auto",
) -> list[SuggestedTheme]:
    """`suggest_themes` in a worker thread, so neither the first call's model load nor the
    clustering blocks the event loop."""
    return await asyncio.to_thread(
        suggest_themes,
        tuple(answers),
        names=tuple(names),
        max_themes=max_themes,
        method=method,
    )
