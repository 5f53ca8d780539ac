"""SQLAlchemy 2.0 typed models: one `Base` with a constraint naming convention and UTC datetimes.

Every row carries the Slack `team_id`; queries filter by the team a request came from.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.flows.outcomes import InitiativeStatus
from bot.flows.working_hours import WorkingHours

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on Postgres (timestamptz) and SQLite (naive text) alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class NulSafeText(TypeDecorator[str]):
    """Text that round-trips exactly on both backends. PostgreSQL text cannot hold NUL, so
    there (only) NUL is stored as `\\0` and the backslash itself as `\\\\`."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return value
        value = without_lone_surrogates(value)
        if dialect.name != "postgresql":
            return value
        return value.replace("\\", "\\\\").replace("\x00", "\\0")

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or dialect.name != "postgresql" or "\\" not in value:
            return value
        return _ESCAPED.sub(lambda m: "\\" if m.group(1) == "\\" else "\x00", value)


_ESCAPED = re.compile(r"\\(\\|0)")
_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(text: str) -> str:
    """JSON can carry half of a surrogate pair ("\\ud800"), which no UTF-8 database can store:
    each becomes U+FFFD (the replacement character); everything else is kept as it is."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def enum_by_value(enum: type[StrEnum], length: int = 16) -> Enum:
    """Store an enum by its value (stable across renames of the Python member), not its name."""
    return Enum(
        enum,
        values_callable=lambda members: [member.value for member in members],
        native_enum=False,
        length=length,
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class ProcessedEvent(Base):
    """One row per Slack `event_id` handled, written in the same transaction as its effects."""

    __tablename__ = "processed_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    team_id: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(index=True)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Base):
    """A Web API call the bot has decided to make, sent later by the delivery worker."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(None, "status", "next_attempt_at"),
        # The purge's search: sent rows whose payload is still kept, oldest first.
        Index(None, "status", "payload_purged_at", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    method: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    status: Mapped[OutboxStatus] = mapped_column(enum_by_value(OutboxStatus))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(255))
    result: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # The payload may quote what a person wrote (a DM reply listing their answers): it is
    # emptied once the row is settled, so the outbox keeps no answer next to a user id.
    private: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A sent row's payload is emptied OUTBOX_RETENTION_DAYS after it was sent; its key (which
    # keeps a replayed decision from sending twice) and its result (the channel and ts that
    # later edits of the message read back) stay.
    payload_purged_at: Mapped[datetime | None]


class Workspace(Base):
    """A workspace (team) the bot serves. `revoked_at` is set when Slack says the app was
    uninstalled there or its bot token revoked: the outbox holds the team's rows, unsent and
    kept, until a re-install clears it (docs/OPERATIONS.md)."""

    __tablename__ = "workspaces"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    revoked_at: Mapped[datetime | None]
    # The Slack event that revoked it: app_uninstalled or tokens_revoked.
    revoked_by: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime]
    # The Enterprise Grid organisation the team belongs to, when known: an org-wide install
    # has no team of its own, and is found for a team through this.
    enterprise_id: Mapped[str | None] = mapped_column(String(32), index=True)


class SlackInstallation(Base):
    """One installation of the app by OAuth (bot/installations.py): into a workspace, or
    org-wide into an Enterprise Grid organisation (`is_enterprise_install`, no team). Every
    token and the incoming webhook's URL are stored encrypted (`*_ciphertext`, Fernet with
    PARTNERBOT_ENCRYPTION_KEYS); the ids and names beside them are not secret."""

    __tablename__ = "slack_installations"
    __table_args__ = (Index(None, "enterprise_id", "team_id", "installed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[str | None] = mapped_column(String(32))
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    enterprise_url: Mapped[str | None] = mapped_column(String(300))
    team_id: Mapped[str | None] = mapped_column(String(32))
    team_name: Mapped[str | None] = mapped_column(String(200))
    bot_token_ciphertext: Mapped[str | None] = mapped_column(Text)
    bot_id: Mapped[str | None] = mapped_column(String(32))
    bot_user_id: Mapped[str | None] = mapped_column(String(32))
    bot_scopes: Mapped[str | None] = mapped_column(Text)
    bot_refresh_token_ciphertext: Mapped[str | None] = mapped_column(Text)
    bot_token_expires_at: Mapped[datetime | None]
    # The installer.
    user_id: Mapped[str] = mapped_column(String(32))
    user_token_ciphertext: Mapped[str | None] = mapped_column(Text)
    user_scopes: Mapped[str | None] = mapped_column(Text)
    user_refresh_token_ciphertext: Mapped[str | None] = mapped_column(Text)
    user_token_expires_at: Mapped[datetime | None]
    # Whoever has an incoming webhook's URL may post with it: it is a secret too.
    incoming_webhook_url_ciphertext: Mapped[str | None] = mapped_column(Text)
    incoming_webhook_channel: Mapped[str | None] = mapped_column(String(200))
    incoming_webhook_channel_id: Mapped[str | None] = mapped_column(String(32))
    incoming_webhook_configuration_url: Mapped[str | None] = mapped_column(String(300))
    is_enterprise_install: Mapped[bool] = mapped_column(default=False)
    token_type: Mapped[str | None] = mapped_column(String(32))
    installed_at: Mapped[datetime]


class OAuthState(Base):
    """An OAuth `state` handed to an installer's browser by GET /slack/install, good once and
    until `expires_at`. Kept as its HMAC with SLACK_STATE_SECRET: the table alone does not
    give a state that the callback would accept."""

    __tablename__ = "oauth_states"

    state_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class TourStatus(StrEnum):
    # Submitted, its audience still to be worked out with Slack (bot/services/tour.py).
    LAUNCHING = "launching"
    OPEN = "open"
    CLOSED = "closed"
    # Called off by its leader before it closed: answers and participants deleted, counts kept.
    CANCELLED = "cancelled"


class Tour(Base):
    """A listening tour (step 1): who leads it, who is asked, when it closes."""

    __tablename__ = "tours"
    __table_args__ = (Index(None, "team_id", "status"), Index(None, "status", "closes_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    leader_id: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(150))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    anonymous: Mapped[bool] = mapped_column(default=True)
    min_responses: Mapped[int] = mapped_column(default=3)
    status: Mapped[TourStatus] = mapped_column(enum_by_value(TourStatus))
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    created_at: Mapped[datetime]
    # The close date as the leader picked it, and their time zone: the tour ends at 23:59 there.
    close_date: Mapped[date]
    leader_tz: Mapped[str] = mapped_column(String(64), default="UTC")
    reminders: Mapped[bool] = mapped_column(default=True)
    skipped_count: Mapped[int] = mapped_column(default=0)
    last_manual_reminder_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Set once the closed tour's answers have been grouped into suggested themes (step 2).
    themes_suggested_at: Mapped[datetime | None]
    # The weekly quick-wins update (issue #6): when the next one is due (UTC; NULL until an
    # initiative is taken on), and its slot on the leader's clock.
    next_digest_at: Mapped[datetime | None] = mapped_column(index=True)
    digest_weekday: Mapped[int] = mapped_column(default=4, server_default="4")  # Friday
    digest_minute: Mapped[int] = mapped_column(default=900, server_default="900")  # 15:00
    # While LAUNCHING: the audience the leader asked for (LaunchRequest), when to try again to
    # work it out with Slack, and how many tries failed so far.
    launch_request: Mapped[dict[str, Any] | None]
    launch_next_at: Mapped[datetime | None]
    launch_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # When its non-urgent DMs may reach people, in each person's zone (flows/working_hours.py):
    # minutes after midnight, and the working days as weekday digits (Monday = 0).
    work_start_minute: Mapped[int] = mapped_column(default=540, server_default="540")
    work_end_minute: Mapped[int] = mapped_column(default=1080, server_default="1080")
    work_days: Mapped[str] = mapped_column(String(7), default="01234", server_default="01234")

    @property
    def working_hours(self) -> WorkingHours:
        return WorkingHours.from_columns(
            self.work_start_minute, self.work_end_minute, self.work_days
        )

    # Verbatim words (quotes, the answers, the export's text) of an anonymous tour are shown
    # only from this many answers by others (bot/flows/tour.py Visibility; never below 3).
    quote_min_responses: Mapped[int] = mapped_column(default=5, server_default="5")
    # Set when a tour is cancelled: all that is kept of who was asked and who answered.
    asked_count: Mapped[int | None]
    answered_count: Mapped[int | None]


class CoLeader(Base):
    """Someone the leader added with the same rights over the tour (services/tour_controls.py)."""

    __tablename__ = "tour_co_leaders"

    tour_id: Mapped[int] = mapped_column(
        ForeignKey("tours.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)


class Question(Base):
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("tour_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tour_id: Mapped[int] = mapped_column(ForeignKey("tours.id", ondelete="CASCADE"))
    position: Mapped[int]
    text: Mapped[str] = mapped_column(String(300))


class ParticipantStatus(StrEnum):
    INVITED = "invited"  # asked, nothing answered yet
    ANSWERING = "answering"  # answered or skipped some questions
    DONE = "done"  # went through every question (or used the form)


class Participant(Base):
    """Who was asked, and where they are in the conversation. Never which answers are theirs:
    in an anonymous tour the answers carry only a keyed hash (see TourKey)."""

    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("tour_id", "user_id"), Index(None, "team_id", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tour_id: Mapped[int] = mapped_column(ForeignKey("tours.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    status: Mapped[ParticipantStatus] = mapped_column(enum_by_value(ParticipantStatus))
    # 0-based position of the question this person is being asked; None once through them all.
    current_position: Mapped[int | None]
    responded: Mapped[bool] = mapped_column(default=False)
    reminders_sent: Mapped[int] = mapped_column(default=0)


class TourKey(Base):
    """The secret that turns a user id into an anonymous tour's respondent key. Deleted when
    the tour closes, after which nobody can tell whose answers are whose."""

    __tablename__ = "tour_keys"

    tour_id: Mapped[int] = mapped_column(
        ForeignKey("tours.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(64))


class Answer(Base):
    """One respondent's answer to one question. `respondent` is the Slack user id in a named
    tour and an HMAC of it in an anonymous one. The id is random, and on SQLite the table is
    stored by it (WITHOUT ROWID: no rowid counting up as answers arrive), so neither the ids
    nor the order rows are stored in say who answered when; a tour's answers are written
    again in id order when it closes (bot/store/tours.py `mark_closed`). No time is kept."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("question_id", "respondent"),
        # One person's answers in a tour, read on every DM answer: without the respondent in
        # the index that read walks every answer the tour holds.
        Index("ix_answers_tour_id_respondent", "tour_id", "respondent"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tour_id: Mapped[int] = mapped_column(ForeignKey("tours.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    respondent: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(NulSafeText)
    # Slack's timestamp of the last message joined into this answer (for the join window);
    # never shown, and cleared when the tour closes: with the bot token it would name the
    # author, since it is the timestamp of their message in their DM.
    last_message_ts: Mapped[str | None] = mapped_column(String(32))
    # Hidden by the leader (bot/services/moderation.py): left out of themes, quotes, exports and
    # counts until its author rewrites it. The reason is the leader's words, never the answer's.
    hidden: Mapped[bool] = mapped_column(default=False, server_default=false())
    hidden_reason: Mapped[str | None] = mapped_column(String(300))


class DmFocus(Base):
    """Which tour a person's next DM reply belongs to: the one whose question was asked last."""

    __tablename__ = "dm_focus"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tour_id: Mapped[int] = mapped_column(ForeignKey("tours.id", ondelete="CASCADE"))


class ThemeSource(StrEnum):
    SUGGESTED = "suggested"  # what the offline grouping proposed when the tour closed
    FINAL = "final"  # what the leader kept, edited or wrote, and posted


class Theme(Base):
    """A theme of a closed tour (step 2): no more than three are final."""

    __tablename__ = "themes"
    __table_args__ = (UniqueConstraint("tour_id", "source", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tour_id: Mapped[int] = mapped_column(ForeignKey("tours.id", ondelete="CASCADE"))
    source: Mapped[ThemeSource] = mapped_column(enum_by_value(ThemeSource))
    position: Mapped[int]
    label: Mapped[str] = mapped_column(String(150))
    summary: Mapped[str] = mapped_column(NulSafeText)
    kind: Mapped[str] = mapped_column(String(16))
    answer_count: Mapped[int] = mapped_column(default=0)


class ThemeQuote(Base):
    """A representative answer of a theme, by id: the text is always the answer's own."""

    __tablename__ = "theme_quotes"
    __table_args__ = (UniqueConstraint("theme_id", "answer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    answer_id: Mapped[str] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    position: Mapped[int]


class Reflection(Base):
    """The leader's private answers to the article's three questions about the findings."""

    __tablename__ = "reflections"

    tour_id: Mapped[int] = mapped_column(
        ForeignKey("tours.id", ondelete="CASCADE"), primary_key=True
    )
    insights: Mapped[str | None] = mapped_column(NulSafeText)
    next_steps: Mapped[str | None] = mapped_column(NulSafeText)
    involve: Mapped[str | None] = mapped_column(NulSafeText)
    # Step 3's "letting go" questions, offered once (issue #5).
    outcomes_matter: Mapped[str | None] = mapped_column(NulSafeText)
    ways: Mapped[str | None] = mapped_column(NulSafeText)
    possible: Mapped[str | None] = mapped_column(NulSafeText)
    letting_go_offered_at: Mapped[datetime | None]


class PollStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Poll(Base):
    """The theme poll in the team channel: dot voting with a budget per person."""

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    tour_id: Mapped[int] = mapped_column(ForeignKey("tours.id", ondelete="CASCADE"), unique=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    budget: Mapped[int] = mapped_column(default=3)
    max_per_theme: Mapped[int] = mapped_column(default=2)
    hide_results: Mapped[bool] = mapped_column(default=False)
    allow_outsiders: Mapped[bool] = mapped_column(default=False)
    status: Mapped[PollStatus] = mapped_column(enum_by_value(PollStatus))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]  # the leader's chosen close, if any
    # How many people voted, counted when the poll closed and its votes were forgotten
    # (PollTally); None while it is open.
    voters: Mapped[int | None]


class Vote(Base):
    """How many of one person's votes sit on one theme, while the poll is open (a person's
    budget is checked against them). Never shown per person, to anyone; deleted when the
    poll closes, leaving only the tallies."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("poll_id", "voter_id", "theme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    voter_id: Mapped[str] = mapped_column(String(32))
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    count: Mapped[int] = mapped_column(default=0)


class PollTally(Base):
    """A closed poll's votes on one theme: what is kept of the votes once who cast them is
    forgotten."""

    __tablename__ = "poll_tallies"

    poll_id: Mapped[int] = mapped_column(
        ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
    )
    theme_id: Mapped[int] = mapped_column(
        ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True
    )
    votes: Mapped[int]


class Insight(Base):
    """A teammate's answer to "what insights do you have?", stored without their name."""

    __tablename__ = "insights"

    id: Mapped[int] = mapped_column(primary_key=True)
    tour_id: Mapped[int] = mapped_column(ForeignKey("tours.id", ondelete="CASCADE"), index=True)
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(NulSafeText)
    created_at: Mapped[datetime]


class OutcomeShaper(Base):
    """A direct report the leader asked to shape outcomes (step 3); not anonymous."""

    __tablename__ = "outcome_shapers"
    __table_args__ = (UniqueConstraint("tour_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tour_id: Mapped[int] = mapped_column(ForeignKey("tours.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    asked_at: Mapped[datetime]
    # The themes they were asked about, as "12,13" (NULL for rows from before it was kept).
    theme_ids: Mapped[str | None] = mapped_column(String(200))


class OutcomeProposal(Base):
    """A direct report's proposal for how to respond to a theme; editable until committed."""

    __tablename__ = "outcome_proposals"
    __table_args__ = (Index(None, "theme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tour_id: Mapped[int] = mapped_column(ForeignKey("tours.id", ondelete="CASCADE"))
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    author_id: Mapped[str] = mapped_column(String(32))
    statement: Mapped[str] = mapped_column(NulSafeText)
    measure: Mapped[str] = mapped_column(NulSafeText)
    created_at: Mapped[datetime]


class Outcome(Base):
    """The partner-focused outcome the leader committed for one theme."""

    __tablename__ = "outcomes"
    __table_args__ = (UniqueConstraint("theme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tour_id: Mapped[int] = mapped_column(ForeignKey("tours.id", ondelete="CASCADE"))
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    statement: Mapped[str] = mapped_column(NulSafeText)
    partner: Mapped[str] = mapped_column(String(150))
    measure: Mapped[str] = mapped_column(NulSafeText)
    target_date: Mapped[date]
    committed_at: Mapped[datetime]


class Initiative(Base):
    """A piece of work towards an outcome (step 4): proposed by anyone, committed by the
    leader to an owner, tracked by check-ins."""

    __tablename__ = "initiatives"
    __table_args__ = (
        Index(None, "tour_id", "status"),
        Index(None, "owner_id"),
        # A tick reads only what is due: each job's query is a range on one of these.
        Index(None, "status", "next_checkin_at"),
        Index(None, "status", "zone_check_at"),
        Index(None, "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tour_id: Mapped[int] = mapped_column(ForeignKey("tours.id", ondelete="CASCADE"))
    outcome_id: Mapped[int] = mapped_column(ForeignKey("outcomes.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(150))
    implications: Mapped[str] = mapped_column(NulSafeText)
    tracking: Mapped[str] = mapped_column(NulSafeText)
    first_quick_win: Mapped[str | None] = mapped_column(NulSafeText)
    proposer_id: Mapped[str] = mapped_column(String(32))
    suggested_owner_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[InitiativeStatus] = mapped_column(enum_by_value(InitiativeStatus))
    owner_id: Mapped[str | None] = mapped_column(String(32))
    due_date: Mapped[date | None]
    cadence_weeks: Mapped[int] = mapped_column(default=1)
    checkin_weekday: Mapped[int] = mapped_column(default=0, server_default="0")  # 0 = Monday
    decline_reason: Mapped[str | None] = mapped_column(NulSafeText)
    progress: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    committed_at: Mapped[datetime | None]
    # Check-ins (issue #6). The next one is due at `next_checkin_at` (UTC; NULL when none is
    # scheduled), for the period starting on the owner's local Monday `next_period`.
    next_checkin_at: Mapped[datetime | None]
    next_period: Mapped[date | None]
    owner_tz: Mapped[str | None] = mapped_column(String(64))  # from users.info
    owner_tz_checked_at: Mapped[datetime | None]
    # When to re-read the owner's zone: a day before each check-in (so at most daily).
    zone_check_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(16))  # a CheckinStatus value
    on_leave_until: Mapped[date | None]  # the day the owner is back: no check-ins before it
    overdue_asked_for: Mapped[date | None]  # the due date the owner was asked to extend or close
    done_at: Mapped[datetime | None]


class InitiativeBacking(Base):
    """A teammate's one-click support for a proposed initiative."""

    __tablename__ = "initiative_backings"
    __table_args__ = (UniqueConstraint("initiative_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))


class QuickWin(Base):
    """Something that visibly got better, logged against an initiative."""

    __tablename__ = "quick_wins"
    __table_args__ = (Index(None, "initiative_id", "logged_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    author_id: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(NulSafeText)
    logged_at: Mapped[datetime]


class CheckinState(StrEnum):
    SENT = "sent"  # asked; no answer yet
    NUDGED = "nudged"  # no answer by the next day's slot: nudged once
    ANSWERED = "answered"
    MISSED = "missed"  # no answer after the nudge either; shown in the weekly update
    SKIPPED = "skipped"  # the bot was down past the grace: not sent late
    SNOOZED = "snoozed"  # the owner snoozed this week
    ON_LEAVE = "on_leave"
    AWAY = "away"  # their Slack status said time off when it was due: not asked, not missed


class Checkin(Base):
    """One period's check-in of one initiative: exactly one row per (initiative, period)."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("initiative_id", "period"),
        Index(None, "state", "nudge_at"),
        Index(None, "state", "missed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    period: Mapped[date]  # the local Monday the period starts on
    due_at: Mapped[datetime]
    state: Mapped[CheckinState] = mapped_column(enum_by_value(CheckinState))
    nudge_at: Mapped[datetime | None]
    missed_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    status: Mapped[str | None] = mapped_column(String(16))  # a CheckinStatus value
    progress: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(NulSafeText)


class Digest(Base):
    """One week's quick-wins update of one tour: sent, quiet (one line) or skipped."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("tour_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tour_id: Mapped[int] = mapped_column(ForeignKey("tours.id", ondelete="CASCADE"))
    period: Mapped[date]
    state: Mapped[str] = mapped_column(String(16))  # "sent" | "quiet" | "skipped"
    until: Mapped[datetime | None]  # the slot it covered up to; the next one starts there
    created_at: Mapped[datetime]


class LoopOptOut(Base):
    """Someone who asked not to get "you said → we did" DMs when initiatives are done."""

    __tablename__ = "loop_opt_outs"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime]
