"""The script of `partnerbot demo`, steps 1 to 3: the leader listens, reports three themes
with a vote, and agrees outcomes with her direct reports — move by move, as people would in
Slack, through the signed requests Slack sends. Each scene checks that what should have happened
did (a modal opened, a message arrived, themes were suggested) and stops the demo with a
`DemoFailure` saying what didn't. Step 4 is in `demo_track.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.findings import (
    FindingsAction,
    FindingsBlock,
    FindingsView,
    theme_block,
)
from bot.blocks.outcomes import OutcomeAction, OutcomeBlock, outcome_block
from bot.blocks.tour import TourAction
from bot.flows.review import MAX_FINAL_THEMES
from bot.flows.tour import LaunchBlock
from bot.sandbox.demo_cast import (
    CHANNEL_ID,
    CHANNEL_NAME,
    DIRECT_REPORTS,
    LEADER,
    NEXT_STEP,
    OUTCOME_IDEAS,
    TEAM,
    THEME_NAMES,
    THEME_SUMMARIES,
    Casting,
    Person,
    Topic,
)
from bot.sandbox.demo_reading import (
    CHECKBOXES_KEEP,
    CHECKBOXES_NONE,
    ReviewedTheme,
    ballot_text,
    button_beside,
    button_text,
    buttons_of,
    checkbox_options,
    commit_themes,
    label_problem,
    one,
    option_text,
    post_theme_labels,
    review_themes,
    text_of,
)
from bot.sandbox.demo_stage import DemoFailure, Stage, expect
from bot.sandbox.narrator import Narrator

Json = dict[str, Any]
CLOSE_DATE = date(2026, 3, 6)  # the Friday of the first week
REVIEW_DAY = date(2026, 3, 9)  # the Monday after the close: review, post, votes
POLL_CLOSE_DAY = date(2026, 3, 11)
OUTCOME_TARGET = date(2026, 6, 30)


@dataclass
class Story:
    """What the play learns as it goes, for later scenes and the summary."""

    topics: dict[str, Topic] = field(default_factory=dict)  # posted theme label → its topic
    findings_post: Json = field(default_factory=dict)
    outcome_themes: list[str] = field(default_factory=list)  # labels asked about, in order
    checkin_ways: dict[str, str] = field(default_factory=dict)  # initiative → how it was answered


class Scene:
    """One step of the play: the stage, who does what (the casting) and the story so far."""

    def __init__(self, stage: Stage, casting: Casting, story: Story) -> None:
        self.stage = stage
        self.casting = casting
        self.story = story

    @property
    def say(self) -> Narrator:
        return self.stage.narrator

    async def play(self) -> None:
        raise NotImplementedError

    def last_dm_with(self, person: Person, action_id: str) -> Json:
        """The latest DM to `person` carrying a button with this action id."""
        for message in reversed(self.stage.fake.dms_to(person.user_id)):
            if action_id in str(message.get("blocks")):
                return message
        raise DemoFailure(f"{person.first_name} got no message with a {action_id!r} button")


class Listen(Scene):
    """Step 1: the tour is launched from the modal, answered in DMs and a form, reminded,
    and closed by the scheduler, which has the themes suggested."""

    async def play(self) -> None:
        self.say.step(
            1,
            "Listen",
            f"{LEADER.real_name} (Berlin) leads a platform team of eight spread from Los Angeles "
            "to Tokyo. She asks them, by DM, what's working well and what's in the way — "
            "anonymously, before deciding anything.",
        )
        await self.launch_tour()
        await self.answer_the_tour()
        await self.late_answer()
        await self.close_tour()

    async def launch_tour(self) -> None:
        stage = self.stage
        await stage.command(LEADER, "tour")
        modal = stage.top_view(LEADER, "The tour's launch form")
        channel = {"type": "conversations_select", "selected_conversation": CHANNEL_ID}
        values = (
            one(LaunchBlock.CHANNEL, channel)
            | one(LaunchBlock.RESULTS, channel)
            | one(
                LaunchBlock.CLOSE_DATE,
                {"type": "datepicker", "selected_date": CLOSE_DATE.isoformat()},
            )
        )
        stage.clock.advance(minutes=2)
        before = len(stage.fake.messages)
        await stage.submit(
            LEADER,
            modal,
            values,
            f"asks everyone in #{CHANNEL_NAME}, closes it on Friday, keeps the other defaults",
        )
        invited = {m["dm_user"] for m in stage.fake.messages[before:]}
        awake = [person for person in TEAM if person.at_work(stage.now())]
        expect(
            {person.user_id for person in awake} <= invited
            and not invited & {person.user_id for person in TEAM if person not in awake},
            "the invitations did not follow each teammate's working hours",
        )
        waiting = [person for person in TEAM if person not in awake]
        self.say.narrate(
            f"{len(awake)} teammates are at work now and get the invitation at once. "
            + ", ".join(f"{person.first_name} ({person.city})" for person in waiting)
            + " get it when their working day starts, 09:00 on their own clock: nobody is "
            "messaged at night or at the weekend."
        )

    def expect_invited_at_nine(self, person: Person) -> None:
        """Someone asleep at the launch got the invitation as their working day began."""
        invitation = self.stage.fake.dms_to(person.user_id)[0]
        local = datetime.fromtimestamp(float(invitation["ts"]), ZoneInfo(person.tz))
        expect(
            (local.hour, local.minute) == (9, 0),
            f"{person.first_name}'s invitation came at {local:%H:%M} their time, not 09:00",
        )

    async def answer_the_tour(self) -> None:
        """Everyone but the late one answers on their first working day, on their clock; on
        Tuesday morning the leader looks at her Home tab, whoever has answered by then."""
        casting = self.casting
        moves: list[tuple[datetime, Person | None]] = [
            (casting.answer_times[p.user_id], p) for p in TEAM if p != casting.late
        ]
        moves.append((LEADER.at(date(2026, 3, 3), 9), None))
        americas = next(person for person in TEAM if person.tz == "America/Los_Angeles")
        shown_in_full = False
        for at, person in sorted(moves, key=lambda move: move[0]):
            await self.stage.advance_to(at)
            if person == americas:
                self.expect_invited_at_nine(person)
            if person is None:
                await self.stage.open_home(LEADER)
            elif person == casting.by_form:
                await self.answer_by_form(person)
            else:
                await self.answer_by_dm(person, brief=shown_in_full)
                shown_in_full = True

    async def answer_by_dm(self, person: Person, *, brief: bool) -> None:
        pair = self.casting.answers[person.user_id]
        await self.stage.dm(person, pair.working_well, brief=brief)
        self.stage.clock.advance(minutes=3)
        await self.stage.dm(person, pair.challenge, brief=brief)

    async def answer_by_form(self, person: Person) -> None:
        stage = self.stage
        pair = self.casting.answers[person.user_id]
        invitation = self.last_dm_with(person, TourAction.ANSWER_FORM)
        await stage.click(person, TourAction.ANSWER_FORM, "Answer in a form", message=invitation)
        form = stage.top_view(person, "The answer form")
        stage.clock.advance(minutes=4)
        await stage.submit(
            person,
            form,
            {
                "answer.1": {"answer.1.input": pair.working_well},
                "answer.2": {"answer.2.input": pair.challenge},
            },
            f"types “{pair.working_well}” and “{pair.challenge}”",
        )

    async def late_answer(self) -> None:
        """The reminder two days before the close brings in the last answers."""
        late = self.casting.late
        self.say.narrate(
            "The scheduler runs every hour. Two days before the close, at 10:00 on their own "
            "clock, whoever hasn't answered gets a reminder."
        )
        reminder_day = CLOSE_DATE - timedelta(days=2)
        before = len(self.stage.fake.dms_to(late.user_id))
        await self.stage.advance_to(late.at(reminder_day, 11, 20))
        expect(
            len(self.stage.fake.dms_to(late.user_id)) > before,
            f"{late.first_name} got no reminder",
        )
        await self.answer_by_dm(late, brief=True)

    async def close_tour(self) -> None:
        stage = self.stage
        self.say.narrate(
            "Friday 23:59 in Berlin is the tour's close time. The next tick closes it; the "
            "offline theme engine (MiniLM sentence embeddings and k-means, on this machine) "
            "groups the answers and suggests up to five themes, challenges first; the leader "
            "chooses no more than three for the team. She hears about it once, on Monday at "
            "09:00, the start of her working week."
        )
        before = len(stage.fake.dms_to(LEADER.user_id))
        await stage.advance_to(LEADER.at(CLOSE_DATE + timedelta(days=1), 0, 5))
        expect(len(stage.fake.dms_to(LEADER.user_id)) == before, "a DM woke the leader at night")
        await stage.advance_to(LEADER.at(REVIEW_DAY, 9, 5))
        told = stage.fake.dms_to(LEADER.user_id)[before:]
        expect(len(told) == 1, f"the leader got {len(told)} DMs when the tour closed, not one")
        expect("closed" in text_of(told[0]), "the tour did not close")
        expect(
            "findings.review" in text_of(told[0]),
            "the bot suggested no themes when the tour closed",
        )


class Report(Scene):
    """Step 2: the leader reviews the suggested themes and posts them; the team votes; the
    leader closes the poll."""

    async def play(self) -> None:
        self.say.step(
            2,
            "Report",
            "No more than three themes, shared with the team, with a vote on what matters most.",
        )
        await self.review_and_post()
        await self.vote()
        await self.close_poll()

    async def review_and_post(self) -> None:
        stage = self.stage
        await stage.advance_to(LEADER.at(REVIEW_DAY, 9, 30))
        prompt = self.last_dm_with(LEADER, FindingsAction.REVIEW)
        await stage.click(LEADER, FindingsAction.REVIEW, "Review themes", message=prompt)
        review = stage.top_view(LEADER, "The review of the suggested themes")
        suggested = review_themes(review)
        expect(suggested, "the review modal shows no suggested themes")
        self.say.narrate(
            "The engine suggests: "
            + "; ".join(f"“{t.label}” ({t.side})" for t in suggested)
            + ". Dana keeps a label that reads like something her team would say and "
            "rewrites one that is a list of keywords or too generic."
        )
        values, edits = self.leader_edits(suggested)
        stage.clock.advance(minutes=6)
        await stage.submit(
            LEADER,
            review,
            values,
            f"reads the quotes, {'; '.join(edits)}, notes what she'd like to do next",
        )
        preview = stage.top_view(LEADER, "The preview of the findings post")
        expect(preview.get("callback_id") == FindingsView.PREVIEW, "the preview did not open")
        stage.clock.advance(minutes=1)
        before = len(stage.fake.messages_in(CHANNEL_ID))
        await stage.submit(LEADER, preview, {}, "keeps the poll's defaults")
        posted = stage.fake.messages_in(CHANNEL_ID)[before:]
        expect(posted, f"the findings were not posted in #{CHANNEL_NAME}")
        self.story.findings_post = posted[0]

    def leader_edits(self, suggested: list[ReviewedTheme]) -> tuple[Json, list[str]]:
        """What a leader reading the review does: one theme per topic (a second theme about
        the same thing is left out, a theme about something new takes a free place), no more
        than three; a suggested label that reads well is kept, one that doesn't is rewritten
        after what its quotes are about. Returns the modal's values and what she did."""
        chosen: list[ReviewedTheme] = []
        for theme in [t for t in suggested if t.ticked] + [t for t in suggested if not t.ticked]:
            repeats = theme.topic is not None and theme.topic in {t.topic for t in chosen}
            if not repeats and len(chosen) < MAX_FINAL_THEMES:
                chosen.append(theme)
        values: Json = {}
        edits: list[str] = []
        kept_as_is: list[str] = []
        for theme in suggested:
            if theme not in chosen:
                if theme.ticked:
                    values |= one(theme_block(theme.position, "keep"), CHECKBOXES_NONE)
                    edits.append(f"unticks “{theme.label}”, which repeats another theme")
                continue
            if not theme.ticked:
                values |= one(theme_block(theme.position, "keep"), CHECKBOXES_KEEP)
                edits.append(f"ticks “{theme.label}” ({theme.side}) instead")
            problem = label_problem(theme.label)
            label = theme.label
            if problem and theme.topic is not None:
                label = THEME_NAMES[theme.topic]
                values |= one(theme_block(theme.position, "label"), label)
                values |= one(theme_block(theme.position, "summary"), THEME_SUMMARIES[theme.topic])
                edits.append(f"renames “{theme.label}” ({problem}) to “{label}”")
            else:
                kept_as_is.append(f"“{label}”")
            if theme.topic is not None:
                self.story.topics[label] = theme.topic
        if kept_as_is:
            edits.append("keeps " + ", ".join(kept_as_is) + " as suggested")
        values |= one(FindingsBlock.REFLECT_NEXT, NEXT_STEP)
        return values, edits

    def poll_buttons(self, action_id: str) -> list[Json]:
        post = self.current_post()
        return [
            element
            for block in post.get("blocks") or []
            if block.get("type") == "actions"
            for element in block.get("elements") or []
            if element.get("action_id") == action_id
        ]

    def current_post(self) -> Json:
        """The findings post as it reads now (votes redraw it in place)."""
        ts = self.story.findings_post["ts"]
        for message in self.stage.fake.messages_in(CHANNEL_ID):
            if message["ts"] == ts:
                return message
        raise DemoFailure("the findings post disappeared from the channel")

    async def vote(self) -> None:
        stage = self.stage
        labels = post_theme_labels(self.current_post())
        expect(
            labels and len(labels) == len(self.poll_buttons(FindingsAction.VOTE)),
            "the findings post has no Vote button per theme",
        )
        self.say.narrate(
            "Through the day, each teammate spreads their votes (3 each, at most 2 on one "
            "theme). Each click is answered privately; nobody, the leader included, sees who "
            "voted for what."
        )
        voters = sorted(TEAM, key=lambda p: self.casting.answer_times[p.user_id])
        for number, person in enumerate(voters):
            ballot = self.fit_ballot(self.casting.votes[person.user_id], labels)
            when = self.casting.answer_times[person.user_id] + timedelta(days=7, hours=1)
            await stage.advance_to(when, brief=True)
            stage.narrator.does(
                person, f"presses [ Vote ] on {ballot_text(ballot, labels)}", stage.now()
            )
            for click, index in enumerate(ballot, start=1):
                button = self.poll_buttons(FindingsAction.VOTE)[index]
                await stage.click(
                    person,
                    FindingsAction.VOTE,
                    "Vote",
                    message=self.current_post(),
                    value=str(button["value"]),
                    brief=number > 0,
                    quiet=True,
                    # The first voter's notes in full; for the others, their last one.
                    last=None if number == 0 else (1 if click == len(ballot) else 0),
                )

    def fit_ballot(self, topics: list[Topic], labels: list[str]) -> list[int]:
        """The ballot as buttons to press: each topic's theme if it was posted, else the top
        one, never more than two votes on a theme."""
        position = {self.story.topics.get(label): index for index, label in enumerate(labels)}
        ballot: list[int] = []
        for topic in topics:
            index = position.get(topic, 0)
            if ballot.count(index) < 2:
                ballot.append(index)
        return ballot

    async def close_poll(self) -> None:
        stage = self.stage
        await stage.advance_to(LEADER.at(POLL_CLOSE_DAY, 9), brief=True)
        found = self.poll_buttons(FindingsAction.CLOSE_POLL)
        expect(found, "the findings post has no Close poll button")
        close = found[0]
        await stage.click(
            LEADER,
            FindingsAction.CLOSE_POLL,
            "Close poll",
            message=self.current_post(),
            value=str(close["value"]),
        )
        expect(
            not self.poll_buttons(FindingsAction.VOTE), "the poll still takes votes after closing"
        )
        stage.narrator.show_message(
            f"#{CHANNEL_NAME}", "the findings post, redrawn", self.current_post()
        )


class AgreeOutcomes(Scene):
    """Step 3: the direct reports propose outcomes (form and DM); the leader commits them."""

    async def play(self) -> None:
        self.say.step(
            3,
            "Agree outcomes",
            f"{LEADER.first_name} and her direct reports — "
            + ", ".join(p.first_name for p in DIRECT_REPORTS)
            + " — decide what the business partners should notice, and how to measure it.",
        )
        await self.ask_direct_reports()
        await self.propose_outcomes()
        await self.commit_outcomes()

    async def ask_direct_reports(self) -> None:
        stage = self.stage
        stage.clock.advance(minutes=4)
        home = await stage.open_home(LEADER)
        await stage.click(LEADER, OutcomeAction.SET_OUTCOMES, "Set outcomes", view=home)
        setup = stage.top_view(LEADER, "The Set outcomes form")
        chosen = self.themes_needing_outcomes(setup)
        values = one(
            OutcomeBlock.SHAPERS,
            {"type": "multi_users_select", "selected_users": [p.user_id for p in DIRECT_REPORTS]},
        )
        if chosen:
            values |= one(
                OutcomeBlock.THEMES,
                {"type": "checkboxes", "selected_options": [o for o, _ in chosen]},
            )
            self.story.outcome_themes = [label for _, label in chosen]
        else:
            self.story.outcome_themes = [
                option_text(o) for o in checkbox_options(setup, OutcomeBlock.THEMES, initial=True)
            ]
        expect(self.story.outcome_themes, "the Set outcomes form offered no themes")
        stage.clock.advance(minutes=2)
        before = len(stage.fake.messages)
        await stage.submit(
            LEADER,
            setup,
            values,
            "picks "
            + ", ".join(p.first_name for p in DIRECT_REPORTS)
            + ", ticks "
            + " and ".join(f"“{label}”" for label in self.story.outcome_themes),
        )
        asked = {m["dm_user"] for m in stage.fake.messages[before:]}
        at_work = {p.user_id for p in DIRECT_REPORTS if p.at_work(stage.now())}
        expect(
            asked & {p.user_id for p in DIRECT_REPORTS} == at_work,
            "the direct reports were not asked for outcomes in their working hours",
        )

    def themes_needing_outcomes(self, setup: Mapping[str, Any]) -> list[tuple[Json, str]]:
        """The challenges among the posted themes (what partners feel), as checkbox options."""
        picked = []
        for option in checkbox_options(setup, OutcomeBlock.THEMES):
            label = option_text(option)
            if self.story.topics.get(label) in (Topic.RELEASES, Topic.PRIORITIES):
                picked.append((option, label))
        return picked

    async def propose_outcomes(self) -> None:
        """Alice and Bob use the form, one theme each (Bob only if there is a second); Chen
        just replies in his DM."""
        stage = self.stage
        themes = self.story.outcome_themes
        alice, bob, chen = DIRECT_REPORTS
        moves = [
            (alice.at(date(2026, 3, 11), 14, 10), alice, themes[0], self.propose_by_form),
            (chen.at(date(2026, 3, 12), 10, 5), chen, themes[0], self.propose_by_dm),
        ]
        if len(themes) > 1:
            moves.append((bob.at(date(2026, 3, 11), 16, 40), bob, themes[1], self.propose_by_form))
        moves.sort(key=lambda move: move[0])
        for at, person, label, propose in moves:
            await stage.advance_to(at, brief=True)
            await propose(person, label)

    async def propose_by_form(self, person: Person, label: str) -> None:
        stage = self.stage
        request = self.outcome_request(person, label)
        await stage.click(
            person,
            OutcomeAction.PROPOSE,
            "Propose an outcome",
            message=request,
            value=button_beside(request, label, OutcomeAction.PROPOSE),
        )
        form = stage.top_view(person, "The outcome proposal form")
        idea = OUTCOME_IDEAS[self.story.topics.get(label, Topic.OTHER)]
        stage.clock.advance(minutes=5)
        await stage.submit(
            person,
            form,
            one(OutcomeBlock.PROPOSAL_STATEMENT, idea.statement)
            | one(OutcomeBlock.PROPOSAL_MEASURE, idea.measure),
            f"writes “{idea.statement}”, measured by “{idea.measure}”,",
        )

    async def propose_by_dm(self, person: Person, label: str) -> None:
        stage = self.stage
        idea = OUTCOME_IDEAS[self.story.topics.get(label, Topic.OTHER)]
        await stage.dm(person, idea.reply)
        question = stage.fake.dms_to(person.user_id)[-1]
        picks = [
            element
            for element in buttons_of(question)
            if str(element.get("action_id", "")).startswith(OutcomeAction.PICK_THEME)
        ]
        if not picks:
            return  # asked about one theme only: the reply was saved as it is
        pick = next((e for e in picks if label in button_text(e)), picks[0])
        stage.clock.advance(minutes=1)
        await stage.click(
            person,
            str(pick["action_id"]),
            button_text(pick),
            message=question,
            value=str(pick["value"]),
        )

    def outcome_request(self, person: Person, label: str) -> Json:
        for message in reversed(self.stage.fake.dms_to(person.user_id)):
            if OutcomeAction.PROPOSE in str(message.get("blocks")) and label in text_of(message):
                return message
        raise DemoFailure(f"{person.first_name} was not asked for an outcome on “{label}”")

    async def commit_outcomes(self) -> None:
        stage = self.stage
        await stage.advance_to(LEADER.at(date(2026, 3, 13), 9), brief=True)
        home = await stage.open_home(LEADER)
        await stage.click(LEADER, OutcomeAction.REVIEW, "Review proposals", view=home)
        commit = stage.top_view(LEADER, "The outcomes' commit form")
        values: Json = {}
        partners = []
        for theme_id, label in commit_themes(commit):
            if label not in self.story.outcome_themes:
                continue  # not asked about: left blank, so skipped
            idea = OUTCOME_IDEAS[self.story.topics.get(label, Topic.OTHER)]
            partners.append(idea.partner)
            values |= one(outcome_block(theme_id, "partner"), idea.partner)
            values |= one(
                outcome_block(theme_id, "target"),
                {"type": "datepicker", "selected_date": OUTCOME_TARGET.isoformat()},
            )
        expect(values, "the commit form showed no theme to commit an outcome for")
        stage.clock.advance(minutes=7)
        before = len(stage.fake.messages_in(CHANNEL_ID))
        await stage.submit(
            LEADER,
            commit,
            values,
            "keeps the first proposal for each theme, names the partners ("
            + ", ".join(partners)
            + f"), sets the target date to {OUTCOME_TARGET:%-d %B}",
        )
        expect(
            len(stage.fake.messages_in(CHANNEL_ID)) > before,
            f"the outcomes were not announced in #{CHANNEL_NAME}",
        )
