"""Where the theme engine runs: not imported with the bot, in a child process by default (same
themes as in this process, and the engine's memory never reaches the bot's), in this process when
a child cannot start, and never on the event loop."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

import bot.themes.runner as runner
from bot.children import spawn_pool
from bot.themes import AnswerText, suggest_themes, suggest_themes_async
from bot.themes.suggest import Method

ROOT = Path(__file__).resolve().parents[2]
ENGINE_MODULES = ("numpy", "onnxruntime", "tokenizers", "bot.themes.suggest")

# Imports the app as `partnerbot run` does, groups answers the default way (in a child), and
# prints which of the engine's modules this process holds, before and after.
PROBE = f"""
import asyncio, json, sys
import bot.app
from bot.themes import AnswerText, suggest_themes_async
from tests.themes.samples import COFFEE, LAPTOPS, PARKING, answers

engine = {ENGINE_MODULES!r}
before = [m for m in engine if m in sys.modules]
themes = asyncio.run(
    suggest_themes_async(answers((1, COFFEE), (1, PARKING), (1, LAPTOPS)), in_child=True)
)
after = [m for m in engine if m in sys.modules]
print(json.dumps({{"before": before, "after": after, "themes": len(themes)}}))
"""


def test_the_engine_is_not_imported_with_the_app_nor_after_a_grouping_in_a_child() -> None:
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen == {"before": [], "after": [], "themes": 3}


@pytest.mark.parametrize("engine", ["model", "tfidf"])
async def test_a_child_process_gives_the_same_themes_as_this_one(
    engine: Method, three_groups: list[AnswerText], request: pytest.FixtureRequest
) -> None:
    if engine == "model":
        request.getfixturevalue("encoder")  # skips where the model packages are missing
    pids: list[int] = []

    def watched_pool() -> Any:
        pool = spawn_pool()
        real_submit = pool.submit

        def submit(*args: Any, **kwargs: Any) -> Future[Any]:
            future = real_submit(*args, **kwargs)
            pids.extend(pool._processes or {})
            return future

        pool.submit = submit  # type: ignore[method-assign]
        return pool

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "spawn_pool", watched_pool)
        in_child = await suggest_themes_async(
            three_groups, names=["Priya"], max_themes=2, method=engine, in_child=True
        )
    assert pids  # it did run in another process
    assert os.getpid() not in pids
    assert in_child == suggest_themes(three_groups, names=["Priya"], max_themes=2, method=engine)
    assert len(in_child) == 2


class CannotStart:
    def __init__(self, *args: object, **kwargs: object) -> None:
        raise OSError(11, "Resource temporarily unavailable")


class DiesAtOnce:
    """A pool whose child is killed before it answers (say, by the OOM killer)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __enter__(self) -> DiesAtOnce:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def submit(self, *args: object, **kwargs: object) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_exception(BrokenProcessPool("a child process terminated abruptly"))
        return future


@pytest.mark.parametrize(
    ("pool", "reason"),
    [(CannotStart, "BlockingIOError: [Errno 11]"), (DiesAtOnce, "BrokenProcessPool: a child")],
)
async def test_when_a_child_cannot_run_the_grouping_runs_here_and_says_why(
    pool: type,
    reason: str,
    three_groups: list[AnswerText],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(runner, "spawn_pool", pool)
    with caplog.at_level(logging.WARNING, logger="bot.themes.runner"):
        themes = await suggest_themes_async(three_groups, method="tfidf", in_child=True)
    assert themes == suggest_themes(three_groups, method="tfidf")
    assert len(themes) == 3
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.themes.runner"]
    assert len(lines) == 1
    assert "could not group 15 answers in a child process" in lines[0]
    assert reason in lines[0]


async def test_the_loop_is_free_while_the_child_works(
    three_groups: list[AnswerText], monkeypatch: pytest.MonkeyPatch
) -> None:
    released = threading.Event()
    seen: dict[str, object] = {}

    class SlowChild(DiesAtOnce):
        def submit(self, *args: object, **kwargs: object) -> Future[Any]:
            # The loop sets the event only if it is free while this waits; were the child
            # awaited on the loop itself, this would wait out the timeout and record False.
            seen["loop_was_free"] = released.wait(timeout=10)
            future: Future[Any] = Future()
            future.set_result([])
            return future

    monkeypatch.setattr(runner, "spawn_pool", SlowChild)
    asyncio.get_running_loop().call_soon(released.set)
    assert await suggest_themes_async(three_groups, in_child=True) == []
    assert seen["loop_was_free"] is True
