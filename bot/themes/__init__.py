"""Offline theme suggestion for step 2 (report the findings): see `suggest_themes`. The plain
data and `suggest_themes_async` are imported here; the engine itself (numpy, onnxruntime, the
model) only when one of its names is first used, so importing the bot does not load it."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from bot.themes.runner import suggest_themes_async
from bot.themes.types import AnswerText, EncoderUnavailable, SuggestedTheme, ThemeKind

if TYPE_CHECKING:
    from bot.themes.phrases import shorten_quote
    from bot.themes.suggest import engine_name, suggest_themes

_ENGINE = {
    "engine_name": "bot.themes.suggest",
    "suggest_themes": "bot.themes.suggest",
    "shorten_quote": "bot.themes.phrases",
}


def __getattr__(name: str) -> Any:
    if name in _ENGINE:
        return getattr(import_module(_ENGINE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AnswerText",
    "EncoderUnavailable",
    "SuggestedTheme",
    "ThemeKind",
    "engine_name",
    "shorten_quote",
    "suggest_themes",
    "suggest_themes_async",
]
