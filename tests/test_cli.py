"""The `partnerbot` command line, run as a person would run it."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.db import create_engine, create_session_factory
from bot.models import ProcessedEvent, Tour, TourStatus
from tests.conftest import START, empty_tables


@pytest.fixture
def cli_env(clean_env: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    asyncio.run(_reset(database_url))
    return database_url


async def _reset(url: str) -> None:
    engine = create_engine(url)
    await empty_tables(engine, url)
    await engine.dispose()


def _add_tour(url: str, **fields: object) -> None:
    async def add() -> None:
        engine = create_engine(url)
        async with create_session_factory(engine).begin() as session:
            values: dict[str, object] = {
                "team_id": "T1",
                "leader_id": "ULEAD",
                "title": "Listening tour – March 2026",
                "channel_id": "CTEAM",
                "status": TourStatus.OPEN,
                "opens_at": START,
                "closes_at": START + timedelta(days=7),
                "created_at": START,
            }
            values.update(fields)
            session.add(Tour(**values))
        await engine.dispose()

    asyncio.run(add())


@pytest.mark.parametrize("argv", [[], ["run"], ["migrate"], ["tick"], ["tours"], ["export"]])
def test_help_everywhere(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    assert "usage: partnerbot" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["tick", "--at", "next tuesday"], "not an ISO-8601 instant"),
        (["tick", "--at", "2026-03-02T10:00:00"], "no time zone"),
        (["export", "seven"], "invalid int value"),
        (["export", "1", "--format", "xml"], "invalid choice"),
        (["launch"], "invalid choice"),
    ],
)
def test_bad_arguments_are_explained(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err


def test_run_without_credentials_says_what_to_set(clean_env: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNERBOT_"))}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=clean_env,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SLACK_BOT_TOKEN" in lines[0]
    assert "SLACK_SIGNING_SECRET" in lines[0]
    assert 'README.md "Create the Slack app"' in lines[0]
    assert "Traceback" not in result.stderr


def test_a_malformed_setting_stops_with_one_line(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORT", "eighty")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("partnerbot: setting PORT is invalid")
    assert "\n" not in err


def test_migrate_is_idempotent(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["database is at revision 0001", "database is at revision 0001"]


def test_tours_when_there_are_none(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tours"]) == 0
    assert "no tours yet" in capsys.readouterr().out


def test_tours_lists_every_tour(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    _add_tour(cli_env, title="Spring listening")
    _add_tour(cli_env, title="Autumn listening", team_id="T2", status=TourStatus.CLOSED)
    assert main(["tours"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "TEAM", "STATUS", "CLOSES", "TITLE"]
    assert "T1" in lines[1]
    assert "Spring listening" in lines[1]
    assert "open" in lines[1]
    assert "closed" in lines[2]
    assert "2026-03-09" in lines[2]


def test_export_json(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    _add_tour(cli_env)
    assert main(["export", "1"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["title"] == "Listening tour – March 2026"
    assert record["anonymous"] is True
    assert record["closes_at"] == "2026-03-09T09:00:00+00:00"


def test_export_csv_neutralises_formulas(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    _add_tour(cli_env, title='=HYPERLINK("http://evil","x")')
    assert main(["export", "1", "--format", "csv"]) == 0
    rows = dict(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows["title"] == '\'=HYPERLINK("http://evil","x")'
    assert rows["status"] == "open"


def test_export_unknown_tour(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "42"]) == 1
    assert "no tour with id 42" in capsys.readouterr().err


def test_tick_needs_a_bot_token(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tick"]) == 2
    assert "SLACK_BOT_TOKEN" in capsys.readouterr().err


def test_tick_at_an_instant_prunes_old_event_ids(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")  # nothing queued: never called

    async def seed() -> None:
        engine = create_engine(cli_env)
        async with create_session_factory(engine).begin() as session:
            for event_id, age in (("EvOld", timedelta(days=8)), ("EvNew", timedelta(days=6))):
                session.add(
                    ProcessedEvent(
                        event_id=event_id, team_id="T1", event_type="x", received_at=START - age
                    )
                )
        await engine.dispose()

    async def remaining() -> list[str]:
        engine = create_engine(cli_env)
        async with create_session_factory(engine)() as session:
            ids = list((await session.scalars(select(ProcessedEvent.event_id))).all())
            count = await session.scalar(select(func.count()).select_from(ProcessedEvent))
            assert count == len(ids)
        await engine.dispose()
        return ids

    asyncio.run(seed())
    assert main(["tick", "--at", START.isoformat()]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tick at 2026-03-02T09:00:00+00:00:")
    assert "1 events pruned" in out
    assert asyncio.run(remaining()) == ["EvNew"]
