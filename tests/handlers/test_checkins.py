"""Check-ins and the weekly update end to end: owners in three time zones accept their
initiatives over HTTP, then the scheduler's tick (the code `partnerbot tick --at` runs) is run
at chosen instants. Each owner is asked at 10:00 on their own clock; one answers with the
buttons, one by DM, one not at all (nudged once, then missed); Friday's update shows the wins
with the theme they answer, status bars and the missed check-in. Repeating a tick sends nothing
twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks.checkins import CheckinView
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.flows.outcomes import InitiativeStatus
from bot.models import (
    Checkin,
    CheckinState,
    Initiative,
    Participant,
    QuickWin,
    Tour,
    TourStatus,
)
from bot.sandbox.block_kit import validate_message
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from tests.journeys import (
    FRIDAY_UPDATE,
    LOCAL_TEN,
    OWNERS,
    THEME,
    accepted,
    buttons,
    checkins_to,
    rendered,
    tick_at,
)

Json = dict[str, Any]
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday; New York moves to EDT on 8 March


async def test_checkins_run_on_each_owners_clock_and_the_week_ends_in_an_update(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    squad: list[str],
) -> None:
    ids = await accepted(slack, fake_slack, deps, sessions)
    async with sessions() as session:
        due = dict(
            (await session.execute(select(Initiative.owner_id, Initiative.next_checkin_at))).all()
        )
    assert due == LOCAL_TEN

    # Each owner is asked at their own 10:00, and not a minute before.
    for owner, ten in sorted(LOCAL_TEN.items(), key=lambda item: item[1]):
        await tick_at(deps, clock, ten - timedelta(minutes=1))
        assert checkins_to(fake_slack, owner) == []
        counts = await tick_at(deps, clock, ten)
        assert counts["check-ins sent"] == 1
        [asked] = checkins_to(fake_slack, owner)
        assert validate_message(asked.get("text"), asked["blocks"]) == []
        assert f"Initiative of {owner}" in rendered(asked)

    # Tokyo answers with the buttons and the short form.
    asked = checkins_to(fake_slack, "UTOKYO")[0]
    [at_risk] = buttons(asked, "checkins.status.at_risk")
    await slack.block_action(
        "UTOKYO",
        "checkins.status.at_risk",
        value=at_risk["value"],
        message=asked,
        channel_id=asked["channel"],
    )
    await deps.inflight.wait_idle(timeout=5)
    form = fake_slack.views[fake_slack.view_stack("UTOKYO")[-1]]
    assert form["callback_id"] == CheckinView.ANSWER
    answer = await slack.view_submission(
        "UTOKYO",
        form,
        {
            "checkin.progress": {
                "checkin.progress.input": {
                    "type": "static_select",
                    "selected_option": {"value": "30"},
                }
            },
            "checkin.note": {"checkin.note.input": "Waiting on Finance's template"},
            "checkin.win": {"checkin.win.input": "Finance replied to the first alert"},
        },
    )
    assert answer.json is None, answer.json
    await deps.inflight.wait_idle(timeout=5)

    # Berlin replies in the DM.
    await slack.dm("UBERLIN", "on track, 40% — win: the release page is live")
    await deps.inflight.wait_idle(timeout=5)
    assert "On track" in rendered(fake_slack.dms_to("UBERLIN")[-1])

    async with sessions() as session:
        rows = (
            await session.execute(
                select(Initiative.owner_id, Initiative.last_status, Initiative.progress)
            )
        ).all()
        wins = (await session.scalars(select(QuickWin.text).order_by(QuickWin.id))).all()
    assert sorted(rows) == [
        ("UBERLIN", "on_track", 40),
        ("UNEWYORK", None, 0),
        ("UTOKYO", "at_risk", 30),
    ]
    assert list(wins) == ["Finance replied to the first alert", "the release page is live"]

    # New York stays silent: one nudge the next day at 10:00 EDT, then the week is missed.
    await tick_at(deps, clock, LOCAL_TEN["UNEWYORK"] + timedelta(days=1) - timedelta(minutes=1))
    assert len(checkins_to(fake_slack, "UNEWYORK")) == 1
    counts = await tick_at(deps, clock, LOCAL_TEN["UNEWYORK"] + timedelta(days=1))
    assert counts["nudges sent"] == 1
    nudges = checkins_to(fake_slack, "UNEWYORK")
    assert len(nudges) == 2
    assert "reminder" in rendered(nudges[-1]).lower()
    # Those who answered are not nudged.
    assert len(checkins_to(fake_slack, "UTOKYO")) == 1
    assert len(checkins_to(fake_slack, "UBERLIN")) == 1
    counts = await tick_at(deps, clock, LOCAL_TEN["UNEWYORK"] + timedelta(days=2))
    assert counts["check-ins missed"] == 1
    await tick_at(deps, clock, LOCAL_TEN["UNEWYORK"] + timedelta(days=3))
    assert len(checkins_to(fake_slack, "UNEWYORK")) == 2  # no further nagging
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
        "UTOKYO": CheckinState.ANSWERED,
        "UBERLIN": CheckinState.ANSWERED,
        "UNEWYORK": CheckinState.MISSED,
    }

    # Friday 15:00 in Berlin: the week's update in the team channel.
    posted_before = len(fake_slack.calls_to("chat.postMessage"))
    counts = await tick_at(deps, clock, FRIDAY_UPDATE)
    assert counts["weekly updates posted"] == 1
    update = fake_slack.messages_in("CSQUAD")[-1]
    assert validate_message(update.get("text"), update["blocks"]) == []
    shown = rendered(update)
    assert "Finance replied to the first alert" in shown
    # 30 % done is not "we did": the win says what is under way, with the progress bar.
    assert f"you said *{THEME}* → we're doing _Initiative of UTOKYO_ · `▓▓▓░░░░░░░` 30%" in shown
    assert "we did" not in shown
    # The owner's note for the team, under their initiative's line.
    assert "*Initiative of UTOKYO* — <@UTOKYO> · 🟠 At risk" in shown
    assert "> Waiting on Finance's template" in shown
    assert "`▓▓▓▓░░░░░░` 40%" in shown
    assert "Missed check-in: *Initiative of UNEWYORK*" in shown

    # The same instant again, and a minute later: nothing is sent twice.
    sent = len(fake_slack.calls_to("chat.postMessage"))
    assert sent == posted_before + 1
    await tick_at(deps, clock, FRIDAY_UPDATE)
    await tick_at(deps, clock, FRIDAY_UPDATE + timedelta(minutes=1))
    assert len(fake_slack.calls_to("chat.postMessage")) == sent
    assert ids  # the three initiatives stayed in play throughout


async def test_done_celebrates_and_closes_the_loop_once(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    squad: list[str],
) -> None:
    await accepted(slack, fake_slack, deps, sessions)
    await tick_at(deps, clock, LOCAL_TEN["UBERLIN"])
    # Someone opted out of "you said → we did" messages earlier.
    from bot.models import LoopOptOut

    async with sessions.begin() as session:
        session.add(LoopOptOut(team_id="T00000001", user_id="UMEMBER", created_at=START))
    await slack.dm("UBERLIN", "done! win: Finance signed off the new process")
    await deps.inflight.wait_idle(timeout=5)
    # Text alone never finishes an initiative: the owner confirms with the button.
    confirm = fake_slack.dms_to("UBERLIN")[-1]
    assert "Is *Initiative of UBERLIN* done?" in rendered(confirm)
    async with sessions() as session:
        still = await session.scalar(
            select(Initiative.status).where(Initiative.owner_id == "UBERLIN")
        )
    assert still is InitiativeStatus.ACCEPTED
    [yes] = buttons(confirm, "checkins.status.done")
    await slack.block_action(
        "UBERLIN",
        "checkins.status.done",
        value=yes["value"],
        message=confirm,
        channel_id=confirm["channel"],
    )
    await deps.inflight.wait_idle(timeout=5)
    form = fake_slack.views[fake_slack.view_stack("UBERLIN")[-1]]
    answer = await slack.view_submission(
        "UBERLIN", form, {"checkin.win": {"checkin.win.input": "Finance signed off"}}
    )
    assert answer.json is None, answer.json
    await deps.inflight.wait_idle(timeout=5)
    await tick_at(deps, clock, LOCAL_TEN["UBERLIN"] + timedelta(minutes=1))
    celebration = fake_slack.messages_in("CSQUAD")[-1]
    assert "is done" in rendered(celebration)
    assert THEME in rendered(celebration)
    loop_dms = {
        user: [m for m in fake_slack.dms_to(user) if m.get("text") == "You said → we did"]
        for user in [*OWNERS, "UMEMBER"]
    }
    assert {user: len(messages) for user, messages in loop_dms.items()} == {
        "UTOKYO": 1,
        "UBERLIN": 1,
        "UNEWYORK": 1,
        "UMEMBER": 0,  # opted out
    }
    async with sessions() as session:
        status = await session.scalar(
            select(Initiative.status).where(Initiative.owner_id == "UBERLIN")
        )
        next_at = await session.scalar(
            select(Initiative.next_checkin_at).where(Initiative.owner_id == "UBERLIN")
        )
    assert status is InitiativeStatus.DONE
    assert next_at is None
    # Friday's update: the win of a done initiative is what "we did".
    await tick_at(deps, clock, FRIDAY_UPDATE)
    update = rendered(fake_slack.messages_in("CSQUAD")[-1])
    assert f"Finance signed off — you said *{THEME}* → we did _Initiative of UBERLIN_" in update
    # No more check-ins for it.
    before = len(checkins_to(fake_slack, "UBERLIN"))
    await tick_at(deps, clock, LOCAL_TEN["UBERLIN"] + timedelta(days=7))
    assert len(checkins_to(fake_slack, "UBERLIN")) == before


async def test_a_bot_down_past_the_grace_skips_rather_than_bursts(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    squad: list[str],
) -> None:
    await accepted(slack, fake_slack, deps, sessions)
    # Down from before Monday's slots until Tuesday noon UTC: Tokyo and Berlin are more than 12
    # hours late (skipped), New York (14:00 UTC Monday) is 22 hours late too.
    counts = await tick_at(deps, clock, datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    assert counts["check-ins sent"] == 0
    # Back for two hours only: late, but within the grace, so sent.
    await tick_at(deps, clock, datetime(2026, 3, 16, 3, 0, tzinfo=UTC))
    assert len(checkins_to(fake_slack, "UTOKYO")) == 1  # 10:00 JST was 01:00 UTC
    assert checkins_to(fake_slack, "UBERLIN") == []
    async with sessions() as session:
        states = (
            await session.execute(
                select(Initiative.owner_id, Checkin.period, Checkin.state).join(
                    Initiative, Initiative.id == Checkin.initiative_id
                )
            )
        ).all()
    assert sorted(states) == [
        ("UBERLIN", date(2026, 3, 9), CheckinState.SKIPPED),
        ("UNEWYORK", date(2026, 3, 9), CheckinState.SKIPPED),
        ("UTOKYO", date(2026, 3, 9), CheckinState.SKIPPED),
        ("UTOKYO", date(2026, 3, 16), CheckinState.SENT),
    ]


async def test_leave_and_snooze_hold_back_checkins_and_nudges(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    squad: list[str],
) -> None:
    ids = await accepted(slack, fake_slack, deps, sessions)
    await tick_at(deps, clock, LOCAL_TEN["UBERLIN"])
    [asked] = checkins_to(fake_slack, "UBERLIN")
    [snooze] = buttons(asked, "checkins.snooze")
    # Someone else cannot snooze it.
    await slack.block_action(
        "UTOKYO", "checkins.snooze", value=snooze["value"], channel_id="CSQUAD"
    )
    await deps.inflight.wait_idle(timeout=5)
    await slack.block_action(
        "UBERLIN",
        "checkins.snooze",
        value=snooze["value"],
        message=asked,
        channel_id=asked["channel"],
    )
    await deps.inflight.wait_idle(timeout=5)
    assert "Snoozed" in str(fake_slack.responses[-1]["body"]["text"])
    await tick_at(deps, clock, LOCAL_TEN["UBERLIN"] + timedelta(days=1))
    assert len(checkins_to(fake_slack, "UBERLIN")) == 1  # no nudge after a snooze

    # On leave until Monday 23 March: the check-in of 16 March is held back, 23 March's comes.
    await slack.block_action(
        "UBERLIN",
        "checkins.leave",
        value=str(ids["UBERLIN"]),
        channel_id=fake_slack.dm_channel_id("UBERLIN"),
    )
    await deps.inflight.wait_idle(timeout=5)
    form = fake_slack.views[fake_slack.view_stack("UBERLIN")[-1]]
    await slack.view_submission(
        "UBERLIN",
        form,
        {
            "checkin.leave_until": {
                "checkin.leave_until.input": {"type": "datepicker", "selected_date": "2026-03-23"}
            }
        },
    )
    await deps.inflight.wait_idle(timeout=5)
    await tick_at(deps, clock, datetime(2026, 3, 16, 9, 0, tzinfo=UTC))
    assert len(checkins_to(fake_slack, "UBERLIN")) == 1
    await tick_at(deps, clock, datetime(2026, 3, 23, 9, 0, tzinfo=UTC))
    assert len(checkins_to(fake_slack, "UBERLIN")) == 2
    async with sessions() as session:
        tour = await session.scalar(select(Tour))
    assert tour is not None


async def test_an_owner_who_moves_is_asked_at_ten_on_their_new_clock(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    squad: list[str],
) -> None:
    await accepted(slack, fake_slack, deps, sessions)
    fake_slack.users["UBERLIN"]["tz"] = "America/Los_Angeles"
    # A day before each check-in the owner's zone is read again: Tokyo's and Berlin's by now,
    # New York's (due at 14:00 UTC) later today.
    counts = await tick_at(deps, clock, datetime(2026, 3, 8, 9, 0, tzinfo=UTC))
    assert counts["owner time zones refreshed"] == 2
    counts = await tick_at(deps, clock, datetime(2026, 3, 8, 9, 1, tzinfo=UTC))
    assert counts["owner time zones refreshed"] == 0  # once a period
    async with sessions() as session:
        moved = await session.scalar(
            select(Initiative.next_checkin_at).where(Initiative.owner_id == "UBERLIN")
        )
    assert moved == datetime(2026, 3, 9, 17, 0, tzinfo=UTC)  # 10:00 PDT
    await tick_at(deps, clock, LOCAL_TEN["UBERLIN"])
    assert checkins_to(fake_slack, "UBERLIN") == []
    await tick_at(deps, clock, moved)
    assert len(checkins_to(fake_slack, "UBERLIN")) == 1


async def test_past_the_due_date_the_owner_is_asked_once_and_can_move_it(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    squad: list[str],
) -> None:
    ids = await accepted(slack, fake_slack, deps, sessions)
    # Due Friday 29 May; Saturday morning in Tokyo is still Friday in New York.
    await tick_at(deps, clock, datetime(2026, 5, 30, 1, 0, tzinfo=UTC))

    def overdue(owner: str) -> list[Json]:
        return [m for m in fake_slack.dms_to(owner) if "past its due date" in str(m.get("text"))]

    assert len(overdue("UTOKYO")) == 1
    assert overdue("UNEWYORK") == []
    await tick_at(deps, clock, datetime(2026, 5, 30, 12, 0, tzinfo=UTC))
    assert len(overdue("UTOKYO")) == 1  # once per due date
    assert len(overdue("UNEWYORK")) == 1
    told = [m for m in fake_slack.dms_to("ULEAD") if "was due on" in str(m.get("text"))]
    assert len(told) == 3

    question = overdue("UTOKYO")[0]
    await slack.block_action(
        "UTOKYO",
        "checkins.extend",
        value=str(ids["UTOKYO"]),
        message=question,
        channel_id=question["channel"],
    )
    await deps.inflight.wait_idle(timeout=5)
    form = fake_slack.views[fake_slack.view_stack("UTOKYO")[-1]]
    answer = await slack.view_submission(
        "UTOKYO",
        form,
        {
            "checkin.new_due": {
                "checkin.new_due.input": {"type": "datepicker", "selected_date": "2026-06-26"}
            }
        },
    )
    assert answer.json is None, answer.json
    await deps.inflight.wait_idle(timeout=5)
    await tick_at(deps, clock, datetime(2026, 5, 31, 12, 0, tzinfo=UTC))
    async with sessions() as session:
        due = await session.scalar(
            select(Initiative.due_date).where(Initiative.owner_id == "UTOKYO")
        )
    assert due == date(2026, 6, 26)
    assert any("moved" in str(m.get("text")) for m in fake_slack.dms_to("ULEAD"))
    assert len(overdue("UTOKYO")) == 1

    # New York closes theirs instead; the leader hears, and its check-ins stop.
    question = overdue("UNEWYORK")[0]
    await slack.block_action(
        "UNEWYORK",
        "checkins.stop",
        value=str(ids["UNEWYORK"]),
        message=question,
        channel_id=question["channel"],
    )
    await deps.inflight.wait_idle(timeout=5)
    async with sessions() as session:
        status = await session.scalar(
            select(Initiative.status).where(Initiative.owner_id == "UNEWYORK")
        )
    assert status is InitiativeStatus.CLOSED


async def test_a_win_logged_around_a_late_update_is_reported_exactly_once(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    squad: list[str],
) -> None:
    await accepted(slack, fake_slack, deps, sessions)
    await tick_at(deps, clock, datetime(2026, 3, 12, 12, 0, tzinfo=UTC))
    # Due at 14:00; a win comes in at 14:30; the update only goes out at 15:00 (the bot was
    # down): the win belongs to next week's update, not to both.
    clock.set(FRIDAY_UPDATE + timedelta(minutes=30))
    await slack.slash_command("UTOKYO", "win Finance replied within the hour")
    await deps.inflight.wait_idle(timeout=5)
    await tick_at(deps, clock, FRIDAY_UPDATE + timedelta(hours=1))
    await tick_at(deps, clock, FRIDAY_UPDATE + timedelta(days=7))
    updates = [
        rendered(m) for m in fake_slack.messages_in("CSQUAD") if "quick wins" in str(m.get("text"))
    ]
    assert len(updates) == 2
    assert ["Finance replied within the hour" in update for update in updates] == [False, True]


@pytest.mark.usefixtures("dm_one_trip")
async def test_a_checkin_reply_reaches_the_owner_who_finished_an_open_tour(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    squad: list[str],
) -> None:
    await accepted(slack, fake_slack, deps, sessions)
    async with sessions.begin() as session:
        tour = await session.scalar(select(Tour))
        assert tour is not None
        tour.status = TourStatus.OPEN  # still open, and Berlin has answered every question
        tour.closes_at = LOCAL_TEN["UBERLIN"] + timedelta(days=3)
        tour.close_date = tour.closes_at.date()
        tour.closed_at = None
        for participant in await session.scalars(select(Participant)):
            participant.current_position = None  # through every question
    await tick_at(deps, clock, LOCAL_TEN["UBERLIN"])
    await slack.dm("UBERLIN", "at risk, 20% — waiting on legal")
    await deps.inflight.wait_idle(timeout=5)
    assert "At risk" in rendered(fake_slack.dms_to("UBERLIN")[-1])
    async with sessions() as session:
        status = await session.scalar(
            select(Initiative.last_status).where(Initiative.owner_id == "UBERLIN")
        )
    assert status == "at_risk"


async def test_the_leader_may_choose_another_checkin_day(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    squad: list[str],
) -> None:
    await accepted(slack, fake_slack, deps, sessions, weekday=2)  # Wednesdays
    wednesday = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    async with sessions() as session:
        due = await session.scalar(
            select(Initiative.next_checkin_at).where(Initiative.owner_id == "UBERLIN")
        )
    assert due == wednesday
    await tick_at(deps, clock, wednesday)
    assert len(checkins_to(fake_slack, "UBERLIN")) == 1
    async with sessions() as session:
        following = await session.scalar(
            select(Initiative.next_checkin_at).where(Initiative.owner_id == "UBERLIN")
        )
    assert following == wednesday + timedelta(weeks=1)
