"""`partnerbot demo` end to end, as a newcomer runs it: the real bot against the Slack emulator,
the four steps played by the simulated team, a readable transcript, and a database the printed
export command can read. Two runs with one seed must print the same transcript.

The demo plays four simulated weeks with the scheduler ticking every hour, so one run takes
20-30 s; the two runs are started side by side to keep the suite's wall time down.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.flows.review import MAX_SUGGESTED_THEMES, side_name
from bot.sandbox import demo_stage
from bot.sandbox.demo import run_demo
from bot.sandbox.demo_cast import CHANNEL_ID, EVERYONE
from bot.sandbox.fake_slack import FakeSlack

RUN_TIMEOUT = 180  # seconds; a run takes well under a minute on two cores
SEED = 1


@dataclass(frozen=True)
class DemoRun:
    returncode: int
    transcript: str
    errors: str
    database: Path


def start(database: Path, cwd: Path) -> subprocess.Popen[str]:
    """`python -m bot demo --fast --seed 1` with no Slack or database settings around it."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SLACK_", "PARTNERBOT_", "LLM_"))
        and name not in {"DATABASE_URL", "LOG_LEVEL", "PORT"}
    }
    command = [sys.executable, "-m", "bot", "demo", "--fast", "--seed", str(SEED)]
    return subprocess.Popen(  # noqa: S603 - this interpreter, our own arguments
        [*command, "--keep-db", str(database)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoRun, DemoRun]:
    folder = tmp_path_factory.mktemp("demo")
    # Paths of one length: the transcript wraps lines that print the path, so two lengths
    # could wrap a line differently and the comparison would fail for no reason.
    databases = [folder / "run1" / "demo.db", folder / "run2" / "demo.db"]
    processes = [start(database, folder) for database in databases]
    finished = []
    try:
        for process, database in zip(processes, databases, strict=True):
            out, err = process.communicate(timeout=RUN_TIMEOUT)
            finished.append(DemoRun(process.returncode, out, err, database))
    finally:
        for process in processes:
            process.kill()
    return finished[0], finished[1]


@pytest.fixture(scope="module")
def run(runs: tuple[DemoRun, DemoRun]) -> DemoRun:
    first, _ = runs
    assert first.returncode == 0, first.errors or first.transcript[-3000:]
    return first


def test_the_demo_succeeds_quietly(runs: tuple[DemoRun, DemoRun]) -> None:
    for one in runs:
        assert one.returncode == 0, one.errors or one.transcript[-3000:]
        assert one.errors == ""  # no log noise, no warnings: stderr is for failures


# Lines each step must show: what the bot said, in the words a person reads.
STEP_LINES = {
    "intro": ["Partnerbot demo", "Seed 1"],
    "listen": [
        "Step 1 of 4 · Listen",
        "Dana types /partner tour in #platform-team",
        "┌─ Listening tour ─┐",
        "and presses [ Start tour ]",
        "Your listening tour *Listening tour – March 2026* is under way: 8 people invited.",
        # Invitations follow each person's working hours: four at once, the Americas at 09:00.
        "4 now, 3 today at 09:00 their time, 1",
        "(and the same to ",
        "— 3 others)",
        "── Dee sees (DM, Mon 2 Mar, 09:00 in Los Angeles) ──",
        "*Question 2 of 2*",
        "presses [ Answer in a form ]",
        "── Dana sees (App Home) ──",
        "A gentle nudge",
        # One DM to the leader at close, on Monday morning.
        "── Dana sees (DM, Mon 9 Mar, 09:00 in Berlin) ──",
        "closed: 8 of 8 answered. I found",
    ],
    "report": [
        "Step 2 of 4 · Report",
        "┌─ Review themes ─┐",
        "┌─ Post findings ─┐",
        "== What we heard ==",
        "Vote placed on",
        "Final ranking for *Listening tour – March 2026*",
        "== Final ranking ==",
    ],
    "outcomes": [
        "Step 3 of 4 · Agree outcomes",
        "┌─ Set outcomes ─┐",
        "[ Propose an outcome ]",
        "┌─ Propose an outcome ─┐",
        # Chen proposes for the most voted theme (listed first) by replying in his DM.
        "[Thu 12 Mar, 10:05 in Singapore] Chen replies in the DM: ",
        "Which theme is this proposal for?",
        "┌─ Commit outcomes ─┐",
        "== Our partner-focused outcomes ==",
    ],
    "track": [
        "Step 4 of 4 · Commit and track",
        "┌─ Propose an initiative ─┐",
        "types /partner initiative",
        "*Initiative:*",
        "You back *",
        "┌─ Commit initiative ─┐",
        "would like you to own an initiative",
        "declined *",
        "┌─ Reassign initiative ─┐",
        "accepted *",
        "A quiet week for",
        "Check-in for *",
        "┌─ Check-in ─┐",
        "A reminder: how is *",
        "types /partner win ",
        "Logged your quick win",
        "== This week's quick wins ==",
        "you said *",
    ],
    "summary": [
        "Themes and votes",
        "Outcomes",
        "Initiatives",
        "Check-ins",
        "Quick wins in the weekly update",
        "export 1",
    ],
}


@pytest.mark.parametrize("step", list(STEP_LINES))
def test_the_transcript_shows_each_step(run: DemoRun, step: str) -> None:
    missing = [line for line in STEP_LINES[step] if line not in run.transcript]
    assert missing == []


def test_the_steps_come_in_order(run: DemoRun) -> None:
    headings = [f"\n Step {n} of 4 · " for n in range(1, 5)] + ["\n Summary\n"]
    positions = [run.transcript.index(heading) for heading in headings]
    assert positions == sorted(positions)


def test_themes_were_suggested_and_posted(run: DemoRun) -> None:
    found = re.search(r"I found (\d) themes? — review them", run.transcript)
    assert found is not None
    assert 2 <= int(found.group(1)) <= MAX_SUGGESTED_THEMES


def test_the_transcript_shows_the_engines_own_labels(run: DemoRun) -> None:
    """The leader reads the engine's labels and sides; each posted theme is either a suggested
    label kept as it was or one she is seen renaming, whatever the engine suggested."""
    with sqlite3.connect(run.database) as connection:
        suggested = connection.execute(
            "SELECT label, kind FROM themes WHERE source = 'suggested' ORDER BY position"
        ).fetchall()
        posted = [
            label
            for (label,) in connection.execute(
                "SELECT label FROM themes WHERE source = 'final' ORDER BY position"
            )
        ]
    flat = " ".join(run.transcript.split())  # the transcript wraps long lines
    said = "The engine suggests: " + "; ".join(
        f"“{label}” ({side_name(kind)})" for label, kind in suggested
    )
    assert said in flat
    labels = {label for label, _ in suggested}
    for label in posted:
        renamed = re.search(rf"renames “([^”]+)” \([^)]+\) to “{re.escape(label)}”", flat)
        assert label in labels or (renamed is not None and renamed.group(1) in labels), label
        assert f"*{label}* · _" in flat or f"{label}* · _" in flat  # posted with its side


def test_people_are_named_never_shown_as_ids_or_json(run: DemoRun) -> None:
    transcript = run.transcript
    for person in EVERYONE:
        assert person.user_id not in transcript
        assert f"@{person.real_name}" in transcript or person.first_name in transcript
    assert CHANNEL_ID not in transcript
    assert not re.search(r"\b[UWCDV]0[A-Z0-9]{4,}\b", transcript)  # no Slack ids of any kind
    assert not re.search(r"<[@#!]", transcript.replace("<!channel>", ""))  # no raw mentions
    for raw in ('{"', '"type":', "[{", "'type':", "&lt;", "&amp;"):
        assert raw not in transcript


def without_database(run: DemoRun) -> str:
    # A printed path can be wrapped onto the next line: compare the words, not where the
    # lines break around it.
    shown = " ".join(run.transcript.split())
    return shown.replace(str(run.database.resolve()), "<database>")


def test_one_seed_prints_one_transcript(runs: tuple[DemoRun, DemoRun]) -> None:
    first, second = runs
    assert first.returncode == second.returncode == 0
    assert without_database(first) == without_database(second)


def test_the_printed_export_command_reads_the_demo_database(run: DemoRun) -> None:
    [command] = [line.strip() for line in run.transcript.splitlines() if "export 1" in line]
    words = shlex.split(command)
    assert words[0] == f"DATABASE_URL=sqlite:///{run.database.resolve()}"
    env = {**os.environ, "DATABASE_URL": words[0].partition("=")[2]}
    exported = subprocess.run(  # noqa: S603 - the command the demo printed, run as printed
        words[1:],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    record = json.loads(exported.stdout)
    assert record["respondents"] == 8
    assert len(record["themes"]) >= 2
    assert sum(theme["votes"] for theme in record["themes"]) > 0
    assert {theme["side"] for theme in record["themes"]} <= {"Challenge", "Working well"}
    assert record["unthemed_answers"] == 16 - sum(theme["answers"] for theme in record["themes"])
    assert record["outcomes"]
    accepted = [i for i in record["initiatives"] if i["status"] == "accepted"]
    assert len(accepted) == 3
    assert all(i["owner_id"] for i in accepted)


async def test_the_demo_reads_no_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A production .env or shell must not send the demo's answers to an LLM, its tour to the
    production database, or stop it with a setting it doesn't use."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LLM_BASE_URL=http://127.0.0.1:9/v1\nLLM_MODEL=m\n")
    monkeypatch.setenv("DATABASE_URL", "postgresql://prod.example/partnerbot")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-production")
    monkeypatch.setenv("INITIATIVE_CAP", "7")
    monkeypatch.setenv("PORT", "eighty")
    async with FakeSlack() as fake:
        settings = demo_stage.demo_settings(fake, "sqlite:///demo.db")
    assert settings.database_url == "sqlite:///demo.db"
    assert settings.llm_base_url is None
    assert not settings.socket_mode
    assert settings.initiative_cap == 3
    assert settings.api_url == fake.api_url


def test_the_demo_refuses_to_overwrite_a_database(tmp_path: Path) -> None:
    existing = tmp_path / "partnerbot.db"
    existing.write_bytes(b"someone's data")
    err = io.StringIO()
    assert run_demo(fast=True, keep_db=existing, out=io.StringIO(), err=err) == 2
    assert "exists" in err.getvalue()
    assert existing.read_bytes() == b"someone's data"


def test_a_step_that_does_not_happen_stops_the_demo_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partnerbot is left out of the team channel, so the launch form refuses it: the demo
    must stop at step 1 and say so, rather than carry on or pass."""
    add_channel = FakeSlack.add_channel

    def without_the_bot(self: FakeSlack, channel_id: str, name: str, **kwargs: Any) -> Any:
        kwargs["bot_is_member"] = False
        return add_channel(self, channel_id, name, **kwargs)

    monkeypatch.setattr(demo_stage.FakeSlack, "add_channel", without_the_bot)
    out, err = io.StringIO(), io.StringIO()
    status = run_demo(fast=True, keep_db=tmp_path / "demo.db", out=out, err=err)
    assert status == 1
    assert err.getvalue().startswith("partnerbot demo: did not go as scripted: step 1:")
    assert "Step 2 of 4" not in out.getvalue()


def _copy_of(run: DemoRun, folder: Path) -> str:
    """A copy of the demo's database (a checkpointed SQLite file), as a DATABASE_URL."""
    import sqlite3

    copy = folder / "copy.db"
    with sqlite3.connect(run.database) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    return f"sqlite:///{copy}"


def _rows_mentioning(url: str, needle: str) -> list[tuple[str, str]]:
    """Every (table, column) whose value, as text, contains `needle`, over the whole file."""
    import sqlite3

    found = []
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - our own names
            columns = [description[0] for description in cursor.description]
            for row in cursor:
                found += [
                    (table, column)
                    for column, value in zip(columns, row, strict=True)
                    if needle in str(value)
                ]
    return found


@pytest.mark.parametrize("person", EVERYONE, ids=lambda person: person.user_id)
def test_erase_person_leaves_no_row_naming_them(
    run: DemoRun,
    person: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """After the four steps every demo person is named somewhere (asked, voted, proposed, owned,
    was sent messages); erase-person leaves no row of the database naming them."""
    from bot.cli import main

    url = _copy_of(run, tmp_path)
    assert _rows_mentioning(url, person.user_id)  # the test is about something
    monkeypatch.setenv("DATABASE_URL", url)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    from bot.settings import get_settings

    get_settings.cache_clear()
    assert main(["erase-person", person.user_id]) == 0
    assert capsys.readouterr().out.startswith(f"erased {person.user_id}: ")
    assert _rows_mentioning(url, person.user_id) == []
    # The team's work is still there, with the person's name gone from it.
    assert main(["export", "1"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["themes"]
    assert person.user_id not in json.dumps(record)


def test_delete_tour_asks_for_yes_then_leaves_nothing_of_it(
    run: DemoRun,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sqlite3

    from bot.cli import main
    from bot.settings import get_settings

    url = _copy_of(run, tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    assert main(["delete-tour", "1"]) == 2
    assert "add --yes" in capsys.readouterr().err
    assert main(["delete-tour", "1", "--yes"]) == 0
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        left = {
            table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            for table in tables
            if table not in {"alembic_version", "processed_events", "dm_focus", "loop_opt_outs"}
        }
        keys = [key for (key,) in connection.execute("SELECT idempotency_key FROM outbox")]
    assert {table: count for table, count in left.items() if count} == {}, keys
    assert main(["delete-tour", "1", "--yes"]) == 1  # gone: said once, in one line
