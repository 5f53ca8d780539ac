"""People's names found in the answers themselves, with or without the Slack directory, and kept
out of every label and summary."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.themes import suggest_themes
from bot.themes.names import names_in_answers, names_someone
from bot.themes.suggest import Method
from tests.themes.samples import COFFEE, LAPTOPS, PARKING, answers


@pytest.mark.parametrize(
    ("texts", "directory", "names", "not_names"),
    [
        # the directory's names, every part of them
        (["the wiki is great"], ["Priya Raman"], {"priya", "raman"}, {"wiki"}),
        # capitalised mid-sentence and never in lower case: a name nobody told us about
        (["Keeping the wiki tidy thanks to Stephen."], [], {"stephen"}, {"wiki", "keeping"}),
        (["The balance Mark and Shaun found works."], [], {"mark", "shaun"}, {"balance"}),
        # ... but a word also written in lower case elsewhere is a word
        (["Show & Tell is great.", "we should show more"], [], {"tell"}, {"show"}),
        # a word before a colon opening an answer
        (["Desmond: more time for sharing"], [], {"desmond"}, {"time", "sharing"}),
        # ... unless the answers write it in lower case too
        (["Wiki: out of date", "the wiki is stale"], [], set(), {"wiki"}),
        # a first name from the shipped list, at the start of a sentence
        (["Claire was lovely."], [], {"claire"}, {"lovely"}),
        # after a title
        (["Saw Dr Howard today."], [], {"howard"}, {"saw"}),
        # acronyms are not names; a sentence-initial word is not one by position alone
        (["The NHS app works.", "Parking is hard."], [], set(), {"nhs", "parking", "the"}),
    ],
)
def test_names_in_answers(
    texts: list[str], directory: list[str], names: set[str], not_names: set[str]
) -> None:
    found = names_in_answers(texts, directory)
    assert names <= found
    assert not not_names & found


def test_names_someone_sees_mentions_and_names() -> None:
    assert names_someone("thanks <@U123>", frozenset())
    assert names_someone("Thanks Stephen!", frozenset({"stephen"}))
    assert not names_someone("thanks all", frozenset({"stephen"}))


NAME = st.text(alphabet=string.ascii_lowercase, min_size=3, max_size=9).map(str.capitalize)
STOP_LIKE = {"The", "And", "For", "But", "Not", "You", "Our", "All", "Its", "His", "Her", "Was"}


# A word the answers also write in lower case ("we need a coffee machine") is an everyday word,
# not a name: the rule leaves it alone, so the test must not plant it as one.
CORPUS_WORDS = {
    word.strip(".,!?;:'\"()").casefold()
    for text in (*COFFEE, *PARKING, *LAPTOPS)
    for word in text.split()
}


@pytest.mark.parametrize("method", ["tfidf", "model"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=NAME.filter(lambda n: n not in STOP_LIKE and n.casefold() not in CORPUS_WORDS),
    data=st.data(),
)
def test_a_name_nobody_listed_never_reaches_a_label_or_summary(
    method: Method, name: str, data: st.DataObject, request: pytest.FixtureRequest
) -> None:
    if method == "model":
        request.getfixturevalue("encoder")
    # the name stands mid-sentence in some answers of every group, capitalised as names are
    groups = [list(group) for group in (COFFEE, PARKING, LAPTOPS)]
    for group in groups:
        for row in data.draw(st.sets(st.integers(0, 4), min_size=1, max_size=5)):
            group[row] = f"{group[row].rstrip('.')} says {name}, and {name} agrees."
    given_answers = answers((1, groups[0]), (1, groups[1]), (0, groups[2]))
    key = name.casefold()
    for theme in suggest_themes(given_answers, method=method, names=()):
        text = f"{theme.label} {theme.summary}".casefold()
        assert key not in "".join(c if c.isalnum() else " " for c in text).split()
