"""Steps 3 and 4 as units of work, against the database (the Slack side comes with #5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.flows.outcomes import InitiativeStatus, OutcomeDraft, Refused
from bot.services import initiatives, outcomes, tour_export
from tests.conftest import START
from tests.factories import OUTCOME, PLAN, closed_tour_with_themes


async def test_proposals_and_one_committed_outcome_per_theme(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    tour, (slips, priorities) = await closed_tour_with_themes(sessions)
    async with sessions.begin() as session:
        for author in ("UA", "UB"):
            await outcomes.propose_outcome(
                session, tour=tour, theme_id=slips, author_id=author, draft=OUTCOME, now=START
            )
        await outcomes.propose_outcome(
            session, tour=tour, theme_id=priorities, author_id="UC", draft=OUTCOME, now=START
        )
        with pytest.raises(outcomes.OutcomeError) as refused:
            await outcomes.propose_outcome(
                session, tour=tour, theme_id=999, author_id="UA", draft=OUTCOME, now=START
            )
        assert "theme" in refused.value.problems
        grouped = await outcomes.proposals_by_theme(session, tour=tour)
        assert [p.author_id for p in grouped[slips]] == ["UA", "UB"]
        first = await outcomes.commit_outcome(
            session, tour=tour, theme_id=slips, draft=OUTCOME, today=START.date(), now=START
        )
        rewritten = OutcomeDraft(
            "Finance hears first", OUTCOME.partner, OUTCOME.measure, OUTCOME.target_date
        )
        again = await outcomes.commit_outcome(
            session, tour=tour, theme_id=slips, draft=rewritten, today=START.date(), now=START
        )
    assert again.id == first.id  # one outcome per theme: committing again rewrites it
    assert again.statement == "Finance hears first"


async def test_initiatives_under_the_cap_with_an_owner_who_declines(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    tour, (slips, _) = await closed_tour_with_themes(sessions)
    async with sessions.begin() as session:
        outcome = await outcomes.commit_outcome(
            session, tour=tour, theme_id=slips, draft=OUTCOME, today=START.date(), now=START
        )
        proposed = [
            await initiatives.propose_initiative(
                session,
                tour=tour,
                outcome_id=outcome.id,
                proposer_id=f"U{n}",
                draft=PLAN,
                suggested_owner_id=None,
                now=START,
            )
            for n in range(4)
        ]
        assert await initiatives.back(session, initiative=proposed[0], user_id="UX") == 1
        assert await initiatives.back(session, initiative=proposed[0], user_id="UX") == 1  # again
        assert await initiatives.back(session, initiative=proposed[0], user_id="UY") == 2

        due = START.date() + timedelta(days=60)
        for n, initiative in enumerate(proposed[:3]):
            moved = await initiatives.commit_initiative(
                session,
                initiative=initiative,
                owner_id=f"UO{n}",
                due_date=due,
                cadence_weeks=1,
                now=START,
            )
            assert moved.refused is None
        fourth = await initiatives.commit_initiative(
            session,
            initiative=proposed[3],
            owner_id="UO3",
            due_date=due,
            cadence_weeks=1,
            now=START,
        )
        assert fourth.refused is Refused.CAP_REACHED  # the article's "small number"

        not_theirs = await initiatives.answer_offer(
            session, initiative=proposed[0], user_id="UO1", accept=True
        )
        assert not_theirs.refused is Refused.NOT_ALLOWED  # only the owner answers
        declined = await initiatives.answer_offer(
            session, initiative=proposed[0], user_id="UO0", accept=False, reason="On leave"
        )
        assert declined.initiative.status is InitiativeStatus.DECLINED
        assert declined.initiative.decline_reason == "On leave"
        reassigned = await initiatives.commit_initiative(
            session,
            initiative=proposed[0],
            owner_id="UO9",
            due_date=due,
            cadence_weeks=2,
            now=START,
        )
        assert reassigned.refused is None
        assert proposed[0].status is InitiativeStatus.OFFERED
        assert proposed[0].owner_id == "UO9"
        await initiatives.answer_offer(session, initiative=proposed[1], user_id="UO1", accept=True)
        await initiatives.log_win(
            session, initiative=proposed[1], author_id="UO1", text="First alert sent", now=START
        )
        links = await tour_export.chain(session, tour=tour)
    assert [(link.theme, link.initiative, link.status) for link in links] == [
        ("Slips told late", "Slip alerts", "offered"),
        ("Slips told late", "Slip alerts", "accepted"),
        ("Slips told late", "Slip alerts", "offered"),
        ("Slips told late", "Slip alerts", "proposed"),
    ]
    assert links[0].owner_id == "UO9"
    assert links[0].due_date == START.date() + timedelta(days=60)


async def test_only_the_themes_asked_about_are_open_for_proposals(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    tour, (slips, priorities) = await closed_tour_with_themes(sessions)
    async with sessions.begin() as session:
        await outcomes.ask_shapers(
            session, tour=tour, user_ids=["UA"], theme_ids=[priorities], now=START
        )
        open_themes = await outcomes.open_requests(session, team_id="T1", user_id="UA")
        assert [theme.id for _, theme in open_themes] == [priorities]
        assert await outcomes.asked_theme_ids(session, tour_id=tour.id) == {priorities}
        assert await outcomes.open_requests(session, team_id="T1", user_id="UB") == []
    assert slips != priorities
