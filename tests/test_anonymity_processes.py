"""What an anonymous tour's close deletes is gone from every file SQLite keeps: a real
`partnerbot run` closes the tour, and the database, its write-ahead log (-wal) and its shared
memory index (-shm) are searched byte for byte for the tour's key, the Slack timestamps of
people's messages and each person's keyed hash, while the process still runs and again after
it is killed with SIGKILL. On PostgreSQL the bot cannot reach the server's files
(docs/THREAT-MODEL.md says what the operator must do there), so this runs on SQLite only."""

from __future__ import annotations

import os
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import EVENTS_PATH
from bot.blocks.tour import TourAction
from bot.sandbox.bot_process import bot_env, partnerbot_run
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from tests.conftest import SIGNING_SECRET
from tests.journeys import CHANNEL, launch_tour
from tests.waiting import eventually

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")),
    reason="the files searched are SQLite's; PostgreSQL's are the server's",
)

LEADER = "ULEAD"
MEMBERS = [f"UANON{n:02d}" for n in range(4)]
EMPTIED = "the SQLite write-ahead log is emptied: deleted rows are gone from the files"


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user(LEADER, "dana", real_name="Dana Leader", tz="Europe/Berlin")
        for n, member in enumerate(MEMBERS):
            fake.add_user(member, f"member{n}", tz="Europe/Berlin")
        fake.add_channel(CHANNEL, "crash", members=[LEADER, *MEMBERS])
        yield fake


def read(path: Path, query: str) -> list[tuple[object, ...]]:
    """One query on its own short connection (no snapshot kept open past it)."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def found_in_files(path: Path, secrets: list[str]) -> list[tuple[str, str]]:
    """(file, secret) for each secret whose bytes are in the database, -wal or -shm file."""
    found = []
    for suffix in ("", "-wal", "-shm"):
        file = Path(f"{path}{suffix}")
        content = file.read_bytes() if file.exists() else b""
        found += [(file.name, s) for s in secrets if s.encode() in content]
    return found


async def test_a_closed_tours_key_and_timestamps_are_in_no_file_running_or_killed(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    path = tmp_path / "partnerbot.db"
    env = bot_env(fake_slack, SIGNING_SECRET, f"sqlite:///{path}")
    async with aiohttp.ClientSession() as http, partnerbot_run(env, tmp_path, http) as bot:
        slack = SignedSlack(bot.url + EVENTS_PATH, SIGNING_SECRET, fake_slack, session=http)
        await launch_tour(slack, fake_slack)
        await eventually(
            lambda: all(fake_slack.dms_to(m) for m in MEMBERS), "the invitations", child=bot
        )
        for n, member in enumerate(MEMBERS):
            assert (await slack.dm(member, f"the answer of member {n}")).status == 200
        await eventually(
            lambda: all(len(fake_slack.dms_to(m)) >= 2 for m in MEMBERS), "replies", child=bot
        )

        [(key,)] = read(path, "SELECT secret FROM tour_keys")
        stamps = [str(ts) for (ts,) in read(path, "SELECT last_message_ts FROM answers")]
        assert len(stamps) == len(MEMBERS)
        assert all(stamps)
        # Each person's keyed hash, which the close replaces with a random key per answer.
        hashes = [str(r) for (r,) in read(path, "SELECT respondent FROM answers")]
        deleted = [str(key), *stamps, *hashes]
        # The files hold them now (so the search below can find them).
        assert {s for _, s in found_in_files(path, deleted)} == set(deleted)

        emptied = bot.log_messages().count(EMPTIED)  # once at start-up
        await slack.block_action(LEADER, TourAction.CLOSE, view=fake_slack.home_views[LEADER])
        await eventually(
            lambda: bot.log_messages().count(EMPTIED) > emptied, "the close", timeout=60, child=bot
        )
        assert read(path, "SELECT status FROM tours") == [("closed",)]
        while_running = found_in_files(path, deleted)

        bot.process.send_signal(signal.SIGKILL)
        await bot.process.wait()
    after_kill = found_in_files(path, deleted)

    assert while_running == []
    assert after_kill == []
    # Nothing else was lost: every answer is there, without its timestamp.
    assert read(path, "SELECT count(*), count(last_message_ts) FROM answers") == [(4, 0)]
    assert read(path, "SELECT count(*) FROM tour_keys") == [(0,)]
