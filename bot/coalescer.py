"""Coalesce bursts of work per key: the first request schedules the job a little later, and
requests meanwhile only replace it. Used to redraw the theme poll at most every 1.5 s however
fast people click (chat.update is Tier 3, about 50 calls a minute)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


@dataclass
class _Pending:
    job: Job
    now: asyncio.Event
    task: asyncio.Task[None] | None = None


class Coalescer:
    def __init__(self, interval: float = 1.5) -> None:
        self._interval = interval
        self._pending: dict[str, _Pending] = {}

    def request(self, key: str, job: Job) -> None:
        pending = self._pending.get(key)
        if pending is not None:
            pending.job = job  # the latest state wins; one run covers every request so far
            return
        pending = _Pending(job=job, now=asyncio.Event())
        self._pending[key] = pending
        pending.task = asyncio.create_task(self._run(key, pending))

    async def _run(self, key: str, pending: _Pending) -> None:
        try:
            async with asyncio.timeout(self._interval):
                await pending.now.wait()
        except TimeoutError:
            pass
        self._pending.pop(key, None)
        try:
            await pending.job()
        except Exception:
            # A failed redraw must not take the bot down; the next click redraws again.
            log.exception("coalesced job failed", extra={"key": key})

    async def flush(self) -> None:
        """Run everything pending now (tests, shutdown)."""
        pending = list(self._pending.values())
        for item in pending:
            item.now.set()
        await asyncio.gather(*(item.task for item in pending if item.task is not None))
