"""What the database keeps of an anonymous tour and a poll once they have closed: answers in an
order that has nothing to do with when they arrived, and votes as tallies with nobody's name.
(That the deleted key is gone from SQLite's files is tests/test_anonymity_processes.py.)"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks.findings import FindingsAction
from bot.blocks.tour import TourAction
from bot.clock import FrozenClock
from bot.db import is_sqlite
from bot.deps import Deps
from bot.models import (
    Answer,
    Base,
    Poll,
    PollStatus,
    PollTally,
    ProcessedEvent,
    ThemeSource,
    Vote,
)
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.services.tour_export import export_tour
from tests.journeys import (
    closed_tour,
    drain_outbox,
    launch,
    post_findings,
    reply,
    the_tour,
    themes_of,
    vote,
)

ANSWERS = 20
# Kendall's tau of 20 answers stored in an order unrelated to their arrival is 0 give or take
# 0.16; stored as they arrived, it is 1. Fixed ids (a seeded generator stands in for uuid4)
# make the stored order, and so the test, the same on every run.
TAU_BOUND = 0.5
SEED = 14


def kendall_tau(order: list[int]) -> float:
    """Kendall's tau between positions and the values at them (no ties)."""
    pairs = list(itertools.combinations(range(len(order)), 2))
    agree = sum(1 if order[i] < order[j] else -1 for i, j in pairs)
    return agree / len(pairs)


@pytest.mark.parametrize(
    ("order", "tau"),
    [
        (list(range(20)), 1.0),  # stored as they arrived
        (list(range(19, -1, -1)), -1.0),  # stored newest first: just as telling
        ([1, 0, 3, 2], 1 / 3),  # 4 agreeing pairs of 6, 2 disagreeing
    ],
)
def test_kendall_tau(order: list[int], tau: float) -> None:
    assert kendall_tau(order) == pytest.approx(tau)


@pytest.fixture
def seeded_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    generator = random.Random(SEED)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=generator.getrandbits(128), version=4))


async def stored_order(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    """Which answer (by arrival) each row is, in the order the database gives rows back when
    asked for no order: the order they are stored in."""
    async with sessions() as session:
        texts = (await session.execute(text("SELECT text FROM answers"))).scalars().all()
    return [int(str(t).removeprefix("arrival ")) for t in texts]


async def test_answers_are_stored_in_an_order_unrelated_to_their_arrival(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    seeded_ids: None,
    database_url: str,
) -> None:
    members = [f"UORDER{n:02d}" for n in range(ANSWERS)]
    for member in members:
        fake_slack.add_user(member, member.lower(), tz="Europe/Berlin")
    await launch(slack, fake_slack, deps, users=members)
    for arrival, member in enumerate(members):
        await reply(slack, deps, clock, member, f"arrival {arrival:02d}")
    await slack.block_action("ULEAD", TourAction.CLOSE, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=30)

    order = await stored_order(sessions)
    assert sorted(order) == list(range(ANSWERS))
    assert abs(kendall_tau(order)) < TAU_BOUND, order
    if is_sqlite(database_url):
        # No rowid either: it would count up as the answers arrived.
        async with sessions() as session:
            with pytest.raises(OperationalError, match="rowid"):
                await session.execute(text("SELECT rowid FROM answers"))
        # Nor the bytes: inside a page SQLite puts each new row below the last, so where the
        # texts sit in the file (the close emptied the log into it) would follow arrival
        # without the rewrite, even with rows read back in the order of their random ids.
        data = await asyncio.to_thread(Path(make_url(database_url).database or "").read_bytes)
        offsets: dict[int, int] = {}
        for found in re.finditer(rb"arrival (\d\d)", data):  # (a timestamp may follow)
            offsets.setdefault(int(found[1]), found.start())
        assert sorted(offsets) == list(range(ANSWERS))
        by_place = sorted(offsets, key=offsets.__getitem__)
        assert abs(kendall_tau(by_place)) < TAU_BOUND, by_place
    # Nothing else says when: no timestamp is left on the answers.
    async with sessions() as session:
        stamps = await session.scalar(text("SELECT count(last_message_ts) FROM answers"))
    assert stamps == 0


async def test_a_closed_tours_answers_each_have_a_respondent_key_of_their_own(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    members = ["UALICE", "UBOB", "ULEAD"]
    await launch(slack, fake_slack, deps, users=members)
    for member in members:
        await reply(slack, deps, clock, member, f"good from {member}")
        await reply(slack, deps, clock, member, f"bad from {member}")
    async with sessions() as session:
        open_keys = (await session.scalars(select(Answer.respondent))).all()
    assert len(open_keys) == 6
    assert len(set(open_keys)) == 3  # while open, one key per person (their answers together)

    await slack.block_action("ULEAD", TourAction.CLOSE, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=30)
    async with sessions() as session:
        closed_keys = (await session.scalars(select(Answer.respondent))).all()
    assert len(set(closed_keys)) == 6
    assert not set(closed_keys) & set(open_keys)


async def every_row(sessions: async_sessionmaker[AsyncSession]) -> Iterator[tuple[str, dict]]:
    rows: list[tuple[str, dict]] = []
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            result = await session.execute(text(f'SELECT * FROM "{table.name}"'))  # noqa: S608
            rows += [(table.name, dict(row)) for row in result.mappings().all()]
    return iter(rows)


def theme_columns(table_name: str) -> set[str]:
    """The columns of a table that point at a theme."""
    table = Base.metadata.tables[table_name]
    return {
        column.name
        for column in table.columns
        if any(fk.column.table.name == "themes" for fk in column.foreign_keys)
    }


async def rows_linking_voters_to_themes(
    sessions: async_sessionmaker[AsyncSession], voters: list[str], theme_ids: list[int]
) -> list[tuple[str, dict]]:
    """Rows that hold a voter's id and name a theme: by a column pointing at themes, or in
    text (a button's value is "poll:theme")."""
    async with sessions() as session:
        poll_id = await session.scalar(select(Poll.id))
    linking = []
    for table, row in await every_row(sessions):
        values = json.dumps([str(v) for v in row.values()])
        if not any(voter in values for voter in voters):
            continue
        names_theme = any(row[c] in theme_ids for c in theme_columns(table)) or any(
            f"{poll_id}:{theme_id}" in values for theme_id in theme_ids
        )
        if names_theme:
            linking.append((table, row))
    return linking


async def test_a_closed_poll_keeps_tallies_and_forgets_who_voted(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await closed_tour(slack, fake_slack, deps, clock, team)
    message = await post_findings(slack, fake_slack, deps)
    voters = team[:6]
    for voter in voters:
        await vote(slack, deps, fake_slack, voter, 0)
        await vote(slack, deps, fake_slack, voter, 1)
    await vote(slack, deps, fake_slack, voters[0], 0)
    await vote(slack, deps, fake_slack, voters[1], 1, remove=True)
    expected = [7, 5]  # votes on the first and second theme, as the poll shows them
    theme_ids = [theme.id for theme in await themes_of(sessions, ThemeSource.FINAL)]
    # The scan finds the votes while the poll is open (so it can find them).
    assert await rows_linking_voters_to_themes(sessions, voters, theme_ids)
    async with sessions() as session:
        poll = await session.scalar(select(Poll))
        assert poll is not None
        claims = await session.scalars(select(ProcessedEvent.event_id))
        assert any(voters[0] in claim for claim in claims.all())

    await slack.block_action(
        "ULEAD",
        FindingsAction.CLOSE_POLL,
        value=str(poll.id),
        message=message,
        channel_id="CSQUAD",
    )
    await deps.inflight.wait_idle(timeout=5)
    await drain_outbox(deps, clock)

    assert await rows_linking_voters_to_themes(sessions, voters, theme_ids) == []
    tour = await the_tour(sessions)
    async with sessions() as session:
        closed = await session.get(Poll, poll.id)
        assert closed is not None
        assert closed.status is PollStatus.CLOSED
        assert (await session.scalars(select(Vote))).all() == []
        claims = (await session.scalars(select(ProcessedEvent.event_id))).all()
        tallies = {t.theme_id: t.votes for t in (await session.scalars(select(PollTally))).all()}
        export = await export_tour(session, tour=tour)
    # The clicks' claims named the voters: gone with the votes.
    assert not any(voter in claim for claim in claims for voter in voters)
    assert [tallies.get(theme_id, 0) for theme_id in theme_ids[:2]] == expected
    assert closed.voters == len(voters)
    # What reads the votes after the close reads the tallies: the export, the final post.
    assert [votes for _, _, _, votes, _ in export.themes][:2] == expected
    final = fake_slack.messages_in("CSQUAD")[0]
    assert "6 people voted" in json.dumps(final)
    ranking = [m for m in fake_slack.messages if m.get("thread_ts") == final["ts"]]
    assert "7 votes" in json.dumps(ranking[-1])
