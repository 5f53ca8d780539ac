"""The end of `partnerbot demo`: what the four steps left in the database, read back the way the
export reads it — themes and votes, outcomes, initiatives with owners, the week's check-ins and
quick wins — and how to export the tour yourself.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.checkins import STATUS_EMOJI, STATUS_LABELS
from bot.flows.checkins import CheckinStatus
from bot.flows.review import Side, side_name
from bot.models import Checkin, Initiative, QuickWin, Tour
from bot.sandbox.demo_stage import DemoFailure
from bot.sandbox.transcript import wrap
from bot.services.tour_export import TourExport, export_tour
from bot.store.tours import list_tours


@dataclass(frozen=True)
class CheckinResult:
    initiative: str
    owner: str
    state: str
    status: str | None
    progress: int | None


@dataclass(frozen=True)
class Summary:
    export: TourExport
    checkins: list[CheckinResult]
    wins: list[tuple[str, str]]  # (who, what)


async def read_summary(session: AsyncSession, *, names: Mapping[str, str]) -> Summary:
    """The demo's tour as its leader may see it, plus the check-ins and wins of its week."""
    tours = await list_tours(session)
    if len(tours) != 1:
        raise DemoFailure(f"the demo's database holds {len(tours)} tours, not one")
    tour: Tour = tours[0]
    export = await export_tour(session, tour=tour)
    rows = await session.execute(
        select(Initiative.title, Initiative.owner_id, Checkin)
        .join(Checkin, Checkin.initiative_id == Initiative.id)
        .where(Initiative.tour_id == tour.id)
        .order_by(Checkin.period, Initiative.id)
    )
    checkins = [
        CheckinResult(
            initiative=title,
            owner=names.get(owner or "", owner or "nobody"),
            state=checkin.state.value,
            status=checkin.status,
            progress=checkin.progress,
        )
        for title, owner, checkin in rows.all()
    ]
    wins = await session.execute(
        select(QuickWin.author_id, QuickWin.text)
        .join(Initiative, Initiative.id == QuickWin.initiative_id)
        .where(Initiative.tour_id == tour.id)
        .order_by(QuickWin.logged_at, QuickWin.id)
    )
    return Summary(
        export=export,
        checkins=checkins,
        wins=[(names.get(author, author), text) for author, text in wins.all()],
    )


def summary_lines(
    summary: Summary,
    *,
    names: Mapping[str, str],
    ways: Mapping[str, str],
    database: Path,
    width: int = 88,
) -> list[str]:
    """The summary as wrapped lines: each list item hangs under its bullet."""
    export = summary.export
    tour = export.tour
    how = "anonymously" if tour.anonymous else "by name"
    lines = wrap(
        f"“{tour.title}” (tour {tour.id}): {export.respondents} of {export.participants} "
        f"answered, {how}; closed {_day(tour.close_date)}.",
        width,
    )
    lines += ["", "Themes and votes"]
    ranked = sorted(export.themes, key=lambda theme: -theme[3])
    for position, (label, _, kind, votes, answers) in enumerate(ranked, start=1):
        about = f"{side_name(kind)}, {answers} answers" if kind != Side.OWN else side_name(kind)
        lines += _item(f"{position}. {label} — {_votes(votes)} ({about})", width)
    if export.themes:
        lines += _item(f"{export.unthemed} answers fit none of these themes.", width)
    lines += ["", "Outcomes"]
    for theme, statement, partner, measure, target in export.outcomes:
        said = f"{theme} → {statement}. For {partner}, by {_day(target)}. Measure: {measure}"
        lines += _item(f"• {said}", width)
    lines += ["", "Initiatives"]
    for link in export.initiatives:
        owner = names.get(link.owner_id or "", "no owner yet")
        due = f", due {_day(link.due_date)}" if link.due_date else ""
        lines += _item(f"• {link.initiative} — {owner}, {link.status}{due}", width)
    lines += ["", "Check-ins"]
    for result in summary.checkins:
        how = f", answered {ways[result.initiative]}" if result.initiative in ways else ""
        lines += _item(f"• {result.initiative} — {result.owner}: {_checkin(result)}{how}", width)
    lines += ["", "Quick wins in the weekly update"]
    wins = [f"• {who}: {what}" for who, what in summary.wins] or ["(none)"]
    for win in wins:
        lines += _item(win, width)
    return [*lines, "", *export_hint(tour.id, database, width)]


def _item(text: str, width: int) -> list[str]:
    return wrap(text, width, prefix="  ")


def export_hint(tour_id: int, database: Path, width: int = 88) -> list[str]:
    """Where the demo's database is, and the exact command that exports its tour."""
    url = f"sqlite:///{database}"
    return [
        *wrap(
            f"The demo's database is kept at {database}. Export the tour as its leader may:", width
        ),
        f"  DATABASE_URL={shlex.quote(url)} {partnerbot_command()} export {tour_id}",
    ]


def partnerbot_command() -> str:
    """`partnerbot` as this Python installed it (`.venv/bin/partnerbot` after `make demo`)."""
    script = Path(sys.executable).parent / "partnerbot"
    if not script.exists():
        return f"{shlex.quote(sys.executable)} -m bot"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def _checkin(result: CheckinResult) -> str:
    if result.status is None:
        return result.state
    status = CheckinStatus(result.status)
    return f"{STATUS_EMOJI[status]} {STATUS_LABELS[status]}, {result.progress or 0}%"


def _votes(count: int) -> str:
    return f"{count} vote" if count == 1 else f"{count} votes"


def _day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"
