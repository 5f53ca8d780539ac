"""Waiting for another task or process to act (not for time to pass): one helper for the tests
that watch a server process, its log or a guard's counts."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

from bot.sandbox.bot_process import ChildProcess


async def eventually(
    check: Callable[[], Any],
    what: str | Callable[[], str],
    *,
    timeout: float = 20,
    child: ChildProcess | None = None,
) -> None:
    """Until `check()` (sync or async) is true. Fails after `timeout` seconds saying `what`
    (a callable is asked then, so it can show the last thing seen), or at once if `child`, the
    process being watched, has exited."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if child is not None:
            assert child.process.returncode is None, "\n".join(child.lines[-20:])
        if time.monotonic() >= deadline:
            raise AssertionError(f"never: {what() if callable(what) else what}")
        await asyncio.sleep(0.02)
