"""Words of answers for theme labels and the TF-IDF fallback: Slack markup, people's names and
stop words removed, singular/plural folded; unigrams plus bigrams of adjacent kept words.
Also the c-TF-IDF scoring that picks a cluster's distinctive keywords."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
from numpy.typing import NDArray

# Slack markup: <@U…>, <@U…|name>, <#C…|channel>, <!here>, <!subteam^S…|@team>, <https://…|text>.
SLACK_MARKUP = re.compile(r"<[^<>\s]*(?:\|[^<>]*)?>")
MENTION = re.compile(r"<@[^<>]*>")
EMOJI = re.compile(r":[a-z0-9_+\-']+:")
# A word: letters and digits, joined by inner hyphens or apostrophes ("on-call", "don't").
WORD = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")
TYPED_AT_NAME = re.compile(r"@[^\W_][\w.\-]*")

# Plural folding: words that end in "s" but are not plurals, and irregular plurals we meet in
# workplace feedback. Endings in -ss, -us and -is are kept by rule (process, status, analysis).
NOT_PLURAL = frozenset(
    {
        "always",
        "analytics",
        "chaos",
        "devops",
        "economics",
        "kubernetes",
        "kudos",
        "jenkins",
        "lens",
        "news",
        "perhaps",
        "postgres",
        "series",
        "species",
        "thanks",
        "whereas",
    }
)
IRREGULAR_PLURALS = {
    "buses": "bus",
    "statuses": "status",
    "caches": "cache",
    "headaches": "headache",
    "people": "people",
    "children": "child",
    "men": "man",
    "women": "woman",
}
_ES_ENDINGS = ("sses", "shes", "ches", "xes", "zzes")


def fold_plural(word: str) -> str:
    """The singular of a lower-case English word by simple rules: reviews→review,
    processes→process, policies→policy; status, bus and process stay as they are."""
    if word in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[word]
    if len(word) <= 3 or word in NOT_PLURAL or not word.endswith("s") or "'" in word:
        return word
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y" if len(word) > 4 else word[:-1]
    if word.endswith(_ES_ENDINGS):
        return word[:-2]
    return word[:-1]


@cache
def stop_words() -> frozenset[str]:
    """The shipped English stop-word list (bot/themes/data/stopwords.txt), folded."""
    text = resources.files("bot.themes").joinpath("data/stopwords.txt").read_text("utf-8")
    words = {line.strip() for line in text.splitlines()}
    words = {word for word in words if word and not word.startswith("#")}
    return frozenset(words | {fold_plural(word) for word in words})


def _fold_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _words(text: str) -> list[str]:
    text = _fold_accents(text.casefold().replace("\u2019", "'").replace("\u2018", "'"))
    words = []
    for word in WORD.findall(text):
        if word.endswith("'s"):
            word = word[:-2]
        # Single letters ("n/a", "a/b testing", initials) never make a useful keyword.
        if len(word) > 1 and any(char.isalpha() for char in word):
            words.append(word)
    return words


def name_words(names: Iterable[str]) -> frozenset[str]:
    """Every word of every name, lower case and without accents, so that "Tomás Ortega" also
    removes "tomas" and "ortega" on their own (first names, last names, display names), and the
    parts of a hyphenated name. Privacy wins over labels: a member called Page removes "page"."""
    found: set[str] = set()
    for name in names:
        for word in _words(name.replace("_", " ").replace(".", " ")):
            found |= {word, fold_plural(word)}
            found |= {part for part in re.split(r"['\-]", word) if len(part) > 1}
    return frozenset(found)


def _unescape(text: str) -> str:
    # Slack escapes these three in message text; answers may be stored either way.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def answer_terms(text: str, removed: Collection[str]) -> list[str]:
    """The distinct terms of one answer: kept words (folded) and bigrams of kept words that stood
    next to each other; stop words, `removed` words (names) and Slack markup are gone."""
    text = _unescape(SLACK_MARKUP.sub(" | ", text))
    text = TYPED_AT_NAME.sub(" | ", EMOJI.sub(" ", text))
    stops = stop_words()
    terms: list[str] = []
    previous: str | None = None
    for chunk in re.split(r"[|.!?;:,()\[\]\"\n]+", text):
        previous = None
        for raw in _words(chunk):
            word = fold_plural(raw)
            parts = re.split(r"['\-]", raw) if ("-" in raw or "'" in raw) else ()
            if (
                raw in removed
                or word in removed
                or any(part in removed for part in parts)
                or raw in stops
                or word in stops
            ):
                previous = None
                continue
            terms.append(word)
            if previous is not None and previous != word:
                terms.append(f"{previous} {word}")
            previous = word
    return list(dict.fromkeys(terms))


def text_for_encoder(text: str) -> str:
    """What the sentence encoder reads: mentions become "someone", other Slack markup its label."""
    text = MENTION.sub("someone", text)

    def label(match: re.Match[str]) -> str:
        inner = match.group(0)[1:-1]
        return inner.split("|", 1)[1].lstrip("#@") if "|" in inner else ""

    return _unescape(SLACK_MARKUP.sub(label, text))


@dataclass(frozen=True)
class TermTable:
    """Which answer holds which term: a binary document-term matrix over the kept vocabulary."""

    vocabulary: tuple[str, ...]
    presence: NDArray[np.float64]  # answers x terms, 1.0 where the answer holds the term


def term_table(term_lists: Sequence[Sequence[str]], *, min_answers: int = 1) -> TermTable:
    counts = Counter(term for terms in term_lists for term in set(terms))
    vocabulary = tuple(sorted(term for term, count in counts.items() if count >= min_answers))
    index = {term: position for position, term in enumerate(vocabulary)}
    presence = np.zeros((len(term_lists), len(vocabulary)), dtype=np.float64)
    for row, terms in enumerate(term_lists):
        for term in terms:
            column = index.get(term)
            if column is not None:
                presence[row, column] = 1.0
    return TermTable(vocabulary, presence)


def tfidf_vectors(term_lists: Sequence[Sequence[str]]) -> NDArray[np.float32]:
    """L2-normalised TF-IDF rows (smooth idf) over terms that at least two answers share, or
    over all terms when too few are shared; an answer with no kept term is a zero row."""
    table = term_table(term_lists, min_answers=2)
    if len(table.vocabulary) < 2:
        table = term_table(term_lists, min_answers=1)
    n = len(term_lists)
    document_frequency = table.presence.sum(axis=0)
    idf = np.log((1.0 + n) / (1.0 + document_frequency)) + 1.0
    weights = table.presence * idf
    norms = np.linalg.norm(weights, axis=1, keepdims=True)
    vectors: NDArray[np.float32] = (weights / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return vectors


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
