"""The engine before issue #15 labelled a theme with its cluster's distinctive keywords
(c-TF-IDF) and summed it up as "N answers about a, b and c": those functions, kept for the
bench's same-run comparison. How answers are split into words is the current engine's own
(`bot.themes.keywords`, unchanged by #15), so it is imported rather than copied."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from bot.themes.keywords import TermTable


def ranked_keywords(
    table: TermTable, assignment: NDArray[np.int64], cluster: int, *, limit: int = 12
) -> list[str]:
    """c-TF-IDF (class-based TF-IDF, as in BERTopic): a term's share of the cluster's answers,
    weighted by log(1 + average answers per cluster / answers holding it anywhere). Terms held
    by at least two of the cluster's answers come first; ties break alphabetically."""
    clusters = np.unique(assignment)
    in_cluster = table.presence[assignment == cluster]
    if in_cluster.shape[0] == 0 or in_cluster.shape[1] == 0:
        return []
    cluster_frequency = in_cluster.sum(axis=0)
    overall = table.presence.sum(axis=0)
    average = table.presence.shape[0] / len(clusters)
    score = (cluster_frequency / in_cluster.shape[0]) * np.log1p(average / np.maximum(overall, 1))
    order = sorted(
        (column for column in range(len(table.vocabulary)) if cluster_frequency[column] > 0),
        key=lambda column: (
            cluster_frequency[column] < 2,
            -round(float(score[column]), 9),
            table.vocabulary[column],
        ),
    )
    return [table.vocabulary[column] for column in order[:limit]]


def compose_phrases(keywords: Sequence[str], *, max_words: int, max_phrases: int) -> list[str]:
    """Distinct phrases from ranked keywords, skipping words already used; a bigram that extends a
    chosen single word replaces it ("review" then "code review" gives "code review")."""
    phrases: list[str] = []
    for keyword in keywords:
        words = keyword.split()
        used = [word for phrase in phrases for word in phrase.split()]
        overlap = [word for word in words if word in used]
        if not overlap:
            if len(used) + len(words) > max_words or len(phrases) >= max_phrases:
                continue
            phrases.append(keyword)
        elif len(words) == 2 and len(overlap) == 1 and overlap[0] in phrases:
            if len(used) + 1 > max_words:
                continue
            phrases[phrases.index(overlap[0])] = keyword
    return phrases


def label_from_keywords(keywords: Sequence[str]) -> str:
    """2-3 words: the leading distinctive phrases. A cluster with one usable word gets
    "<word> feedback"; one with none "general feedback" (both singular, like the keywords)."""
    words = " ".join(compose_phrases(keywords, max_words=3, max_phrases=3)).split()
    if len(words) >= 2:
        return " ".join(words)
    if words and words[0] != "feedback":
        return f"{words[0]} feedback"
    return "general feedback"


def summary_from_keywords(count: int, keywords: Sequence[str]) -> str:
    phrases = compose_phrases(keywords, max_words=6, max_phrases=4)
    if not phrases:
        return f"{count} answers"
    if len(phrases) == 1:
        return f"{count} answers about {phrases[0]}"
    return f"{count} answers about {', '.join(phrases[:-1])} and {phrases[-1]}"
