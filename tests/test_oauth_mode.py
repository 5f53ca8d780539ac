"""The two modes, exclusive: one workspace (SLACK_BOT_TOKEN) or installs by OAuth into several
(SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET, PARTNERBOT_ENCRYPTION_KEYS). What
`partnerbot run` says is missing for either, the one line a bad key stops it with, and OAuth
mode's start-up: no auth.test (there is no token yet), one line saying which mode is active."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
import pytest

from bot.app import HEALTH_PATH, INSTALL_PATH
from bot.cli import main
from bot.sandbox.bot_process import bot_env, partnerbot_run
from bot.sandbox.fake_slack import FakeSlack

KEY = "cw_0x689RpI-jtRR7oGtoGEnvEFbVBq-JqlAY-9i1y8="
OAUTH = {
    "SLACK_CLIENT_ID": "1111111111.2222222222",
    "SLACK_CLIENT_SECRET": "fake-client-secret",
    "SLACK_STATE_SECRET": "a-state-secret",
    "PARTNERBOT_ENCRYPTION_KEYS": KEY,
    "SLACK_SIGNING_SECRET": "signing-secret",
}


def run_says(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str]
) -> str:
    # A database `run` cannot open: were the check missed, run would stop there (another
    # line) rather than serve.
    monkeypatch.setenv("DATABASE_URL", "sqlite:///./no-such-folder/partnerbot.db")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    assert err.startswith("partnerbot: ")
    return err


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("env", "named", "not_named"),
    [
        # both modes at once: refused, whatever the command
        ({**OAUTH, "SLACK_BOT_TOKEN": "xoxb-1"}, ["exclusive", "SLACK_BOT_TOKEN"], []),
        # OAuth with Socket Mode: Slack's redirect needs HTTP
        ({**OAUTH, "SLACK_APP_TOKEN": "xapp-1"}, ["unset SLACK_APP_TOKEN"], []),
        # OAuth without a key: the setting, and how to make a key
        (
            {k: v for k, v in OAUTH.items() if k != "PARTNERBOT_ENCRYPTION_KEYS"},
            ["PARTNERBOT_ENCRYPTION_KEYS is not set", "Fernet.generate_key()"],
            [],
        ),
        # a malformed key (the second of two)
        (
            {**OAUTH, "PARTNERBOT_ENCRYPTION_KEYS": f"{KEY},not-a-key"},
            ["key 2 of PARTNERBOT_ENCRYPTION_KEYS", "Fernet.generate_key()"],
            ["not-a-key"],  # a secret setting's value is never echoed
        ),
        # OAuth half set: what it still needs
        (
            {"SLACK_CLIENT_ID": "1.2", "PARTNERBOT_ENCRYPTION_KEYS": KEY},
            ["SLACK_CLIENT_SECRET and SLACK_STATE_SECRET and SLACK_SIGNING_SECRET", "OAuth"],
            ["SLACK_BOT_TOKEN"],
        ),
        # nothing set: what each mode needs
        ({}, ["SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "PARTNERBOT_ENCRYPTION_KEYS"], []),
    ],
)
def test_run_says_in_one_line_what_is_wrong_with_the_mode(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    named: list[str],
    not_named: list[str],
) -> None:
    err = run_says(monkeypatch, capsys, env)
    for words in named:
        assert words in err
    for words in not_named:
        assert words not in err


async def test_oauth_mode_starts_without_a_token_and_says_which_mode(tmp_path: Path) -> None:
    async with FakeSlack() as fake, aiohttp.ClientSession() as http:
        env = bot_env(
            fake,
            OAUTH["SLACK_SIGNING_SECRET"],
            f"sqlite:///{tmp_path / 'oauth.db'}",
            settings={**OAUTH, "SLACK_BOT_TOKEN": ""},
        )
        async with partnerbot_run(env, tmp_path, http) as bot:
            async with http.get(bot.url + HEALTH_PATH) as response:
                assert await response.json() == {"ok": True, "db": "ok", "slack": "ok"}
            async with http.get(bot.url + INSTALL_PATH) as response:
                assert response.status == 200
                assert "oauth/v2/authorize" in await response.text()
            bot.process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                code = await bot.process.wait()
                assert bot.reader is not None
                await bot.reader
    assert code == 0, "\n".join(bot.lines)
    assert fake.calls == []  # no auth.test: no workspace has installed yet
    modes = [line for line in bot.log_messages() if line.startswith("mode: ")]
    assert len(modes) == 1
    assert "installed by OAuth" in modes[0]
    assert all(KEY not in line for line in bot.lines)


async def test_single_workspace_mode_says_so_once_it_has_checked_the_token(tmp_path: Path) -> None:
    async with FakeSlack() as fake, aiohttp.ClientSession() as http:
        env = bot_env(fake, "secret", f"sqlite:///{tmp_path / 'one.db'}")
        async with partnerbot_run(env, tmp_path, http) as bot:
            async with http.get(bot.url + INSTALL_PATH) as response:
                assert response.status == 404  # no install pages in this mode
            bot.process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                await bot.process.wait()
                assert bot.reader is not None
                await bot.reader
    modes = [line for line in bot.log_messages() if line.startswith("mode: ")]
    assert modes == ["mode: one workspace (SLACK_BOT_TOKEN); Slack tokens checked"]
    assert [call.method for call in fake.calls] == ["auth.test"]
