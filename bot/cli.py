"""The `partnerbot` command line: run, migrate, tick, tours, export, rotate-keys, demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from bot.settings import Settings, SettingsError, get_settings

if TYPE_CHECKING:
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

EXIT_USAGE = 2
ROLES = ("web", "worker", "all")  # bot.app.Role's values; the parser does not import the app


def _parse_instant(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO-8601 instant, e.g. 2026-03-02T10:00:00+00:00"
        ) from None
    if at.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} has no time zone; add Z or +HH:MM")
    return at


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("partnerbot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="partnerbot",
        description="Partnerbot: listen to your team, report three themes, agree outcomes, "
        "and track a few initiatives to quick wins, in Slack.",
    )
    parser.add_argument("--version", action="version", version=f"partnerbot {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="start the bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP on $PORT)",
        description="Start the bot. Applies pending migrations first.",
    )
    run.add_argument(
        "--role",
        choices=ROLES,
        default="all",
        help="web: answer Slack only; worker: send the outbox and run the scheduled work only "
        "(serving /healthz and /metrics on $PORT); all (default): both. web and worker need "
        "PostgreSQL, where replicas of each run side by side",
    )
    commands.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    tick = commands.add_parser(
        "tick",
        help="run all scheduled work due now (or at --at) once, then exit",
        description="Run reminders, auto-close, check-ins, digests and the outbox once.",
    )
    tick.add_argument(
        "--at", type=_parse_instant, metavar="ISO-8601", help="pretend it is this instant"
    )
    commands.add_parser("tours", help="list tours (id, team, title, status, dates)")
    export = commands.add_parser(
        "export", help="print a tour's data as its leader may see it (anonymity rules apply)"
    )
    export.add_argument("tour_id", type=int, metavar="TOUR_ID")
    export.add_argument("--format", choices=("json", "csv"), default="json")
    export.add_argument(
        "--table",
        choices=("answers", "themes", "initiatives", "checkins", "wins"),
        help="which table --format csv prints: the answers (default), the posted themes with "
        "their side, answers and votes (and how many answers fit none), each initiative "
        "with its theme and outcome, each check-in (status, progress, note) or each quick "
        "win (JSON always holds every table)",
    )
    erase = commands.add_parser(
        "erase-person",
        help="remove a person's identifiable rows (participation, votes, notes, authorship)",
        description="Delete what exists only to say something about this person (that they "
        "were asked, their votes, backings, named answers, messages to them) and replace their "
        "id on shared work (tours they led, proposals, initiatives, quick wins); blank the "
        "notes of check-ins on initiatives they own. Answers of closed anonymous tours stay: "
        "nothing links them to anyone.",
    )
    erase.add_argument("user_id", metavar="USER_ID", help="the Slack user id, e.g. U0123ABCD")
    delete = commands.add_parser(
        "delete-tour",
        help="delete a tour and everything that hangs off it (asks for --yes)",
    )
    delete.add_argument("tour_id", type=int, metavar="TOUR_ID")
    delete.add_argument("--yes", action="store_true", help="really delete it")
    commands.add_parser(
        "rotate-keys",
        help="re-encrypt every stored Slack token with the first key of "
        "PARTNERBOT_ENCRYPTION_KEYS (OAuth mode)",
        description="Re-encrypt the tokens of every installation with the first key of "
        "PARTNERBOT_ENCRYPTION_KEYS; any key listed decrypts. To rotate: put the new key first, "
        "run this, then drop the old key (docs/OPERATIONS.md). Safe to run again.",
    )
    demo = commands.add_parser(
        "demo",
        help="play the four steps with a simulated team against a built-in Slack emulator",
        description="Start the bot against a simulated Slack workspace on a new SQLite file, "
        "play the four steps as a leader and eight teammates would, and print what each saw. "
        "Needs no Slack app and no settings.",
    )
    demo.add_argument(
        "--seed", type=int, default=1, help="which answers and choices the team makes (default 1)"
    )
    demo.add_argument("--fast", action="store_true", help="no pauses between the steps")
    demo.add_argument(
        "--keep-db",
        type=Path,
        metavar="PATH",
        help="write the demo's database to PATH, a new file (default: a new temporary folder)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    from sqlalchemy.exc import DBAPIError

    from bot.migrate import DatabaseNotReady

    try:
        settings = get_settings()
        return _dispatch(args, settings)
    except (SettingsError, DatabaseNotReady) as error:
        print(f"partnerbot: {error}", file=sys.stderr)
        return EXIT_USAGE
    except DBAPIError as error:
        print(f"partnerbot: {database_problem(error, settings.database_url)}", file=sys.stderr)
        logging.getLogger("bot.cli").debug("database error", exc_info=error)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def database_problem(error: DBAPIError, database_url: str) -> str:
    """One line for a database that cannot be reached or opened: where (password masked), the
    driver's own reason, and what to check. The traceback is logged at DEBUG only."""
    from bot.migrate import masked

    reason = " ".join(str(error.orig).split()) if error.orig is not None else type(error).__name__
    return (
        f"cannot use the database at {masked(database_url)}: {reason[:300]} "
        "(check DATABASE_URL: the server and its port, the user and password, or that the "
        "SQLite file's folder exists and is writable)"
    )


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db import is_sqlite
    from bot.logs import configure_logging
    from bot.migrate import require_current, upgrade_to_head, upgrade_to_head_in_child

    configure_logging(
        settings.log_level,
        settings.log_format,
        repeats_per_minute=settings.log_repeats_per_minute,
    )
    if args.command == "run":
        settings.require_slack_credentials()
        if args.role != "all" and is_sqlite(settings.database_url):
            raise SettingsError(
                f"--role {args.role} needs PostgreSQL: on SQLite one process must both answer "
                "Slack and send (only one may write at a time); use --role all, the default"
            )
        # In a child: Alembic's memory leaves with it instead of staying in the bot for good.
        upgrade_to_head_in_child(settings.database_url)
        asyncio.run(_run(settings, args.role))
        _exit_at_once()
    if args.command == "migrate":
        from bot.migrate import current_revision

        upgrade_to_head(settings.database_url)
        print(f"database is at revision {current_revision(settings.database_url)}")
        return 0
    # Only `run` and `migrate` change the schema: a typo in DATABASE_URL must not create an
    # empty database and report "no tours yet".
    require_current(settings.database_url)
    if args.command == "tick":
        return asyncio.run(_tick(settings, args.at))
    if args.command == "tours":
        return asyncio.run(_tours(settings))
    if args.command == "erase-person":
        return asyncio.run(_erase_person(settings, args.user_id))
    if args.command == "delete-tour":
        return asyncio.run(_delete_tour(settings, args.tour_id, confirmed=args.yes))
    if args.command == "rotate-keys":
        return asyncio.run(_rotate_keys(settings))
    if args.command == "export":
        if args.table is not None and args.format != "csv":
            print(
                "partnerbot: --table chooses a CSV table; the JSON export already holds every "
                "table (use --format csv --table ...)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        return asyncio.run(_export(settings, args.tour_id, args.format, args.table or "answers"))
    raise AssertionError(args.command)


def _exit_at_once() -> NoReturn:
    """End `run` once it has stopped: everything is closed and the log is flushed here, and
    the interpreter's teardown (freeing every module, over a second on a busy machine) would
    only make SIGTERM, and `docker stop`, wait longer (docs/OPERATIONS.md)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _demo(args: argparse.Namespace) -> int:
    """The demo brings its own settings (the emulator's token, a new database) and reads none
    from the environment, so it runs the same on any machine."""
    from bot.logs import configure_logging
    from bot.sandbox.demo import run_demo

    configure_logging("WARNING")
    try:
        return run_demo(seed=args.seed, fast=args.fast, keep_db=args.keep_db)
    except KeyboardInterrupt:
        return 130


async def _run(settings: Settings, role: str) -> None:
    from bot.app import Role, serve
    from bot.db import scrub_deleted
    from bot.deps import build_deps
    from bot.interpreter import check_interpreter

    check_interpreter()
    deps = build_deps(settings)
    if settings.llm_remote_host is not None:
        logging.getLogger("bot.cli").warning(
            "theme naming sends the team's answers to an LLM on another machine",
            extra={"llm_host": settings.llm_remote_host},
        )
    # A close killed between its commit and emptying the write-ahead log left what it
    # deleted in the log: empty it before serving.
    await scrub_deleted(deps.engine)
    await serve(deps, role=Role(role))


async def _tick(settings: Settings, at: datetime | None) -> int:
    from bot.clock import Clock, FrozenClock, SystemClock
    from bot.deps import build_deps
    from bot.scheduler import run_tick

    if settings.slack_bot_token is None and not settings.oauth_enabled:
        raise SettingsError(
            "missing setting SLACK_BOT_TOKEN: tick may send messages; set it as for `run`"
        )
    clock: Clock = FrozenClock(at) if at else SystemClock()
    deps = build_deps(settings, clock=clock)
    try:
        report = await run_tick(deps)
    finally:
        await deps.close()
    print(f"tick at {clock.now().isoformat()}: {report.summary()}")
    return 0


async def _rotate_keys(settings: Settings) -> int:
    from bot.db import create_engine, create_session_factory
    from bot.encryption import UnreadableToken
    from bot.installations import rotate_keys

    cipher = settings.token_cipher()
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine).begin() as session:
            tokens, installations = await rotate_keys(session, cipher)
    except UnreadableToken as problem:
        raise SettingsError(f"nothing re-encrypted: {problem}") from None
    finally:
        await engine.dispose()
    print(
        f"re-encrypted {tokens} tokens of {installations} installations with the first key of "
        "PARTNERBOT_ENCRYPTION_KEYS"
    )
    return 0


async def _tours(settings: Settings) -> int:
    from bot.db import create_engine, create_session_factory
    from bot.store.tours import counts, list_tours

    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            tours = await list_tours(session)
            tallies = [await counts(session, tour_id=tour.id) for tour in tours]
    finally:
        await engine.dispose()
    if not tours:
        print("no tours yet — start one in Slack with /partner tour")
        return 0
    header = ("ID", "TEAM", "STATUS", "CLOSES", "ASKED", "ANSWERED", "TITLE")
    rows = [
        (
            str(tour.id),
            tour.team_id,
            tour.status.value,
            tour.close_date.isoformat(),
            str(tally.participants),
            str(tally.respondents),
            tour.title,
        )
        for tour, tally in zip(tours, tallies, strict=True)
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    for row in (header, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))
    return 0


# How long the export waits for Slack's member list before going on without names.
NAMES_TIMEOUT = 10


async def _display_names(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], *, team_id: str
) -> dict[str, str] | None:
    """People's display names from the workspace's member list (the directory's cache), read
    with the token that speaks for the tour's workspace, or None, said in one line, when there
    is no such token or Slack does not answer: the export then carries Slack ids only."""
    import aiohttp
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.clock import SystemClock
    from bot.deps import token_source
    from bot.directory import Directory

    tokens, _ = token_source(settings, sessions, SystemClock())
    token = await tokens.bot_token(team_id)
    if token is None:
        print(
            f"partnerbot: the app is not installed in workspace {team_id}, so people appear as "
            "Slack ids only"
            if settings.oauth_enabled
            else "partnerbot: no SLACK_BOT_TOKEN, so people appear as Slack ids only (set it, "
            "as for `run`, to add their display names)",
            file=sys.stderr,
        )
        return None
    client = AsyncWebClient(token=token, base_url=settings.api_url, timeout=NAMES_TIMEOUT)
    try:
        return await Directory().display_names(client, team_id=team_id, now=SystemClock().now())
    except SlackApiError as error:
        reason = str(error.response.get("error") or error.response.status_code)
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
    print(
        f"partnerbot: no display names ({reason[:200]} from Slack's users.list): people "
        "appear as Slack ids only",
        file=sys.stderr,
    )
    return None


async def _export(settings: Settings, tour_id: int, output_format: str, table: str) -> int:
    from bot.db import create_engine, create_session_factory
    from bot.export import rows_with_names, to_csv, to_json, with_names
    from bot.services.tour_export import export_tour
    from bot.store.tours import get_tour

    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    try:
        async with sessions() as session:
            tour = await get_tour(session, tour_id=tour_id)
            export = await export_tour(session, tour=tour) if tour is not None else None
        if export is None:
            print(
                f"partnerbot: no tour with id {tour_id}; `partnerbot tours` lists them",
                file=sys.stderr,
            )
            return 1
        names = await _display_names(settings, sessions, team_id=export.tour.team_id)
    finally:
        await engine.dispose()
    if output_format == "json":
        record = export.record()
        print(to_json(with_names(record, names) if names is not None else record))
    else:
        rows = export.rows(table)
        sys.stdout.write(to_csv(rows_with_names(rows, names) if names is not None else rows))
    if not export.answers_visible:
        visibility = export.visibility
        why = (
            f"in an anonymous tour that asked only {visibility.invited} people"
            if visibility.too_few_asked
            else f"until {visibility.min_responses} people other than the leader have answered "
            f"({visibility.others} so far)"
            if not visibility.enough
            else "until this anonymous tour closes"
            if not visibility.show_themes
            else f"until {visibility.quotes_from} people other than the leader have answered "
            f"({visibility.others} so far; themes are shown from {visibility.min_responses})"
        )
        print(f"partnerbot: answers stay hidden {why}", file=sys.stderr)
    return 0


async def _erase_person(settings: Settings, user_id: str) -> int:
    from bot.db import create_engine, create_session_factory, scrub_deleted
    from bot.store.erasure import erase_person

    if not user_id.isalnum():
        print(f"partnerbot: {user_id!r} is not a Slack user id (e.g. U0123ABCD)", file=sys.stderr)
        return EXIT_USAGE
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine).begin() as session:
            done = await erase_person(session, user_id=user_id)
        # What was deleted, from every file (SQLite's write-ahead log too).
        scrubbed = await scrub_deleted(engine)
    finally:
        await engine.dispose()
    changed = ", ".join(f"{table} {count}" for table, count in sorted(done.items()) if count)
    logging.getLogger("bot.erasure").info("person erased", extra={"rows": sum(done.values())})
    print(f"erased {user_id}: {changed or 'no rows named them'}")
    return 0 if scrubbed else _not_scrubbed()


def _not_scrubbed() -> int:
    print(
        "partnerbot: the rows are deleted, but SQLite's write-ahead log could not be emptied "
        "while another process read the database: run the command again once it is stopped "
        "(or restart the bot, which empties it at start)",
        file=sys.stderr,
    )
    return 1


async def _delete_tour(settings: Settings, tour_id: int, *, confirmed: bool) -> int:
    from bot.db import create_engine, create_session_factory, scrub_deleted
    from bot.store.erasure import delete_tour
    from bot.store.tours import get_tour

    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine).begin() as session:
            tour = await get_tour(session, tour_id=tour_id)
            if tour is None:
                print(
                    f"partnerbot: no tour with id {tour_id}; `partnerbot tours` lists them",
                    file=sys.stderr,
                )
                return 1
            if not confirmed:
                print(
                    f"partnerbot: this deletes tour {tour_id} ({tour.title!r}, {tour.status.value})"
                    " with its answers, themes, poll, outcomes and initiatives; add --yes",
                    file=sys.stderr,
                )
                return EXIT_USAGE
            await delete_tour(session, tour_id=tour_id)
        scrubbed = await scrub_deleted(engine)
    finally:
        await engine.dispose()
    logging.getLogger("bot.erasure").info("tour deleted", extra={"tour_id": tour_id})
    print(f"deleted tour {tour_id}")
    return 0 if scrubbed else _not_scrubbed()
