"""Step 2 as units of work: store the suggested themes of a closed tour, the leader's review,
the channel poll with its votes, insights, and the poll's close."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks import Message
from bot.blocks.findings import (
    FindingsAction,
    PollTheme,
    ThemeDraft,
    render_final_ranking,
    render_findings_post,
    render_review_prompt,
)
from bot.flows.poll import Change, PollRules, Refusal, VoteResult, apply_vote, ranking
from bot.flows.review import MAX_FINAL_THEMES, MAX_SUGGESTED_THEMES, by_side, unthemed_count
from bot.flows.working_hours import next_allowed
from bot.models import Poll, PollStatus, Theme, ThemeSource, Tour, TourStatus
from bot.services import home
from bot.services.tour import visibility_of
from bot.store import findings as store
from bot.store import outbox
from bot.store import tours as tour_store
from bot.store.events import click_kind, forget_claims
from bot.themes import AnswerText, SuggestedTheme


async def grouping_input(session: AsyncSession, *, tour: Tour) -> list[AnswerText] | None:
    """The answers to group (hidden ones left out), or None when the leader may not see themes
    (too few answered, or too few asked)."""
    if not (await visibility_of(session, tour=tour)).show_themes:
        return None
    rows = await store.answers_to_group(session, tour_id=tour.id)
    return [
        AnswerText(id=answer_id, question=position, text=text) for answer_id, position, text in rows
    ]


async def store_suggestions(
    session: AsyncSession,
    *,
    tour_id: int,
    suggestions: Sequence[SuggestedTheme] | None,
    now: datetime,
    command: str = "/partner",
) -> bool:
    """Keep the suggested themes (up to `MAX_SUGGESTED_THEMES`, challenges first) and tell the
    leader they can review them. Runs once per tour: False when another tick or the Close
    button got there first."""
    tour = await tour_store.get_tour(session, tour_id=tour_id, lock=True)
    if tour is None or tour.themes_suggested_at is not None:
        return False
    tour.themes_suggested_at = now
    if suggestions is None:  # answers stay hidden: the close notice already said so
        return True
    kept = by_side(
        suggestions[:MAX_SUGGESTED_THEMES],
        [suggestion.kind.value for suggestion in suggestions[:MAX_SUGGESTED_THEMES]],
    )
    for position, suggestion in enumerate(kept):
        await store.add_theme(
            session,
            tour_id=tour.id,
            source=ThemeSource.SUGGESTED,
            position=position,
            label=suggestion.label,
            summary=suggestion.summary,
            kind=suggestion.kind.value,
            answer_count=len(suggestion.answer_ids),
            quote_ids=suggestion.quote_ids,
        )
    tally = await tour_store.counts(session, tour_id=tour.id)
    prompt = render_review_prompt(
        tour_id=tour.id,
        title=tour.title,
        respondents=tally.respondents,
        participants=tally.participants,
        sides=[suggestion.kind.value for suggestion in kept],
    )
    await outbox.enqueue(
        session,
        team_id=tour.team_id,
        key=f"tour:{tour.id}:review-prompt",
        method="chat.postMessage",
        payload={"channel": tour.leader_id, **prompt.to_dict()},
        now=now,
        # The leader's one DM about the close: in their working hours, not at midnight.
        not_before=next_allowed(now, tour.leader_tz, tour.working_hours),
    )
    # The leader's App Home card now offers Review themes.
    await home.queue_leader_home(
        session, tour=tour, key=f"tour:{tour.id}:review-home", now=now, command=command
    )
    return True


async def visible_quotes(
    session: AsyncSession, *, tour: Tour, theme_ids: Sequence[int]
) -> dict[int, list[str]]:
    """Each theme's quotes as the leader may see them: none below the tour's quote floor
    (`Visibility.show_answers`), never a hidden answer. Every quote shown is read here."""
    if not (await visibility_of(session, tour=tour)).show_answers:
        return {theme_id: [] for theme_id in theme_ids}
    return await store.quotes_of(session, theme_ids=theme_ids)


@dataclass(frozen=True)
class Review:
    """What the review modal shows: the leader's final themes if they reviewed before,
    otherwise the suggestions; and their reflections so far."""

    themes: list[Theme]
    drafts: list[ThemeDraft]
    reflections: list[str | None]
    unthemed: int  # answers in none of `themes`


async def review_of(session: AsyncSession, *, tour: Tour) -> Review:
    themes = await store.themes_of(session, tour_id=tour.id, source=ThemeSource.FINAL)
    if not themes:
        suggested = await store.themes_of(session, tour_id=tour.id, source=ThemeSource.SUGGESTED)
        # Stored before sides came first, a tour's suggestions may be in the engine's old order.
        themes = by_side(suggested, [theme.kind for theme in suggested])
    quotes = await visible_quotes(session, tour=tour, theme_ids=[theme.id for theme in themes])
    reflection = await store.reflection_of(session, tour_id=tour.id)
    return Review(
        themes=themes,
        drafts=[
            ThemeDraft(
                label=theme.label,
                summary=theme.summary,
                kind=theme.kind,
                answer_count=theme.answer_count,
                quotes=tuple(quotes[theme.id]),
            )
            for theme in themes
        ],
        reflections=[
            reflection.insights if reflection else None,
            reflection.next_steps if reflection else None,
            reflection.involve if reflection else None,
        ],
        unthemed=unthemed_count(
            await store.count_answers(session, tour_id=tour.id),
            [theme.answer_count for theme in themes],
        ),
    )


@dataclass(frozen=True)
class ReviewedTheme:
    """One theme as the leader left it in the review: `based_on` is the theme it edits (None
    for one they wrote themselves)."""

    label: str
    summary: str
    order: int
    kept: bool
    based_on: int | None


def review_problems(reviewed: Sequence[ReviewedTheme]) -> str | None:
    kept = [theme for theme in reviewed if theme.kept and theme.label.strip()]
    if not kept:
        return "Keep at least one theme, or write your own."
    if len(kept) > MAX_FINAL_THEMES:
        return (
            f"No more than {MAX_FINAL_THEMES} themes: untick one. People act on a few clear "
            "themes, not a long list."
        )
    return None


async def save_review(
    session: AsyncSession,
    *,
    tour: Tour,
    reviewed: Sequence[ReviewedTheme],
    reflections: Sequence[str | None],
) -> None:
    """Replace the final themes with what the leader kept, in their order; quotes follow the
    theme each one edits. Reflections are kept with the tour, for the leader only."""
    kept = sorted(
        (theme for theme in reviewed if theme.kept and theme.label.strip()),
        key=lambda theme: theme.order,
    )
    sources = {
        theme.id: theme
        for source in (ThemeSource.SUGGESTED, ThemeSource.FINAL)
        for theme in await store.themes_of(session, tour_id=tour.id, source=source)
    }
    quote_ids = {
        theme_id: await store.quote_ids_of(session, theme_id=theme_id) for theme_id in sources
    }
    plans = [
        (
            theme,
            sources.get(theme.based_on) if theme.based_on is not None else None,
            quote_ids.get(theme.based_on, []) if theme.based_on is not None else [],
        )
        for theme in kept[:MAX_FINAL_THEMES]
    ]
    await store.clear_themes(session, tour_id=tour.id, source=ThemeSource.FINAL)
    for position, (theme, source, quotes) in enumerate(plans):
        await store.add_theme(
            session,
            tour_id=tour.id,
            source=ThemeSource.FINAL,
            position=position,
            label=theme.label.strip(),
            summary=theme.summary.strip(),
            kind=source.kind if source else "own",
            answer_count=source.answer_count if source else 0,
            quote_ids=quotes,
        )
    cleaned = [(text or "").strip() or None for text in reflections]
    await store.save_reflection(
        session,
        tour_id=tour.id,
        insights=cleaned[0],
        next_steps=cleaned[1],
        involve=cleaned[2],
    )


@dataclass(frozen=True)
class Coverage:
    """How many answers the tour has, and how many of them are in none of its final themes."""

    answers: int
    unthemed: int


async def coverage(session: AsyncSession, *, tour_id: int) -> Coverage:
    themes = await store.themes_of(session, tour_id=tour_id, source=ThemeSource.FINAL)
    answers = await store.count_answers(session, tour_id=tour_id)
    return Coverage(answers, unthemed_count(answers, [theme.answer_count for theme in themes]))


async def final_drafts(session: AsyncSession, *, tour: Tour) -> list[ThemeDraft]:
    themes = await store.themes_of(session, tour_id=tour.id, source=ThemeSource.FINAL)
    quotes = await visible_quotes(session, tour=tour, theme_ids=[theme.id for theme in themes])
    return [
        ThemeDraft(
            label=theme.label,
            summary=theme.summary,
            kind=theme.kind,
            answer_count=theme.answer_count,
            quotes=tuple(quotes[theme.id]),
        )
        for theme in themes
    ]


@dataclass(frozen=True)
class PollState:
    """Everything the channel message shows, read in one go."""

    poll: Poll
    tour: Tour
    questions: list[str]
    respondents: int
    participants: int
    themes: list[PollTheme]
    voters: int
    ranking: list[tuple[str, int]]
    coverage: Coverage


async def poll_state(session: AsyncSession, *, poll: Poll) -> PollState:
    tour = await tour_store.get_tour(session, tour_id=poll.tour_id)
    assert tour is not None
    themes = await store.themes_of(session, tour_id=tour.id, source=ThemeSource.FINAL)
    quotes = await visible_quotes(session, tour=tour, theme_ids=[theme.id for theme in themes])
    totals, voters = await store.poll_totals(session, poll_id=poll.id)
    tally = await tour_store.counts(session, tour_id=tour.id)
    closed = poll.status is PollStatus.CLOSED
    hidden = poll.hide_results and not closed
    by_id = {theme.id: theme for theme in themes}
    order = [theme.id for theme in themes]
    if closed:
        order = [theme_id for theme_id, _ in ranking(order, totals)]
    return PollState(
        poll=poll,
        tour=tour,
        questions=[q.text for q in await tour_store.questions_of(session, tour_id=tour.id)],
        respondents=tally.respondents,
        participants=tally.participants,
        themes=[
            PollTheme(
                theme_id=theme_id,
                label=by_id[theme_id].label,
                summary=by_id[theme_id].summary,
                quote=quotes[theme_id][0] if quotes[theme_id] else None,
                votes=None if hidden else totals.get(theme_id, 0),
                kind=by_id[theme_id].kind,
            )
            for theme_id in order
        ],
        voters=voters,
        ranking=[(by_id[t].label, votes) for t, votes in ranking(list(by_id), totals)],
        coverage=await coverage(session, tour_id=tour.id),
    )


async def open_poll(
    session: AsyncSession,
    *,
    tour: Tour,
    budget: int,
    max_per_theme: int,
    hide_results: bool,
    allow_outsiders: bool,
    closes_at: datetime | None,
    now: datetime,
) -> Poll:
    """The poll for a tour, created once; posting again after a failed post reuses it."""
    existing = await store.poll_of_tour(session, tour_id=tour.id)
    if existing is not None:
        return existing
    return await store.create_poll(
        session,
        tour=tour,
        budget=budget,
        max_per_theme=max_per_theme,
        hide_results=hide_results,
        allow_outsiders=allow_outsiders,
        closes_at=closes_at,
        now=now,
    )


@dataclass(frozen=True)
class Voted:
    result: VoteResult
    placed: list[tuple[str, int]]  # where this person's votes are now, by label
    label: str | None  # the theme clicked


async def cast_vote(
    session: AsyncSession, *, poll: Poll, voter_id: str, theme_id: int, change: Change
) -> Voted:
    """Apply one click. The person's vote rows are locked, so two quick clicks from one
    person are applied one after the other and the budget holds."""
    themes = {
        theme.id: theme.label
        for theme in await store.themes_of(session, tour_id=poll.tour_id, source=ThemeSource.FINAL)
    }
    current = await store.votes_of(session, poll_id=poll.id, voter_id=voter_id, lock=True)
    rules = PollRules(budget=poll.budget, max_per_theme=poll.max_per_theme)
    if poll.status is PollStatus.CLOSED:  # closed while this click waited for the lock
        left = rules.budget - sum(current.values())
        closed = VoteResult(current, left, Refusal.CLOSED, theme_id)
        return Voted(result=closed, placed=_placed(current, themes), label=themes.get(theme_id))
    if theme_id not in themes:  # a button value naming another poll's theme
        left = rules.budget - sum(current.values())
        refused = VoteResult(current, left, Refusal.UNKNOWN_THEME, theme_id)
        return Voted(result=refused, placed=_placed(current, themes), label=None)
    result = apply_vote(current, theme_id, change, rules)
    if result.refused is None:
        await store.set_votes(
            session,
            poll_id=poll.id,
            voter_id=voter_id,
            theme_id=theme_id,
            count=result.votes.get(theme_id, 0),
        )
    return Voted(result=result, placed=_placed(result.votes, themes), label=themes[theme_id])


def _placed(votes: Mapping[int, int], labels: Mapping[int, str]) -> list[tuple[str, int]]:
    return [(labels[theme], count) for theme, count in votes.items() if count and theme in labels]


def poll_message(state: PollState) -> Message:
    """The channel message for the poll as it stands."""
    poll = state.poll
    return render_findings_post(
        poll_id=poll.id,
        leader_id=state.tour.leader_id,
        title=state.tour.title,
        questions=state.questions,
        respondents=state.respondents,
        participants=state.participants,
        themes=state.themes,
        budget=poll.budget,
        max_per_theme=poll.max_per_theme,
        hide_results=poll.hide_results,
        closed=poll.status is PollStatus.CLOSED,
        voters=state.voters,
        unthemed=state.coverage.unthemed,
        answers=state.coverage.answers,
    )


def vote_click_kinds(poll_id: int) -> list[str]:
    """The `event_type` of the claims of a poll's Vote and Remove my vote clicks."""
    scope = f"poll:{poll_id}"
    return [click_kind(action, scope) for action in (FindingsAction.VOTE, FindingsAction.UNVOTE)]


async def close_poll(session: AsyncSession, *, poll: Poll, now: datetime) -> bool:
    """Close once: the votes freeze into a tally per theme and who cast them is forgotten
    (the votes and the claims of the clicks that cast them are deleted); the post is redrawn
    as the final ranking and the ranking is replied in its thread (both through the outbox).
    False if it was already closed. The caller empties SQLite's write-ahead log once this
    has committed (`bot.db.scrub_deleted`)."""
    if poll.status is PollStatus.CLOSED:
        return False
    poll.status = PollStatus.CLOSED
    poll.closed_at = now
    await store.forget_voters(session, poll=poll)
    await forget_claims(session, team_id=poll.team_id, event_types=vote_click_kinds(poll.id))
    if poll.message_ts is None:  # never posted: nothing to redraw
        return True
    state = await poll_state(session, poll=poll)
    await outbox.enqueue(
        session,
        team_id=poll.team_id,
        key=f"poll:{poll.id}:final-post",
        method="chat.update",
        payload={
            "channel": poll.channel_id,
            "ts": poll.message_ts,
            **poll_message(state).to_dict(),
        },
        now=now,
    )
    ranking_message = render_final_ranking(
        poll_id=poll.id, title=state.tour.title, ranking=state.ranking
    )
    await outbox.enqueue(
        session,
        team_id=poll.team_id,
        key=f"poll:{poll.id}:ranking",
        method="chat.postMessage",
        payload={
            "channel": poll.channel_id,
            "thread_ts": poll.message_ts,
            **ranking_message.to_dict(),
        },
        now=now,
    )
    return True


async def close_due_polls(session: AsyncSession, *, now: datetime) -> int:
    closed = 0
    for poll in await store.polls_due_to_close(session, now=now):
        if await close_poll(session, poll=poll, now=now):
            closed += 1
    return closed


def tour_is_reviewable(tour: Tour) -> bool:
    return tour.status is TourStatus.CLOSED
