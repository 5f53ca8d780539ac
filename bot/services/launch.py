"""Launching a listening tour: the submission stored at once (LAUNCHING), its audience worked
out with Slack through the outbox's rate gate (`resolve_launch`, at once from the handler and
again from the tick while Slack is busy), then opened with one invitation per person, put off,
or given up with the leader told why. `resolve_launch` talks to Slack between its own short
transactions, so it takes `Deps`; the rest work inside the caller's transaction."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import aiohttp
from pydantic import BaseModel
from slack_sdk.errors import SlackApiError
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks import Message
from bot.blocks.tour import (
    render_invitation,
    render_launch_delayed,
    render_leader_confirmation,
)
from bot.delivery import TRANSIENT_ERRORS, error_code, method_of, retry_after_seconds
from bot.deps import Deps
from bot.flows.tour import (
    Audience,
    LaunchForm,
    choose_audience,
    cleaned_questions,
    close_instant,
)
from bot.flows.working_hours import (
    AwayWords,
    WorkingHours,
    away,
    hours_columns,
    parse_working_hours,
    prompt_at,
    prompt_not_before,
    timing,
)
from bot.models import (
    Question,
    Tour,
    TourKey,
    TourStatus,
)
from bot.services.tour import dm_payload
from bot.store import outbox
from bot.store import tours as store
from bot.store.tours import get_tour

log = logging.getLogger("bot.services.launch")

# How long to wait before working out a launch's audience again after Slack failed without a
# Retry-After (a 5xx, a timeout), doubling from the first, at most LAUNCH_MAX_WAIT.
LAUNCH_FIRST_WAIT = timedelta(seconds=15)
LAUNCH_MAX_WAIT = timedelta(minutes=10)
# The directory calls a launch makes, as the outbox's gate names them.
LAUNCH_METHODS = ("conversations.members", "users.list")


async def resolve_launch(deps: Deps, tour_id: int) -> bool:
    """Work out a LAUNCHING tour's audience with Slack and open it (invitations queued); True
    when it opened. Slack's answers go through the outbox's rate gate, shared per team: a
    method Slack has closed for the team is not called, and a 429 or 5xx puts the launch off
    (to the window's end, or with back-off) for the tick to try again. Safe to run twice at
    once: the tour is locked and checked before it is opened."""
    async with deps.sessions() as session:
        tour = await get_tour(session, tour_id=tour_id)
    if tour is None or tour.status is not TourStatus.LAUNCHING:
        return False
    request = launch_request(tour)
    team_id, gate = tour.team_id, deps.delivery.gate
    now = deps.clock.now()
    methods = [m for m in LAUNCH_METHODS if request.channel_id or m != "conversations.members"]
    client = await deps.delivery.client_for(team_id)
    if client is None:
        # No token speaks for the workspace (uninstalled meanwhile): the tick tries again.
        log.warning("no bot token for a launch's workspace", extra={"tour": tour_id})
        return await _postpone_launch(deps, tour_id, None)
    for method in methods:
        held = gate.admit(team_id, method, "", now)
        if held is not None:
            return await _postpone_launch(deps, tour_id, held)
    try:
        requested = list(request.user_ids)
        if request.channel_id:
            requested += await deps.directory.channel_members(client, channel_id=request.channel_id)
        members = await deps.directory.members(client, team_id=team_id, now=now)
    except SlackApiError as error:
        return await _launch_refused(deps, tour_id, request, error, methods)
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        log.warning("Slack did not answer a launch", extra={"tour": tour_id, "error": repr(error)})
        for method in methods:
            gate.unanswered(team_id, method, "")
        return await _postpone_launch(deps, tour_id, None)
    for method in methods:
        if gate.answered(team_id, method):
            deps.delivery.notify()
    audience = choose_audience(
        requested,
        members,
        leader_id=tour.leader_id,
        include_leader=request.include_leader,
        bot_user_id=request.bot_user_id,
    )
    async with deps.sessions.begin() as session:
        locked = await get_tour(session, tour_id=tour_id, lock=True)
        if locked is None or locked.status is not TourStatus.LAUNCHING:
            return False  # opened (or given up) by another replica meanwhile
        if not audience.invitees:
            await abandon_launch(session, tour=locked, reason=NOBODY_TO_ASK, now=deps.clock.now())
        else:
            await finish_launch(
                session,
                tour=locked,
                audience=audience,
                now=deps.clock.now(),
                hours=(
                    parse_working_hours(request.working_hours)
                    if request.working_hours
                    else deps.settings.tour_working_hours
                ),
                away_words=deps.settings.away_words,
            )
    deps.delivery.notify()
    log.info(
        "tour launched" if audience.invitees else "launch given up: nobody to ask",
        extra={"tour": tour_id, "invited": len(audience.invitees), "skipped": audience.skipped},
    )
    return bool(audience.invitees)


NOBODY_TO_ASK = (
    "Nobody to ask: everyone you picked is a bot, deactivated, or unknown to Slack. No tour was "
    "started; type `/partner tour` to pick people again."
)


async def _launch_refused(
    deps: Deps,
    tour_id: int,
    request: LaunchRequest,
    error: SlackApiError,
    methods: list[str],
) -> bool:
    gate, now = deps.delivery.gate, deps.clock.now()
    async with deps.sessions() as session:
        tour = await get_tour(session, tour_id=tour_id)
    assert tour is not None
    status, code = error.response.status_code, error_code(error)
    failed = method_of(error)
    if status == 429 or code == "ratelimited":
        until = now + timedelta(seconds=retry_after_seconds(error))
        gate.close_method(tour.team_id, failed or methods[-1], until)
        for method in methods:
            if method != failed:
                gate.unanswered(tour.team_id, method, "")
        log.warning("launch rate limited", extra={"tour": tour_id, "method": failed})
        return await _postpone_launch(deps, tour_id, until)
    for method in methods:
        gate.unanswered(tour.team_id, method, "")
    if status >= 500 or code in TRANSIENT_ERRORS:
        return await _postpone_launch(deps, tour_id, None)
    if code == "channel_not_found" and failed == "conversations.members":
        reason = (
            f"I couldn't see who is in <#{request.channel_id}>: it is private and I'm not in "
            "it. Type `/invite @Partnerbot` there, then `/partner tour` again — or pick the "
            "people by name. No tour was started."
        )
    else:
        reason = (
            f"Slack refused to tell me whom to ask ({code}). No tour was started; type "
            "`/partner tour` to try again."
        )
    log.warning("launch given up", extra={"tour": tour_id, "error": code})
    async with deps.sessions.begin() as session:
        locked = await get_tour(session, tour_id=tour_id, lock=True)
        if locked is not None and locked.status is TourStatus.LAUNCHING:
            await abandon_launch(session, tour=locked, reason=reason, now=now)
    deps.delivery.notify()
    return False


async def _postpone_launch(deps: Deps, tour_id: int, until: datetime | None) -> bool:
    now = deps.clock.now()
    async with deps.sessions.begin() as session:
        tour = await get_tour(session, tour_id=tour_id, lock=True)
        if tour is None or tour.status is not TourStatus.LAUNCHING:
            return False
        if until is None:  # no Retry-After: back off, doubling
            until = now + min(LAUNCH_FIRST_WAIT * 2**tour.launch_attempts, LAUNCH_MAX_WAIT)
        await postpone_launch(session, tour=tour, until=until, now=now)
    deps.delivery.notify()
    return False


class LaunchRequest(BaseModel):
    """Whom the leader asked for, kept with a LAUNCHING tour until Slack has said who they
    are: people picked by name, and a channel whose members are all asked."""

    user_ids: list[str]
    channel_id: str | None
    include_leader: bool
    bot_user_id: str | None
    working_hours: str | None = None  # the leader's window for this tour; None: the default


async def start_launch(
    session: AsyncSession,
    *,
    team_id: str,
    enterprise_id: str | None,
    leader_id: str,
    leader_tz: str,
    form: LaunchForm,
    bot_user_id: str | None,
    now: datetime,
) -> Tour:
    """Store a submitted launch at once, LAUNCHING, with the audience asked for: working out
    who that is takes Slack calls (a channel's members, the directory) that a rate limit may
    hold up for minutes, and the submission must not be lost meanwhile (`finish_launch`)."""
    assert form.close_date is not None
    assert form.results_channel_id is not None
    assert form.min_responses is not None
    tour = await store.create_tour(
        session,
        store.NewTour(
            team_id=team_id,
            enterprise_id=enterprise_id,
            leader_id=leader_id,
            title=form.title.strip(),
            channel_id=form.results_channel_id,
            anonymous=form.anonymous,
            min_responses=form.min_responses,
            close_date=form.close_date,
            closes_at=close_instant(form.close_date, leader_tz),
            leader_tz=leader_tz,
            reminders=form.reminders,
            questions=cleaned_questions(form.questions),
            invitees=[],
            skipped=0,
        ),
        now=now,
    )
    tour.status = TourStatus.LAUNCHING
    tour.launch_request = LaunchRequest(
        user_ids=list(form.user_ids),
        channel_id=form.channel_id,
        include_leader=leader_id in form.user_ids,
        bot_user_id=bot_user_id,
        working_hours=form.working_hours.strip() or None,
    ).model_dump()
    tour.launch_next_at = now
    return tour


def launch_request(tour: Tour) -> LaunchRequest:
    return LaunchRequest.model_validate(tour.launch_request or {})


async def finish_launch(
    session: AsyncSession,
    *,
    tour: Tour,
    audience: Audience,
    now: datetime,
    hours: WorkingHours | None = None,
    away_words: AwayWords | None = None,
) -> None:
    """Open a LAUNCHING tour (locked) to its audience: queue one invitation per person, held
    for their working hours (and their time off, when their Slack status says so), plus the
    leader's confirmation with the count and when people will be asked."""
    assert tour.status is TourStatus.LAUNCHING
    hours = hours or WorkingHours()
    tour.work_start_minute, tour.work_end_minute, tour.work_days = hours_columns(hours)
    words = away_words or AwayWords()
    time_off = {i.user_id: away(i.status, now=now, words=words) for i in audience.invitees}
    # When each person will be asked, for the leader's confirmation: None while away with no
    # end set ("when they're back"; the invitation goes in their next working hours anyway).
    asked_at = {
        i.user_id: prompt_not_before(now, i.tz, hours, time_off[i.user_id])
        for i in audience.invitees
    }
    questions = await store.questions_of(session, tour_id=tour.id)
    store.add_participants(
        session, tour=tour, invitees=[(i.user_id, i.tz) for i in audience.invitees]
    )
    tour.status = TourStatus.OPEN
    tour.skipped_count = audience.skipped
    tour.launch_request = None
    tour.launch_next_at = None
    team_id, leader_id = tour.team_id, tour.leader_id
    # Everyone gets the same invitation; only the addressee differs.
    invitation = render_invitation(
        tour_id=tour.id,
        leader_id=leader_id,
        title=tour.title,
        anonymous=tour.anonymous,
        min_responses=tour.min_responses,
        closes_at=tour.closes_at,
        leader_tz=tour.leader_tz,
        question=questions[0].text,
        position=0,
        question_count=len(questions),
        quote_min_responses=tour.quote_min_responses,
    )
    await outbox.enqueue_many(
        session,
        [
            outbox.Outgoing(
                key=f"tour:{tour.id}:invite:{invitee.user_id}",
                method="chat.postMessage",
                payload=dm_payload(invitee.user_id, invitation),
                not_before=prompt_at(now, invitee.tz, hours, time_off[invitee.user_id]),
            )
            for invitee in audience.invitees
        ],
        team_id=team_id,
        now=now,
    )
    await store.set_focus_many(
        session,
        team_id=team_id,
        user_ids=[invitee.user_id for invitee in audience.invitees],
        tour_id=tour.id,
    )
    assert tour.channel_id is not None
    confirmation = render_leader_confirmation(
        tour_id=tour.id,
        title=tour.title,
        invited=len(audience.invitees),
        skipped=audience.skipped,
        anonymous=tour.anonymous,
        min_responses=tour.min_responses,
        closes_at=tour.closes_at,
        leader_tz=tour.leader_tz,
        results_channel_id=tour.channel_id,
        timing=timing(now, [(i.tz, asked_at[i.user_id]) for i in audience.invitees]).sentence(),
        quote_min_responses=tour.quote_min_responses,
    )
    await outbox.enqueue(
        session,
        team_id=team_id,
        key=f"tour:{tour.id}:launched",
        method="chat.postMessage",
        payload=dm_payload(leader_id, confirmation),
        now=now,
    )


async def postpone_launch(
    session: AsyncSession, *, tour: Tour, until: datetime, now: datetime
) -> None:
    """Slack is busy (a rate limit, an outage): work the audience out again at `until`. The
    first time, the leader is told the tour is saved and will go out by itself."""
    tour.launch_attempts += 1
    tour.launch_next_at = until
    await outbox.enqueue(
        session,
        team_id=tour.team_id,
        key=f"{_launch_key(tour)}:delayed",
        method="chat.postMessage",
        payload=dm_payload(tour.leader_id, render_launch_delayed(title=tour.title)),
        now=now,
    )


def _launch_key(tour: Tour) -> str:
    """What a launch's notices are keyed by. An abandoned launch's tour row is deleted, and
    SQLite gives its id to the next tour: the submission's instant tells the two apart, or the
    next launch's notices would be taken for ones already sent."""
    return f"tour:{tour.id}:launch:{tour.created_at.isoformat()}"


async def abandon_launch(session: AsyncSession, *, tour: Tour, reason: str, now: datetime) -> None:
    """The audience cannot be worked out (a private channel the bot is not in, nobody left to
    ask): the tour is removed and the leader told why, and how to start again."""
    await outbox.enqueue(
        session,
        team_id=tour.team_id,
        key=f"{_launch_key(tour)}:abandoned",
        method="chat.postMessage",
        payload=dm_payload(tour.leader_id, Message(text=reason)),
        now=now,
    )
    for model in (Question, TourKey):
        await session.execute(delete(model).where(model.tour_id == tour.id))
    await session.execute(delete(Tour).where(Tour.id == tour.id))
