"""The App Home's one builder: everything a person's Home shows, gathered from the database and
rendered by `bot/blocks/home.py`. Every path that publishes a Home (the tab opened, a button,
a tour closed, themes suggested) builds it here, so no path shows less than another."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.views import View
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.home import MAX_HOME_TOURS, render_home
from bot.blocks.initiatives import PipelineOutcome
from bot.models import Tour

# Module imports, not names: bot.services.tour queues a leader's Home when a tour closes.
from bot.services import initiatives
from bot.services import tour as tours
from bot.store import outbox
from bot.store.tours import get_tour


async def home_view(
    session: AsyncSession, *, team_id: str, user_id: str, now: datetime, tz: str, command: str
) -> View:
    """The person's Home: what they own or are offered (check-in days in `tz`), and the tours
    they lead, newest first, each with its next step and, once outcomes are agreed, its
    pipeline and the "Weekly update…" button."""
    cards = await tours.tour_cards(session, team_id=team_id, leader_id=user_id, now=now)
    mine = await initiatives.commitments(session, team_id=team_id, user_id=user_id, now=now, tz=tz)
    pipelines: dict[int, list[PipelineOutcome]] = {}
    newest = sorted(cards, key=lambda card: card.tour_id, reverse=True)
    for card in newest[:MAX_HOME_TOURS]:
        if card.stage == "committed":
            tour = await get_tour(session, tour_id=card.tour_id, team_id=team_id)
            if tour is not None:
                pipelines[card.tour_id] = await initiatives.pipeline(session, tour=tour)
    return render_home(
        user_id=user_id, command=command, tours=cards, commitments=mine, pipelines=pipelines
    )


async def queue_leader_home(
    session: AsyncSession, *, tour: Tour, key: str, now: datetime, command: str
) -> None:
    """Queue the tour's leader's Home through the outbox, in the transaction that changed it
    (the close, the suggested themes): the same view opening the tab would show."""
    view = await home_view(
        session,
        team_id=tour.team_id,
        user_id=tour.leader_id,
        now=now,
        tz=tour.leader_tz,
        command=command,
    )
    await outbox.enqueue(
        session,
        team_id=tour.team_id,
        key=key,
        method="views.publish",
        payload={"user_id": tour.leader_id, "view": view.to_dict()},
        now=now,
    )
