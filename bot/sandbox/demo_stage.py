"""The stage `partnerbot demo` plays on: the real bot serving HTTP against the fake Slack, a frozen
clock standing in for the weeks, and the moves a person makes in Slack (type a command, reply in
a DM, click, submit a modal, open the Home tab), each sent as the signed request Slack sends.

Between moves the scheduler's `run_tick` runs at every full hour, as cron or the built-in
scheduler would (they run every minute; on the hour is enough to see everything happen), and the
outbox is delivered the way the running bot delivers it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, TextIO, TypeVar

import aiohttp

from bot.app import EVENTS_PATH, SlackHttpFrontDoor, build_app, start_http
from bot.clock import FrozenClock
from bot.deps import Deps, build_deps
from bot.sandbox.demo_cast import (
    CHANNEL_ID,
    CHANNEL_NAME,
    EVERYONE,
    START,
    WORKSPACE,
    Person,
)
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.narrator import Narrator
from bot.sandbox.slack_requests import Delivery, SignedSlack
from bot.scheduler import run_tick
from bot.settings import Settings, load_settings

Json = dict[str, Any]
T = TypeVar("T")
# Signs requests from the fake Slack to the local app; it protects nothing else.
SIGNING_SECRET = "partnerbot-demo-signing-secret"
# How long to wait for the app to finish what a request started; the theme engine's first run
# loads its model, which takes a few seconds on a slow machine.
SETTLE_TIMEOUT = 60.0
# The outbox paces a channel at one message a second; a few seconds drain any batch we make.
MAX_DELIVERY_PASSES = 60
PACING_WINDOW = timedelta(minutes=1)


class DemoFailure(Exception):
    """Something did not happen as scripted; the message says what, for a person."""


def expect(condition: object, what: str) -> None:
    """Stop the demo, saying what did not happen, unless `condition` holds."""
    if not condition:
        raise DemoFailure(what)


def present(thing: T | None, what: str) -> T:
    """`thing`, which the script needs to go on; the demo stops, saying `what`, if it is None."""
    if thing is None:
        raise DemoFailure(what)
    return thing


def demo_settings(fake: FakeSlack, database_url: str) -> Settings:
    """Settings for the bot under demo: the fake's token and URL, the demo's database, and
    every other setting at its default, whatever the shell or .env says (an LLM endpoint set
    for production must not receive the demo's answers; a production DATABASE_URL must not
    receive its tour). Each setting is given, so none is read from the environment."""
    return load_settings(
        _env_file=None,
        slack_bot_token=fake.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_app_token=None,
        slack_api_url=fake.api_url,
        database_url=database_url,
        port=0,
        log_level="WARNING",
        log_format="text",
        partnerbot_command="/partner",
        initiative_cap=3,
        default_timezone="UTC",
        llm_base_url=None,
        llm_api_key=None,
        llm_model=None,
    )


def populate(fake: FakeSlack) -> None:
    """The simulated workspace: the leader, the team, and the team channel."""
    for person in EVERYONE:
        fake.add_user(person.user_id, person.handle, real_name=person.real_name, tz=person.tz)
    fake.add_channel(CHANNEL_ID, CHANNEL_NAME, members=[p.user_id for p in EVERYONE])


class Stage:
    """The running bot, the fake Slack, the clock, and the people's moves."""

    def __init__(
        self,
        fake: FakeSlack,
        slack: SignedSlack,
        deps: Deps,
        clock: FrozenClock,
        narrator: Narrator,
    ) -> None:
        self.fake = fake
        self.slack = slack
        self.deps = deps
        self.clock = clock
        self.narrator = narrator

    # --- time ----------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    async def advance_to(self, at: datetime, *, brief: bool = False) -> None:
        """Let time pass until `at`, ticking at every full hour on the way, and print what the
        ticks sent."""
        expect(at >= self.now(), f"the script went back in time to {at.isoformat()}")
        hour = self.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        while hour <= at:
            await self.tick(hour, brief=brief)
            hour += timedelta(hours=1)
        self.clock.set(max(at, self.now()))

    async def tick(self, at: datetime, *, brief: bool = False) -> dict[str, int]:
        """What `partnerbot tick --at` does at `at`, then the outbox delivered."""
        self.clock.set(at)
        report = await run_tick(self.deps)
        expect(not report.failed, f"the scheduled jobs {', '.join(report.failed)} failed")
        await self.settle(delivered=True)
        self.narrator.report(brief=brief)
        return report.counts

    async def settle(self, *, delivered: bool = False) -> None:
        """Let the app finish what the last request started, then deliver what it queued
        (unless a tick just did), letting the clock pass the outbox's one-a-second pacing per
        channel. Messages queued for later (a reminder at 08:00 someone's time) stay queued
        for the ticks to come."""
        idle = await self.deps.inflight.wait_idle(timeout=SETTLE_TIMEOUT)
        expect(idle, "the bot was still busy a minute after a request")
        await self.deps.coalescer.flush()
        if not delivered:
            await self.deps.delivery.deliver_due()
        for _ in range(MAX_DELIVERY_PASSES):
            wakeup = await self.deps.delivery.next_wakeup()
            if wakeup is None or wakeup > self.now() + PACING_WINDOW:
                return
            self.clock.advance(seconds=1)
            await self.deps.delivery.deliver_due()
        raise DemoFailure("the outbox did not empty: messages were not delivered")

    # --- moves ---------------------------------------------------------------------------------

    @staticmethod
    def _answered(delivery: Delivery, person: Person, what: str) -> Delivery:
        """The request went through: Slack would show an error to anyone else."""
        expect(
            delivery.status == 200,
            f"the bot answered {person.first_name}'s {what} with HTTP {delivery.status}",
        )
        return delivery

    async def command(
        self, person: Person, text: str, *, channel: str = CHANNEL_ID, brief: bool = False
    ) -> Delivery:
        where = "#" + self.narrator.names.get(channel, channel)
        self.narrator.does(person, f"types /partner {text} in {where}", self.now())
        await self.narrator.beat()
        sent = await self.slack.slash_command(person.user_id, text, channel_id=channel)
        self._answered(sent, person, "/partner command")
        await self.settle()
        self.narrator.report(person, brief=brief)
        return sent

    async def dm(self, person: Person, text: str, *, brief: bool = False) -> None:
        self.narrator.does(person, f"replies in the DM: {text}", self.now())
        await self.narrator.beat()
        before = len(self.fake.dms_to(person.user_id))
        self._answered(await self.slack.dm(person.user_id, text), person, "DM")
        await self.settle()
        expect(
            len(self.fake.dms_to(person.user_id)) > before,
            f"Partnerbot did not answer {person.first_name}'s DM",
        )
        self.narrator.report(person, brief=brief)

    async def click(
        self,
        person: Person,
        action_id: str,
        label: str,
        *,
        message: Mapping[str, Any] | None = None,
        view: Mapping[str, Any] | None = None,
        value: str | None = None,
        brief: bool = False,
        quiet: bool = False,
        last: int | None = None,
    ) -> Delivery:
        """Press a button on a message or view; `label` is what the person read on it. A
        `quiet` click is not announced (the caller said what the person does)."""
        if not quiet:
            self.narrator.does(person, f"presses [ {label} ]", self.now())
            await self.narrator.beat()
        try:
            sent = await self.slack.block_action(
                person.user_id,
                action_id,
                message=message,
                view=view,
                value=value,
                channel_id=str(message["channel"]) if message is not None else None,
            )
        except LookupError as missing:  # the button is not where the person looks for it
            raise DemoFailure(f"{person.first_name} found no [ {label} ]: {missing}") from None
        self._answered(sent, person, f"click on {label}")
        await self.settle()
        if last != 0:
            self.narrator.report(person, brief=brief, last=last)
        return sent

    async def submit(
        self, person: Person, view: Mapping[str, Any], values: Mapping[str, Any], what: str
    ) -> Delivery:
        """Fill in a modal (`values` as SlackPayloads.view_submission takes them) and submit;
        `what` says what the person filled in (the transcript adds the button they press)."""
        button = str((view.get("submit") or {}).get("text") or "Submit")
        self.narrator.does(person, f"{what} and presses [ {button} ]", self.now())
        await self.narrator.beat()
        try:
            sent = await self.slack.view_submission(person.user_id, view, values)
        except (LookupError, ValueError) as wrong:  # the form lacks a field the script fills
            raise DemoFailure(f"{person.first_name} could not fill in the form: {wrong}") from None
        self._answered(sent, person, "form")
        expect(not sent.problems, f"Slack refused the bot's answer: {sent.problems}")
        answer = sent.json if isinstance(sent.json, dict) else {}
        expect(
            answer.get("response_action") != "errors",
            f"the form {person.first_name} submitted came back with errors: {answer.get('errors')}",
        )
        await self.settle()
        self.narrator.report(person)
        return sent

    async def open_home(self, person: Person) -> Json:
        self.narrator.does(person, "opens Partnerbot's Home tab", self.now())
        await self.narrator.beat()
        self._answered(await self.slack.app_home_opened(person.user_id), person, "Home tab")
        await self.settle()
        self.narrator.report(person)
        home = present(
            self.fake.home_views.get(person.user_id),
            f"{person.first_name}'s App Home was not published",
        )
        self.narrator.show_view(person, home, "App Home")
        return home

    def top_view(self, person: Person, what: str) -> Json:
        """The modal the person is looking at; the demo stops if none opened."""
        stack = self.fake.view_stack(person.user_id)
        expect(stack, f"{what} did not open for {person.first_name}")
        view: Json = self.fake.views[stack[-1]]
        return view


@asynccontextmanager
async def running_stage(
    database_url: str, *, narrator_out: TextIO, pause: float
) -> AsyncIterator[Stage]:
    """The fake workspace and the bot serving it over HTTP, torn down afterwards."""
    clock = FrozenClock(START)
    async with FakeSlack(clock=lambda: clock.now().timestamp(), team_name=WORKSPACE) as fake:
        populate(fake)
        deps = build_deps(demo_settings(fake, database_url), clock=clock)
        server = await start_http(
            SlackHttpFrontDoor(build_app(deps), deps), host="127.0.0.1", port=0
        )
        try:
            async with aiohttp.ClientSession() as session:
                slack = SignedSlack(server.url + EVENTS_PATH, SIGNING_SECRET, fake, session=session)
                narrator = Narrator(fake, now=clock.now, out=narrator_out, pause=pause)
                narrator.learn_names()
                yield Stage(fake, slack, deps, clock, narrator)
        finally:
            await deps.inflight.wait_idle(timeout=SETTLE_TIMEOUT)
            await deps.coalescer.flush()
            await server.stop()
            await deps.close()
