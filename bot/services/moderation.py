"""Moderation without unmasking (issue #18): the leader hides an answer with a reason, and its
author is told — in an anonymous tour by the same DM to everyone who answered, so nobody learns
who wrote it. Logged without the text or the author."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.moderation import HideableAnswer, render_hidden_notice
from bot.flows.moderation import AuthorReach, author_reach, may_rewrite
from bot.models import Tour, TourStatus
from bot.services.tour import visibility_of
from bot.store import moderation as store
from bot.store import outbox

log = logging.getLogger("bot.services.moderation")


async def hideable_answers(
    session: AsyncSession, *, tour: Tour, reader_id: str, page: int, per_page: int
) -> list[HideableAnswer] | None:
    """One page of the answers the reader sees (as the answers page shows them), or None when
    they may not see answers at all."""
    if not (await visibility_of(session, tour=tour, reader_id=reader_id)).show_answers:
        return None
    rows = await store.shown_answers(session, tour_id=tour.id)
    chunk = rows[page * per_page : (page + 1) * per_page]
    return [HideableAnswer(answer_id, position, text) for answer_id, position, text in chunk]


@dataclass(frozen=True)
class Hidden:
    found: bool  # False: not an answer of this tour the reader may see
    already: bool = False
    reach: AuthorReach = AuthorReach.BY_NAME
    told: int = 0  # how many people the notice goes to
    can_rewrite: bool = False


async def hide_answer(
    session: AsyncSession,
    *,
    tour: Tour,
    reader_id: str,
    answer_id: str,
    reason: str,
    now: datetime,
) -> Hidden:
    """Hide one answer the reader can see, and queue the notice to its author."""
    if not (await visibility_of(session, tour=tour, reader_id=reader_id)).show_answers:
        return Hidden(found=False)
    found = await store.answer_in_tour(session, tour_id=tour.id, answer_id=answer_id)
    if found is None:
        return Hidden(found=False)
    answer, question = found
    reach = author_reach(anonymous=tour.anonymous)
    can_rewrite = may_rewrite(anonymous=tour.anonymous, is_open=tour.status is TourStatus.OPEN)
    if answer.hidden:
        return Hidden(found=True, already=True, reach=reach, can_rewrite=can_rewrite)
    await store.hide(session, answer=answer, reason=reason.strip())
    if reach is AuthorReach.BY_NAME:
        recipients = (
            [answer.respondent]
            if answer.respondent in await store.asked(session, tour_id=tour.id)
            else []
        )
    else:
        recipients = await store.answered(session, tour_id=tour.id)
    notice = render_hidden_notice(
        tour_id=tour.id,
        title=tour.title,
        question=question,
        reason=reason,
        reach=reach,
        can_rewrite=can_rewrite,
    )
    await outbox.enqueue_many(
        session,
        [
            outbox.Outgoing(
                key=f"moderation:{tour.id}:{answer.id}:{user_id}",
                method="chat.postMessage",
                payload={"channel": user_id, **notice.to_dict()},
                private=True,  # the leader's reason, emptied once sent
            )
            for user_id in recipients
        ],
        team_id=tour.team_id,
        now=now,
    )
    log.info(
        "answer hidden", extra={"tour_id": tour.id, "reach": reach.value, "told": len(recipients)}
    )
    return Hidden(found=True, reach=reach, told=len(recipients), can_rewrite=can_rewrite)
