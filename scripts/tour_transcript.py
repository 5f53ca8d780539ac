"""A mini listening tour, played end to end against the fake Slack and printed as each person saw
it. No Slack workspace, no waiting: the real app serves signed requests over HTTP, a frozen clock
stands in for the week, and the database is a throwaway SQLite file.

    .venv/bin/python scripts/tour_transcript.py

Dana (Berlin) asks four teammates what's working and what's in the way. Alice and Bob answer in
their DMs, Chen in the form, Dee stays silent until after the tour has closed.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import EVENTS_PATH, SlackHttpFrontDoor, build_app, start_http
from bot.blocks.tour import TourAction
from bot.clock import FrozenClock
from bot.deps import Deps, build_deps
from bot.flows.tour import DEFAULT_QUESTIONS, LaunchBlock, close_instant, question_block, zone
from bot.migrate import upgrade_to_head
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.sandbox.transcript import render_message, render_view, wrap
from bot.scheduler import run_tick
from bot.settings import load_settings

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday, 10:00 in Berlin
CLOSE_DATE = date(2026, 3, 9)
SIGNING_SECRET = "transcript-signing-secret"  # noqa: S105 - signs requests to a local fake
WIDTH = 88
LEADER = "UDANA"
PEOPLE = {  # user id: (real name, Slack time zone)
    LEADER: ("Dana Fischer", "Europe/Berlin"),
    "UALICE": ("Alice Nguyen", "America/New_York"),
    "UBOB": ("Bob Mensah", "Europe/London"),
    "UCHEN": ("Chen Wei", "Asia/Singapore"),
    "UDEE": ("Dee Kowalski", "America/Los_Angeles"),
}
TEAM = [user for user in PEOPLE if user != LEADER]


def first(user_id: str) -> str:
    return PEOPLE[user_id][0].split()[0]


def local(user_id: str, at: datetime) -> str:
    """'Mon 2 Mar, 10:00 in Berlin': a moment as that person's clock shows it."""
    tz = PEOPLE[user_id][1]
    moment = at.astimezone(zone(tz))
    city = tz.rsplit("/", 1)[-1].replace("_", " ")
    return f"{moment:%a} {moment.day} {moment:%b}, {moment:%H:%M} in {city}"


class Transcript:
    """Plays the people's part and prints what Slack showed each of them, in order."""

    def __init__(self, fake: FakeSlack, slack: SignedSlack, deps: Deps, clock: FrozenClock):
        self.fake, self.slack, self.deps, self.clock = fake, slack, deps, clock
        self.names = {uid: user["real_name"] for uid, user in fake.users.items()}
        self.names |= {cid: channel.get("name", cid) for cid, channel in fake.channels.items()}
        self.seen = 0  # messages in fake.messages already printed

    def does(self, user_id: str, what: str) -> None:
        said = f"[{local(user_id, self.clock.now())}] {first(user_id)} {what}"
        print("\n" + "\n".join(wrap(said, WIDTH, subsequent_prefix="    ")))

    def show(self, user_id: str, surface: str, rendered: str) -> None:
        print(f"\n── {first(user_id)} sees ({surface}) ──")
        print("\n".join("  " + line if line else "" for line in rendered.splitlines()))

    def show_view(self, user_id: str, view: dict[str, Any], surface: str = "modal") -> None:
        self.show(user_id, surface, render_view(view, names=self.names, width=WIDTH - 2))

    def show_new_messages(self, *, same_as_first: bool = False) -> None:
        """Every message the bot sent since the last call. With `same_as_first`, identical
        messages to several people are printed once."""
        new, self.seen = self.fake.messages[self.seen :], len(self.fake.messages)
        printed: dict[str, str] = {}
        for message in new:
            user = message["dm_user"]
            text = render_message(message, names=self.names, width=WIDTH - 2)
            if same_as_first and text in printed.values():
                twin = next(u for u, t in printed.items() if t == text)
                print(f"\n── {first(user)} gets the same message as {first(twin)} ──")
                continue
            printed[user] = text
            when = local(user, datetime.fromtimestamp(float(message["ts"]), UTC))
            self.show(user, f"DM, {when}", text)

    async def settle(self) -> None:
        """Let the app finish what the last request started, then send what it queued."""
        await self.deps.inflight.wait_idle(timeout=10)
        await self.deps.delivery.deliver_due()

    async def dm(self, user_id: str, text: str) -> None:
        self.does(user_id, f"replies: {text}")
        before = len(self.fake.dms_to(user_id))
        await self.slack.dm(user_id, text)
        await self.settle()
        assert len(self.fake.dms_to(user_id)) == before + 1, f"no answer to {first(user_id)}"
        self.show_new_messages()

    async def open_home(self, user_id: str) -> None:
        self.does(user_id, "opens Partnerbot's Home tab")
        await self.slack.app_home_opened(user_id)
        await self.settle()
        self.show_view(user_id, self.fake.home_views[user_id], "App Home")


def launch_values(users: list[str], results: str) -> dict[str, dict[str, Any]]:
    """What Dana leaves in the launch modal: the defaults, plus her four teammates."""
    typed: dict[str, Any] = {
        LaunchBlock.TITLE: "Listening tour – March 2026",
        LaunchBlock.PEOPLE: {"type": "multi_users_select", "selected_users": users},
        LaunchBlock.CHANNEL: {"type": "conversations_select", "selected_conversation": None},
        LaunchBlock.ANONYMITY: {"type": "radio_buttons", "selected_option": {"value": "anonymous"}},
        LaunchBlock.MIN_RESPONSES: {"type": "number_input", "value": "3"},
        LaunchBlock.CLOSE_DATE: {"type": "datepicker", "selected_date": CLOSE_DATE.isoformat()},
        LaunchBlock.RESULTS: {"type": "conversations_select", "selected_conversation": results},
        LaunchBlock.REMINDERS: {"type": "checkboxes", "selected_options": [{"value": "on"}]},
    }
    for position, question in enumerate([*DEFAULT_QUESTIONS, "", "", ""]):
        typed[question_block(position)] = question
    return {block: {f"{block}.input": value} for block, value in typed.items()}


async def play(t: Transcript) -> None:
    fake, slack = t.fake, t.slack

    # Monday morning in Berlin: Dana starts the tour from the team channel.
    t.does(LEADER, "types /partner tour in #platform-team")
    await slack.slash_command(LEADER, "tour", channel_id="CTEAM")
    await fake.wait_for(lambda: bool(fake.view_stack(LEADER)))
    modal = fake.views[fake.view_stack(LEADER)[-1]]
    t.show_view(LEADER, modal)

    t.clock.set(START + timedelta(minutes=3))
    t.does(LEADER, "picks Alice, Bob, Chen and Dee, keeps the defaults, presses [ Start tour ]")
    await slack.view_submission(LEADER, modal, launch_values(TEAM, "CTEAM"))
    await t.settle()
    t.show_new_messages(same_as_first=True)

    # Chen, late in the afternoon in Singapore, prefers the form.
    t.clock.set(START + timedelta(minutes=20))
    invitation = fake.dms_to("UCHEN")[0]
    t.does("UCHEN", "presses [ Answer in a form ]")
    await slack.block_action("UCHEN", TourAction.ANSWER_FORM, message=invitation)
    await t.settle()
    form = fake.views[fake.view_stack("UCHEN")[-1]]
    t.show_view("UCHEN", form)
    good = "Code review is quick and kind, even on big PRs."
    hard = "We hear the business's priorities second-hand. I'd like us to talk to Finance directly."
    t.does("UCHEN", f"types “{good}” and “{hard}”, presses [ Save ]")
    await slack.view_submission(
        "UCHEN", form, {"answer.1": {"answer.1.input": good}, "answer.2": {"answer.2.input": hard}}
    )
    await t.settle()
    t.show_new_messages()

    # Bob, in London, presses Enter mid-thought: two messages 5 seconds apart are one answer.
    t.clock.set(START + timedelta(minutes=30))
    await t.dm("UBOB", "The on-call rotation is finally fair.")
    t.clock.advance(seconds=5)
    await t.dm("UBOB", "And the runbooks actually help at 3am.")
    t.clock.set(START + timedelta(minutes=34))
    await t.dm("UBOB", "Staging is down so often that we wait half a day to test anything.")

    # Alice answers with her first coffee in New York.
    t.clock.set(START + timedelta(hours=5, minutes=15))
    await t.dm(
        "UALICE", "Pairing on the scary migrations. Nobody is left alone with a risky change."
    )
    t.clock.set(START + timedelta(hours=5, minutes=19))
    await t.dm(
        "UALICE",
        "Requests from Sales arrive in DMs and skip the queue, so the sprint plan is gone by "
        "Wednesday.",
    )

    # Tuesday morning: Dana looks in.
    t.clock.set(START + timedelta(days=1, hours=-1))
    await t.open_home(LEADER)

    # The week passes; the scheduler ticks every hour. Only Dee is due reminders.
    print("\n[The scheduler runs `tick` every hour until the tour closes…]")
    closes_at = close_instant(CLOSE_DATE, PEOPLE[LEADER][1])
    before = len(fake.messages)
    while t.clock.now() + timedelta(hours=1) < closes_at:
        t.clock.set(t.clock.now().replace(minute=0, second=0) + timedelta(hours=1))
        await run_tick(t.deps)
        t.show_new_messages()
    assert [m["dm_user"] for m in fake.messages[before:]] == ["UDEE", "UDEE"], "reminders"

    # 23:59 in Berlin on the close date: the tour closes and Dana is told.
    t.clock.set(closes_at)
    print(f"\n[{local(LEADER, closes_at)}: the tour's close time; `tick` runs]")
    await run_tick(t.deps)
    t.show_new_messages()

    t.clock.set(closes_at + timedelta(hours=9, minutes=1))
    await t.open_home(LEADER)
    t.does(LEADER, "presses [ Export ]")
    await slack.block_action(LEADER, TourAction.EXPORT, view=fake.home_views[LEADER])
    await t.settle()
    t.show_new_messages()

    t.clock.set(closes_at + timedelta(hours=18, minutes=1))
    await t.dm("UDEE", "Sorry, I was on leave last week. Is it too late to answer?")

    assert not fake.warnings, f"Slack would have refused: {fake.warnings}"
    assert not fake.ephemerals, "an ephemeral message went unprinted"


async def main(database_url: str) -> None:
    clock = FrozenClock(START)
    async with FakeSlack(clock=lambda: clock.now().timestamp(), team_name="Acme") as fake:
        for user_id, (real_name, tz) in PEOPLE.items():
            fake.add_user(user_id, real_name.split()[0].lower(), real_name=real_name, tz=tz)
        fake.add_channel("CTEAM", "platform-team", members=list(PEOPLE))
        settings = load_settings(
            slack_bot_token=fake.bot_token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake.api_url,
            database_url=database_url,
        )
        deps = build_deps(settings, clock=clock)
        server = await start_http(
            SlackHttpFrontDoor(build_app(deps), deps), host="127.0.0.1", port=0
        )
        try:
            async with aiohttp.ClientSession() as session:
                slack = SignedSlack(server.url + EVENTS_PATH, SIGNING_SECRET, fake, session=session)
                await play(Transcript(fake, slack, deps, clock))
        finally:
            await deps.inflight.wait_idle(timeout=10)
            await server.stop()
            await deps.close()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'tour-transcript.db'}"
        upgrade_to_head(url)
        asyncio.run(main(url))
