"""`partnerbot run`, allowed 1,024 open files, against one client holding 600 half-sent requests
(a slow-loris): the bot still answers /healthz and a signed `/partner help` within 2 s, closes
the half-sent connections once the read timeout has passed, never answers 500, and its log stays
short. Before the front door had read timeouts and connection caps, 1,100 such connections used
up the process's file descriptors and the bot stopped answering anyone."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import EVENTS_PATH, HEALTH_PATH
from bot.sandbox.bot_process import bot_env, partnerbot_run
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from tests.conftest import SIGNING_SECRET
from tests.reliability.helpers import figure

HALF_SENT_REQUESTS = 600
OPEN_FILES = 1024
# Shorter than the default 10 s (tests/test_front_door.py checks the default) to keep the test
# quick; what is measured is that the connections are closed, and in time.
READ_TIMEOUT = 3
ATTACKER = "127.0.0.2"  # another loopback address: the per-client cap is the attacker's alone


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """Slack on the real clock, as `partnerbot run` is: it checks signatures against it."""
    async with FakeSlack() as fake:
        fake.add_user("ULEAD", "dana", real_name="Dana Leader", tz="Europe/Berlin")
        yield fake


async def half_sent(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """A connection that starts a request and never finishes its headers; None if the bot
    refused it as it connected."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(ATTACKER, 0))
        writer.write(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nX-Slack-Sig")
        await writer.drain()
    except ConnectionError:
        return None
    return reader, writer


async def closed(reader: asyncio.StreamReader, since: float) -> float:
    """Seconds from `since` until the bot closed (or reset) the connection."""
    with contextlib.suppress(ConnectionError):
        while await reader.read(65536):
            pass
    return time.monotonic() - since


async def test_a_slow_loris_does_not_stop_the_bot(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    env = bot_env(
        fake_slack,
        SIGNING_SECRET,
        database_url,
        settings={"HTTP_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT)},
    )
    async with (
        aiohttp.ClientSession() as http,
        partnerbot_run(env, tmp_path, http, open_files=OPEN_FILES) as bot,
    ):
        started = time.monotonic()
        attack = [await half_sent(bot.port or 0) for _ in range(HALF_SENT_REQUESTS)]
        held = [c for c in attack if c is not None]
        lines_before = len(bot.lines)

        slack = SignedSlack(bot.url + EVENTS_PATH, SIGNING_SECRET, fake_slack, session=http)
        asked = time.monotonic()
        async with http.get(bot.url + HEALTH_PATH) as health:
            assert health.status == 200
        assert time.monotonic() - asked < 2
        asked = time.monotonic()
        help_answer = await slack.slash_command("ULEAD", "help")
        assert help_answer.status == 200, help_answer.text
        assert "/partner tour" in help_answer.text
        assert time.monotonic() - asked < 2

        async with asyncio.timeout(15):
            closed_after = await asyncio.gather(*(closed(r, started) for r, _w in held))
        for _reader, writer in held:
            writer.close()
        async with http.get(bot.url + HEALTH_PATH) as health:
            assert health.status == 200
    logged = bot.lines[lines_before:]
    figure(
        "slow-loris",
        half_sent=HALF_SENT_REQUESTS,
        connected=len(held),
        closed_at_once=sum(after < READ_TIMEOUT for after in closed_after),
        closed_at_timeout=sum(after >= READ_TIMEOUT for after in closed_after),
        last_closed_after_s=round(max(closed_after), 1),
        log_lines=len(logged),
    )
    assert max(closed_after) < 15
    assert len(logged) < 100, "\n".join(logged[:20])
    assert not [line for line in bot.lines if '"status": 500' in line or "Traceback" in line]
    assert not bot.error_lines(), bot.error_lines()[0]
