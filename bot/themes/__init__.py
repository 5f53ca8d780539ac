"""Offline theme suggestion for step 2 (report the findings): see `suggest_themes`."""

from bot.themes.embeddings import EncoderUnavailable
from bot.themes.phrases import shorten_quote
from bot.themes.suggest import (
    AnswerText,
    SuggestedTheme,
    ThemeKind,
    engine_name,
    suggest_themes,
    suggest_themes_async,
)

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
