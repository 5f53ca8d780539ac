"""The voice of `partnerbot demo`: prints, as plain text, what each simulated person did and what
Slack then showed them — messages, private notes, modals and App Home tabs — with names for ids
and each person's own clock. It reads the fake Slack's records and never talks to the bot.

Output arrives from a fan-out in whatever order the outbox's concurrent sends reached the fake,
so each batch is printed in a fixed order (by second, then by person) to keep two runs with one
seed identical. Identical messages to several people are printed once.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.sandbox.demo_cast import EVERYONE, LEADER, Person
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.transcript import render_message, render_view, wrap

WIDTH = 88
INDENT = "  "
NBSP = "\u00a0"
RULE = "═" * WIDTH
GLIMPSE = 150  # characters of a message shown when its like was shown in full already


def local_time(person: Person, at: datetime) -> str:
    """'Mon 2 Mar, 10:03 in Berlin': a moment as that person's clock shows it."""
    moment = at.astimezone(ZoneInfo(person.tz))
    return f"{moment:%a} {moment.day} {moment:%b}, {moment:%H:%M} in {person.city}"


def gist(text: str) -> str:
    """A message in one short line, for the reader who has seen its like already."""
    flat = " ".join(text.split())
    if len(flat) <= GLIMPSE:
        return flat
    cut = flat[:GLIMPSE].rsplit(" ", 1)[0]
    return cut + " …"


def unbroken_buttons(text: str) -> str:
    """`[ Post findings ]` kept on one line when wrapped: its spaces become no-break spaces
    (which textwrap does not split at) until `restore_spaces`."""
    return re.sub(r"\[ [^\[\]]* \]", lambda match: match.group(0).replace(" ", NBSP), text)


def restore_spaces(lines: Sequence[str]) -> list[str]:
    return [line.replace(NBSP, " ") for line in lines]


@dataclass(frozen=True)
class Shown:
    """One thing Slack showed someone: who, where, when, and its text."""

    audience: str  # "Alice", "#platform-team"
    surface: str  # "DM", "channel", "only visible to them", …
    clock: Person  # whose clock tells the time (a channel's: the leader's)
    at: datetime
    text: str
    order: tuple[int, int, float]  # second, person, exact time: a stable printing order


class Narrator:
    """Prints the transcript, and remembers what it has already printed."""

    def __init__(
        self,
        fake: FakeSlack,
        *,
        now: Callable[[], datetime],
        out: TextIO,
        pause: float = 0.0,
    ) -> None:
        self.fake = fake
        self.now = now
        self.out = out
        self.pause_seconds = pause
        self.people = {person.user_id: person for person in EVERYONE}
        self.rank = {person.user_id: index for index, person in enumerate(EVERYONE)}
        self.names: dict[str, str] = {}
        self._seen_messages: set[tuple[str, str]] = set()
        self._ephemerals_seen = 0
        self._responses_seen = 0
        self._views_seen: dict[str, tuple[str, str]] = {}
        self._views_printed: dict[str, str] = {}  # a modal's text → who saw it first
        self._homes: dict[str, list[str]] = {}  # each person's App Home, as last printed

    def learn_names(self) -> None:
        """Names for every user and channel the fake knows (call after the workspace is set)."""
        self.names = {uid: str(user["real_name"]) for uid, user in self.fake.users.items()}
        for channel_id, channel in self.fake.channels.items():
            if "name" in channel:
                self.names[channel_id] = str(channel["name"])

    # --- printing ------------------------------------------------------------------------------

    def line(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def lines(self, texts: Sequence[str]) -> None:
        for text in texts:
            self.line(text)

    async def beat(self) -> None:
        """A short pause for a reader following along (none with --fast)."""
        if self.pause_seconds:
            await asyncio.sleep(self.pause_seconds)

    def step(self, number: int, title: str, about: str) -> None:
        self.line()
        self.line(RULE)
        self.line(f" Step {number} of 4 · {title}")
        self.lines(wrap(about, WIDTH - 1, prefix=" "))
        self.line(RULE)

    def title(self, text: str) -> None:
        self.line()
        self.line(RULE)
        self.lines(wrap(text, WIDTH - 1, prefix=" "))
        self.line(RULE)

    def narrate(self, text: str) -> None:
        """A line from the narrator: what happens off screen (the scheduler, time passing)."""
        self.line()
        self.lines(wrap(f"[{text}]", WIDTH, subsequent_prefix=" "))

    def does(self, person: Person, what: str, at: datetime) -> None:
        said = unbroken_buttons(f"[{local_time(person, at)}] {person.first_name} {what}")
        self.line()
        self.lines(restore_spaces(wrap(said, WIDTH, subsequent_prefix="    ")))

    def sees(self, audience: str, surface: str, text: str) -> None:
        self.line()
        self.line(f"── {audience} sees ({surface}) ──")
        for row in text.splitlines():
            self.line(INDENT + row if row else "")

    def glimpse(self, audience: str, surface: str, text: str) -> None:
        """One line for a message the reader has seen the like of already."""
        said = unbroken_buttons(f"  ↳ {audience} ({surface}): {gist(text)}")
        self.lines(restore_spaces(wrap(said, WIDTH, subsequent_prefix="      ")))

    def show_message(self, audience: str, surface: str, message: Mapping[str, Any]) -> None:
        self.sees(audience, surface, render_message(message, names=self.names, width=WIDTH - 2))

    def show_view(self, person: Person, view: Mapping[str, Any], surface: str = "modal") -> None:
        """A modal or App Home tab. A modal someone else already saw word for word is named,
        not repeated; an App Home seen before is shown from where it changed."""
        self._views_seen[person.user_id] = (str(view.get("id")), str(view.get("hash")))
        text = render_view(view, names=self.names, width=WIDTH - 2)
        if surface == "App Home":
            text = self._since_last_home(person, text)
        elif text in self._views_printed:
            self.line()
            self.line(
                f"── {person.first_name} sees the same {surface} as {self._views_printed[text]} ──"
            )
            return
        else:
            self._views_printed[text] = person.first_name
        self.sees(person.first_name, surface, text)

    def _since_last_home(self, person: Person, text: str) -> str:
        """The App Home from its first line that changed since this person last saw it."""
        lines = text.splitlines()
        before = self._homes.get(person.user_id, [])
        self._homes[person.user_id] = lines
        same = 0
        while same < min(len(lines), len(before)) and lines[same] == before[same]:
            same += 1
        if same < 3:
            return text
        return "\n".join([lines[0], "… (as before)", *lines[same:]])

    # --- what Slack showed since the last look -------------------------------------------------

    def report(
        self, actor: Person | None = None, *, brief: bool = False, last: int | None = None
    ) -> list[Shown]:
        """Print every message, private note and reply the bot produced since the last call
        (or only the `last` few), then the modal `actor` now looks at if it changed."""
        shown = sorted(
            [*self._new_messages(), *self._new_ephemerals(), *self._new_responses(actor)],
            key=lambda item: item.order,
        )
        if last is not None:
            shown = shown[-last:]
        self._print_grouped(shown, brief=brief)
        if actor is not None:
            self._report_view(actor)
        return shown

    def _print_grouped(self, shown: Sequence[Shown], *, brief: bool) -> None:
        groups: dict[str, list[Shown]] = {}
        for item in shown:
            groups.setdefault(item.text, []).append(item)
        for items in groups.values():
            first = items[0]
            surface = f"{first.surface}, {local_time(first.clock, first.at)}"
            if brief:
                self.glimpse(first.audience, surface, first.text)
            else:
                self.sees(first.audience, surface, first.text)
            others = [item.audience for item in items[1:]]
            if others:
                self.line(f"  (and the same to {_listed(others)})")

    def _report_view(self, actor: Person) -> None:
        stack = self.fake.view_stack(actor.user_id)
        if not stack:
            self._views_seen.pop(actor.user_id, None)
            return
        view = self.fake.views[stack[-1]]
        if self._views_seen.get(actor.user_id) != (str(view["id"]), str(view["hash"])):
            self.show_view(actor, view)

    def _order(self, user_or_channel: str | None, at: datetime) -> tuple[int, int, float]:
        rank = self.rank.get(user_or_channel or "", len(self.rank))
        return (int(at.timestamp()), rank, at.timestamp())

    def _new_messages(self) -> list[Shown]:
        found = []
        for message in self.fake.messages:
            key = (str(message["channel"]), str(message["ts"]))
            if key in self._seen_messages:
                continue
            self._seen_messages.add(key)
            at = datetime.fromtimestamp(float(message["ts"]), UTC)
            text = render_message(message, names=self.names, width=WIDTH - 2)
            user = message.get("dm_user")
            if user:
                person = self.people[user]
                audience, surface = person.first_name, "DM"
            else:
                person = LEADER  # a channel's messages are timed on the leader's clock
                audience = "#" + self.names.get(str(message["channel"]), "channel")
                surface = "in the thread" if message.get("thread_ts") else "channel"
            order = self._order(user or key[0], at)
            found.append(Shown(audience, surface, person, at, text, order))
        return found

    def _new_ephemerals(self) -> list[Shown]:
        new = self.fake.ephemerals[self._ephemerals_seen :]
        self._ephemerals_seen = len(self.fake.ephemerals)
        found = []
        for note in new:
            at = datetime.fromtimestamp(float(note["message_ts"]), UTC)
            person = self.people[str(note["user"])]
            text = render_message(note, names=self.names, width=WIDTH - 2)
            surface = "only visible to them"
            found.append(Shown(person.first_name, surface, person, at, text, self._order(None, at)))
        return found

    def _new_responses(self, actor: Person | None) -> list[Shown]:
        new = self.fake.responses[self._responses_seen :]
        self._responses_seen = len(self.fake.responses)
        if actor is None or not new:
            return []
        at = self.now()
        found = []
        for response in new:
            body = response["body"]
            if body.get("delete_original") and not (body.get("text") or body.get("blocks")):
                continue
            replaced = body.get("replace_original") is True
            surface = "the message is replaced" if replaced else "only visible to them"
            text = render_message(body, names=self.names, width=WIDTH - 2)
            found.append(Shown(actor.first_name, surface, actor, at, text, self._order(None, at)))
        return found


def _listed(names: Sequence[str]) -> str:
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]} — {len(names)} others"
