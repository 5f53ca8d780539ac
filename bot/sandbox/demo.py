"""`partnerbot demo`: the whole process, end to end, without a Slack workspace.

The real bot — its handlers, flows, outbox and scheduler, unchanged — serves HTTP on 127.0.0.1
against the built-in Slack emulator, on a SQLite file of its own. A simulated team (a leader in
Berlin, eight teammates from Los Angeles to Tokyo; see `demo_cast.py`) plays the four steps over
four simulated weeks through the signed requests Slack would send, and a transcript of what each
person saw is printed as it goes. Any step that does not happen as scripted stops the demo with
exit status 1 and one line saying what, so CI runs it as a smoke test.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from sqlalchemy import func, select

from bot.migrate import upgrade_to_head
from bot.models import OutboxMessage, OutboxStatus
from bot.sandbox.demo_cast import CHANNEL_NAME, LEADER, WORKSPACE, cast
from bot.sandbox.demo_stage import DemoFailure, Stage, expect, running_stage
from bot.sandbox.demo_steps import AgreeOutcomes, Listen, Report, Scene, Story
from bot.sandbox.demo_summary import read_summary, summary_lines
from bot.sandbox.demo_track import CommitAndTrack

DEFAULT_SEED = 1
# Without --fast: a short pause after each step's heading and each person's move, to follow.
STEP_PAUSE = 1.0
MOVE_PAUSE = 0.1
DATABASE_NAME = "partnerbot-demo.db"
STEPS: tuple[type[Scene], ...] = (Listen, Report, AgreeOutcomes, CommitAndTrack)


def run_demo(
    *,
    seed: int = DEFAULT_SEED,
    fast: bool = False,
    keep_db: Path | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Play the demo and print its transcript to `out`; 0 when every step happened, 1 (and a
    line on `err`) when one did not, 2 when `keep_db` names a file that exists already."""
    database = keep_db or Path(tempfile.mkdtemp(prefix="partnerbot-demo-")) / DATABASE_NAME
    database = database.resolve()
    if database.exists():
        print(f"partnerbot demo: {database} exists; the demo only writes a new database", file=err)
        return 2
    database.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{database}"
    upgrade_to_head(url)
    try:
        asyncio.run(play(url, database=database, seed=seed, fast=fast, out=out))
    except DemoFailure as failure:
        print(f"partnerbot demo: did not go as scripted: {failure}", file=err)
        return 1
    return 0


async def play(url: str, *, database: Path, seed: int, fast: bool, out: TextIO) -> None:
    async with running_stage(url, narrator_out=out, pause=0.0 if fast else MOVE_PAUSE) as stage:
        introduce(stage, seed)
        story = Story()
        casting = cast(seed)
        for number, step in enumerate(STEPS, start=1):
            try:
                await step(stage, casting, story).play()
            except DemoFailure as failure:
                raise DemoFailure(f"step {number}: {failure}") from None
            if not fast:
                await asyncio.sleep(STEP_PAUSE)
        await check_nothing_was_lost(stage)
        await conclude(stage, story, database)


async def check_nothing_was_lost(stage: Stage) -> None:
    """Every message the bot queued went out, and Slack accepted everything the bot sent: a
    message that failed on the way would otherwise only be missing from the transcript."""
    async with stage.deps.sessions() as session:
        failed = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.FAILED)
        )
    expect(not failed, f"{failed} messages in the outbox failed to send")
    expect(not stage.fake.warnings, f"Slack would have refused: {stage.fake.warnings}")


def introduce(stage: Stage, seed: int) -> None:
    say = stage.narrator
    say.title(
        "Partnerbot demo: the real bot, a simulated Slack workspace "
        f"(“{WORKSPACE}”), four weeks in a minute. Seed {seed}."
    )
    say.line()
    say.lines(
        [
            f"{LEADER.real_name} and her team play the four steps in #{CHANNEL_NAME}, through",
            "the same signed requests Slack sends. Below is what each of them saw, as plain",
            "text, with the time on their own clock.",
        ]
    )


async def conclude(stage: Stage, story: Story, database: Path) -> None:
    say = stage.narrator
    async with stage.deps.sessions() as session:
        summary = await read_summary(session, names=say.names)
    say.title("Summary")
    say.line()
    say.lines(summary_lines(summary, names=say.names, ways=story.checkin_ways, database=database))
