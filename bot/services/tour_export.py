"""A tour as its leader may see it, for `/partner export`, the review and the demo: counts,
answers as `Visibility` allows, posted themes with votes, outcomes and the initiatives' chain
back to each theme."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows.review import side_name, unthemed_count
from bot.flows.tour import (
    Visibility,
)
from bot.models import (
    Checkin,
    Initiative,
    InitiativeBacking,
    Outcome,
    QuickWin,
    Theme,
    ThemeSource,
    Tour,
)
from bot.services.tour import visibility_of
from bot.store import findings as findings_store
from bot.store import tours as store

# The last row of the "themes" CSV table: the answers in none of the posted themes.
UNTHEMED_ROW = "(fit no theme)"


INITIATIVE_COLUMNS = (
    "theme",
    "outcome",
    "partner",
    "measure",
    "initiative",
    "status",
    "owner_id",
    "due_date",
    "cadence_weeks",
    "implications",
    "tracking",
    "first_quick_win",
    "proposer_id",
    "backers",
    "progress",
)


@dataclass(frozen=True)
class TourExport:
    """A tour as its leader may see it: counts always; what people wrote only as `visibility`
    allows; in an anonymous tour, answers without any respondent."""

    tour: Tour
    participants: int
    respondents: int
    visibility: Visibility
    questions: list[tuple[str, list[str]]]
    named: list[tuple[str, list[tuple[str, str]]]] | None
    # Step 2, once posted: (label, summary, kind, votes, answers) per final theme, how many
    # answers fit none of them, and insights.
    themes: list[tuple[str, str, str, int, int]] = field(default_factory=list)
    unthemed: int = 0
    insights: list[tuple[str | None, str]] = field(default_factory=list)
    # Steps 3 and 4: (theme, outcome, partner, measure, target date) and the initiatives chain.
    outcomes: list[tuple[str, str, str, str, date]] = field(default_factory=list)
    initiatives: list[ChainLink] = field(default_factory=list)
    # Step 4's follow-through: each check-in (status, progress, the owner's note) and quick win.
    checkins: list[CheckinRecord] = field(default_factory=list)
    wins: list[WinRecord] = field(default_factory=list)

    @property
    def answers_visible(self) -> bool:
        return self.visibility.show_answers

    def record(self) -> dict[str, Any]:
        tour = self.tour
        record: dict[str, Any] = {
            "id": tour.id,
            "team_id": tour.team_id,
            "title": tour.title,
            "leader_id": tour.leader_id,
            "channel_id": tour.channel_id,
            "anonymous": tour.anonymous,
            "min_responses": tour.min_responses,
            "status": tour.status.value,
            "opens_at": tour.opens_at.isoformat(),
            "closes_at": tour.closes_at.isoformat(),
            "participants": self.participants,
            "respondents": self.respondents,
            "answers_visible": self.answers_visible,
        }
        if self.named is not None:
            record["questions"] = [
                {"question": q, "answers": [{"user_id": u, "text": t} for u, t in answers]}
                for q, answers in self.named
            ]
        else:
            record["questions"] = [
                {"question": q, "answers": answers if self.answers_visible else []}
                for q, answers in self.questions
            ]
        record["themes"] = [
            {
                "label": label,
                "summary": summary,
                "kind": kind,
                "side": side_name(kind),
                "answers": answers,
                "votes": votes,
            }
            for label, summary, kind, votes, answers in self.themes
        ]
        if self.themes:
            record["unthemed_answers"] = self.unthemed
        record["insights"] = [{"theme": theme, "text": text} for theme, text in self.insights]
        record["outcomes"] = [
            {
                "theme": theme,
                "outcome": statement,
                "partner": partner,
                "measure": measure,
                "target_date": target.isoformat(),
            }
            for theme, statement, partner, measure, target in self.outcomes
        ]
        record["initiatives"] = [link.record() for link in self.initiatives]
        record["checkins"] = [checkin.record() for checkin in self.checkins]
        record["quick_wins"] = [win.record() for win in self.wins]
        return record

    def rows(self, table: str = "answers") -> Sequence[Sequence[object]]:
        """CSV rows. "answers": question, respondent (named tours only), answer.
        "initiatives": each initiative with its chain back to the theme. "themes": each
        posted theme with its side, answers and votes, then a row counting the answers in
        none of them. "checkins": each check-in with its status, progress and note. "wins":
        each quick win with its initiative, theme and author."""
        if table == "themes":
            rows: list[Sequence[object]] = [("label", "side", "summary", "answers", "votes")]
            rows += [
                (label, side_name(kind), summary, answers, votes)
                for label, summary, kind, votes, answers in self.themes
            ]
            if self.themes:
                rows.append((UNTHEMED_ROW, "", "", self.unthemed, ""))
            return rows
        if table == "initiatives":
            return [list(INITIATIVE_COLUMNS)] + [
                [link.record()[column] for column in INITIATIVE_COLUMNS]
                for link in self.initiatives
            ]
        if table == "checkins":
            columns = CHECKIN_COLUMNS
            return [list(columns)] + [
                [checkin.record()[column] for column in columns] for checkin in self.checkins
            ]
        if table == "wins":
            columns = WIN_COLUMNS
            return [list(columns)] + [
                [win.record()[column] for column in columns] for win in self.wins
            ]
        if self.named is not None:
            header: tuple[str, ...] = ("question", "user_id", "answer")
            return [header] + [(q, u, t) for q, answers in self.named for u, t in answers]
        return [("question", "answer")] + [
            (q, text) for q, answers in self.questions for text in answers
        ]


async def export_tour(
    session: AsyncSession, *, tour: Tour, reader_id: str | None = None
) -> TourExport:
    """The tour as its leader (and `reader_id`, when someone else asks) may see it: what people
    wrote only as `Visibility` allows (bot/flows/tour.py)."""
    tally = await store.counts(session, tour_id=tour.id)
    visibility = await visibility_of(session, tour=tour, reader_id=reader_id)
    visible = visibility.show_answers
    by_question: dict[int, tuple[str, list[tuple[str, str]]]] = {}
    for question in await store.questions_of(session, tour_id=tour.id):
        by_question[question.position] = (question.text, [])
    if visible:
        for position, _, respondent, text in await store.answers_for_export(
            session, tour_id=tour.id
        ):
            by_question[position][1].append((respondent, text))
    ordered = [by_question[position] for position in sorted(by_question)]
    questions = [(q, [text for _, text in answers]) for q, answers in ordered]
    named = ordered if (visible and not tour.anonymous) else None
    # Posted themes and insights come from the answers: they stay behind the same rule
    # (themes from `min_responses`; insights are people's words, like the answers).
    themes, insights = await _findings(session, tour=tour) if visibility.show_themes else ([], [])
    if not visible:
        insights = []
    answer_total = await findings_store.count_answers(session, tour_id=tour.id)
    committed = await session.execute(
        select(Theme.label, Outcome)
        .join(Outcome, Outcome.theme_id == Theme.id)
        .where(Theme.tour_id == tour.id)
        .order_by(Theme.position)
    )
    return TourExport(
        tour=tour,
        participants=tally.participants,
        respondents=tally.respondents,
        visibility=visibility,
        questions=questions,
        named=[(q, list(a)) for q, a in named] if named is not None else None,
        themes=themes,
        unthemed=unthemed_count(answer_total, [answers for *_, answers in themes]),
        insights=insights,
        outcomes=[
            (label, o.statement, o.partner, o.measure, o.target_date)
            for label, o in committed.all()
        ],
        initiatives=list(await chain(session, tour=tour)),
        checkins=await checkins_for_export(session, tour_id=tour.id),
        wins=await wins_for_export(session, tour_id=tour.id),
    )


async def _findings(
    session: AsyncSession, *, tour: Tour
) -> tuple[list[tuple[str, str, str, int, int]], list[tuple[str | None, str]]]:
    """The posted themes with their vote totals, and the team's insights."""
    poll = await findings_store.poll_of_tour(session, tour_id=tour.id)
    if poll is None:
        return [], []
    themes = await findings_store.themes_of(session, tour_id=tour.id, source=ThemeSource.FINAL)
    totals, _ = await findings_store.poll_totals(session, poll_id=poll.id)
    labels = {theme.id: theme.label for theme in themes}
    return (
        [(t.label, t.summary, t.kind, totals.get(t.id, 0), t.answer_count) for t in themes],
        [
            (labels.get(theme_id) if theme_id else None, text)
            for theme_id, text in await findings_store.insights_of(session, tour_id=tour.id)
        ],
    )


@dataclass(frozen=True)
class ChainLink:
    """One initiative with everything it answers, for the export: theme → outcome → it."""

    theme: str
    outcome: str
    partner: str
    measure: str
    initiative: str
    status: str
    owner_id: str | None
    due_date: date | None
    cadence_weeks: int
    implications: str
    tracking: str
    first_quick_win: str | None
    proposer_id: str
    backers: int
    progress: int

    def record(self) -> dict[str, object]:
        return {
            "theme": self.theme,
            "outcome": self.outcome,
            "partner": self.partner,
            "measure": self.measure,
            "initiative": self.initiative,
            "status": self.status,
            "owner_id": self.owner_id,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "cadence_weeks": self.cadence_weeks,
            "implications": self.implications,
            "tracking": self.tracking,
            "first_quick_win": self.first_quick_win,
            "proposer_id": self.proposer_id,
            "backers": self.backers,
            "progress": self.progress,
        }


async def chain(session: AsyncSession, *, tour: Tour) -> Sequence[ChainLink]:
    backers = (
        select(InitiativeBacking.initiative_id, func.count().label("backers"))
        .group_by(InitiativeBacking.initiative_id)
        .subquery()
    )
    rows = await session.execute(
        select(Theme.label, Outcome, Initiative, func.coalesce(backers.c.backers, 0))
        .join(Outcome, Outcome.theme_id == Theme.id)
        .join(Initiative, Initiative.outcome_id == Outcome.id)
        .outerjoin(backers, backers.c.initiative_id == Initiative.id)
        .where(Theme.tour_id == tour.id)
        .order_by(Theme.position, Initiative.id)
    )
    return [
        ChainLink(
            theme=label,
            outcome=outcome.statement,
            partner=outcome.partner,
            measure=outcome.measure,
            initiative=initiative.title,
            status=initiative.status.value,
            owner_id=initiative.owner_id,
            due_date=initiative.due_date,
            cadence_weeks=initiative.cadence_weeks,
            implications=initiative.implications,
            tracking=initiative.tracking,
            first_quick_win=initiative.first_quick_win,
            proposer_id=initiative.proposer_id,
            backers=int(count),
            progress=initiative.progress,
        )
        for label, outcome, initiative, count in rows.all()
    ]


# --- check-ins and quick wins, for the export -------------------------------------------------


@dataclass(frozen=True)
class CheckinRecord:
    """One period's check-in of one initiative, for the export. Owners answer as themselves
    (their status, progress and note go to the team's weekly update), so it names them."""

    initiative: str
    owner_id: str | None
    period: date
    state: str
    status: str | None
    progress: int | None
    note: str | None
    answered_at: datetime | None

    def record(self) -> dict[str, object]:
        return {
            "initiative": self.initiative,
            "owner_id": self.owner_id,
            "period": self.period.isoformat(),
            "state": self.state,
            "status": self.status,
            "progress": self.progress,
            "note": self.note,
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
        }


@dataclass(frozen=True)
class WinRecord:
    """One quick win, for the export: it was posted in the team channel with its author."""

    initiative: str
    theme: str
    author_id: str
    text: str
    logged_at: datetime

    def record(self) -> dict[str, object]:
        return {
            "initiative": self.initiative,
            "theme": self.theme,
            "author_id": self.author_id,
            "text": self.text,
            "logged_at": self.logged_at.isoformat(),
        }


CHECKIN_COLUMNS = tuple(column.name for column in fields(CheckinRecord))
WIN_COLUMNS = tuple(column.name for column in fields(WinRecord))


async def checkins_for_export(session: AsyncSession, *, tour_id: int) -> list[CheckinRecord]:
    """Every check-in of the tour's initiatives, by initiative, then period."""
    rows = await session.execute(
        select(Checkin, Initiative.title, Initiative.owner_id)
        .join(Initiative, Initiative.id == Checkin.initiative_id)
        .where(Initiative.tour_id == tour_id)
        .order_by(Initiative.id, Checkin.period)
    )
    return [
        CheckinRecord(
            initiative=title,
            owner_id=owner_id,
            period=checkin.period,
            state=checkin.state.value,
            status=checkin.status,
            progress=checkin.progress,
            note=checkin.note,
            answered_at=checkin.answered_at,
        )
        for checkin, title, owner_id in rows.all()
    ]


async def wins_for_export(session: AsyncSession, *, tour_id: int) -> list[WinRecord]:
    """Every quick win logged for the tour's initiatives, oldest first."""
    rows = await session.execute(
        select(QuickWin, Initiative.title, Theme.label)
        .join(Initiative, Initiative.id == QuickWin.initiative_id)
        .join(Outcome, Outcome.id == Initiative.outcome_id)
        .join(Theme, Theme.id == Outcome.theme_id)
        .where(Initiative.tour_id == tour_id)
        .order_by(QuickWin.logged_at, QuickWin.id)
    )
    return [
        WinRecord(
            initiative=title,
            theme=label,
            author_id=win.author_id,
            text=win.text,
            logged_at=win.logged_at,
        )
        for win, title, label in rows.all()
    ]
