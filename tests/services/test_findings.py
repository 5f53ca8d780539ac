"""Step 2's units of work against the database: what is kept of the engine's suggestions."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.flows.review import MAX_SUGGESTED_THEMES
from bot.models import ThemeSource, Tour
from bot.services import findings
from bot.store.findings import add_theme, themes_of
from bot.themes import SuggestedTheme, ThemeKind
from tests.conftest import START
from tests.factories import stored_tour


def suggestion(label: str, kind: ThemeKind, answers: int = 2) -> SuggestedTheme:
    return SuggestedTheme(
        label=label,
        summary="",
        kind=kind,
        answer_ids=tuple(f"{label}-{n}" for n in range(answers)),
        quote_ids=(),
        cohesion=0.5,
    )


async def closed_tour(sessions: async_sessionmaker[AsyncSession]) -> Tour:
    async with sessions.begin() as session:
        return await stored_tour(session, closed_at=START)


async def test_suggestions_are_kept_challenges_first_up_to_the_review_limit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    tour = await closed_tour(sessions)
    # An engine that ranks by size alone, sides interleaved, and more than the review shows.
    given = [
        suggestion("Reviews", ThemeKind.STRENGTH, 5),
        suggestion("Staging", ThemeKind.CHALLENGE, 4),
        suggestion("Old mix", ThemeKind.MIXED, 3),
        suggestion("On-call", ThemeKind.STRENGTH, 3),
        suggestion("Priorities", ThemeKind.CHALLENGE, 2),
        suggestion("Meetings", ThemeKind.CHALLENGE, 2),
    ]
    async with sessions.begin() as session:
        assert await findings.store_suggestions(
            session, tour_id=tour.id, suggestions=given, now=START
        )
    async with sessions() as session:
        stored = await themes_of(session, tour_id=tour.id, source=ThemeSource.SUGGESTED)
    assert len(given) > MAX_SUGGESTED_THEMES
    # The first five as the engine ranked them, challenges first, each side in the engine's
    # order; the sixth is not kept.
    assert [(t.label, t.kind, t.answer_count) for t in stored] == [
        ("Staging", "challenge", 4),
        ("Priorities", "challenge", 2),
        ("Old mix", "mixed", 3),
        ("Reviews", "strength", 5),
        ("On-call", "strength", 3),
    ]


async def test_the_review_lists_old_suggestions_challenges_first(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Suggestions stored by an older version, strongest first with a "mixed" one, are read
    challenges first, and the count of answers in none of them is the rest of the answers."""
    tour = await closed_tour(sessions)
    async with sessions.begin() as session:
        for position, (label, kind) in enumerate(
            [("Reviews", "strength"), ("Mix", "mixed"), ("Staging", "challenge")]
        ):
            await add_theme(
                session,
                tour_id=tour.id,
                source=ThemeSource.SUGGESTED,
                position=position,
                label=label,
                summary="",
                kind=kind,
                answer_count=0,
                quote_ids=[],
            )
    async with sessions() as session:
        review = await findings.review_of(session, tour=tour)
    assert [draft.label for draft in review.drafts] == ["Staging", "Mix", "Reviews"]
    assert [theme.label for theme in review.themes] == ["Staging", "Mix", "Reviews"]
    assert review.unthemed == 0  # no answers at all
