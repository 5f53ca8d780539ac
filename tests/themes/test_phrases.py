"""A theme's words: candidate phrases, what a label may be, summaries, and quotes cut only
between words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.themes.phrases import (
    answer_phrases,
    example_fragment,
    is_label_like,
    short_clauses,
    shorten_quote,
    summary_sentence,
)


@pytest.mark.parametrize(
    ("label", "ok"),
    [
        ("Timing still tight", True),  # a team's own label
        ("Making time for sharing and sense-making", True),  # six words
        ("Wiki", False),  # one word: a label is a phrase
        ("Monday", False),  # a weekday alone
        ("Great team", False),  # praise and filler only
        ("The week", False),  # stop word and time word
        ("Staff were very helpful", True),
        ("one two three four five six seven", False),  # seven words
    ],
)
def test_is_label_like(label: str, ok: bool) -> None:
    assert is_label_like(label) is ok


def test_answer_phrases_keep_no_stop_word_at_an_edge_and_no_name() -> None:
    found = answer_phrases("The wiki that Stephen keeps is out of date.", {"stephen"})
    texts = set(found.values())
    assert "wiki" in texts
    assert not any("stephen" in text for text in texts)
    assert "out of date" not in texts  # "out" is a stop word at the edge
    assert not any(text.split()[0] in {"the", "is"} for text in texts)


def test_no_phrase_is_cut_out_of_a_negation() -> None:
    texts = set(answer_phrases("I cant fault the support, and don't like parking", set()).values())
    assert "fault the support" not in texts
    assert "like parking" not in texts
    assert "support" in texts


def test_a_negation_reaches_past_degree_words() -> None:
    text = "Not so great ambulance driver on the return journey"
    texts = set(answer_phrases(text, set()).values())
    assert not any(phrase.startswith("great") for phrase in texts)
    assert "ambulance driver" in texts  # the negation stops at "great"
    assert "return journey" in texts


@pytest.mark.parametrize(
    ("text", "spanning", "kept"),
    [
        ("Keep on doing as you are, in my opinion its works", "opinion its works", "opinion"),
        ("The time I face medical problems", "time I face medical", "medical problems"),
        ("Patients that staff look after", "patients that staff", "staff look"),
        ("The care I received", "care I received", "care"),
        # a possessive stays inside a phrase: it does not start a clause
        ("It lifted my mood", "lifted my mood", "lifted my mood"),
    ],
)
def test_no_phrase_spans_two_clauses(text: str, spanning: str, kept: str) -> None:
    texts = set(answer_phrases(text, set()).values())
    assert kept in texts
    if spanning != kept:
        assert spanning.lower() not in texts


@pytest.mark.parametrize(
    ("text", "fragment", "kept"),
    [
        # an object pronoun right after the phrase: its last word is a verb
        ("Seriously and giving us help we need", "seriously and giving", "giving us help"),
        ("The nurses helped me with everything", "nurses helped", "nurses"),
        # an -ing word that "here" or "there" closes the clause after
        ("Looked after me well all through my care staying here.", "care staying", "care"),
        ("Parents visiting there.", "parents visiting", "parents"),
        # a verb particle and a pronoun, with no copula or degree word in the phrase
        ("Staff look after me.", "staff look", "staff"),
        ("The way staff listen to you and your health", "staff listen", "health"),
        ("Managers shout at us in stand-ups", "managers shout", "managers"),
    ],
)
def test_no_phrase_stops_before_its_verbs_object(text: str, fragment: str, kept: str) -> None:
    texts = set(answer_phrases(text, set()).values())
    assert fragment not in texts
    assert kept in texts


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Staff were kind to me", "staff were kind"),  # a copula: "kind" is an adjective
        ("Therapist was supportive of me.", "therapist was supportive"),  # "of" follows anything
        ("Doctors very nice to us", "doctors very nice"),  # a degree word: an adjective
        ("Great sprint planning with us", "sprint planning"),  # "with" follows nouns too
        ("Lovely staff here.", "lovely staff"),  # "here" after a noun, not an -ing word
        ("Car parking here is awful", "car parking"),  # "here" does not close the clause
        ("The ward staff you meet are kind", "ward staff"),  # "you" starts the next clause
        ("Patients that staff look after", "staff look"),  # no object follows
    ],
)
def test_a_phrase_before_a_complement_or_a_new_clause_stays(text: str, phrase: str) -> None:
    assert phrase in set(answer_phrases(text, set()).values())


def test_a_lost_line_break_splits_phrases() -> None:
    texts = set(answer_phrases("we never find themAction items pile up", set()).values())
    assert "action items" in texts
    assert not any("themaction" in text.replace(" ", "") for text in texts)


def test_short_clauses() -> None:
    # stop words come off both ends ("less", "otherwise", "really"); one word is not a clause
    assert short_clauses("Less queuing time. Otherwise fine, really. The car park is full") == [
        "queuing time",
        "car park is full",
    ]


@pytest.mark.parametrize(
    ("text", "limit", "short"),
    [
        ("what feasible routes exist", 100, "what feasible routes exist"),  # fits: unchanged
        ("what feasible routes exist", 18, "what feasible…"),  # cut between words
        ("what feasible, routes exist", 19, "what feasible…"),  # trailing comma dropped
        ("abcdefghij", 5, "abcd…"),  # one word too long: the only mid-word cut
    ],
)
def test_shorten_quote(text: str, limit: int, short: str) -> None:
    assert shorten_quote(text, limit) == short


@given(st.text(alphabet=st.sampled_from("ab cd,.\n"), max_size=80), st.integers(2, 60))
def test_shorten_quote_cuts_only_between_words(text: str, limit: int) -> None:
    short = shorten_quote(text, limit)
    assert len(short) <= limit
    if len(text) <= limit:
        assert short == text
        return
    flat = " ".join(text.split())
    if short == flat:  # only its line breaks and runs of spaces had to go
        return
    assert short.endswith("…")
    head = short.removesuffix("…")
    assert flat.startswith(head)
    if head and flat[len(head)].isalnum():
        # cut inside a word: only when no word ends in the second half of the room, so that
        # a long first word (a link) still shows its start
        assert head.rfind(" ") < (limit - 1) // 2


def test_example_fragment_and_summary() -> None:
    fragment = example_fragment("Staff were nice and friendly. The food was cold.")
    assert fragment == "Staff were nice and friendly"
    assert summary_sentence("Staff were nice", 4, fragment) == (
        "Several people mentioned staff were nice; for example: “Staff were nice and friendly”"
    )
    assert summary_sentence("Parking spaces", 2, None) == "Two people mentioned parking spaces."
    assert summary_sentence("NHS app", 3, None) == "Several people mentioned NHS app."


@pytest.mark.parametrize(
    ("phrase", "label"),
    [
        ("service i received", "Service I received"),
        ("i'm never told", "I'm never told"),
        ("wifi is slow", "Wifi is slow"),
        ("ai tools", "Ai tools"),
    ],
)
def test_a_label_capitalises_its_first_letter_and_a_lone_i(phrase: str, label: str) -> None:
    from bot.themes.suggest import _as_label

    assert _as_label(phrase) == label
