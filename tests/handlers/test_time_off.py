"""Time off read from Slack statuses, end to end: no reminder while someone's status says they
are away, one once it has expired; a check-in that falls in an owner's time off is "away", not
"missed", and the Friday update says so; the leader's Remind now skips people away and says how
many; an outcome request and an initiative offer wait until their recipient is back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks.initiatives import InitiativeAction
from bot.blocks.outcomes import OutcomeAction
from bot.blocks.tour import TourAction
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.flows.outcomes import InitiativeStatus
from bot.models import Checkin, CheckinState, Initiative, OutboxMessage
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from tests.journeys import (
    FRIDAY_UPDATE,
    LOCAL_TEN,
    SHAPERS,
    accepted,
    buttons,
    checkins_to,
    click,
    commit_values,
    initiative_proposed,
    launch,
    open_commit,
    poll_closed,
    rendered,
    theme_options,
    tick_at,
    tick_through,
)

NEW_YORK = ZoneInfo("America/New_York")


def reminders(fake: FakeSlack, user_id: str) -> list[datetime]:
    """When each reminder reached this person, on New York's clock."""
    return [
        datetime.fromtimestamp(float(m["ts"]), NEW_YORK)
        for m in fake.dms_to(user_id)
        if "A gentle nudge" in rendered(m)
    ]


async def test_a_member_on_vacation_is_reminded_once_when_back(
    slack: SignedSlack, fake_slack: FakeSlack, deps: Deps, clock: FrozenClock
) -> None:
    # Launched Monday 2 March; closes Thursday 5 March: reminders Tuesday and Thursday.
    await launch(slack, fake_slack, deps, users=("UALICE", "UBOB"), close_date="2026-03-05")
    assert len(fake_slack.dms_to("UALICE")) == 1  # the invitation
    # Then Alice goes on vacation until Thursday (00:00 in New York).
    back = datetime(2026, 3, 5, 0, 0, tzinfo=NEW_YORK)
    fake_slack.set_status(
        "UALICE", emoji=":palm_tree:", text="Vacationing", expiration=int(back.timestamp())
    )

    hourly = timedelta(hours=1)
    await tick_through(
        deps, clock, clock.now() + hourly, datetime(2026, 3, 6, 1, tzinfo=UTC), every=hourly
    )

    # Nothing while away; one reminder on Thursday, her first working morning back.
    [reminded] = reminders(fake_slack, "UALICE")
    assert reminded.date() == back.date()
    assert reminded.hour == 10
    # Bob, not away, had both.
    assert len(reminders(fake_slack, "UBOB")) == 2


async def test_an_owner_away_on_checkin_day_is_away_not_missed(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    squad: list[str],
) -> None:
    await accepted(slack, fake_slack, deps, sessions)
    # Berlin's owner is on holiday (in German) until Wednesday 11 March.
    until = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
    fake_slack.set_status("UBERLIN", emoji="", text="Urlaub", expiration=int(until.timestamp()))

    for ten in sorted(LOCAL_TEN.values()):
        await tick_at(deps, clock, ten)
    # The next days' nudges and "missed" marks.
    for days in (1, 2, 3):
        await tick_at(deps, clock, LOCAL_TEN["UNEWYORK"] + timedelta(days=days))

    assert checkins_to(fake_slack, "UBERLIN") == []  # not asked, not nudged
    assert len(checkins_to(fake_slack, "UNEWYORK")) == 2  # asked, then nudged
    async with sessions() as session:
        states = dict(
            (
                await session.execute(
                    select(Initiative.owner_id, Checkin.state).join(
                        Initiative, Initiative.id == Checkin.initiative_id
                    )
                )
            ).all()
        )
    assert states == {
        "UTOKYO": CheckinState.MISSED,
        "UBERLIN": CheckinState.AWAY,
        "UNEWYORK": CheckinState.MISSED,
    }

    counts = await tick_at(deps, clock, FRIDAY_UPDATE)
    assert counts["weekly updates posted"] == 1
    shown = rendered(fake_slack.messages_in("CSQUAD")[-1])
    assert "Away on check-in day, so no check-in: *Initiative of UBERLIN* (<@UBERLIN>)" in shown
    assert "Missed check-in: *Initiative of UBERLIN*" not in shown
    assert "Missed check-in: *Initiative of UTOKYO*" in shown


async def outbox_keys(sessions: async_sessionmaker[AsyncSession], part: str) -> list[str]:
    async with sessions() as session:
        keys = await session.scalars(
            select(OutboxMessage.idempotency_key).where(
                OutboxMessage.idempotency_key.contains(part)
            )
        )
    return sorted(keys)


@pytest.mark.parametrize(
    ("anonymous", "told"),
    [
        # Named: the leader is told how many were skipped as away.
        (
            False,
            "Reminder on its way to 1 person who hasn't finished, each in their own working "
            "hours. 1 person is away by their Slack status, so not reminded now: the tour's "
            "next reminder reaches them once they're back.",
        ),
        # Anonymous: one count for everyone unfinished; statuses are public, so a separate
        # away count would say whether the person on holiday has answered.
        (
            True,
            "Reminder on its way to 2 people who haven't finished, each in their own working "
            "hours. Anyone whose Slack status says they're away is not reminded now: the tour's "
            "next reminder reaches them once they're back.",
        ),
    ],
)
async def test_remind_now_skips_people_away_and_the_tour_reminds_them_when_back(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    anonymous: bool,
    told: str,
) -> None:
    await launch(
        slack,
        fake_slack,
        deps,
        users=("UALICE", "UBOB"),
        close_date="2026-03-05",
        anonymous=anonymous,
    )
    back = datetime(2026, 3, 5, 0, 0, tzinfo=NEW_YORK)  # Alice is away until Thursday
    fake_slack.set_status(
        "UALICE", emoji=":palm_tree:", text="Vacationing", expiration=int(back.timestamp())
    )

    clock.advance(days=1)  # Tuesday: Remind now is allowed again
    await slack.block_action("ULEAD", TourAction.REMIND, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=5)
    [notice] = fake_slack.view_stack("ULEAD")
    assert told in json.dumps(fake_slack.views[notice], ensure_ascii=False)
    await deps.delivery.deliver_due()
    assert await outbox_keys(sessions, ":remind-now:") == ["tour:1:remind-now:2026-03-03:UBOB"]
    assert reminders(fake_slack, "UBOB") != []
    assert reminders(fake_slack, "UALICE") == []

    hourly = timedelta(hours=1)
    await tick_through(
        deps, clock, clock.now() + hourly, datetime(2026, 3, 6, 1, tzinfo=UTC), every=hourly
    )
    # Back on Thursday, she has the tour's own reminder, once.
    [reminded] = reminders(fake_slack, "UALICE")
    assert (reminded.date(), reminded.hour) == (back.date(), 10)


async def test_an_outcome_request_to_someone_away_waits_until_they_are_back(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await poll_closed(slack, fake_slack, deps, clock, team)
    # UT02 (Berlin) is out sick for three days.
    back = clock.now() + timedelta(days=3)
    fake_slack.set_status("UT02", emoji=":face_with_thermometer:", expiration=int(back.timestamp()))
    before = {user: len(fake_slack.dms_to(user)) for user in SHAPERS}
    clock.advance(minutes=11)  # past the directory's cached member list (10 minutes)

    await slack.block_action(
        "ULEAD", OutcomeAction.SET_OUTCOMES, view=fake_slack.home_views["ULEAD"]
    )
    await deps.inflight.wait_idle(timeout=5)
    setup = fake_slack.views[fake_slack.view_stack("ULEAD")[-1]]
    options = theme_options(setup)
    answer = await slack.view_submission(
        "ULEAD",
        setup,
        {
            "outcomes.shapers": {
                "outcomes.shapers.input": {"type": "multi_users_select", "selected_users": SHAPERS}
            },
            "outcomes.themes": {
                "outcomes.themes.input": {
                    "type": "checkboxes",
                    "selected_options": options["options"][:1],
                }
            },
        },
    )
    assert answer.status == 200
    await deps.inflight.wait_idle(timeout=5)
    for _ in range(3):  # past the one-a-second pacing; UT02's row is held
        await deps.delivery.deliver_due()
        clock.advance(seconds=1)

    def requests(user: str) -> list[dict[str, object]]:
        return [
            m for m in fake_slack.dms_to(user)[before[user] :] if buttons(m, OutcomeAction.PROPOSE)
        ]

    assert [len(requests(user)) for user in SHAPERS] == [1, 0, 1]
    async with sessions() as session:
        held = (
            await session.execute(
                select(OutboxMessage.idempotency_key, OutboxMessage.next_attempt_at).where(
                    OutboxMessage.idempotency_key.endswith(":outcome-request:UT02")
                )
            )
        ).one()
    assert held.next_attempt_at >= back  # held in the database, not dropped

    # Back: the request arrives once, in her working hours, and ticks send nothing more.
    await tick_through(deps, clock, back, back + timedelta(days=4), every=timedelta(hours=3))
    [request] = requests("UT02")
    assert datetime.fromtimestamp(float(request["ts"]), UTC) >= back


async def test_an_offer_to_an_owner_away_waits_and_the_leader_is_told(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await initiative_proposed(slack, fake_slack, deps, clock, sessions, team)
    # UT05 is on holiday (in German) until Friday 6 March, 00:00 UTC.
    back = datetime(2026, 3, 6, 0, 0, tzinfo=UTC)
    assert clock.now() < back - timedelta(days=2)
    fake_slack.set_status("UT05", text="Urlaub bis Freitag", expiration=int(back.timestamp()))
    clock.advance(minutes=11)  # past the directory's cached member list (10 minutes)
    view = await open_commit(slack, fake_slack, deps, "Slip alerts")
    due = (clock.now() + timedelta(days=30)).date().isoformat()

    answer = await slack.view_submission("ULEAD", view, commit_values("UT05", due))
    await deps.inflight.wait_idle(timeout=5)

    # The leader is told at once, while deciding, with what they can do about it.
    assert answer.json is not None
    assert answer.json["response_action"] == "update"
    told = rendered(answer.json["view"])
    assert "Their Slack status says they're away until Friday 6 March" in told
    assert "withdraw it from your App Home" in told
    for _ in range(3):
        await deps.delivery.deliver_due()
        clock.advance(seconds=1)
    assert [m for m in fake_slack.dms_to("UT05") if buttons(m, InitiativeAction.ACCEPT)] == []
    async with sessions() as session:
        initiative = await session.scalar(select(Initiative))
        assert initiative is not None
        assert initiative.status is InitiativeStatus.OFFERED
        held = await session.scalar(
            select(OutboxMessage.next_attempt_at).where(
                OutboxMessage.idempotency_key.startswith(f"initiative:{initiative.id}:offer:")
            )
        )
    assert held is not None
    assert held >= back

    # Back on Friday: one offer, in her working hours, and it can still be accepted.
    await tick_through(deps, clock, back, back + timedelta(days=3), every=timedelta(hours=3))
    [offer] = [m for m in fake_slack.dms_to("UT05") if buttons(m, InitiativeAction.ACCEPT)]
    assert datetime.fromtimestamp(float(offer["ts"]), UTC) >= back
    await click(slack, deps, "UT05", InitiativeAction.ACCEPT, offer)
    async with sessions() as session:
        assert await session.scalar(select(Initiative.status)) is InitiativeStatus.ACCEPTED
