"""The -OO seam (bot/interpreter.py): what the start-up self-check counts and says."""

from __future__ import annotations

import logging
from types import ModuleType, SimpleNamespace

import pytest

from bot.interpreter import bytecode_cache, check_interpreter


def _module(name: str, cached: str | None, *, has_location: bool = True) -> ModuleType:
    module = ModuleType(name)
    module.__spec__ = SimpleNamespace(cached=cached, has_location=has_location)  # type: ignore[assignment]
    return module


def test_only_modules_from_source_files_are_counted() -> None:
    modules = [
        _module("a", "/c/a.opt-2.pyc"),
        _module("b", "/c/b.opt-2.pyc"),
        _module("frozen", None),
        _module("built_in", "/c/x.pyc", has_location=False),
        ModuleType("no_spec"),
    ]
    cache = bytecode_cache(modules, exists=lambda path: path == "/c/a.opt-2.pyc")
    assert (cache.modules, cache.uncached) == (2, 1)


@pytest.mark.parametrize(
    ("modules", "uncached", "warned"),
    [(100, 0, False), (100, 5, False), (100, 6, True), (0, 0, False), (3, 3, True)],
)
def test_a_warning_needs_more_than_a_few_modules_compiled_at_start(
    modules: int, uncached: int, warned: bool
) -> None:
    names = [f"m{n}" for n in range(modules)]
    missing = set(names[:uncached])
    cache = bytecode_cache(
        [_module(name, f"/c/{name}.pyc") for name in names],
        exists=lambda path: path.removeprefix("/c/").removesuffix(".pyc") not in missing,
    )
    assert cache.mostly_uncached is warned


def test_the_default_level_says_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="bot.interpreter"):
        assert check_interpreter(0) is None
    assert caplog.records == []


def test_level_two_names_what_is_stripped_and_warns_when_nothing_is_cached(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This suite runs at level 0, so no module here has level-2 bytecode unless someone
    compiled it: the check sees every module as compiled at start."""
    monkeypatch.setattr("bot.interpreter.os.path.exists", lambda path: False)
    with caplog.at_level(logging.INFO, logger="bot.interpreter"):
        cache = check_interpreter(2)
    assert cache is not None
    assert cache.uncached == cache.modules > 100
    info, warning = caplog.records
    assert "level 2: asserts and docstrings stripped (PYTHONOPTIMIZE=0" in info.getMessage()
    assert warning.levelno == logging.WARNING
    assert f"{cache.modules} of {cache.modules} modules" in warning.getMessage()
    assert "compileall -o 2" in warning.getMessage()
