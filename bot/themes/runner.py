"""Where the theme engine runs. Grouping a tour's answers loads numpy, onnxruntime, the tokenizer
and the model (hundreds of MB that a Python process does not give back), for a job done once per
tour. So by default each grouping runs in a short-lived child process (spawned, not forked: it
starts clean and takes its memory with it when it exits), from a worker thread so the event loop
never waits. When a child cannot be started, or dies, the grouping runs in this process instead
and one log line says why. Nothing here imports the engine: `import bot.app` stays small."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from concurrent.futures.process import BrokenProcessPool

from bot.children import spawn_pool
from bot.flows.review import MAX_FINAL_THEMES
from bot.themes.types import AnswerText, Method, SuggestedTheme

log = logging.getLogger(__name__)


async def suggest_themes_async(
    answers: Sequence[AnswerText],
    *,
    names: Collection[str] = (),
    max_themes: int = MAX_FINAL_THEMES,
    method: Method = "auto",
    in_child: bool = False,
) -> list[SuggestedTheme]:
    """`suggest_themes` off the event loop: in a worker thread, or with `in_child` in a child
    process of its own (THEMES_IN_CHILD_PROCESS), falling back to the thread when the child
    cannot run. Same input, same themes, either way."""
    run = _in_child if in_child else _here
    return await asyncio.to_thread(run, tuple(answers), tuple(names), max_themes, method)


def _here(
    answers: tuple[AnswerText, ...], names: tuple[str, ...], max_themes: int, method: Method
) -> list[SuggestedTheme]:
    """The engine in the calling process (and the function the child runs)."""
    from bot.themes.suggest import suggest_themes  # the engine: numpy, the model, on first use

    return suggest_themes(answers, names=names, max_themes=max_themes, method=method)


def _in_child(
    answers: tuple[AnswerText, ...], names: tuple[str, ...], max_themes: int, method: Method
) -> list[SuggestedTheme]:
    try:
        with spawn_pool() as pool:
            return pool.submit(_here, answers, names, max_themes, method).result()
    except (OSError, BrokenProcessPool) as error:
        log.warning(
            "themes: could not group %d answers in a child process (%s: %s); grouping in this"
            " process, which keeps the engine's memory until it restarts",
            len(answers),
            error.__class__.__name__,
            error,
        )
    return _here(answers, names, max_themes, method)
