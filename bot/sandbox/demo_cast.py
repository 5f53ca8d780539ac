"""The simulated team of `partnerbot demo`: who they are, where they live, and what they say at
each step. Plain data and one seeded casting; the play itself is in `demo_steps.py` and
`demo_track.py`.

The answers are the project's own, written for the demo: sixteen pairs of "what's working well"
and "what challenges" around three themes a real platform team might raise (releases slip,
priorities keep changing, code reviews work), plus a few strays, so the offline theme engine has
something honest to find. Each answer carries the theme its writer meant; the leader uses that,
as a person reading the quotes would, to name the suggested themes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

WORKSPACE = "Acme"
CHANNEL_ID = "C0PLATFORM"
CHANNEL_NAME = "platform-team"
# Monday 2 March 2026, 10:00 in Berlin: the leader starts the tour.
START = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("UTC"))


@dataclass(frozen=True)
class Person:
    user_id: str
    real_name: str
    tz: str

    @property
    def first_name(self) -> str:
        return self.real_name.split()[0]

    @property
    def handle(self) -> str:
        return self.first_name.lower()

    @property
    def city(self) -> str:
        return self.tz.rsplit("/", 1)[-1].replace("_", " ")

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """That wall-clock moment in this person's time zone."""
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(self.tz))

    def at_work(self, at: datetime) -> bool:
        """Whether `at` is in the default working hours (Mon-Fri 09:00-18:00) on their clock:
        when the bot may DM them anything that can wait."""
        local = at.astimezone(ZoneInfo(self.tz))
        return local.weekday() < 5 and 9 <= local.hour < 18


LEADER = Person("U0DANA", "Dana Fischer", "Europe/Berlin")
TEAM = (
    Person("U0ALICE", "Alice Nguyen", "America/New_York"),
    Person("U0BOB", "Bob Mensah", "Europe/London"),
    Person("U0CHEN", "Chen Wei", "Asia/Singapore"),
    Person("U0DEE", "Dee Kowalski", "America/Los_Angeles"),
    Person("U0EMEKA", "Emeka Obi", "Africa/Lagos"),
    Person("U0FARAH", "Farah Haddad", "Asia/Dubai"),
    Person("U0GUS", "Gustavo Lima", "America/Sao_Paulo"),
    Person("U0HANA", "Hana Sato", "Asia/Tokyo"),
)
EVERYONE = (LEADER, *TEAM)
# The leader's direct reports: they shape the outcomes in step 3.
DIRECT_REPORTS = TEAM[:3]


class Topic(StrEnum):
    """What an answer is about, as its writer meant it."""

    REVIEWS = "reviews"
    RELEASES = "releases"
    PRIORITIES = "priorities"
    OTHER = "other"


# The name the leader gives a suggested theme whose quotes are mostly about a topic.
THEME_NAMES = {
    Topic.REVIEWS: "Code reviews that teach",
    Topic.RELEASES: "Releases slip without warning",
    Topic.PRIORITIES: "Priorities change without a why",
    Topic.OTHER: "Team habits that help",
}
THEME_SUMMARIES = {
    Topic.REVIEWS: "Reviews are fast and kind, and people learn from them.",
    Topic.RELEASES: "Dates move late, and our partners hear it from others first.",
    Topic.PRIORITIES: "Work is re-ranked often, and we rarely hear why.",
    Topic.OTHER: "On-call, demos and retros that people value.",
}
# The leader's private note in the review: "What would you like to do next?"
NEXT_STEP = "Agree with Finance and Product what they should notice first, then pick a few bets."


@dataclass(frozen=True)
class AnswerPair:
    working_well: str
    challenge: str
    working_well_topic: Topic
    challenge_topic: Topic


ANSWERS = (
    AnswerPair(
        "Code reviews come back within a few hours, and the comments explain the why.",
        "Release dates slip and we only find out the week before; Finance hears it from us last.",
        Topic.REVIEWS,
        Topic.RELEASES,
    ),
    AnswerPair(
        "Reviewers are kind and specific, even on big pull requests.",
        "Priorities change mid-sprint whenever someone senior asks, so half-finished work "
        "piles up.",
        Topic.REVIEWS,
        Topic.PRIORITIES,
    ),
    AnswerPair(
        "Pairing on reviews taught me more about the codebase than any doc.",
        "Our releases keep slipping because the last-minute fixes never fit in the plan.",
        Topic.REVIEWS,
        Topic.RELEASES,
    ),
    AnswerPair(
        "Review turnaround is fast: I rarely wait more than a morning for an approval.",
        "We change priorities every couple of weeks and nobody explains why.",
        Topic.REVIEWS,
        Topic.PRIORITIES,
    ),
    AnswerPair(
        "The on-call rotation is fair, and the runbooks actually help at 3am.",
        "The release date moves every month, and Sales has already promised it to customers.",
        Topic.OTHER,
        Topic.RELEASES,
    ),
    AnswerPair(
        "People review each other's code with care; I learn a lot from the comments.",
        "Requests from Sales skip the queue, so the sprint plan is gone by Wednesday.",
        Topic.REVIEWS,
        Topic.PRIORITIES,
    ),
    AnswerPair(
        "Code review feels like a conversation, not a gate.",
        "The March release slipped twice and support found out from customers.",
        Topic.REVIEWS,
        Topic.RELEASES,
    ),
    AnswerPair(
        "The Friday demos make it easy to see what others are building.",
        "Top priorities shift so often that we can't finish anything properly.",
        Topic.OTHER,
        Topic.PRIORITIES,
    ),
    AnswerPair(
        "Small pull requests and quick reviews keep us moving.",
        "Release slips are announced late; the business plans around dates we never meet.",
        Topic.REVIEWS,
        Topic.RELEASES,
    ),
    AnswerPair(
        "Thorough code reviews catch bugs before they reach customers.",
        "Every week there is a new urgent priority from a different stakeholder.",
        Topic.REVIEWS,
        Topic.PRIORITIES,
    ),
    AnswerPair(
        "New joiners get helpful review comments, not nitpicks.",
        "We promise release dates before the work is scoped, then slip.",
        Topic.REVIEWS,
        Topic.RELEASES,
    ),
    AnswerPair(
        "Reviewers answer questions on pull requests the same day.",
        "Nobody knows which project matters most this quarter; priorities keep changing.",
        Topic.REVIEWS,
        Topic.PRIORITIES,
    ),
    AnswerPair(
        "Reviews are quick, and reviewers suggest fixes instead of just blocking.",
        "Releases slip because testing starts too late in the cycle.",
        Topic.REVIEWS,
        Topic.RELEASES,
    ),
    AnswerPair(
        "Code reviews are friendly and nobody feels judged for a mistake.",
        "Priorities flip after every leadership meeting, and we hear about it second-hand.",
        Topic.REVIEWS,
        Topic.PRIORITIES,
    ),
    AnswerPair(
        "Code review standards are clear and everyone follows them.",
        "Shipping dates slip and our partners stop trusting the dates we give.",
        Topic.REVIEWS,
        Topic.RELEASES,
    ),
    AnswerPair(
        "Retros lead to real changes, not just sticky notes.",
        "Changing priorities mean we drop work half-done and start over.",
        Topic.OTHER,
        Topic.PRIORITIES,
    ),
)


@dataclass(frozen=True)
class OutcomeIdea:
    """What a direct report proposes for a theme (in the form, or as a DM reply), and the
    partner the leader names for it."""

    statement: str
    measure: str
    partner: str
    reply: str


OUTCOME_IDEAS = {
    Topic.RELEASES: OutcomeIdea(
        "Finance and Sales hear about a slip the day we know, with a new date they can trust",
        "9 in 10 slips announced within a day; tracked in the release log",
        "Finance and Sales",
        "Finance should never hear about a slip from a customer. Tell them within a day.",
    ),
    Topic.PRIORITIES: OutcomeIdea(
        "Product sees one ranked list of our work, and every change to it comes with a reason",
        "The list is reviewed every sprint; changes logged with a why",
        "Product",
        "Product and us share one ranked list, and nothing moves on it without a reason.",
    ),
    Topic.REVIEWS: OutcomeIdea(
        "Support's urgent fixes are reviewed and shipped within two working days",
        "Median review time for support fixes under 4 hours",
        "Support",
        "Support's fixes get a reviewer the same day, so customers wait less.",
    ),
    Topic.OTHER: OutcomeIdea(
        "Partners join our Friday demo once a month and see what's coming",
        "At least two partner teams at each monthly demo",
        "Sales and Support",
        "Invite the business to our Friday demos once a month.",
    ),
}


@dataclass(frozen=True)
class CheckinReply:
    """An owner's answer to a check-in (by the buttons and form, or typed in the DM)."""

    status: str  # a CheckinStatus value
    progress: int
    note: str
    win: str


@dataclass(frozen=True)
class InitiativeIdea:
    """A teammate's proposal, the owner's first check-in on it, and a win they log."""

    title: str
    implications: str
    tracking: str
    quick_win: str
    checkin: CheckinReply
    win: str


INITIATIVE_IDEAS = {
    Topic.RELEASES: (
        InitiativeIdea(
            "Slip alert to Finance within a day",
            "When a release date moves, the release owner tells Finance and Sales that day, "
            "with the new date and why.",
            "Slips announced within a day, from the release log",
            "The next slip reaches Finance before they ask",
            CheckinReply("on_track", 30, "Finance has the template; the first alert went out.", ""),
            "Finance heard about the 2.4 slip the same afternoon and thanked us",
        ),
        InitiativeIdea(
            "No release date before scoping",
            "We give partners a date only after the work is scoped and tested for risk.",
            "Dates given vs dates met, per release",
            "The date for release 2.5 is given after scoping, not before",
            CheckinReply("at_risk", 10, "Sales still quotes dates from the old roadmap.", ""),
            "Sales waited for the scoped date of release 2.5 instead of guessing",
        ),
        InitiativeIdea(
            "A release calendar Sales can read",
            "Sales and Support see our release calendar, updated weekly, with how sure we are "
            "of each date.",
            "Visits to the calendar, and questions about dates we get anyway",
            "Sales links the calendar in their next customer update",
            CheckinReply("on_track", 20, "First version shared with Sales.", ""),
            "Support answered a customer from the calendar without asking us",
        ),
    ),
    Topic.PRIORITIES: (
        InitiativeIdea(
            "One ranked priority list, reviewed every sprint",
            "Product and the team keep one ranked list; a change to the top five needs a reason "
            "everyone can read.",
            "Changes to the top five, and how many came with a reason",
            "The first ranked list is shared with Product",
            CheckinReply("on_track", 20, "", "Product used the ranked list in their planning"),
            "Product explained a change to the top five before making it",
        ),
        InitiativeIdea(
            "Sales requests through the intake board",
            "Requests from Sales go on the intake board and are ranked weekly, instead of "
            "arriving in DMs.",
            "Requests that skipped the board, per week",
            "Sales files its next request on the board",
            CheckinReply("on_track", 30, "", "Sales filed three requests on the board"),
            "No Sales request skipped the board this week",
        ),
        InitiativeIdea(
            "Every priority change comes with a note",
            "When the order of our work changes, the person changing it posts a two-line why in "
            "the team channel.",
            "Priority changes with a note, out of all changes",
            "The next change arrives with its why",
            CheckinReply("on_track", 30, "", "Two changes this week, both with a why"),
            "Product wrote the why before we asked",
        ),
    ),
    Topic.REVIEWS: (
        InitiativeIdea(
            "Same-day reviews for support fixes",
            "A support fix gets a reviewer within the day, so customers wait less.",
            "Review time of support fixes",
            "Support's next urgent fix ships within two days",
            CheckinReply("on_track", 40, "Two fixes reviewed within hours.", ""),
            "Support closed an urgent ticket a day early",
        ),
        InitiativeIdea(
            "Review office hours for other teams",
            "An hour a week where other teams can bring a change and get it reviewed with us.",
            "Changes from other teams reviewed per week",
            "The first outside team joins",
            CheckinReply("on_track", 20, "", "The payments team joined the first session"),
            "Payments shipped a fix after our review hour",
        ),
    ),
    Topic.OTHER: (
        InitiativeIdea(
            "Partners at the Friday demo",
            "Once a month, the business is invited to our Friday demo to see what's coming.",
            "Partner teams at each monthly demo",
            "Finance comes to the next demo",
            CheckinReply("on_track", 20, "Invitations sent for April.", ""),
            "Sales asked to come back next month",
        ),
    ),
}

DECLINE_REASON = "I'm on parental leave from April; someone else should own it."


@dataclass(frozen=True)
class Casting:
    """Who does what in one run: fixed by the seed, so two runs with one seed read alike."""

    answers: dict[str, AnswerPair]  # teammate's user id → their answers
    answer_times: dict[str, datetime]  # when each teammate first replies (UTC)
    by_form: Person  # answers in the form rather than the DM
    late: Person  # answers only after the reminder
    votes: dict[str, list[Topic]]  # voter → what they vote for, in order
    backers: dict[str, list[int]]  # teammate → proposals (by index) they back
    decliner_index: int  # which of the committed initiatives' owners declines
    reassign_to: Person  # who takes over the declined one
    # How the owners, in the order they are asked, answer their check-in: "buttons" (and the
    # form), "dm" (a typed reply), "late" (only after the next day's reminder).
    checkin_styles: tuple[str, ...]


def cast(seed: int) -> Casting:
    """The seeded choices: which answers each teammate gives, when, and who does what."""
    rng = random.Random(seed)
    # Half the team finds releases the problem and half priorities, as in a real team where
    # both hurt; which answers and who says them is the seed's.
    half = len(TEAM) // 2
    pairs = [
        *rng.sample([p for p in ANSWERS if p.challenge_topic is Topic.RELEASES], half),
        *rng.sample([p for p in ANSWERS if p.challenge_topic is Topic.PRIORITIES], half),
    ]
    rng.shuffle(pairs)
    by_form, late = rng.sample(TEAM, 2)
    answer_times = {person.user_id: _first_reply_time(person, rng) for person in TEAM}
    votes = {person.user_id: _ballot(pair, rng) for person, pair in zip(TEAM, pairs, strict=True)}
    backers = {person.user_id: rng.sample(range(4), rng.choice((1, 2))) for person in TEAM}
    decliner_index = rng.randrange(3)
    return Casting(
        answers={person.user_id: pair for person, pair in zip(TEAM, pairs, strict=True)},
        answer_times=answer_times,
        by_form=by_form,
        late=late,
        votes=votes,
        backers=backers,
        decliner_index=decliner_index,
        reassign_to=rng.choice([p for p in TEAM if p not in DIRECT_REPORTS]),
        checkin_styles=tuple(rng.sample(("buttons", "dm", "late"), 3)),
    )


def _first_reply_time(person: Person, rng: random.Random) -> datetime:
    """A working hour on the first day after the invitation, on the person's own clock."""
    launch = START.astimezone(ZoneInfo(person.tz))
    day = launch.date()
    reply = person.at(day, 9) + timedelta(minutes=rng.randrange(0, 7 * 60, 7))
    if reply < launch + timedelta(minutes=30):
        reply = person.at(day + timedelta(days=1), 9) + timedelta(minutes=rng.randrange(0, 180, 7))
    return reply.astimezone(ZoneInfo("UTC"))


def _ballot(pair: AnswerPair, rng: random.Random) -> list[Topic]:
    """Two votes on what troubles the voter most, and sometimes one on something else."""
    ballot = [pair.challenge_topic, pair.challenge_topic]
    if rng.random() < 0.6:
        others = [t for t in (Topic.REVIEWS, Topic.RELEASES, Topic.PRIORITIES) if t not in ballot]
        ballot.append(rng.choice(others))
    return ballot
