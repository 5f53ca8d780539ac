"""What the reliability suite shares: a seeded workspace (a tour in each state, with themes, a
poll, outcomes, a proposal, initiatives and a check-in) that can be planted for two Slack teams in
one database, a snapshot of every table to prove that nothing changed, payloads re-addressed to
another team, a TCP proxy that breaks connections (to Slack or to PostgreSQL) on demand, and the
one-line figures each scenario prints."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import logging
import socket
import struct
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, literal, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deps import Deps
from bot.flows.outcomes import InitiativeStatus
from bot.models import (
    Base,
    Checkin,
    CheckinState,
    Initiative,
    Insight,
    Outcome,
    OutcomeProposal,
    OutcomeShaper,
    Participant,
    ParticipantStatus,
    Question,
    Reflection,
    ThemeSource,
    Vote,
)
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import Delivery, SignedSlack
from bot.store.findings import add_theme, create_poll
from bot.store.tours import NewTour, create_tour, mark_closed, save_answer
from tests.factories import new_tour

Json = dict[str, Any]

TEAM_A = "T00000001"  # the fake Slack's own team: the bot is installed there
TEAM_B = "T0BRAVO00"  # a second workspace whose requests reach the same bot and database
TEAM_C = "T0CHARLIE"  # a third workspace that owns nothing at all
PEOPLE = ("ULEAD", "UALICE", "UBOB", "UCAROL")

# Tables that record what was received rather than what the team owns: a refused click may
# still be claimed (so a replay is recognised), which changes nothing anyone can see.
BOOKKEEPING = frozenset({"processed_events"})


@dataclass(frozen=True)
class Seeded:
    """The ids of one team's rows, by what they are."""

    team_id: str
    marker: str  # in every text of this team's rows, to spot a leak to another team
    channel: str
    open_tour: int
    open_questions: tuple[int, ...]
    closed_tour: int
    decided_theme: int  # has a committed outcome
    open_theme: int  # proposals still welcome
    poll: int
    poll_ts: str
    outcome: int
    proposal: int  # UALICE's, on the open theme
    proposed: int  # initiative proposed by UBOB
    offered: int  # initiative offered to UALICE
    accepted: int  # initiative UBOB took on
    checkin: int  # UBOB's check-in, sent and waiting

    def tour_ids(self) -> list[int]:
        return [self.open_tour, self.closed_tour]

    def initiative_ids(self) -> list[int]:
        return [self.proposed, self.offered, self.accepted]


async def seed_team(
    sessions: async_sessionmaker[AsyncSession],
    *,
    team_id: str,
    marker: str,
    channel: str,
    now: datetime,
    fake: FakeSlack | None = None,
) -> Seeded:
    """Plant one team's whole journey: an open named tour that UALICE is half way through, and
    a closed one whose findings are posted, voted on, turned into outcomes and initiatives.
    With `fake`, the findings post is a real message there, so redrawing it after a vote works.
    """
    poll_ts = f"{now.timestamp() - 9 * 86400:.6f}"
    if fake is not None:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        posted = await client.chat_postMessage(channel=channel, text=f"{marker} findings")
        poll_ts = str(posted["ts"])
    async with sessions.begin() as session:
        open_tour = await create_tour(
            session,
            _new_tour(team_id, f"{marker} open tour", channel, now, anonymous=False, open_=True),
            now=now - timedelta(days=1),
        )
        questions = list(
            await session.scalars(
                select(Question.id).where(Question.tour_id == open_tour.id).order_by(Question.id)
            )
        )
        await save_answer(
            session,
            tour_id=open_tour.id,
            question_id=questions[0],
            respondent="UALICE",
            text=f"{marker} alice's first answer",
            message_ts=f"{now.timestamp() - 3600:.6f}",
        )
        alice = await session.scalar(
            select(Participant).where(
                Participant.tour_id == open_tour.id, Participant.user_id == "UALICE"
            )
        )
        assert alice is not None
        alice.status, alice.current_position, alice.responded = (
            ParticipantStatus.ANSWERING,
            1,
            True,
        )

        closed = await create_tour(
            session,
            _new_tour(team_id, f"{marker} closed tour", channel, now, anonymous=False, open_=False),
            now=now - timedelta(days=20),
        )
        closed_questions = list(
            await session.scalars(select(Question.id).where(Question.tour_id == closed.id))
        )
        for person in ("UALICE", "UBOB", "UCAROL"):
            for question_id in closed_questions:
                await save_answer(
                    session,
                    tour_id=closed.id,
                    question_id=question_id,
                    respondent=person,
                    text=f"{marker} {person} says releases slip",
                    message_ts=None,
                )
        for participant in await session.scalars(
            select(Participant).where(Participant.tour_id == closed.id)
        ):
            participant.responded = True
            participant.status = ParticipantStatus.DONE
            participant.current_position = None
        await mark_closed(session, tour_id=closed.id, now=now - timedelta(days=10))
        themes = []
        for position, label in enumerate(("releases slip", "roadmap unclear")):
            themes.append(
                await add_theme(
                    session,
                    tour_id=closed.id,
                    source=ThemeSource.FINAL,
                    position=position,
                    label=f"{marker} {label}",
                    summary=f"{marker} summary",
                    kind="challenge",
                    answer_count=3,
                    quote_ids=[],
                )
            )
        closed.themes_suggested_at = now - timedelta(days=9)
        poll = await create_poll(
            session,
            tour=closed,
            budget=3,
            max_per_theme=2,
            hide_results=False,
            allow_outsiders=True,
            closes_at=None,
            now=now - timedelta(days=9),
        )
        poll.message_ts = poll_ts
        session.add(Vote(poll_id=poll.id, voter_id="UBOB", theme_id=themes[0].id, count=1))
        session.add(
            Insight(
                tour_id=closed.id,
                theme_id=themes[0].id,
                text=f"{marker} insight",
                created_at=now - timedelta(days=9),
            )
        )
        session.add(Reflection(tour_id=closed.id, insights=f"{marker} reflection"))
        session.add(OutcomeShaper(tour_id=closed.id, user_id="UALICE", asked_at=now))
        proposal = OutcomeProposal(
            tour_id=closed.id,
            theme_id=themes[1].id,
            author_id="UALICE",
            statement=f"{marker} sales sees the roadmap",
            measure=f"{marker} monthly review",
            created_at=now - timedelta(days=5),
        )
        outcome = Outcome(
            tour_id=closed.id,
            theme_id=themes[0].id,
            statement=f"{marker} finance hears about slips first",
            partner="Finance",
            measure=f"{marker} 9 in 10 within a day",
            target_date=date(2026, 6, 30),
            committed_at=now - timedelta(days=4),
        )
        session.add_all([proposal, outcome])
        await session.flush()
        initiatives = {}
        for name, status, owner in (
            ("proposed", InitiativeStatus.PROPOSED, None),
            ("offered", InitiativeStatus.OFFERED, "UALICE"),
            ("accepted", InitiativeStatus.ACCEPTED, "UBOB"),
        ):
            initiative = Initiative(
                tour_id=closed.id,
                outcome_id=outcome.id,
                title=f"{marker} {name} initiative",
                implications=f"{marker} we tell partners first",
                tracking=f"{marker} escalations",
                proposer_id="UBOB",
                status=status,
                owner_id=owner,
                due_date=date(2026, 5, 29) if owner else None,
                cadence_weeks=1,
                created_at=now - timedelta(days=3),
                committed_at=now - timedelta(days=2) if owner else None,
                next_checkin_at=now + timedelta(days=7) if owner else None,
                owner_tz="Europe/Berlin" if owner else None,
            )
            session.add(initiative)
            await session.flush()
            initiatives[name] = initiative.id
        checkin = Checkin(
            initiative_id=initiatives["accepted"],
            period=now.date(),
            due_at=now - timedelta(hours=1),
            state=CheckinState.SENT,
            nudge_at=now + timedelta(days=1),
            missed_at=now + timedelta(days=2),
        )
        session.add(checkin)
        await session.flush()
        return Seeded(
            team_id=team_id,
            marker=marker,
            channel=channel,
            open_tour=open_tour.id,
            open_questions=tuple(questions),
            closed_tour=closed.id,
            decided_theme=themes[0].id,
            open_theme=themes[1].id,
            poll=poll.id,
            poll_ts=str(poll.message_ts),
            outcome=outcome.id,
            proposal=proposal.id,
            proposed=initiatives["proposed"],
            offered=initiatives["offered"],
            accepted=initiatives["accepted"],
            checkin=checkin.id,
        )


def _new_tour(
    team_id: str, title: str, channel: str, now: datetime, *, anonymous: bool, open_: bool
) -> NewTour:
    closes = now + timedelta(days=6) if open_ else now - timedelta(days=10)
    return new_tour(
        team_id=team_id,
        title=title,
        channel_id=channel,
        anonymous=anonymous,
        closes_at=closes,
        leader_tz="Europe/Berlin",
        questions=["What's working well?", "What challenges is your team experiencing?"],
        invitees=("UALICE", "UBOB", "UCAROL"),
        tz="Europe/Berlin",
    )


def add_people(fake: FakeSlack, *, channels: Iterable[str] = ()) -> None:
    """UCAROL (the fixture has ULEAD, UALICE and UBOB), and channels all four are members of."""
    if "UCAROL" not in fake.users:
        fake.add_user("UCAROL", "carol", real_name="Carol Ito", tz="Asia/Tokyo")
    for channel in channels:
        name = fake.channels[channel]["name"] if channel in fake.channels else channel.lower()
        fake.add_channel(channel, name, members=list(PEOPLE))


# --- snapshots ---------------------------------------------------------------------------------

Snapshot = dict[str, list[tuple[Any, ...]]]


async def snapshot(
    sessions: async_sessionmaker[AsyncSession], *, skip: Iterable[str] = BOOKKEEPING
) -> Snapshot:
    """Every row of every table (but the bookkeeping ones), in a stable order: one query, each
    table's rows aggregated to JSON by the database (SQLite or PostgreSQL)."""
    skipped = set(skip)
    tables = [t for t in Base.metadata.sorted_tables if t.name not in skipped]
    taken: Snapshot = {}
    async with sessions() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        parts = []
        for table in tables:
            columns = list(table.columns)
            rows: Any = (
                func.coalesce(func.json_agg(func.json_build_array(*columns)), text("'[]'"))
                if postgres
                else func.json_group_array(func.json_array(*columns))
            )
            parts.append(select(literal(table.name).label("name"), rows.label("rows")))
        for name, rows in (await session.execute(union_all(*parts))).all():
            decoded = json.loads(rows) if isinstance(rows, str) else rows
            taken[name] = sorted((tuple(row) for row in decoded), key=repr)
    return taken


def changes(before: Snapshot, after: Snapshot) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """Rows added and removed, by table; empty when nothing changed."""
    found: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, []), after.get(name, [])
        added = [row for row in new if row not in old]
        removed = [row for row in old if row not in new]
        if added or removed:
            found[name] = {"added": added, "removed": removed}
    return found


def without_replies(
    changed: dict[str, dict[str, list[tuple[Any, ...]]]],
) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """The changes, less the bot's replies to DMs: each is queued in the outbox with the unit
    of work it answers (bot/services/answers.py reply_to), and says what the bot told the person;
    it changes nothing the team owns."""
    outbox = changed.get("outbox")
    if outbox is None:
        return changed
    added = [row for row in outbox["added"] if not str(row[2]).startswith("reply:")]
    rest = {name: rows for name, rows in changed.items() if name != "outbox"}
    if added or outbox["removed"]:
        rest["outbox"] = {"added": added, "removed": outbox["removed"]}
    return rest


# Tables whose rows belong to no team: an OAuth state is handed out before anyone chose one.
NO_TEAM_TABLES = frozenset({"oauth_states"})


def by_team(taken: Snapshot) -> dict[str, Snapshot]:
    """Split a snapshot by the team each row belongs to: directly (team_id), or through the
    tour, poll, initiative or theme it hangs from."""
    columns = {t.name: [c.name for c in t.columns] for t in Base.metadata.sorted_tables}

    def index(table: str, key: str, value: str) -> dict[Any, Any]:
        at_key, at_value = columns[table].index(key), columns[table].index(value)
        return {row[at_key]: row[at_value] for row in taken.get(table, [])}

    tour_team = index("tours", "id", "team_id")
    poll_tour = index("polls", "id", "tour_id")
    initiative_tour = index("initiatives", "id", "tour_id")
    theme_tour = index("themes", "id", "tour_id")
    via = {
        "tour_id": lambda v: tour_team.get(v),
        "poll_id": lambda v: tour_team.get(poll_tour.get(v)),
        "initiative_id": lambda v: tour_team.get(initiative_tour.get(v)),
        "theme_id": lambda v: tour_team.get(theme_tour.get(v)),
    }
    split: dict[str, Snapshot] = {}
    for table, rows in taken.items():
        names = columns[table]
        if table in NO_TEAM_TABLES:
            continue
        if "team_id" in names:
            at, owner = names.index("team_id"), None
        else:
            key = next(name for name in via if name in names)
            at, owner = names.index(key), via[key]
        for row in rows:
            team = row[at] if owner is None else owner(row[at])
            split.setdefault(str(team), {}).setdefault(table, []).append(row)
    return split


# Rows of one team that point at rows of another: each query counts such links.
CROSS_TEAM_LINKS = {
    "vote on another tour's theme": """
        SELECT count(*) FROM votes v JOIN polls p ON p.id = v.poll_id
        JOIN themes t ON t.id = v.theme_id WHERE t.tour_id != p.tour_id""",
    "tally on another tour's theme": """
        SELECT count(*) FROM poll_tallies v JOIN polls p ON p.id = v.poll_id
        JOIN themes t ON t.id = v.theme_id WHERE t.tour_id != p.tour_id""",
    "insight under another tour's theme": """
        SELECT count(*) FROM insights i JOIN themes t ON t.id = i.theme_id
        WHERE t.tour_id != i.tour_id""",
    "proposal for another tour's theme": """
        SELECT count(*) FROM outcome_proposals o JOIN themes t ON t.id = o.theme_id
        WHERE t.tour_id != o.tour_id""",
    "outcome for another tour's theme": """
        SELECT count(*) FROM outcomes o JOIN themes t ON t.id = o.theme_id
        WHERE t.tour_id != o.tour_id""",
    "initiative for another tour's outcome": """
        SELECT count(*) FROM initiatives i JOIN outcomes o ON o.id = i.outcome_id
        WHERE o.tour_id != i.tour_id""",
    "participant of another team's tour": """
        SELECT count(*) FROM participants p JOIN tours t ON t.id = p.tour_id
        WHERE t.team_id != p.team_id""",
    "poll of another team's tour": """
        SELECT count(*) FROM polls p JOIN tours t ON t.id = p.tour_id
        WHERE t.team_id != p.team_id""",
    "DM focus on another team's tour": """
        SELECT count(*) FROM dm_focus d JOIN tours t ON t.id = d.tour_id
        WHERE t.team_id != d.team_id""",
}


async def cross_team_links(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """How many rows of one team point at rows of another, by kind (only kinds with any)."""
    async with sessions() as session:
        found = {
            name: int((await session.execute(text(query))).scalar_one())
            for name, query in CROSS_TEAM_LINKS.items()
        }
    return {name: count for name, count in found.items() if count}


async def settle(deps: Deps) -> None:
    """Wait until the listeners have finished and the coalesced redraws have run."""
    # Not `assert await ...`: this module's asserts are not rewritten by pytest, so under
    # PYTHONOPTIMIZE (as the image runs) the wait itself would be stripped.
    if not await deps.inflight.wait_idle(timeout=15):
        raise AssertionError("listeners still running after 15 s")
    await deps.coalescer.flush()


async def count_rows(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        return {
            table.name: int(
                (await session.execute(text(f'SELECT count(*) FROM "{table.name}"'))).scalar_one()  # noqa: S608 - our table names
            )
            for table in Base.metadata.sorted_tables
        }


# --- requests from another team ---------------------------------------------------------------


def as_team(payload: Mapping[str, Any], team_id: str, *, home: str = TEAM_A) -> Json:
    """The same payload as Slack would send it from workspace `team_id`: every place a team id
    rides (team, team_id, user.team_id, authorizations, event.team, view.team_id) says so."""
    moved = copy.deepcopy(dict(payload))

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("team_id", "team", "user_team", "source_team") and value == home:
                    node[key] = team_id
                elif key == "team" and isinstance(value, dict) and value.get("id") == home:
                    node[key] = {**value, "id": team_id}
                else:
                    node[key] = walk(value)
            return node
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(moved)  # type: ignore[no-any-return]


def view_payload(
    slack: SignedSlack,
    user_id: str,
    *,
    callback_id: str,
    private_metadata: str,
    values: Mapping[str, Any],
    view_id: str | None = None,
) -> Json:
    """A view_submission for a modal the fake never opened (Slack would only send one it
    showed; a signed request can carry anything). Each gets a view id of its own: the bot
    takes a second submission of one view for a replay and ignores it."""
    fake = slack.fake
    view_id = view_id or f"VREL{next(_VIEW_IDS):07d}"
    return {
        "type": "view_submission",
        "team": {"id": fake.team_id, "domain": fake.team_domain},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": fake.team_id},
        "api_app_id": fake.app_id,
        "token": fake.verification_token,
        "trigger_id": fake.issue_trigger_id(user_id),
        "view": {
            "id": view_id,
            "team_id": fake.team_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "blocks": [],
            "state": {"values": dict(values)},
            "hash": "1.fuzz",
            "title": {"type": "plain_text", "text": "Partnerbot"},
            "app_id": fake.app_id,
            "bot_id": fake.bot_id,
        },
        "response_urls": [],
        "enterprise": None,
        "is_enterprise_install": False,
    }


_VIEW_IDS = itertools.count(1)


def action_payload(
    slack: SignedSlack,
    user_id: str,
    action_id: str,
    value: str | None,
    *,
    channel_id: str = "CTEAM",
    extra: Mapping[str, Any] | None = None,
) -> Json:
    """A click on a message button carrying `value`, as a message in `channel_id` would send."""
    payload = slack.payloads.block_actions(
        user_id, action_id, value=value, channel_id=channel_id, block_id="b"
    )
    if extra:
        payload["actions"][0].update(extra)
    return payload


async def send(slack: SignedSlack, payload: Mapping[str, Any]) -> Delivery:
    """Sign and post an interaction payload as it is."""
    return await slack.deliver("interactive", payload)


async def send_command(slack: SignedSlack, fields: Mapping[str, str]) -> Delivery:
    return await slack.deliver("slash_commands", fields)


async def send_event(slack: SignedSlack, envelope: Mapping[str, Any]) -> Delivery:
    return await slack.deliver("events_api", envelope)


# --- what the bot said -------------------------------------------------------------------------


def said_since(fake: FakeSlack, mark: tuple[int, int] = (0, 0)) -> str:
    """Everything the bot sent Slack since `mark` (see `mark_of`): the arguments of every Web
    API call — messages, ephemerals, updates, modals, Home tabs, refused ones included — and
    every response_url answer, as one JSON string."""
    calls, responses = mark
    return json.dumps(
        {
            "calls": [{"method": c.method, "args": c.args} for c in fake.calls[calls:]],
            "responses": [r["body"] for r in fake.responses[responses:]],
        },
        ensure_ascii=False,
        default=str,
    )


def mark_of(fake: FakeSlack) -> tuple[int, int]:
    return len(fake.calls), len(fake.responses)


def unhandled(records: Iterable[logging.LogRecord]) -> list[logging.LogRecord]:
    """The error handler's "unhandled error" lines (see bot/handlers/errors.py)."""
    return [r for r in records if r.name == "bot.errors" and r.getMessage() == "unhandled error"]


def figure(scenario: str, **numbers: object) -> str:
    """One line of figures for `pytest -s`: `[reliability] scenario: key=value ...`."""
    line = f"[reliability] {scenario}: " + " ".join(f"{k}={v}" for k, v in numbers.items())
    print(line)
    return line


# --- broken connections ------------------------------------------------------------------------


class TcpProxy:
    """A TCP proxy on 127.0.0.1 in front of a server (the fake Slack, PostgreSQL) that breaks
    connections the way networks and restarts do, which neither server does on demand.

    - `before = N`: the next N connections are reset as soon as the client has spoken (the
      server never saw the request).
    - `after = N`: the next N first requests are forwarded, and the connection is reset instead
      of passing the server's answer back.
    - `cut(refuse=True)`: every open connection is reset and, until `restore()`, new ones are
      refused (the port is closed: what a stopped server looks like) or, with `refuse=False`,
      accepted and never answered (a network cut, or a host too busy to answer: only the
      client's own timeout ends the wait). The server side of each reset connection is closed,
      so the server ends its session and rolls back what it had not committed.
    - `trip = b"..."`: the first time a client sends bytes containing these, they are not
      forwarded and the proxy cuts (refusing): a server gone at that very moment, say at a
      transaction's COMMIT.
    """

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.before = 0
        self.after = 0
        self.resets = 0
        self.held = 0  # connections accepted and never answered while cut
        self.trip: bytes | None = None
        self._port = 0
        self._server: asyncio.Server | None = None
        self._cut = False
        self._open: set[asyncio.StreamWriter] = set()
        self._held: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._port, "the proxy was never started"
        return self._port

    async def start(self) -> None:
        # The same port again after a refusing cut: the client's configuration names it.
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self._port)
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in [*self._open, *self._held]:
            self._reset(writer)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def cut(self, *, refuse: bool = True) -> int:
        """Reset every open connection and refuse (or hold) new ones; returns how many were
        reset."""
        self._cut = True
        if refuse and self._server is not None:
            self._server.close()
            self._server = None
        open_now = list(self._open)
        for writer in open_now:
            self._reset(writer)
        self.resets += len(open_now)
        return len(open_now)

    async def restore(self) -> None:
        """Take new connections again; the ones held during the cut are reset (their clients
        have given up on them by now)."""
        self._cut = False
        for writer in list(self._held):
            self._reset(writer)
        self._held.clear()
        if self._server is None:
            await self.start()

    @contextlib.asynccontextmanager
    async def outage(self, *, refuse: bool = True) -> AsyncIterator[TcpProxy]:
        self.cut(refuse=refuse)
        try:
            yield self
        finally:
            await self.restore()

    @staticmethod
    def _reset(writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.fileno() != -1:  # SO_LINGER 0: close() sends RST, not FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            self._held.add(writer)
            self.held += 1
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._open.add(writer)
        try:
            first = await reader.read(65536)
            if not first:
                return
            if self.before > 0:
                self.before -= 1
                self.resets += 1
                self._reset(writer)
                return
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            up_writer.write(first)
            if self.after > 0:
                self.after -= 1
                await up_reader.read(65536)  # the server answered; the answer never arrives
                self.resets += 1
                self._reset(writer)
                up_writer.close()
                return
            await asyncio.gather(
                self._pipe(reader, up_writer, upstream=True), self._pipe(up_reader, writer)
            )
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._open.discard(writer)
            self._tasks.discard(task)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upstream: bool = False
    ) -> None:
        try:
            while data := await reader.read(65536):
                if upstream and self.trip is not None and self.trip in data:
                    self.trip = None
                    self.cut(refuse=True)
                    return
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
