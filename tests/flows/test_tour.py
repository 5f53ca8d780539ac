"""The listening tour's rules, as tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.flows.tour import (
    QUOTE_MIN_RESPONSES,
    Audience,
    DirectoryEntry,
    Invitee,
    LaunchBlock,
    LaunchForm,
    Prefill,
    Reply,
    ReplyKind,
    Visibility,
    choose_audience,
    close_instant,
    days_left,
    default_title,
    interpret_reply,
    manual_reminder_allowed,
    parse_prefill,
    question_block,
    reminder_due,
    respondent_key,
    validate_launch,
)

TODAY = date(2026, 3, 2)


def form(**changes: object) -> LaunchForm:
    values: dict[str, object] = {
        "title": "Listening tour – March 2026",
        "user_ids": ("UALICE",),
        "channel_id": None,
        "questions": ("What's working well?", "What challenges is your team experiencing?"),
        "anonymous": True,
        "min_responses": 3,
        "close_date": date(2026, 3, 9),
        "results_channel_id": "CTEAM",
        "reminders": True,
    }
    values.update(changes)
    return LaunchForm(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "expected_blocks"),
    [
        ({}, set()),  # the defaults are a valid tour
        ({"user_ids": (), "channel_id": "CTEAM"}, set()),  # a channel alone is enough people
        ({"user_ids": (), "channel_id": None}, {LaunchBlock.PEOPLE}),  # nobody to ask
        ({"title": "   "}, {LaunchBlock.TITLE}),  # blank title
        ({"title": "x" * 151}, {LaunchBlock.TITLE}),  # over 150 characters
        ({"questions": ("", "  ")}, {question_block(0)}),  # no question at all
        ({"questions": ("ok", "q" * 301)}, {question_block(1)}),  # the error lands on its box
        ({"min_responses": 2}, {LaunchBlock.MIN_RESPONSES}),  # below the anonymity floor
        ({"min_responses": None}, {LaunchBlock.MIN_RESPONSES}),  # not a number
        ({"close_date": date(2026, 3, 1)}, {LaunchBlock.CLOSE_DATE}),  # in the past
        ({"close_date": TODAY}, set()),  # today is allowed: it closes tonight
        ({"close_date": None}, {LaunchBlock.CLOSE_DATE}),
        ({"results_channel_id": None}, {LaunchBlock.RESULTS}),
    ],
)
def test_validate_launch(changes: dict[str, object], expected_blocks: set[str]) -> None:
    errors = validate_launch(form(**changes), today=TODAY)
    assert set(errors) == expected_blocks
    assert all(message.endswith(".") for message in errors.values())


@pytest.mark.parametrize(
    ("close_date", "tz", "expected_utc"),
    [
        (date(2026, 3, 9), "UTC", datetime(2026, 3, 9, 23, 59, tzinfo=UTC)),
        (date(2026, 3, 9), "Europe/Berlin", datetime(2026, 3, 9, 22, 59, tzinfo=UTC)),  # CET
        (date(2026, 7, 9), "Europe/Berlin", datetime(2026, 7, 9, 21, 59, tzinfo=UTC)),  # CEST
        (date(2026, 3, 8), "America/New_York", datetime(2026, 3, 9, 3, 59, tzinfo=UTC)),  # DST day
        (date(2026, 3, 9), "Asia/Kolkata", datetime(2026, 3, 9, 18, 29, tzinfo=UTC)),  # +5:30
        (date(2026, 3, 9), "Not/AZone", datetime(2026, 3, 9, 23, 59, tzinfo=UTC)),  # unknown: UTC
    ],
)
def test_a_tour_closes_at_23_59_in_the_leaders_zone(
    close_date: date, tz: str, expected_utc: datetime
) -> None:
    assert close_instant(close_date, tz) == expected_utc


def test_default_title_names_the_month() -> None:
    assert default_title(TODAY) == "Listening tour – March 2026"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("", Prefill()),
        ("<@U1|ana> <@W2>", Prefill(user_ids=("U1", "W2"))),  # enterprise users start with W
        ("<@U1> <@U1|ana>", Prefill(user_ids=("U1",))),  # the same person twice
        ("<#C9|team> <@U1>", Prefill(user_ids=("U1",), channel_id="C9")),
        ("<#G7|private> <#C9|second>", Prefill(channel_id="G7")),  # the first channel wins
        ("@ana #team", Prefill()),  # unescaped text is not a mention
    ],
)
def test_parse_prefill(arguments: str, expected: Prefill) -> None:
    assert parse_prefill(arguments) == expected


DIRECTORY = {
    "ULEAD": DirectoryEntry("ULEAD", deleted=False, is_bot=False, tz="Europe/Berlin"),
    "UALICE": DirectoryEntry("UALICE", deleted=False, is_bot=False, tz="America/New_York"),
    "UGONE": DirectoryEntry("UGONE", deleted=True, is_bot=False, tz="UTC"),
    "UBOT": DirectoryEntry("UBOT", deleted=False, is_bot=True, tz=None),
    "UNOTZ": DirectoryEntry("UNOTZ", deleted=False, is_bot=False, tz=None),
}


@pytest.mark.parametrize(
    ("requested", "include_leader", "expected"),
    [
        (["UALICE"], False, Audience((Invitee("UALICE", "America/New_York"),), 0)),
        (["UALICE", "UALICE"], False, Audience((Invitee("UALICE", "America/New_York"),), 0)),
        # deactivated, bot, and unknown people are skipped and counted
        (["UGONE", "UBOT", "UMYSTERY"], False, Audience((), 3)),
        # the leader is not asked when a channel brings them in ...
        (["ULEAD", "UALICE"], False, Audience((Invitee("UALICE", "America/New_York"),), 0)),
        # ... but is when they picked themself
        (["ULEAD"], True, Audience((Invitee("ULEAD", "Europe/Berlin"),), 0)),
        (["UNOTZ"], False, Audience((Invitee("UNOTZ", "UTC"),), 0)),  # no tz: UTC
        (["USLACKBOT"], False, Audience((), 1)),
        (["UPARTNERBOT", "UALICE"], False, Audience((Invitee("UALICE", "America/New_York"),), 0)),
    ],
)
def test_choose_audience(requested: list[str], include_leader: bool, expected: Audience) -> None:
    directory = {**DIRECTORY, "USLACKBOT": DirectoryEntry("USLACKBOT", False, False, None)}
    assert (
        choose_audience(
            requested,
            directory,
            leader_id="ULEAD",
            include_leader=include_leader,
            bot_user_id="UPARTNERBOT",
        )
        == expected
    )


def test_respondent_keys() -> None:
    named = respondent_key(anonymous=False, user_id="UALICE", secret=None)
    anonymous = respondent_key(anonymous=True, user_id="UALICE", secret="s1")
    assert named == "UALICE"
    assert "UALICE" not in anonymous
    assert len(anonymous) == 64
    assert anonymous == respondent_key(anonymous=True, user_id="UALICE", secret="s1")
    assert anonymous != respondent_key(anonymous=True, user_id="UALICE", secret="s2")
    with pytest.raises(ValueError, match="secret"):
        respondent_key(anonymous=True, user_id="UALICE", secret=None)


@pytest.mark.parametrize(
    ("text", "position", "previous_ts", "ts", "expected"),
    [
        ("Deploys are fast", 0, None, 100.0, Reply(ReplyKind.ANSWER, 0)),
        ("Deploys are fast", 1, 50.0, 100.0, Reply(ReplyKind.ANSWER, 1)),  # 50 s later: new answer
        ("and reviews too", 1, 95.0, 100.0, Reply(ReplyKind.APPEND, 0)),  # 5 s later: same thought
        ("and reviews too", 1, 90.0, 100.0, Reply(ReplyKind.APPEND, 0)),  # exactly the window
        ("and reviews too", 1, 89.9, 100.0, Reply(ReplyKind.ANSWER, 1)),  # just past it
        ("skip", 1, 99.0, 100.0, Reply(ReplyKind.SKIP, 1)),  # skip is never joined
        ("Skip.", 0, None, 100.0, Reply(ReplyKind.SKIP, 0)),
        ("help", 1, 99.0, 100.0, Reply(ReplyKind.HELP, 1)),
        ("?", None, None, 100.0, Reply(ReplyKind.HELP, None)),
        ("more thoughts", None, 50.0, 100.0, Reply(ReplyKind.FINISHED)),  # nothing left to ask
        ("and one more", None, 99.0, 100.0, Reply(ReplyKind.APPEND, 1)),  # the last answer's tail
        ("skip", None, 99.0, 100.0, Reply(ReplyKind.FINISHED)),  # nothing to skip
        ("late", 1, 120.0, 100.0, Reply(ReplyKind.ANSWER, 1)),  # out-of-order ts: not joined
    ],
)
def test_interpret_reply(
    text: str, position: int | None, previous_ts: float | None, ts: float, expected: Reply
) -> None:
    reply = interpret_reply(
        text,
        current_position=position,
        question_count=2,
        previous_answer_ts=previous_ts,
        message_ts=ts,
    )
    assert reply == expected


OPENED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday; closes Monday 9 March (Berlin)
CLOSE_DATE = date(2026, 3, 9)
CLOSES_AT = close_instant(CLOSE_DATE, "Europe/Berlin")


@pytest.mark.parametrize(
    ("now", "tz", "sent", "expected"),
    [
        (datetime(2026, 3, 6, 12, 0, tzinfo=UTC), "UTC", 0, None),  # Friday: too early
        (datetime(2026, 3, 7, 9, 59, tzinfo=UTC), "UTC", 0, None),  # Saturday, before 10:00
        (datetime(2026, 3, 7, 10, 0, tzinfo=UTC), "UTC", 0, 1),  # 2 days before, 10:00 local
        (datetime(2026, 3, 7, 10, 0, tzinfo=UTC), "UTC", 1, None),  # already sent
        (datetime(2026, 3, 7, 20, 0, tzinfo=UTC), "UTC", 0, None),  # 20:00: quiet hours
        (datetime(2026, 3, 8, 7, 59, tzinfo=UTC), "UTC", 0, None),  # 07:59: still night
        (datetime(2026, 3, 8, 8, 0, tzinfo=UTC), "UTC", 0, 1),  # missed yesterday: next morning
        (datetime(2026, 3, 9, 10, 0, tzinfo=UTC), "UTC", 1, 2),  # last day
        (datetime(2026, 3, 9, 10, 0, tzinfo=UTC), "UTC", 0, 2),  # late first folds into last
        # a first held over the weekend, on the last day before 10:00: wait for the last one
        (datetime(2026, 3, 9, 9, 0, tzinfo=UTC), "UTC", 0, None),
        (datetime(2026, 3, 9, 10, 0, tzinfo=UTC), "UTC", 2, None),  # both sent
        # New York is 5 h behind: 10:00 UTC is 05:00 there (night); 15:00 UTC is 10:00
        (datetime(2026, 3, 7, 10, 0, tzinfo=UTC), "America/New_York", 0, None),
        (datetime(2026, 3, 7, 15, 0, tzinfo=UTC), "America/New_York", 0, 1),
        # Kolkata is 5:30 ahead: 04:30 UTC is 10:00 there
        (datetime(2026, 3, 7, 4, 30, tzinfo=UTC), "Asia/Kolkata", 0, 1),
        (datetime(2026, 3, 9, 23, 0, tzinfo=UTC), "UTC", 1, None),  # tour has closed
    ],
)
def test_reminder_due(now: datetime, tz: str, sent: int, expected: int | None) -> None:
    assert (
        reminder_due(
            now=now,
            opens_at=OPENED,
            closes_at=CLOSES_AT,
            tz_name=tz,
            reminders_sent=sent,
        )
        == expected
    )


def test_no_reminder_on_the_launch_day() -> None:
    # A tour launched on Saturday closing Monday: the "2 days before" reminder would be today.
    opened = datetime(2026, 3, 7, 9, 0, tzinfo=UTC)

    def due(now: datetime) -> int | None:
        return reminder_due(
            now=now,
            opens_at=opened,
            closes_at=CLOSES_AT,
            tz_name="UTC",
            reminders_sent=0,
        )

    assert due(datetime(2026, 3, 7, 12, tzinfo=UTC)) is None
    assert due(datetime(2026, 3, 9, 12, tzinfo=UTC)) == 2


@pytest.mark.parametrize(
    ("last", "now", "allowed"),
    [
        (None, OPENED.replace(hour=12), False),  # hours after the invitations went out
        (None, OPENED.replace(day=3), True),  # a day after launch
        (OPENED.replace(day=3), OPENED.replace(day=3, hour=20), False),  # the same day again
        (OPENED.replace(day=3), OPENED.replace(day=4), True),  # 24 hours later
    ],
)
def test_manual_reminder_once_a_day(last: datetime | None, now: datetime, allowed: bool) -> None:
    assert manual_reminder_allowed(last, OPENED, now) is allowed


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (OPENED, 7),  # Monday to next Monday
        (datetime(2026, 3, 8, 23, 30, tzinfo=UTC), 0),  # already Monday 00:30 in Berlin
        (datetime(2026, 3, 9, 12, 0, tzinfo=UTC), 0),  # the last day
        (datetime(2026, 3, 12, 12, 0, tzinfo=UTC), 0),  # after: never negative
    ],
)
def test_days_left(now: datetime, expected: int) -> None:
    assert days_left(now, CLOSE_DATE, "Europe/Berlin") == expected


def test_the_last_day_reminder_reaches_people_west_of_the_leader() -> None:
    # A leader in Tokyo closes on Monday 9 March: 23:59 there is 07:59 in Los Angeles, before
    # anyone's 10:00. The LA member's last day is Sunday, and that is when they are reminded.
    closes_at = close_instant(date(2026, 3, 9), "Asia/Tokyo")
    reminded = [
        number
        for hour in range(24 * 9)
        if (
            number := reminder_due(
                now=OPENED + timedelta(hours=hour),
                opens_at=OPENED,
                closes_at=closes_at,
                tz_name="America/Los_Angeles",
                reminders_sent=0,
            )
        )
        == 2
    ]
    assert reminded, "the last-day reminder never became due"


@pytest.mark.parametrize(
    ("others", "minimum", "anonymous", "closed", "enough", "shown"),
    [
        # the leader + 2 members answered: 2 others, below 3 — nothing, even once closed
        (2, 3, True, True, False, False),
        # the leader + 3 members: 3 others — themes once the anonymous tour has closed, but
        # no verbatim words below the quote floor (5 by default: next test)
        (3, 3, True, True, True, False),
        # 5 others: words shown too
        (5, 3, True, True, True, True),
        # enough others, but an anonymous tour still open: still nothing
        (3, 3, True, False, True, False),
        # a named tour shows answers while open, once enough others answered
        (3, 3, False, False, True, True),
        # ...and not before
        (2, 3, False, False, False, False),
        # the leader's own threshold, not the floor
        (4, 5, True, True, False, False),
        # a leader's threshold above the quote floor governs words too
        (6, 6, True, True, True, True),
        # nobody else answered
        (0, 3, True, True, False, False),
    ],
)
def test_visibility_counts_only_people_other_than_the_readers(
    others: int,
    minimum: int,
    anonymous: bool,
    closed: bool,
    enough: bool,
    shown: bool,
) -> None:
    visibility = Visibility(
        others=others, min_responses=minimum, anonymous=anonymous, closed=closed
    )
    assert (visibility.enough, visibility.show_answers) == (enough, shown)


@pytest.mark.parametrize(
    ("others", "invited", "quote_floor", "anonymous", "themes", "words"),
    [
        # 4 answers of 10 asked: themes, and no quote by default
        (4, 10, QUOTE_MIN_RESPONSES, True, True, False),
        # 5 answers: quotes too
        (5, 10, QUOTE_MIN_RESPONSES, True, True, True),
        # 4 of 4 asked: too small a tour to show anything from what people wrote
        (4, 4, QUOTE_MIN_RESPONSES, True, False, False),
        # 5 asked is enough for themes at 3 answers
        (3, 5, QUOTE_MIN_RESPONSES, True, True, False),
        # the floor is a setting: at 3, 3 answers show quotes
        (3, 5, 3, True, True, True),
        # a floor set below 3 (a database edited by hand) still counts as 3
        (2, 10, 1, True, False, False),
        # a named tour names its authors: the anonymity floors do not apply
        (3, 3, QUOTE_MIN_RESPONSES, False, True, True),
    ],
)
def test_themes_need_five_asked_and_words_need_the_quote_floor(
    others: int, invited: int, quote_floor: int, anonymous: bool, themes: bool, words: bool
) -> None:
    visibility = Visibility(
        others=others,
        min_responses=3,
        anonymous=anonymous,
        closed=True,
        invited=invited,
        quote_min_responses=quote_floor,
    )
    assert (visibility.show_themes, visibility.show_answers) == (themes, words)
