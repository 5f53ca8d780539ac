"""Words of answers: plural folding, names, mentions and stop words, what the encoder reads."""

from __future__ import annotations

import pytest

from bot.themes.keywords import (
    answer_terms,
    fold_plural,
    name_words,
    stop_words,
    text_for_encoder,
)


@pytest.mark.parametrize(
    ("word", "singular"),
    [
        ("reviews", "review"),  # the plain -s plural
        ("processes", "process"),  # -sses loses -es, not just -s
        ("policies", "policy"),  # -ies becomes -y
        ("priorities", "priority"),  # -ies becomes -y on a longer word
        ("status", "status"),  # -us is not a plural
        ("bus", "bus"),  # too short to fold, and -us
        ("buses", "bus"),  # irregular: not "buse"
        ("statuses", "status"),  # irregular: not "statuse"
        ("process", "process"),  # -ss is not a plural
        ("analysis", "analysis"),  # -is is not a plural
        ("patches", "patch"),  # -ches loses -es
        ("fixes", "fix"),  # -xes loses -es
        ("pushes", "push"),  # -shes loses -es
        ("releases", "release"),  # -ses (not -sses) loses only -s
        ("caches", "cache"),  # irregular: not "cach"
        ("ties", "tie"),  # a short -ies word loses only -s
        ("kudos", "kudos"),  # listed as not plural
        ("devops", "devops"),  # listed as not plural
        ("ops", "ops"),  # three letters: left alone
        ("on-call", "on-call"),  # hyphenated words stay whole
        ("stakeholders", "stakeholder"),  # a compound noun folds at its end
        ("review", "review"),  # a singular stays
    ],
)
def test_fold_plural(word: str, singular: str) -> None:
    assert fold_plural(word) == singular


@pytest.mark.parametrize(
    ("text", "names", "absent", "present"),
    [
        # a full name removes both of its words wherever they stand
        ("Priya Raman reviews the deploys", ["Priya Raman"], {"priya", "raman"}, {"review"}),
        # a first name alone is caught by the member's full name
        ("thanks to priya for the pager handover", ["Priya Raman"], {"priya"}, {"pager"}),
        # accents are folded on both sides
        ("Tomas fixed the pipeline", ["Tomás Ortega"], {"tomas", "tomás"}, {"pipeline"}),
        ("Tomás fixed the pipeline", ["Tomas Ortega"], {"tomas", "tomás"}, {"pipeline"}),
        # a display name with a dot still splits into name words
        ("ask priya about the wiki", ["priya.r"], {"priya"}, {"wiki"}),
        # a possessive name goes too
        ("Priya's reviews are fast", ["Priya"], {"priya", "priya's"}, {"review"}),
        # Slack mentions, with and without a label, and @-typed names vanish
        ("<@U0PRIYA> owns the pager", [], {"u0priya", "priya"}, {"pager"}),
        ("<@U0PRIYA|priya> owns the pager", [], {"u0priya", "priya"}, {"pager"}),
        ("ping @priya.raman about the pager", [], {"priya", "raman"}, {"pager"}),
        # a hyphenated name is caught whole, in parts, and inside a hyphenated word
        ("Mary-Jane and Jane fixed it", ["Mary-Jane Doe"], {"mary-jane", "jane"}, {"fixed"}),
        ("a jane-approved pager rota", ["Mary-Jane"], {"jane-approved"}, {"pager"}),
        # Slack's HTML escapes are not words
        ("docs &amp; wiki &lt;3", [], {"amp", "lt"}, {"doc", "wiki"}),
        # stop words are gone; bigrams only join words that stood side by side
        ("The code reviews are slow", [], {"the", "are"}, {"code review", "slow"}),
        # a mention breaks a bigram instead of bridging it
        ("pager <@U1> rotation", [], {"pager rotation"}, {"pager", "rotation"}),
        # a sentence end breaks a bigram too
        ("Slow pager. Rotation is fine", [], {"pager rotation"}, {"pager", "rotation"}),
    ],
)
def test_answer_terms_drop_names_mentions_and_stop_words(
    text: str, names: list[str], absent: set[str], present: set[str]
) -> None:
    terms = set(answer_terms(text, name_words(names)))
    assert not terms & absent
    assert present <= terms
    assert not {word for term in terms for word in term.split()} & stop_words()


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("<@U123> reviews fast", "someone reviews fast"),  # a mention reads as a person
        ("see <#C1|general>", "see general"),  # a channel reads as its name
        ("docs at <https://x.example/a|the wiki>", "docs at the wiki"),  # a link as its label
        ("docs &amp; wiki", "docs & wiki"),  # Slack's escapes read as the characters
        ("plain text", "plain text"),  # untouched
    ],
)
def test_text_for_encoder(text: str, encoded: str) -> None:
    assert text_for_encoder(text) == encoded


def test_stop_word_list_is_shipped_and_folded() -> None:
    words = stop_words()
    assert {"the", "and", "don't", "we've"} <= words
    assert "review" not in words
    # the folded form of every listed word is listed too, so a folded term never slips through
    assert all(fold_plural(word) in words for word in words)
