"""`partnerbot run --role web|worker|all`: on PostgreSQL a web process answers Slack and a worker
process sends what it queued (and ticks), each its own process; on SQLite only `all` runs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import EVENTS_PATH, HEALTH_PATH, METRICS_PATH
from bot.cli import main
from bot.sandbox.bot_process import bot_env, partnerbot_run
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from tests.conftest import SIGNING_SECRET

LEADER, CHANNEL = "ULEAD", "CROLES"
MEMBERS = [f"UMEMBER{n:03d}" for n in range(40)]


@pytest.mark.parametrize("role", ["web", "worker"])
def test_web_or_worker_alone_on_sqlite_is_refused_in_one_line(role: str, clean_env: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNERBOT_"))},
        "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DATABASE_URL": "sqlite:///./partnerbot.db",
        "PORT": "0",
    }
    result = subprocess.run(  # noqa: S603 - the test's own arguments
        [sys.executable, "-m", "bot", "run", "--role", role],
        cwd=clean_env,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # a process that started serving instead fails here
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"partnerbot: --role {role} needs PostgreSQL")
    assert "--role all" in result.stderr
    assert not (clean_env / "partnerbot.db").exists()  # refused before anything was created


def test_an_unknown_role_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--role", "cron"])
    assert exited.value.code == 2
    assert "invalid choice: 'cron'" in capsys.readouterr().err


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """Slack on the real clock, as `partnerbot run` is."""
    async with FakeSlack() as fake:
        fake.add_user(LEADER, "dana", real_name="Dana Leader", tz="Europe/Berlin")
        for n, member in enumerate(MEMBERS):
            fake.add_user(member, f"member{n}")
        fake.add_channel(CHANNEL, "roles", members=[LEADER, *MEMBERS])
        yield fake


def dms(fake: FakeSlack) -> Counter[str]:
    return Counter(str(m["dm_user"]) for m in fake.messages if m["dm_user"])


async def scrape(http: aiohttp.ClientSession, url: str) -> dict[str, float]:
    async with http.get(url + METRICS_PATH) as response:
        assert response.status == 200
        text = await response.text()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.mark.skipif(
    "postgresql" not in (os.environ.get("TEST_DATABASE_URL") or ""),
    reason="web and worker apart need PostgreSQL",
)
async def test_the_web_answers_slack_and_the_worker_sends_what_it_queued(
    fake_slack: FakeSlack, engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    env = bot_env(fake_slack, SIGNING_SECRET, database_url)
    async with (
        aiohttp.ClientSession() as http,
        partnerbot_run(env, tmp_path, http, role="worker") as worker,
        partnerbot_run(env, tmp_path, http, role="web") as web,
    ):
        slack = SignedSlack(web.url + EVENTS_PATH, SIGNING_SECRET, fake_slack, session=http)
        command = await slack.slash_command(LEADER, f"tour <#{CHANNEL}|roles>", channel_id=CHANNEL)
        assert command.status == 200, command.text
        await fake_slack.wait_for(lambda: bool(fake_slack.view_stack(LEADER)), timeout=30)
        view = fake_slack.views[fake_slack.view_stack(LEADER)[-1]]
        submitted = await slack.view_submission(LEADER, view, {})
        assert submitted.status == 200, submitted.text
        assert submitted.json is None, submitted.json

        # The launch queued an invitation per member and the leader's confirmation.
        everyone = [LEADER, *MEMBERS]
        await fake_slack.wait_for(lambda: all(dms(fake_slack)[u] for u in everyone), timeout=60)
        web_metrics = await scrape(http, web.url)
        worker_metrics = await scrape(http, worker.url)
        async with http.get(worker.url + HEALTH_PATH) as health:
            assert health.status == 200
            assert (await health.json())["ok"] is True
        # A worker answers no Slack request: Slack's request URL points at the web processes.
        async with http.post(worker.url + EVENTS_PATH, data=b"{}") as refused:
            assert refused.status == 404
    assert set(dms(fake_slack).values()) == {1}, [
        (u, n) for u, n in dms(fake_slack).items() if n > 1
    ]
    # The worker sent them all; the web process, which took the launch, sent none of them.
    assert worker_metrics["partnerbot_messages_sent_total"] >= len(MEMBERS)
    assert web_metrics["partnerbot_messages_sent_total"] == 0
    assert worker_metrics.get("partnerbot_requests_total", 0) == 0
    for child in (web, worker):
        assert child.process.returncode == 0, "\n".join(child.lines[-20:])
        assert child.log_messages()[-1] == "stopped"
        assert not child.error_lines(), child.error_lines()[0]
