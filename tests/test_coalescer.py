from __future__ import annotations

import asyncio

from bot.coalescer import Coalescer


async def test_a_burst_runs_the_latest_job_once() -> None:
    ran: list[str] = []
    coalescer = Coalescer(interval=3600)  # only flush() runs it: no waiting on time

    def job(name: str):  # type: ignore[no-untyped-def]
        async def run() -> None:
            ran.append(name)

        return run

    for n in range(100):
        coalescer.request("poll:1", job(f"state {n}"))
    coalescer.request("poll:2", job("other poll"))
    await coalescer.flush()
    assert sorted(ran) == ["other poll", "state 99"]
    coalescer.request("poll:1", job("after"))
    await coalescer.flush()
    assert ran[-1] == "after"


async def test_a_failing_job_is_logged_and_the_next_request_runs(caplog) -> None:  # type: ignore[no-untyped-def]
    coalescer = Coalescer(interval=3600)

    async def boom() -> None:
        raise RuntimeError("slack down")

    ran = asyncio.Event()

    async def fine() -> None:
        ran.set()

    coalescer.request("k", boom)
    await coalescer.flush()
    coalescer.request("k", fine)
    await coalescer.flush()
    assert ran.is_set()
    assert "coalesced job failed" in caplog.text
