"""The `partnerbot` command line, run as a person would run it."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

from bot.cli import main
from bot.db import create_engine, create_session_factory
from bot.flows.outcomes import InitiativeStatus
from bot.migrate import alembic_config
from bot.models import (
    Checkin,
    CheckinState,
    Initiative,
    Outcome,
    ProcessedEvent,
    QuickWin,
    Theme,
    ThemeSource,
    Tour,
    TourStatus,
)
from bot.sandbox.fake_slack import FakeSlack
from bot.store.tours import (
    mark_closed,
)
from tests.conftest import START, empty_tables
from tests.factories import answered, stored_tour


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
                "close_date": (START + timedelta(days=7)).date(),
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
    assert "make demo" in lines[0]  # a newcomer without a Slack app yet can still see it work
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
    head = ScriptDirectory.from_config(alembic_config(cli_env)).get_current_head()
    out = capsys.readouterr().out.splitlines()
    assert out == [f"database is at revision {head}"] * 2
    assert head is not None


def test_tours_when_there_are_none(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tours"]) == 0
    assert "no tours yet" in capsys.readouterr().out


def test_tours_lists_every_tour(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    _add_tour(cli_env, title="Spring listening")
    _add_tour(cli_env, title="Autumn listening", team_id="T2", status=TourStatus.CLOSED)
    assert main(["tours"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "TEAM", "STATUS", "CLOSES", "ASKED", "ANSWERED", "TITLE"]
    assert "T1" in lines[1]
    assert "Spring listening" in lines[1]
    assert "open" in lines[1]
    assert "closed" in lines[2]
    assert "2026-03-09" in lines[2]


def _add_answered_tour(
    url: str, *, anonymous: bool, answers: list[str], closed: bool = True, silent: int = 1
) -> None:
    """A tour whose first question was answered by one person per text (closed, by default:
    an anonymous tour shows answers only then), and `silent` people asked who never answer."""

    async def add() -> None:
        engine = create_engine(url)
        users = [f"U{n:03d}" for n in range(len(answers) + silent)]
        async with create_session_factory(engine).begin() as session:
            tour = await stored_tour(
                session,
                opened_at=START,
                closes_at=START + timedelta(days=7),
                title="Spring listening",
                anonymous=anonymous,
                reminders=True,
                invitees=users,
            )
            await answered(session, tour, dict(zip(users, answers, strict=False)))
            if closed:
                await mark_closed(session, tour_id=tour.id, now=START + timedelta(days=7))
        await engine.dispose()

    asyncio.run(add())


def test_export_json_counts_and_hides_answers_below_the_minimum(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _add_answered_tour(cli_env, anonymous=True, answers=["fast deploys", "kind reviews"], silent=3)
    assert main(["export", "1"]) == 0
    captured = capsys.readouterr()
    record = json.loads(captured.out)
    assert (record["participants"], record["respondents"]) == (5, 2)
    assert record["answers_visible"] is False
    assert all(question["answers"] == [] for question in record["questions"])
    assert "fast deploys" not in captured.out
    assert "hidden until 3 people other than the leader have answered (2 so far)" in captured.err


def test_export_of_an_open_anonymous_tour_hides_answers(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = ["fast deploys", "kind reviews", "clear priorities"]
    _add_answered_tour(cli_env, anonymous=True, answers=texts, closed=False, silent=2)
    assert main(["export", "1"]) == 0
    captured = capsys.readouterr()
    record = json.loads(captured.out)
    assert (record["respondents"], record["answers_visible"]) == (3, False)
    assert "until this anonymous tour closes" in captured.err


def test_export_json_anonymous_answers_carry_no_user(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = ["fast deploys", "kind reviews", "clear priorities", "calm on-call", "good lunches"]
    _add_answered_tour(cli_env, anonymous=True, answers=texts)
    assert main(["export", "1"]) == 0
    out = capsys.readouterr().out
    record = json.loads(out)
    assert record["respondents"] == 5
    assert sorted(record["questions"][0]["answers"]) == sorted(texts)
    assert record["questions"][1]["answers"] == []
    assert "U000" not in out
    assert "U001" not in out


def test_export_csv_named_and_neutralises_formulas(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = ['=HYPERLINK("http://evil","x")', "+1 for pairing", "plain"]
    _add_answered_tour(cli_env, anonymous=False, answers=texts)
    assert main(["export", "1", "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["question", "user_id", "answer"]
    by_user = {row[1]: row[2] for row in rows[1:]}
    assert by_user == {
        "U000": '\'=HYPERLINK("http://evil","x")',
        "U001": "'+1 for pairing",
        "U002": "plain",
    }


def _add_initiative(url: str) -> None:
    """Tour 1 gets a posted theme, an outcome for it, and a committed initiative."""

    async def add() -> None:
        engine = create_engine(url)
        async with create_session_factory(engine).begin() as session:
            theme = Theme(
                tour_id=1,
                source=ThemeSource.FINAL,
                position=0,
                label="Releases slip quietly",
                summary="",
                kind="challenge",
            )
            session.add(theme)
            await session.flush()
            outcome = Outcome(
                tour_id=1,
                theme_id=theme.id,
                statement="Finance hears about slips the day we know",
                partner="Finance",
                measure="90% told within a day",
                target_date=START.date() + timedelta(days=90),
                committed_at=START,
            )
            session.add(outcome)
            await session.flush()
            session.add(
                Initiative(
                    tour_id=1,
                    outcome_id=outcome.id,
                    title="=Slip alerts",
                    implications="We tell partners first",
                    tracking="Escalations per month",
                    first_quick_win=None,
                    proposer_id="U001",
                    suggested_owner_id=None,
                    status=InitiativeStatus.ACCEPTED,
                    owner_id="U002",
                    due_date=START.date() + timedelta(days=60),
                    cadence_weeks=2,
                    created_at=START,
                    committed_at=START,
                )
            )
        await engine.dispose()

    asyncio.run(add())


def test_export_csv_initiatives_table_shows_the_chain(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _add_answered_tour(cli_env, anonymous=True, answers=["a", "b", "c"])
    _add_initiative(cli_env)
    assert main(["export", "1", "--format", "csv", "--table", "initiatives"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1
    row = rows[0]
    assert row["theme"] == "Releases slip quietly"
    assert row["outcome"] == "Finance hears about slips the day we know"
    assert row["initiative"] == "'=Slip alerts"  # neutralised for spreadsheets
    assert (row["owner_id"], row["due_date"], row["cadence_weeks"]) == (
        "U002",
        (START.date() + timedelta(days=60)).isoformat(),
        "2",
    )
    assert row["implications"] == "We tell partners first"
    assert main(["export", "1"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["initiatives"][0]["status"] == "accepted"


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


def test_version_says_which_partnerbot(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == "partnerbot 0.1.0"


@pytest.mark.parametrize("argv", [["tours"], ["export", "1"], ["tick"]])
def test_a_reading_command_on_a_missing_sqlite_file_creates_nothing(
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///./typo.db")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("partnerbot: no database at typo.db")
    assert "\n" not in err
    assert list(clean_env.iterdir()) == []  # no typo.db, no -wal, no -shm


@pytest.mark.parametrize("argv", [["tours"], ["export", "1"]])
def test_a_reading_command_on_an_unmigrated_database_says_migrate_and_changes_nothing(
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    import sqlite3

    path = clean_env / "empty.db"
    sqlite3.connect(path).close()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "no revision (an empty database)" in err
    assert err.endswith("run `partnerbot migrate` first")
    with sqlite3.connect(path) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == []


def test_a_reading_command_on_an_older_database_names_both_revisions(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from alembic import command

    head = ScriptDirectory.from_config(alembic_config(cli_env)).get_current_head()
    command.downgrade(alembic_config(cli_env), "-1")
    try:
        assert main(["tours"]) == 2
        err = capsys.readouterr().err
        assert "is at revision " in err
        assert f"needs revision {head}" in err
    finally:
        command.upgrade(alembic_config(cli_env), "head")


def test_migrate_into_a_missing_folder_says_so_in_one_line(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///./no/such/folder/partnerbot.db")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("partnerbot: cannot use the database at sqlite:///./no/such/folder/")
    assert "unable to open database file" in err
    assert "\n" not in err


def test_an_unreachable_postgresql_is_one_line_with_the_password_masked(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNERBOT_"))}
    env["DATABASE_URL"] = f"postgresql://partnerbot:hunter2@127.0.0.1:{port}/partnerbot"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
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
    assert lines[0].startswith(
        f"partnerbot: cannot use the database at postgresql://partnerbot:***@127.0.0.1:{port}/"
    )
    assert "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr


def test_export_table_with_json_is_refused_in_one_line(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _add_answered_tour(cli_env, anonymous=False, answers=["a", "b", "c"])
    assert main(["export", "1", "--table", "initiatives"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    # (The last line: a first migration of the test database may log above it.)
    assert captured.err.strip().splitlines()[-1].startswith("partnerbot: --table chooses a CSV")


def test_export_csv_keeps_each_answer_on_its_own_row(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = ["line one\rline two", ' =cmd|" /C calc"!A0', "\uff1dSUM(A1:A9)"]
    _add_answered_tour(cli_env, anonymous=False, answers=texts)
    assert main(["export", "1", "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out, newline="")))
    assert len(rows) == 4  # the header and one row per answer
    assert sorted(row[2] for row in rows[1:]) == sorted(
        ["line one\rline two", "'" + texts[1], "'" + texts[2]]
    )


# --- display names, check-ins and quick wins in the export ---------------------------------------

PEOPLE = {
    "ULEAD": "Dana Leader",
    "U000": "Ana Alves",
    "U001": "Ben Brook",
    "U002": "Cleo Chen",
    "U003": "Dev Dutta",
}


@pytest.fixture
def named_slack(fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> FakeSlack:
    """The fake Slack knows everyone by a display name in the tours' workspace (T1), and the
    CLI has that workspace's token."""
    fake_slack.add_team("T1", "Tour team", bot_token="xoxb-tour-team")
    for user_id, name in PEOPLE.items():
        fake_slack.add_user(user_id, name, real_name=f"{name} (real)", tz="UTC", team="T1")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-tour-team")
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    return fake_slack


def _add_followthrough(url: str) -> None:
    """Tour 1's initiative (owned by U002) gets two check-ins and a quick win by U001."""

    async def add() -> None:
        engine = create_engine(url)
        async with create_session_factory(engine).begin() as session:
            initiative = await session.scalar(select(Initiative))
            assert initiative is not None
            session.add_all(
                [
                    Checkin(
                        initiative_id=initiative.id,
                        period=START.date(),
                        due_at=START,
                        state=CheckinState.ANSWERED,
                        answered_at=START + timedelta(hours=2),
                        status="at_risk",
                        progress=30,
                        note="=Waiting on Finance\rsince Monday",
                    ),
                    Checkin(
                        initiative_id=initiative.id,
                        period=START.date() + timedelta(days=14),
                        due_at=START + timedelta(days=14),
                        state=CheckinState.MISSED,
                    ),
                    QuickWin(
                        initiative_id=initiative.id,
                        author_id="U001",
                        text="Finance replied to the first alert",
                        logged_at=START + timedelta(days=3),
                    ),
                ]
            )
        await engine.dispose()

    asyncio.run(add())


async def _export(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    # The CLI runs its own event loop: in a thread, while this one serves the fake Slack.
    assert await asyncio.to_thread(main, ["export", "1", *args]) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


async def test_export_names_people_next_to_their_ids(
    cli_env: str, named_slack: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = ["fast deploys", "kind reviews", "clear priorities"]
    await asyncio.to_thread(_add_answered_tour, cli_env, anonymous=False, answers=texts)
    await asyncio.to_thread(_add_initiative, cli_env)
    await asyncio.to_thread(_add_followthrough, cli_env)

    out, err = await _export([], capsys)
    record = json.loads(out)
    assert "partnerbot:" not in err  # nothing to say (the database check may log above)
    assert (record["leader_id"], record["leader_name"]) == ("ULEAD", "Dana Leader")
    answers = sorted(record["questions"][0]["answers"], key=lambda answer: answer["user_id"])
    assert answers == [
        {"user_id": "U000", "user_name": "Ana Alves", "text": "fast deploys"},
        {"user_id": "U001", "user_name": "Ben Brook", "text": "kind reviews"},
        {"user_id": "U002", "user_name": "Cleo Chen", "text": "clear priorities"},
    ]
    [initiative] = record["initiatives"]
    assert (initiative["owner_id"], initiative["owner_name"]) == ("U002", "Cleo Chen")
    assert (initiative["proposer_id"], initiative["proposer_name"]) == ("U001", "Ben Brook")
    assert [(c["owner_name"], c["state"]) for c in record["checkins"]] == [
        ("Cleo Chen", "answered"),
        ("Cleo Chen", "missed"),
    ]
    [win] = record["quick_wins"]
    assert (win["author_id"], win["author_name"]) == ("U001", "Ben Brook")

    out, _ = await _export(["--format", "csv"], capsys)
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0] == ["question", "user_id", "user_name", "answer"]
    assert ["What's working well?", "U000", "Ana Alves", "fast deploys"] in rows[1:]
    # One users.list walk for the whole export, not a users.info per person.
    assert len(named_slack.calls_to("users.list")) == 2  # one per export run above
    assert named_slack.calls_to("users.info") == []


async def test_export_of_an_anonymous_tour_names_no_one_next_to_answers(
    cli_env: str, named_slack: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    # five answers: an anonymous tour's words are shown from QUOTE_MIN_RESPONSES (5)
    texts = ["fast deploys", "kind reviews", "clear priorities", "quiet mornings", "short standups"]
    await asyncio.to_thread(_add_answered_tour, cli_env, anonymous=True, answers=texts)
    json_out, _ = await _export([], capsys)
    csv_out, _ = await _export(["--format", "csv"], capsys)
    record = json.loads(json_out)
    assert record["leader_name"] == "Dana Leader"  # the leader is named: they ran the tour
    assert sorted(record["questions"][0]["answers"]) == sorted(texts)  # text only
    assert csv_out.splitlines()[0] == "question,answer"
    # No one who was asked appears, by id or by name, in either format.
    for user_id, name in PEOPLE.items():
        if user_id != "ULEAD":
            assert user_id not in json_out + csv_out
            assert name not in json_out + csv_out


async def test_export_checkins_and_quick_wins_tables(
    cli_env: str, named_slack: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    await asyncio.to_thread(_add_answered_tour, cli_env, anonymous=True, answers=["a", "b", "c"])
    await asyncio.to_thread(_add_initiative, cli_env)
    await asyncio.to_thread(_add_followthrough, cli_env)

    out, _ = await _export(["--format", "csv", "--table", "checkins"], capsys)
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert [
        (r["initiative"], r["owner_id"], r["owner_name"], r["state"], r["status"], r["progress"])
        for r in rows
    ] == [
        ("'=Slip alerts", "U002", "Cleo Chen", "answered", "at_risk", "30"),
        ("'=Slip alerts", "U002", "Cleo Chen", "missed", "", ""),
    ]
    # The note keeps its line break inside its cell and is neutralised for spreadsheets.
    assert rows[0]["note"] == "'=Waiting on Finance\rsince Monday"
    assert rows[0]["period"] == START.date().isoformat()

    out, _ = await _export(["--format", "csv", "--table", "wins"], capsys)
    [win] = list(csv.DictReader(io.StringIO(out, newline="")))
    assert win == {
        "initiative": "'=Slip alerts",
        "theme": "Releases slip quietly",
        "author_id": "U001",
        "author_name": "Ben Brook",
        "text": "Finance replied to the first alert",
        "logged_at": (START + timedelta(days=3)).isoformat(),
    }

    out, _ = await _export([], capsys)
    record = json.loads(out)
    assert record["checkins"][0] | {"owner_name": None} == {
        "initiative": "=Slip alerts",
        "owner_id": "U002",
        "owner_name": None,
        "period": START.date().isoformat(),
        "state": "answered",
        "status": "at_risk",
        "progress": 30,
        "note": "=Waiting on Finance\rsince Monday",
        "answered_at": (START + timedelta(hours=2)).isoformat(),
    }
    assert record["quick_wins"][0]["text"] == "Finance replied to the first alert"


@pytest.mark.parametrize(
    ("token", "said"),
    [
        (None, "partnerbot: no SLACK_BOT_TOKEN, so people appear as Slack ids only (set it"),
        ("xoxb-revoked", "partnerbot: no display names (invalid_auth from Slack's users.list)"),
    ],
)
async def test_export_without_names_says_so_in_one_line_and_keeps_the_ids(
    cli_env: str,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    token: str | None,
    said: str,
) -> None:
    if token is not None:
        monkeypatch.setenv("SLACK_BOT_TOKEN", token)
        monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    texts = ["fast deploys", "kind reviews", "clear priorities"]
    await asyncio.to_thread(_add_answered_tour, cli_env, anonymous=False, answers=texts)
    out, err = await _export([], capsys)
    # One line (the database check may log above it).
    [line] = [line for line in err.splitlines() if line.startswith("partnerbot:")]
    assert line.startswith(said)
    record = json.loads(out)
    assert {"user_id": "U000", "text": "fast deploys"} in record["questions"][0]["answers"]
    assert "leader_name" not in record


@pytest.mark.parametrize(
    ("answers", "silent", "said"),
    [
        # 4 asked: an anonymous tour that small never shows what people wrote
        (3, 1, "hidden in an anonymous tour that asked only 4 people"),
        # 4 answers of 6 asked: themes yes, words not below the quote floor of 5
        (4, 2, "hidden until 5 people other than the leader have answered (4 so far; themes"),
    ],
)
def test_export_says_which_anonymity_floor_holds_the_answers_back(
    cli_env: str, capsys: pytest.CaptureFixture[str], answers: int, silent: int, said: str
) -> None:
    texts = [f"answer number {n}" for n in range(answers)]
    _add_answered_tour(cli_env, anonymous=True, answers=texts, silent=silent)
    assert main(["export", "1"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["answers_visible"] is False
    assert "answer number" not in captured.out
    assert said in captured.err


async def test_export_installed_by_oauth_reads_names_with_the_tours_workspace_token(
    cli_env: str,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In OAuth mode there is no SLACK_BOT_TOKEN: the export asks Slack for names with the token
    of the tour's own workspace's installation (decrypted), and says so in one line when that
    workspace has none."""
    from slack_sdk.oauth.installation_store import Installation

    from bot.clock import SystemClock
    from bot.installations import InstallationStore
    from bot.settings import load_settings

    key = "cw_0x689RpI-jtRR7oGtoGEnvEFbVBq-JqlAY-9i1y8="  # Fernet.generate_key(), for tests
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    for name, value in {
        "SLACK_CLIENT_ID": "1.2",
        "SLACK_CLIENT_SECRET": "client-secret",
        "SLACK_STATE_SECRET": "state-secret",
        "PARTNERBOT_ENCRYPTION_KEYS": key,
        "SLACK_API_URL": fake_slack.api_url,
    }.items():
        monkeypatch.setenv(name, value)
    fake_slack.add_team("T1", "Tour team", bot_token="xoxb-tour-team")
    for user_id, name in PEOPLE.items():
        fake_slack.add_user(user_id, name, tz="UTC", team="T1")
    texts = ["fast deploys", "kind reviews", "clear priorities"]
    await asyncio.to_thread(_add_answered_tour, cli_env, anonymous=False, answers=texts)

    out, err = await _export([], capsys)  # not installed there yet
    [line] = [line for line in err.splitlines() if line.startswith("partnerbot:")]
    assert line == (
        "partnerbot: the app is not installed in workspace T1, so people appear as Slack ids only"
    )
    assert "leader_name" not in json.loads(out)

    engine = create_engine(cli_env)
    store = InstallationStore(
        create_session_factory(engine), load_settings().token_cipher(), SystemClock()
    )
    await store.async_save(
        Installation(
            app_id="A1",
            team_id="T1",
            user_id="ULEAD",
            bot_token="xoxb-tour-team",
            bot_id="B1",
            bot_user_id="UBOT1",
            bot_scopes=["users:read"],
        )
    )
    await engine.dispose()
    out, err = await _export([], capsys)
    assert "partnerbot:" not in err
    assert json.loads(out)["leader_name"] == "Dana Leader"
    assert {call.team_id for call in fake_slack.calls_to("users.list")} == {"T1"}
    assert fake_slack.cross_team_violations == []
