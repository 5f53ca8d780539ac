"""Every button and modal the bot handles, with the ids it carries filled in from a seeded team:
who would press it there, and what rides in its value or private_metadata. Built from the enums in
bot/blocks/*.py, so a new action or view id shows up in `uncovered()` until it is listed here
(or in NO_ROW_IDS, with the reason it names no stored row)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.blocks.checkins import CheckinAction, CheckinBlock, CheckinView
from bot.blocks.findings import FindingsAction, FindingsView
from bot.blocks.initiatives import InitiativeAction, InitiativeBlock, InitiativeView
from bot.blocks.moderation import ModerationAction, ModerationBlock, ModerationView
from bot.blocks.outcomes import OutcomeAction, OutcomeBlock, OutcomeView
from bot.blocks.tour import TourAction, TourView
from bot.flows.checkins import CheckinStatus
from bot.sandbox.slack_requests import SignedSlack
from tests.reliability.helpers import Seeded, action_payload, as_team, view_payload

Json = dict[str, Any]

ACTION_ENUMS: tuple[type[StrEnum], ...] = (
    TourAction,
    FindingsAction,
    OutcomeAction,
    InitiativeAction,
    CheckinAction,
    ModerationAction,
)
VIEW_ENUMS: tuple[type[StrEnum], ...] = (
    TourView,
    FindingsView,
    OutcomeView,
    InitiativeView,
    CheckinView,
    ModerationView,
)

# Ids that carry no stored row's id, so there is nothing of another team's to carry. (A list
# of pairs, not a dict: StrEnum members equal their values, and FindingsAction.REVIEW ==
# FindingsView.REVIEW == "findings.review".)
NO_ROW_IDS: list[tuple[StrEnum, str]] = [
    (FindingsAction.POST, "not a button: the preview modal's submit (FindingsView.PREVIEW)"),
    (CheckinAction.LOOP_OPT_OUT, "value is empty; it records the clicker's own opt-out"),
    (TourView.LAUNCH, "starts a new tour in the submitter's own team; metadata is a time zone"),
    (TourView.NOTICE, "an information modal with no submit button and no listener"),
    (FindingsView.ANSWERS, "a read-only page of answers with no submit button and no listener"),
    (ModerationView.DONE, "an information modal with no submit button and no listener"),
]


@dataclass(frozen=True)
class Case:
    """One request a person could make: a click (`value`) or a submission (`metadata`)."""

    member: StrEnum
    user: str  # who holds the right to this in the seeded team (leader, owner, author)
    action_id: str = ""
    value: str | None = None
    metadata: str = ""
    values: Json = field(default_factory=dict)

    @property
    def label(self) -> str:
        carried = self.value if self.value is not None else self.metadata
        return f"{self.member.value}[{carried}]"


def _text(block: str, value: str) -> Json:
    return {block: {f"{block}.input": {"type": "plain_text_input", "value": value}}}


def _select(block: str, value: str, kind: str = "static_select") -> Json:
    return {block: {f"{block}.input": {"type": kind, "selected_option": {"value": value}}}}


def _date(block: str, day: str) -> Json:
    return {block: {f"{block}.input": {"type": "datepicker", "selected_date": day}}}


def _user(block: str, user: str) -> Json:
    return {block: {f"{block}.input": {"type": "users_select", "selected_user": user}}}


def action_cases(s: Seeded) -> list[Case]:
    """Each button with the seeded team's ids, pressed by the person it belongs to."""
    tours = [str(s.open_tour), str(s.closed_tour)]
    cases: list[Case] = []
    member: StrEnum
    for member in (TourAction.ANSWER_FORM, TourAction.EDIT, TourAction.ADD_MORE):
        cases += [Case(member, "UALICE", member.value, tour) for tour in tours]
    for member in (TourAction.REMIND, TourAction.CLOSE, TourAction.EXPORT):
        cases += [Case(member, "ULEAD", member.value, tour) for tour in tours]
    cases += [
        Case(FindingsAction.REVIEW, "ULEAD", FindingsAction.REVIEW.value, str(s.closed_tour)),
        Case(
            FindingsAction.SEE_ANSWERS,
            "ULEAD",
            FindingsAction.SEE_ANSWERS.value,
            f"{s.closed_tour}:0",
        ),
        Case(
            FindingsAction.ANSWERS_PAGE,
            "ULEAD",
            FindingsAction.ANSWERS_PAGE.value,
            f"{s.closed_tour}:1",
        ),
        Case(ModerationAction.OPEN, "ULEAD", ModerationAction.OPEN.value, f"{s.closed_tour}:0"),
        Case(FindingsAction.SHARE_INSIGHT, "UBOB", FindingsAction.SHARE_INSIGHT.value, str(s.poll)),
        Case(FindingsAction.CLOSE_POLL, "ULEAD", FindingsAction.CLOSE_POLL.value, str(s.poll)),
    ]
    for member in (FindingsAction.VOTE, FindingsAction.UNVOTE):
        cases += [
            Case(member, "UBOB", member.value, f"{s.poll}:{theme}")
            for theme in (s.decided_theme, s.open_theme)
        ]
    for member in (OutcomeAction.SET_OUTCOMES, OutcomeAction.REVIEW, OutcomeAction.LETTING_GO):
        cases.append(Case(member, "ULEAD", member.value, str(s.closed_tour)))
    cases += [
        Case(
            OutcomeAction.PROPOSE,
            "UALICE",
            OutcomeAction.PROPOSE.value,
            f"{s.closed_tour}:{s.open_theme}",
        ),
        Case(
            OutcomeAction.EDIT_PROPOSAL,
            "UALICE",
            OutcomeAction.EDIT_PROPOSAL.value,
            str(s.proposal),
        ),
        Case(
            OutcomeAction.PICK_THEME,
            "UALICE",
            f"{OutcomeAction.PICK_THEME.value}.{s.open_theme}",
            json.dumps({"tour": s.closed_tour, "theme": s.open_theme, "text": "hijacked proposal"}),
        ),
        Case(InitiativeAction.PROPOSE, "UBOB", InitiativeAction.PROPOSE.value, str(s.closed_tour)),
        Case(InitiativeAction.PROPOSE, "UBOB", InitiativeAction.PROPOSE.value, ""),
        Case(InitiativeAction.BACK, "UALICE", InitiativeAction.BACK.value, str(s.proposed)),
        Case(InitiativeAction.COMMIT, "ULEAD", InitiativeAction.COMMIT.value, str(s.proposed)),
        Case(
            InitiativeAction.COMMIT,
            "ULEAD",
            f"{InitiativeAction.COMMIT.value}.{s.proposed}",
            str(s.proposed),
        ),
        Case(InitiativeAction.ACCEPT, "UALICE", InitiativeAction.ACCEPT.value, str(s.offered)),
        Case(InitiativeAction.DECLINE, "UALICE", InitiativeAction.DECLINE.value, str(s.offered)),
        Case(
            InitiativeAction.WITHDRAW,
            "ULEAD",
            f"{InitiativeAction.WITHDRAW.value}.{s.offered}",
            str(s.offered),
        ),
        Case(InitiativeAction.LOG_WIN, "UBOB", InitiativeAction.LOG_WIN.value, str(s.accepted)),
        Case(CheckinAction.SNOOZE, "UBOB", CheckinAction.SNOOZE.value, str(s.checkin)),
        Case(
            CheckinAction.DIGEST_SETTINGS,
            "ULEAD",
            CheckinAction.DIGEST_SETTINGS.value,
            str(s.closed_tour),
        ),
    ]
    cases += [
        Case(CheckinAction.STATUS, "UBOB", f"{CheckinAction.STATUS.value}.{status}", str(s.checkin))
        for status in CheckinStatus
    ]
    for member in (
        CheckinAction.LEAVE,
        CheckinAction.EXTEND,
        CheckinAction.FINISH,
        CheckinAction.STOP,
    ):
        cases.append(Case(member, "UBOB", member.value, str(s.accepted)))
    return cases


def view_cases(s: Seeded) -> list[Case]:
    """Each modal's submission with the seeded team's ids in its private_metadata and inputs,
    filled in so that only the ownership of those ids could stop it."""
    meta = json.dumps
    commit_outcome = {
        **_text(f"outcome.{s.open_theme}.statement", "Sales sees the roadmap monthly"),
        **_text(f"outcome.{s.open_theme}.partner", "Sales"),
        **_text(f"outcome.{s.open_theme}.measure", "A review every month"),
        **_date(f"outcome.{s.open_theme}.target", "2026-09-30"),
    }
    return [
        Case(
            TourView.ANSWERS,
            "UALICE",
            metadata=meta({"tour_id": s.open_tour, "mode": "edit"}),
            values={**_text("answer.1", "overwritten"), **_text("answer.2", "")},
        ),
        Case(
            TourView.ANSWERS,
            "UALICE",
            metadata=meta({"tour_id": s.open_tour, "mode": "add"}),
            values=_text("answer.2", "added"),
        ),
        Case(
            FindingsView.REVIEW,
            "ULEAD",
            metadata=meta({"tour_id": s.closed_tour}),
            values={**_text("theme.new.label", "Hijacked theme"), **_text("reflect.next", "x")},
        ),
        Case(
            ModerationView.HIDE,
            "ULEAD",
            metadata=meta({"tour_id": s.closed_tour}),
            values={
                **_select(ModerationBlock.ANSWER, "0" * 32),
                **_text(ModerationBlock.REASON, "It names someone."),
            },
        ),
        Case(
            FindingsView.PREVIEW,
            "ULEAD",
            metadata=meta({"tour_id": s.closed_tour}),
            values={**_text("poll.budget", "3"), **_text("poll.max_per_theme", "2")},
        ),
        Case(
            FindingsView.INSIGHT,
            "UBOB",
            metadata=meta({"poll_id": s.poll}),
            values={
                **_text("insight.text", "An insight from elsewhere"),
                **_select("insight.theme", str(s.decided_theme)),
            },
        ),
        Case(
            OutcomeView.SETUP,
            "ULEAD",
            metadata=meta({"tour_id": s.closed_tour}),
            values={
                OutcomeBlock.SHAPERS: {
                    f"{OutcomeBlock.SHAPERS}.input": {
                        "type": "multi_users_select",
                        "selected_users": ["UBOB"],
                    }
                },
                OutcomeBlock.THEMES: {
                    f"{OutcomeBlock.THEMES}.input": {
                        "type": "checkboxes",
                        "selected_options": [{"value": str(s.open_theme)}],
                    }
                },
            },
        ),
        Case(
            OutcomeView.PROPOSE,
            "UALICE",
            metadata=meta({"tour_id": s.closed_tour, "theme_id": s.open_theme}),
            values={
                **_text(OutcomeBlock.PROPOSAL_STATEMENT, "A second proposal"),
                **_text(OutcomeBlock.PROPOSAL_MEASURE, "Counted weekly"),
            },
        ),
        Case(
            OutcomeView.PROPOSE,
            "UALICE",
            metadata=meta(
                {"tour_id": s.closed_tour, "theme_id": s.open_theme, "proposal_id": s.proposal}
            ),
            values={
                **_text(OutcomeBlock.PROPOSAL_STATEMENT, "Rewritten proposal"),
                **_text(OutcomeBlock.PROPOSAL_MEASURE, "Rewritten measure"),
            },
        ),
        Case(
            OutcomeView.COMMIT,
            "ULEAD",
            metadata=meta({"tour_id": s.closed_tour}),
            values=commit_outcome,
        ),
        Case(
            OutcomeView.LETTING_GO,
            "ULEAD",
            metadata=meta({"tour_id": s.closed_tour}),
            values={**_text(OutcomeBlock.LETGO_MATTER, "rewritten")},
        ),
        Case(
            InitiativeView.PROPOSE,
            "UBOB",
            metadata=meta({"outcomes": [s.outcome]}),
            values={
                **_select(InitiativeBlock.OUTCOME, str(s.outcome)),
                **_text(InitiativeBlock.TITLE, "Hijacked initiative"),
                **_text(InitiativeBlock.IMPLICATIONS, "Partners hear first"),
                **_text(InitiativeBlock.TRACKING, "Escalations"),
            },
        ),
        Case(
            InitiativeView.COMMIT,
            "ULEAD",
            metadata=meta({"initiative_id": s.proposed}),
            values={
                **_user(InitiativeBlock.OWNER, "UBOB"),
                **_date(InitiativeBlock.DUE, "2026-05-29"),
                **_select(InitiativeBlock.CADENCE, "1", "radio_buttons"),
            },
        ),
        Case(
            InitiativeView.DECLINE,
            "UALICE",
            metadata=meta({"initiative_id": s.offered}),
            values=_text(InitiativeBlock.REASON, "Not mine to do"),
        ),
        Case(
            InitiativeView.WIN,
            "UBOB",
            metadata="",
            values={
                **_select(InitiativeBlock.WIN_FOR, str(s.accepted)),
                **_text(InitiativeBlock.WIN_TEXT, "A win from elsewhere"),
            },
        ),
        Case(
            CheckinView.ANSWER,
            "UBOB",
            metadata=meta({"checkin_id": s.checkin}),
            values={
                **_select(CheckinBlock.STATUS, CheckinStatus.DONE.value, "radio_buttons"),
                **_select(CheckinBlock.PROGRESS, "100"),
                **_text(CheckinBlock.NOTE, "Finished from elsewhere"),
            },
        ),
        Case(
            CheckinView.LEAVE,
            "UBOB",
            metadata=meta({"initiative_id": s.accepted}),
            values=_date(CheckinBlock.LEAVE_UNTIL, "2026-03-30"),
        ),
        Case(
            CheckinView.EXTEND,
            "UBOB",
            metadata=meta({"initiative_id": s.accepted}),
            values=_date(CheckinBlock.NEW_DUE, "2026-07-31"),
        ),
        Case(
            CheckinView.DIGEST,
            "ULEAD",
            metadata=meta({"tour_id": s.closed_tour}),
            values={
                **_select(CheckinBlock.DIGEST_DAY, "2"),
                **_select(CheckinBlock.DIGEST_TIME, "600"),
            },
        ),
    ]


def members(enums: tuple[type[StrEnum], ...]) -> Iterator[StrEnum]:
    for enum in enums:
        yield from enum


def uncovered(s: Seeded) -> list[str]:
    """Action and view ids neither exercised by the cases nor excused in NO_ROW_IDS."""
    seen = {_key(case.member) for case in [*action_cases(s), *view_cases(s)]}
    excused = {_key(member) for member, _ in NO_ROW_IDS}
    return [
        f"{type(m).__name__}.{m.name}"
        for m in members(ACTION_ENUMS + VIEW_ENUMS)
        if _key(m) not in seen | excused
    ]


def _key(member: StrEnum) -> tuple[str, str]:
    return type(member).__name__, member.value


def click(slack: SignedSlack, case: Case, *, team: str, channel: str) -> Json:
    """The case's button pressed by its user, in `channel`, as team `team`'s Slack sends it."""
    payload = action_payload(slack, case.user, case.action_id, case.value, channel_id=channel)
    return as_team(payload, team)


def submission(slack: SignedSlack, case: Case, *, team: str) -> Json:
    """The case's modal submitted by its user, as team `team`'s Slack sends it."""
    payload = view_payload(
        slack,
        case.user,
        callback_id=case.member.value,
        private_metadata=case.metadata,
        values=case.values,
    )
    return as_team(payload, team)
