"""The script of `partnerbot demo`, step 4: teammates propose initiatives and back them, the
leader commits three with owners, an owner declines and the leader reassigns, and then the
scheduler runs a check-in week — each owner asked at 10:00 on their own clock, answering by the
buttons, by DM or after a nudge — ending in the Friday quick-wins update.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.blocks.checkins import CheckinAction
from bot.blocks.initiatives import InitiativeAction, InitiativeBlock
from bot.sandbox.demo_cast import (
    CHANNEL_ID,
    CHANNEL_NAME,
    DECLINE_REASON,
    DIRECT_REPORTS,
    INITIATIVE_IDEAS,
    LEADER,
    TEAM,
    CheckinReply,
    InitiativeIdea,
    Person,
    Topic,
)
from bot.sandbox.demo_reading import button_text, buttons_of, one, static_options, text_of
from bot.sandbox.demo_stage import DemoFailure, expect, present
from bot.sandbox.demo_steps import Scene

Json = dict[str, Any]
PROPOSALS_DAY = date(2026, 3, 16)  # Monday of week 3
BACKING_DAY = date(2026, 3, 17)
COMMIT_DAY = date(2026, 3, 18)
CHECKIN_MONDAY = date(2026, 3, 23)
UPDATE_FRIDAY = date(2026, 3, 27)
COMMITTED = 3  # the tour's cap on initiatives on the go (INITIATIVE_CAP's default)
CHECKIN_WAYS = {
    "buttons": "with the buttons and the form",
    "dm": "by DM",
    "late": "by DM, after the next day's reminder",
}


@dataclass(frozen=True)
class Proposal:
    proposer: Person
    idea: InitiativeIdea
    outcome_label: str  # the theme of the outcome it serves
    suggested_owner: Person | None


@dataclass
class Commitment:
    idea: InitiativeIdea
    owner: Person

    @property
    def title(self) -> str:
        return self.idea.title


class CommitAndTrack(Scene):
    """Step 4: from proposals to a week of check-ins. The check-in week runs on the scheduler
    alone: nobody asks the bot for anything until each owner's 10:00 comes."""

    async def play(self) -> None:
        self.say.step(
            4,
            "Commit and track",
            "A few initiatives with owners, weekly check-ins on each owner's clock, and a "
            "Friday update of quick wins: you said → we did.",
        )
        proposals = self.proposals()
        in_order = sorted(proposals, key=lambda p: p.proposer.at(PROPOSALS_DAY, 10, 15))
        for proposal in in_order:
            await self.propose(proposal, first=proposal is in_order[0])
        await self.back(proposals)
        commitments = await self.commit(proposals)
        await self.answer_offers(commitments)
        await self.checkin_week(commitments)

    # --- proposals and backing -----------------------------------------------------------------

    def proposals(self) -> list[Proposal]:
        """Four ideas over the agreed outcomes, from teammates who aren't direct reports."""
        themes = self.story.outcome_themes
        ideas: list[tuple[InitiativeIdea, str]] = []
        pools = [
            (list(INITIATIVE_IDEAS[self.story.topics.get(label, Topic.OTHER)]), label)
            for label in themes
        ]
        while len(ideas) < 4 and any(pool for pool, _ in pools):
            for pool, label in pools:
                if pool and len(ideas) < 4:
                    ideas.append((pool.pop(0), label))
        proposers = [p for p in TEAM if p not in DIRECT_REPORTS]
        return [
            Proposal(
                proposer=proposers[index],
                idea=idea,
                outcome_label=label,
                suggested_owner=DIRECT_REPORTS[index % len(DIRECT_REPORTS)] if index < 2 else None,
            )
            for index, (idea, label) in enumerate(ideas)
        ]

    async def propose(self, proposal: Proposal, *, first: bool) -> None:
        stage = self.stage
        person = proposal.proposer
        await stage.advance_to(person.at(PROPOSALS_DAY, 10, 15), brief=True)
        if first:
            announcement = self.channel_message_with(InitiativeAction.PROPOSE)
            stage.narrator.does(
                person, "presses [ Propose an initiative ] under the outcomes", stage.now()
            )
            await stage.click(
                person,
                InitiativeAction.PROPOSE,
                "Propose an initiative",
                message=announcement,
                value=self.button_value(announcement, InitiativeAction.PROPOSE),
                quiet=True,
            )
        else:
            await stage.command(person, "initiative", brief=True)
        form = stage.top_view(person, "The initiative proposal form")
        outcome = present(
            next(
                (o for o in static_options(form, InitiativeBlock.OUTCOME) if offers(o, proposal)),
                None,
            ),
            f"the form offers no outcome for “{proposal.outcome_label}”",
        )
        idea = proposal.idea
        values: Json = (
            one(InitiativeBlock.OUTCOME, {"type": "static_select", "selected_option": outcome})
            | one(InitiativeBlock.TITLE, idea.title)
            | one(InitiativeBlock.IMPLICATIONS, idea.implications)
            | one(InitiativeBlock.TRACKING, idea.tracking)
            | one(InitiativeBlock.QUICK_WIN, idea.quick_win)
        )
        owner = proposal.suggested_owner
        if owner is not None:
            values |= one(
                InitiativeBlock.SUGGESTED_OWNER,
                {"type": "users_select", "selected_user": owner.user_id},
            )
        stage.clock.advance(minutes=6)
        who = f", suggests {owner.first_name} as owner" if owner else ""
        before = len(stage.fake.messages_in(CHANNEL_ID))
        await stage.submit(
            person,
            form,
            values,
            f"proposes “{idea.title}” for “{proposal.outcome_label}”{who}",
        )
        expect(
            len(stage.fake.messages_in(CHANNEL_ID)) > before,
            f"“{idea.title}” did not appear in #{CHANNEL_NAME}",
        )

    async def back(self, proposals: list[Proposal]) -> None:
        stage = self.stage
        self.say.narrate("Teammates back the proposals they like: one click, never their own.")
        backers = sorted(TEAM, key=lambda p: p.at(BACKING_DAY, 11))
        for number, person in enumerate(backers):
            picks = [
                proposals[index]
                for index in self.casting.backers[person.user_id]
                if index < len(proposals) and proposals[index].proposer != person
            ]
            if not picks:
                continue
            await stage.advance_to(person.at(BACKING_DAY, 11), brief=True)
            titles = " and ".join(f"“{p.idea.title}”" for p in picks)
            stage.narrator.does(person, f"presses [ 👍 Back it ] on {titles}", stage.now())
            for click, proposal in enumerate(picks, start=1):
                card = self.card(proposal.idea.title)
                await stage.click(
                    person,
                    InitiativeAction.BACK,
                    "Back it",
                    message=card,
                    value=self.button_value(card, InitiativeAction.BACK),
                    quiet=True,
                    brief=number > 0,
                    last=None if click == len(picks) else 0,
                )

    # --- commitments ---------------------------------------------------------------------------

    async def commit(self, proposals: list[Proposal]) -> list[Commitment]:
        """The leader commits the three most backed, each to a direct report (the suggested
        owner where there is one), due in six weeks."""
        stage = self.stage
        await stage.advance_to(LEADER.at(COMMIT_DAY, 9), brief=True)
        ranked = sorted(proposals, key=lambda p: -self.backers(p.idea.title))[:COMMITTED]
        owners = assign_owners(ranked)
        commitments = []
        for index, proposal in enumerate(ranked):
            owner = owners[index]
            await self.offer(proposal.idea.title, owner, first=index == 0)
            commitments.append(Commitment(proposal.idea, owner))
        return commitments

    async def offer(self, title: str, owner: Person, *, first: bool) -> None:
        stage = self.stage
        card = self.card(title)
        stage.narrator.does(LEADER, f"presses [ Commit… ] on “{title}”", stage.now())
        await stage.click(
            LEADER,
            InitiativeAction.COMMIT,
            "Commit…",
            message=card,
            value=self.button_value(card, InitiativeAction.COMMIT),
            brief=not first,
            quiet=True,
        )
        form = stage.top_view(LEADER, "The initiative's commit form")
        stage.clock.advance(minutes=3)
        before = len(stage.fake.dms_to(owner.user_id))
        await stage.submit(
            LEADER,
            form,
            one(InitiativeBlock.OWNER, {"type": "users_select", "selected_user": owner.user_id}),
            f"makes {owner.first_name} the owner, keeps the due date and weekly check-ins",
        )
        # Offered at once in their working hours; otherwise when those begin.
        expect(
            (len(stage.fake.dms_to(owner.user_id)) > before) == owner.at_work(stage.now()),
            f"{owner.first_name} was not offered “{title}” in their working hours",
        )

    async def answer_offers(self, commitments: list[Commitment]) -> None:
        stage = self.stage
        decliner = commitments[self.casting.decliner_index % len(commitments)]
        for commitment in sorted(commitments, key=lambda c: c.owner.at(COMMIT_DAY, 11)):
            owner = commitment.owner
            await stage.advance_to(max(stage.now(), owner.at(COMMIT_DAY, 11)), brief=True)
            offer = self.last_dm_with(owner, InitiativeAction.ACCEPT)
            if commitment is not decliner:
                await stage.click(owner, InitiativeAction.ACCEPT, "Accept", message=offer)
                continue
            await stage.click(owner, InitiativeAction.DECLINE, "Decline…", message=offer)
            form = stage.top_view(owner, "The decline form")
            await stage.submit(
                owner,
                form,
                one(InitiativeBlock.REASON, DECLINE_REASON),
                f"writes “{DECLINE_REASON}”",
            )
        await self.reassign(decliner)

    async def reassign(self, commitment: Commitment) -> None:
        stage = self.stage
        await stage.advance_to(LEADER.at(COMMIT_DAY + timedelta(days=1), 9), brief=True)
        declined = self.last_dm_with(LEADER, InitiativeAction.COMMIT)
        await stage.click(LEADER, InitiativeAction.COMMIT, "Reassign…", message=declined)
        form = stage.top_view(LEADER, "The reassign form")
        new_owner = self.casting.reassign_to
        await stage.submit(
            LEADER,
            form,
            one(
                InitiativeBlock.OWNER, {"type": "users_select", "selected_user": new_owner.user_id}
            ),
            f"picks {new_owner.first_name}",
        )
        accepts = max(stage.now(), new_owner.at(COMMIT_DAY + timedelta(days=1), 11, 40))
        await stage.advance_to(accepts, brief=True)
        offer = self.last_dm_with(new_owner, InitiativeAction.ACCEPT)
        await stage.click(new_owner, InitiativeAction.ACCEPT, "Accept", message=offer)
        commitment.owner = new_owner

    # --- the check-in week ---------------------------------------------------------------------

    async def checkin_week(self, commitments: list[Commitment]) -> None:
        stage = self.stage
        self.say.narrate(
            "Friday 15:00 in Berlin brings the first weekly update: nothing done yet. Then, on "
            "Monday, each owner is asked at 10:00 on their own clock."
        )
        by_time = sorted(commitments, key=lambda c: c.owner.at(CHECKIN_MONDAY, 10))
        late = []
        for commitment, style in zip(by_time, self.casting.checkin_styles, strict=False):
            owner, reply = commitment.owner, commitment.idea.checkin
            await stage.advance_to(owner.at(CHECKIN_MONDAY, 10, 25))
            asked = self.checkin_to(owner)
            self.story.checkin_ways[commitment.title] = CHECKIN_WAYS[style]
            if style == "buttons":
                await self.answer_with_buttons(owner, asked, reply)
            elif style == "dm":
                await stage.dm(owner, reply_text(reply))
            else:
                late.append(commitment)
        for commitment in late:
            owner = commitment.owner
            before = len(stage.fake.dms_to(owner.user_id))
            await stage.advance_to(owner.at(CHECKIN_MONDAY + timedelta(days=1), 11, 5))
            expect(
                len(stage.fake.dms_to(owner.user_id)) > before,
                f"{owner.first_name} got no reminder about their check-in",
            )
            await stage.dm(owner, reply_text(commitment.idea.checkin))
        # Someone whose check-in had no win logs one mid-week with the command.
        winner = next((c for c in by_time if not c.idea.checkin.win), by_time[0])
        await stage.advance_to(winner.owner.at(CHECKIN_MONDAY + timedelta(days=2), 16, 40))
        await stage.command(winner.owner, f"win {winner.idea.win}")
        await self.weekly_update()

    async def answer_with_buttons(self, owner: Person, asked: Json, reply: CheckinReply) -> None:
        stage = self.stage
        action = f"{CheckinAction.STATUS}.{reply.status}"
        button = present(
            next((b for b in buttons_of(asked) if b.get("action_id") == action), None),
            f"{owner.first_name}'s check-in has no {reply.status} button",
        )
        await stage.click(
            owner, action, button_text(button), message=asked, value=str(button["value"])
        )
        form = stage.top_view(owner, "The check-in form")
        values = one(
            "checkin.progress",
            {"type": "static_select", "selected_option": {"value": str(reply.progress)}},
        )
        if reply.note:
            values |= one("checkin.note", reply.note)
        if reply.win:
            values |= one("checkin.win", reply.win)
        stage.clock.advance(minutes=2)
        said = f"sets progress to {reply.progress}%"
        if reply.note:
            said += f", notes “{reply.note}”"
        if reply.win:
            said += f", adds a quick win “{reply.win}”"
        await stage.submit(owner, form, values, said)

    async def weekly_update(self) -> None:
        stage = self.stage
        before = len(stage.fake.messages_in(CHANNEL_ID))
        await stage.advance_to(LEADER.at(UPDATE_FRIDAY, 15, 30))
        expect(
            len(stage.fake.messages_in(CHANNEL_ID)) > before,
            f"no weekly update was posted in #{CHANNEL_NAME} on Friday",
        )

    # --- reading Slack -------------------------------------------------------------------------

    def channel_message_with(self, action_id: str) -> Json:
        for message in reversed(self.stage.fake.messages_in(CHANNEL_ID)):
            if any(b.get("action_id") == action_id for b in buttons_of(message)):
                return message
        raise DemoFailure(f"no message in #{CHANNEL_NAME} has a {action_id!r} button")

    def card(self, title: str) -> Json:
        for message in self.stage.fake.messages_in(CHANNEL_ID):
            if "Initiative" in str(message.get("text")) and title in text_of(message):
                return message
        raise DemoFailure(f"the card of “{title}” is not in #{CHANNEL_NAME}")

    def backers(self, title: str) -> int:
        back = [
            b for b in buttons_of(self.card(title)) if b.get("action_id") == InitiativeAction.BACK
        ]
        digits = "".join(c for c in button_text(back[0]) if c.isdigit()) if back else ""
        return int(digits or 0)

    @staticmethod
    def button_value(message: Json, action_id: str) -> str:
        for button in buttons_of(message):
            if button.get("action_id") == action_id:
                return str(button.get("value") or "")
        raise DemoFailure(f"the message has no {action_id!r} button")

    def checkin_to(self, owner: Person) -> Json:
        for message in reversed(self.stage.fake.dms_to(owner.user_id)):
            if "check-in" in str(message.get("text")).lower():
                return message
        raise DemoFailure(f"{owner.first_name} was not asked for a check-in")


def assign_owners(ranked: list[Proposal]) -> list[Person]:
    """An owner for each initiative: its suggested owner if free, else the next direct report
    without one."""
    owners: list[Person | None] = []
    for proposal in ranked:
        suggested = proposal.suggested_owner
        owners.append(suggested if suggested is not None and suggested not in owners else None)
    free = [p for p in DIRECT_REPORTS if p not in owners]
    return [owner if owner is not None else free.pop(0) for owner in owners]


def reply_text(reply: CheckinReply) -> str:
    """A check-in typed in the DM: "on track, 20% — win: …"."""
    said = f"{reply.status.replace('_', ' ')}, {reply.progress}%"
    if reply.note:
        said += f". {reply.note}"
    if reply.win:
        said += f" — win: {reply.win}"
    return said


def offers(option: Json, proposal: Proposal) -> bool:
    """Whether a menu option is the outcome the proposal serves ("Theme → outcome…")."""
    text = str((option.get("text") or {}).get("text") or "")
    return text.startswith(proposal.outcome_label[:40])
