"""The theme engine's plain data: what goes in (AnswerText) and comes out (SuggestedTheme). Apart
from the engine so that code which only passes them around (the services, the scheduler, the
child-process runner) does not import numpy, onnxruntime or the model; all of it is picklable,
so it crosses to the engine's child process and back."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Method = Literal["auto", "model", "tfidf"]


class EncoderUnavailable(RuntimeError):
    """The model could not be loaded: its packages are missing or its files are unusable."""


@dataclass(frozen=True)
class AnswerText:
    id: str  # stable id to cite (the answer row id)
    question: int  # 0-based question position (0 is usually "what's working well")
    text: str  # verbatim


class ThemeKind(StrEnum):
    STRENGTH = "strength"
    CHALLENGE = "challenge"
    MIXED = "mixed"  # only on themes stored before sides were kept apart


@dataclass(frozen=True)
class SuggestedTheme:
    label: str  # 2-6 words from the answers' own language, no stop word at an edge, no name
    summary: str  # one sentence: "Several people mentioned <label>; for example: “<fragment>”"
    kind: ThemeKind  # STRENGTH (question 0) or CHALLENGE (any other): never MIXED any more
    answer_ids: tuple[str, ...]  # every answer behind it (all from one side), canonical order
    quote_ids: tuple[str, ...]  # 2-3 answers closest to its centre, preferring clean, nameless ones
    cohesion: float  # mean cosine similarity of its answers to their centre
