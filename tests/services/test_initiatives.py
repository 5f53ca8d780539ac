"""Step 4's Slack-side units of work against the database: team isolation, backing toggles,
who counts as on the team, the owner's DMs through the outbox, and what the Homes show."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.flows.outcomes import InitiativeStatus, Refused
from bot.models import OutboxMessage, Tour
from bot.services import home, initiatives, outcomes
from tests.conftest import START
from tests.factories import OUTCOME, PLAN, closed_tour_with_themes

DUE = date(2026, 5, 29)


async def with_proposal(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[Tour, int]:
    tour, (slips, _) = await closed_tour_with_themes(sessions)
    async with sessions.begin() as session:
        outcome = await outcomes.commit_outcome(
            session, tour=tour, theme_id=slips, draft=OUTCOME, today=START.date(), now=START
        )
        initiative, _ = await initiatives.propose(
            session,
            team_id="T1",
            outcome_id=outcome.id,
            proposer_id="UP",
            draft=PLAN,
            suggested_owner_id="UO",
            now=START,
        )
    return tour, initiative.id


async def test_a_proposal_queues_its_card_for_the_team_channel(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, initiative_id = await with_proposal(sessions)
    async with sessions() as session:
        card = await session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.idempotency_key == initiatives.card_key(initiative_id)
            )
        )
        assert card is not None
        assert card.payload["channel"] == "CTEAM"
        assert "Slip alerts" in card.payload["text"]
        # Not yet sent: nowhere to redraw.
        assert await initiatives.card_message(session, initiative_id=initiative_id) is None
        card.result = {"channel": "CTEAM", "ts": "1.0"}
        assert await initiatives.card_message(session, initiative_id=initiative_id) == (
            "CTEAM",
            "1.0",
        )


async def test_another_team_cannot_reach_the_initiative_or_its_outcomes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, initiative_id = await with_proposal(sessions)
    async with sessions.begin() as session:
        assert (
            await initiatives.get_initiative(session, initiative_id=initiative_id, team_id="T2")
            is None
        )
        assert await initiatives.tours_with_outcomes(session, team_id="T2") == []
        found = await initiatives.get_initiative(session, initiative_id=initiative_id, team_id="T1")
        assert found is not None
        with pytest.raises(outcomes.OutcomeError):
            await initiatives.propose(
                session,
                team_id="T2",
                outcome_id=found[0].outcome_id,
                proposer_id="UX",
                draft=PLAN,
                suggested_owner_id=None,
                now=START,
            )


async def test_backing_toggles_and_counts_people_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, initiative_id = await with_proposal(sessions)
    steps = [("UA", True, 1), ("UB", True, 2), ("UA", False, 1), ("UA", True, 2)]
    for user_id, backs, count in steps:
        async with sessions.begin() as session:
            found = await initiatives.get_initiative(
                session, initiative_id=initiative_id, team_id="T1"
            )
            assert found is not None
            assert await initiatives.toggle_backing(
                session, initiative=found[0], user_id=user_id
            ) == (backs, count)


@pytest.mark.parametrize(
    ("user_id", "on_team"),
    [("ULEAD", True), ("UP", False), ("UNOBODY", False)],
)
async def test_who_took_part(
    sessions: async_sessionmaker[AsyncSession], user_id: str, on_team: bool
) -> None:
    tour, _ = await closed_tour_with_themes(sessions)
    async with sessions() as session:
        assert await initiatives.took_part(session, tour=tour, user_id=user_id) is on_team


async def test_commit_offers_by_dm_and_answers_reach_the_leader(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    tour, initiative_id = await with_proposal(sessions)
    commitment = initiatives.Commitment(
        owner_id="UO", due_date=DUE, cadence_weeks=2, title="Slip alerts v2", implications="x"
    )
    async with sessions.begin() as session:
        found = await initiatives.get_initiative(session, initiative_id=initiative_id, team_id="T1")
        assert found is not None
        moved = await initiatives.commit(
            session,
            initiative=found[0],
            tour=tour,
            commitment=commitment,
            today=START.date(),
            now=START,
            cap=3,
        )
        assert moved.refused is None
        assert found[0].title == "Slip alerts v2"
        # Someone else cannot answer for the owner.
        other = await initiatives.answer(
            session,
            initiative=found[0],
            tour=tour,
            user_id="UX",
            accept=True,
            reason=None,
            now=START,
        )
        assert other.refused is Refused.NOT_ALLOWED
        declined = await initiatives.answer(
            session,
            initiative=found[0],
            tour=tour,
            user_id="UO",
            accept=False,
            reason="Too much on",
            now=START + timedelta(hours=1),
        )
        assert declined.refused is None
        assert found[0].status is InitiativeStatus.DECLINED
    async with sessions() as session:
        sent = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    by_channel = {(m.channel, m.payload["text"][:30]) for m in sent}
    assert any(channel == "UO" for channel, _ in by_channel)  # the offer
    to_leader = [m for m in sent if m.channel == "ULEAD"]
    assert len(to_leader) == 1
    assert "Too much on" in str(to_leader[0].payload["blocks"])


@pytest.mark.parametrize(
    ("title", "implications", "due", "weeks", "field"),
    [
        (" ", "x", DUE, 1, "title"),
        ("t", "  ", DUE, 1, "implications"),
        ("t", "x", START.date() - timedelta(days=1), 1, "due"),
        ("t", "x", DUE, 3, "cadence"),
    ],
)
async def test_commit_problems_by_field(
    sessions: async_sessionmaker[AsyncSession],
    title: str,
    implications: str,
    due: date,
    weeks: int,
    field: str,
) -> None:
    tour, initiative_id = await with_proposal(sessions)
    async with sessions.begin() as session:
        found = await initiatives.get_initiative(session, initiative_id=initiative_id, team_id="T1")
        assert found is not None
        with pytest.raises(outcomes.OutcomeError) as refused:
            await initiatives.commit(
                session,
                initiative=found[0],
                tour=tour,
                commitment=initiatives.Commitment("UO", due, weeks, title, implications),
                today=START.date(),
                now=START,
                cap=3,
            )
        assert list(refused.value.problems) == [field]
        assert found[0].status is InitiativeStatus.PROPOSED


async def test_commitments_and_pipeline(sessions: async_sessionmaker[AsyncSession]) -> None:
    tour, initiative_id = await with_proposal(sessions)
    async with sessions.begin() as session:
        found = await initiatives.get_initiative(session, initiative_id=initiative_id, team_id="T1")
        assert found is not None
        await initiatives.commit(
            session,
            initiative=found[0],
            tour=tour,
            commitment=initiatives.Commitment("UO", DUE, 1, "Slip alerts", "x"),
            today=START.date(),
            now=START,  # Monday 2 March 09:00 UTC
            cap=3,
        )
    async with sessions.begin() as session:
        offered = await home.commitments(
            session, team_id="T1", user_id="UO", now=START, tz="Europe/Berlin"
        )
        assert [(c.title, c.status, c.next_checkin) for c in offered] == [
            ("Slip alerts", InitiativeStatus.OFFERED, None)
        ]
        found = await initiatives.get_initiative(session, initiative_id=initiative_id, team_id="T1")
        assert found is not None
        await initiatives.answer(
            session,
            initiative=found[0],
            tour=tour,
            user_id="UO",
            accept=True,
            reason=None,
            now=START,
        )
    async with sessions() as session:
        [mine] = await home.commitments(
            session, team_id="T1", user_id="UO", now=START, tz="Europe/Berlin"
        )
        assert mine.next_checkin == date(2026, 3, 9)
        assert (
            await home.commitments(session, team_id="T2", user_id="UO", now=START, tz="UTC") == []
        )
        [outcome] = await home.pipeline(session, tour=tour)
        assert outcome.theme_label == "Slips told late"
        assert [(c.title, c.owner_id) for c in outcome.initiatives] == [("Slip alerts", "UO")]
