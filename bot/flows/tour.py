"""The listening tour's rules: what a launch needs, when a tour closes, what a DM reply means,
who is due a reminder. Plain Python; time comes in as arguments."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from bot.flows.working_hours import SlackStatus, parse_working_hours
from bot.flows.working_hours import zone as zone  # where the rules below have long found it

DEFAULT_QUESTIONS = ("What's working well?", "What challenges is your team experiencing?")
MAX_QUESTIONS = 5
MAX_QUESTION_LENGTH = 300
MAX_TITLE_LENGTH = 150
MIN_RESPONSES_FLOOR = 3
DEFAULT_OPEN_DAYS = 7
# Two messages from one person this close together are one answer split by Enter.
JOIN_WINDOW_SECONDS = 10.0
# Reminders go out from this local hour, never in the evening or at night.
REMINDER_HOUR = 10
QUIET_FROM, QUIET_UNTIL = time(20, 0), time(8, 0)
# Days before the close date on which non-finishers are reminded: 2 days before, and the last day.
REMINDER_DAYS_BEFORE = (2, 0)

SKIP_WORDS = frozenset({"skip", "pass", "next"})
HELP_WORDS = frozenset({"help", "?", "what", "huh"})

_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL_MENTION = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>")


def default_title(today: date) -> str:
    return f"Listening tour – {today.strftime('%B %Y')}"


@dataclass(frozen=True)
class Prefill:
    user_ids: tuple[str, ...] = ()
    channel_id: str | None = None


def parse_prefill(arguments: str) -> Prefill:
    """`<@U1|ana> <@U2> <#C9|team>` (Slack's escaped forms) -> people and a channel."""
    users = tuple(dict.fromkeys(_USER_MENTION.findall(arguments)))
    channels = _CHANNEL_MENTION.findall(arguments)
    return Prefill(user_ids=users, channel_id=channels[0] if channels else None)


def close_instant(close_date: date, tz_name: str) -> datetime:
    """A tour closes at the end of its close date (23:59) in the leader's time zone."""
    local_end = datetime.combine(close_date + timedelta(days=1), time(0, 0), zone(tz_name))
    return (local_end - timedelta(minutes=1)).astimezone(UTC)


def local_today(now: datetime, tz_name: str) -> date:
    return now.astimezone(zone(tz_name)).date()


@dataclass(frozen=True)
class LaunchForm:
    """What the leader typed into the launch modal, before it is checked."""

    title: str
    user_ids: tuple[str, ...]
    channel_id: str | None  # everyone in this channel is invited too
    questions: tuple[str, ...]
    anonymous: bool
    min_responses: int | None
    close_date: date | None
    results_channel_id: str | None
    reminders: bool
    # When people may be messaged, as "Mon-Fri 09:00-18:00"; blank: the deployment's default
    working_hours: str = ""


class LaunchBlock(StrEnum):
    """Block ids of the launch modal, where inline errors are shown."""

    TITLE = "tour.title"
    PEOPLE = "tour.people"
    CHANNEL = "tour.channel"
    QUESTION = "tour.question"  # followed by .1 ... .5
    ANONYMITY = "tour.anonymity"
    MIN_RESPONSES = "tour.min_responses"
    CLOSE_DATE = "tour.close_date"
    RESULTS = "tour.results"
    REMINDERS = "tour.reminders"
    WORKING_HOURS = "tour.working_hours"


def question_block(position: int) -> str:
    return f"{LaunchBlock.QUESTION}.{position + 1}"


def validate_launch(form: LaunchForm, *, today: date) -> dict[str, str]:
    """Problems by block id (empty when the tour can start). `today` is the leader's date."""
    errors: dict[str, str] = {}
    if form.working_hours.strip():
        try:
            parse_working_hours(form.working_hours.strip())
        except ValueError as problem:
            errors[LaunchBlock.WORKING_HOURS] = (
                f"{problem}. Write days and hours like Mon-Fri 09:00-18:00, or leave it blank."
            )
    if not form.title.strip():
        errors[LaunchBlock.TITLE] = "Give the tour a title, so people know what they're answering."
    elif len(form.title) > MAX_TITLE_LENGTH:
        errors[LaunchBlock.TITLE] = f"Keep the title under {MAX_TITLE_LENGTH} characters."
    if not form.user_ids and not form.channel_id:
        errors[LaunchBlock.PEOPLE] = "Pick the people to ask, or a channel whose members to ask."
    if not [q for q in form.questions if q.strip()]:
        errors[question_block(0)] = "Ask at least one question."
    for position, question in enumerate(form.questions):
        if len(question) > MAX_QUESTION_LENGTH:
            errors[question_block(position)] = (
                f"Keep each question under {MAX_QUESTION_LENGTH} characters."
            )
    if form.min_responses is None or form.min_responses < MIN_RESPONSES_FLOOR:
        errors[LaunchBlock.MIN_RESPONSES] = (
            f"At least {MIN_RESPONSES_FLOOR}: fewer answers than that could identify people."
        )
    if form.close_date is None:
        errors[LaunchBlock.CLOSE_DATE] = "Pick the day the tour closes."
    elif form.close_date < today:
        errors[LaunchBlock.CLOSE_DATE] = "That day has passed; pick today or a later day."
    if form.results_channel_id is None:
        errors[LaunchBlock.RESULTS] = "Pick the team channel where the findings will be shared."
    return errors


def cleaned_questions(questions: Sequence[str]) -> list[str]:
    return [q.strip() for q in questions if q.strip()][:MAX_QUESTIONS]


@dataclass(frozen=True)
class Invitee:
    user_id: str
    tz: str
    # Read once at launch, to hold an invitation through time off; never stored.
    status: SlackStatus = field(default_factory=SlackStatus)


@dataclass(frozen=True)
class Audience:
    invitees: tuple[Invitee, ...]
    skipped: int  # deactivated, bots, or unknown to Slack


@dataclass(frozen=True)
class DirectoryEntry:
    user_id: str
    deleted: bool
    is_bot: bool
    tz: str | None
    names: tuple[str, ...] = ()  # what people call them: kept out of theme labels
    display_name: str | None = None  # how Slack shows them: their display name, else real name
    status: SlackStatus = field(default_factory=SlackStatus)


def choose_audience(
    requested: Sequence[str],
    directory: dict[str, DirectoryEntry],
    *,
    leader_id: str,
    include_leader: bool,
    bot_user_id: str | None = None,
) -> Audience:
    """Everyone requested who is a live human Slack knows; count the rest as skipped.

    The leader is left out unless they picked themself by name (a channel pulls them in too
    often to count as a choice), and Partnerbot itself, a member of the channels it posts in,
    is never anyone's skipped person."""
    invitees: list[Invitee] = []
    skipped = 0
    for user_id in dict.fromkeys(requested):
        if (user_id == leader_id and not include_leader) or user_id == bot_user_id:
            continue
        entry = directory.get(user_id)
        if entry is None or entry.deleted or entry.is_bot or user_id == "USLACKBOT":
            skipped += 1
            continue
        invitees.append(Invitee(user_id, entry.tz or "UTC", entry.status))
    return Audience(tuple(invitees), skipped)


def respondent_key(*, anonymous: bool, user_id: str, secret: str | None) -> str:
    """Who an answer belongs to, as stored: the user id, or in an anonymous tour an HMAC of it
    under the tour's secret (which is destroyed when the tour closes)."""
    if not anonymous:
        return user_id
    if not secret:
        raise ValueError("an anonymous tour's answers need the tour's secret while it is open")
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


class ReplyKind(StrEnum):
    ANSWER = "answer"  # answers the question being asked
    APPEND = "append"  # joins the previous answer (sent within the join window)
    SKIP = "skip"
    HELP = "help"
    FINISHED = "finished"  # nothing left to ask: offer Edit / Add more


@dataclass(frozen=True)
class Reply:
    kind: ReplyKind
    position: int | None = None  # the question the reply lands on


def interpret_reply(
    text: str,
    *,
    current_position: int | None,
    question_count: int,
    previous_answer_ts: float | None,
    message_ts: float,
) -> Reply:
    """What a DM message means, given where the person is in the conversation.

    A message within JOIN_WINDOW_SECONDS of the one that answered the previous question (the
    last one, once all are answered) is the rest of that answer: people press Enter
    mid-thought. "skip" and "help" are never joined.
    """
    word = text.strip().lower().rstrip(".!")
    if word in HELP_WORDS:
        return Reply(ReplyKind.HELP, current_position)
    previous = previous_position(current_position, question_count)
    if (
        word not in SKIP_WORDS
        and previous is not None
        and previous_answer_ts is not None
        and 0 <= message_ts - previous_answer_ts <= JOIN_WINDOW_SECONDS
    ):
        return Reply(ReplyKind.APPEND, previous)
    if current_position is None:
        return Reply(ReplyKind.FINISHED)
    if word in SKIP_WORDS:
        return Reply(ReplyKind.SKIP, current_position)
    return Reply(ReplyKind.ANSWER, current_position)


def previous_position(current_position: int | None, question_count: int) -> int | None:
    """The question answered just before this one (the last, once all are answered)."""
    if current_position is None:
        return question_count - 1 if question_count else None
    return current_position - 1 if current_position > 0 else None


def next_position(position: int, question_count: int) -> int | None:
    return position + 1 if position + 1 < question_count else None


def join_answer(previous: str, addition: str) -> str:
    return f"{previous}\n{addition}" if previous else addition


@dataclass(frozen=True)
class ReminderPlan:
    number: int  # 1 for the first reminder, 2 for the last-day one
    send_at: datetime


def last_day(closes_at: datetime, tz_name: str) -> date:
    """The person's own last day to answer: the day the tour closes in their zone, or the day
    before if it closes there before the reminder hour (a leader in Tokyo, a member in LA)."""
    local_close = closes_at.astimezone(zone(tz_name))
    if local_close.time() >= time(REMINDER_HOUR):
        return local_close.date()
    return local_close.date() - timedelta(days=1)


def reminder_due(
    *,
    now: datetime,
    opens_at: datetime,
    closes_at: datetime,
    tz_name: str,
    reminders_sent: int,
) -> int | None:
    """Which reminder (1-based) this person is due now, if any.

    Reminder k is due from REMINDER_HOUR on its day in the person's own time zone, and may go
    out late (a tick missed, a restart) but never in their evening or night, and never after
    the tour closes. A reminder whose day is not after the launch day is dropped (nobody is
    reminded the day they were asked), and only the next one is considered, so nobody gets two
    at once: a late first reminder on the last day waits for, and counts as, the last one."""
    if now >= closes_at:
        return None
    local = zone(tz_name)
    local_now = now.astimezone(local)
    if not _daytime(local_now.time()):
        return None
    launch_day = opens_at.astimezone(local).date()
    final_day = last_day(closes_at, tz_name)
    due: int | None = None
    for number, days_before in enumerate(REMINDER_DAYS_BEFORE, start=1):
        day = final_day - timedelta(days=days_before)
        if number <= reminders_sent or day <= launch_day:
            continue
        if local_now >= datetime.combine(day, time(REMINDER_HOUR), local):
            due = number
        elif due is not None and day == local_now.date():
            # A late reminder (held over a weekend) on the day the next one is due: wait for
            # that one, so nobody gets two the same day.
            return None
    return due


def _daytime(local: time) -> bool:
    return QUIET_UNTIL <= local < QUIET_FROM


class RemindOutcome(StrEnum):
    QUEUED = "queued"
    NOBODY = "nobody"  # everyone has finished
    TOO_SOON = "too_soon"  # a manual reminder went out less than a day ago
    CLOSED = "closed"


@dataclass(frozen=True)
class Reminded:
    """What the leader's "Remind now" did: `people` reminded, `away` not, because their Slack
    status says they are away (the tour's own reminders reach them once they are back)."""

    outcome: RemindOutcome
    people: int = 0
    away: int = 0


def manual_reminder_allowed(last: datetime | None, opened: datetime, now: datetime) -> bool:
    """Remind now works at most once a day, counting the invitation as the first nudge."""
    return now - (last or opened) >= timedelta(days=1)


def days_left(now: datetime, close_date: date, tz_name: str) -> int:
    """Calendar days until the close date in the leader's zone: 0 on the last day (and after)."""
    return max((close_date - local_today(now, tz_name)).days, 0)


# Stronger anonymity defaults (issue #18). Themes and counts of what people wrote need at least
# `min_responses` (>= 3) answers; in an anonymous tour, only if the tour asked at least
# MIN_INVITED people (3 of 4 is nearly everyone). Verbatim words — quotes, the answers
# themselves, the export's text — need QUOTE_MIN_RESPONSES by default, as most survey tools do.
MIN_INVITED = 5
QUOTE_MIN_RESPONSES = 5


@dataclass(frozen=True)
class Visibility:
    """What a tour may show the people who read its results (the leader, or an admin acting
    for them) right now. The one rule every answer, theme, quote and export row goes through.

    Counts of who answered are always shown. What people wrote is shown only once at least
    `min_responses` people *other than its readers* have answered: a leader who answered
    knows which answers are their own, so counting them would let two colleagues' answers
    pass for three people's — and set apart the one they did not write. In an anonymous tour
    it is shown only once the tour has closed, since comparing two looks taken while answers
    arrive would single out the newest; only if the tour asked at least MIN_INVITED people;
    and people's own words (as opposed to themes and their counts) only from
    `quote_min_responses` answers by others (never below `min_responses`)."""

    others: int  # people who answered, not counting the readers
    min_responses: int
    anonymous: bool
    closed: bool
    invited: int = MIN_INVITED  # people the tour asked
    quote_min_responses: int = QUOTE_MIN_RESPONSES

    @property
    def too_few_asked(self) -> bool:
        """An anonymous tour that asked fewer than MIN_INVITED people: nothing is ever shown."""
        return self.anonymous and self.invited < MIN_INVITED

    @property
    def enough(self) -> bool:
        """Enough people other than the readers have answered, in a tour large enough."""
        return self.others >= self.min_responses and not self.too_few_asked

    @property
    def show_themes(self) -> bool:
        """Themes, their summaries and how many answers each holds."""
        return self.enough and (self.closed or not self.anonymous)

    @property
    def quotes_from(self) -> int:
        """How many answers by others verbatim words need."""
        if not self.anonymous:
            return self.min_responses
        return max(self.quote_min_responses, self.min_responses, MIN_RESPONSES_FLOOR)

    @property
    def show_answers(self) -> bool:
        """People's own words: quotes, the answers, the export's text."""
        return self.show_themes and self.others >= self.quotes_from
