"""Step 2 as people see it: the leader's review of the suggested themes, the preview, the findings
post with its theme poll, and the views around them. Pure renderers; user text is escaped and cut
to Slack's limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    NumberInputElement,
    Option,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import Message
from bot.blocks.kit import (
    MAX_OPTION_TEXT,
    MAX_VIEW_BLOCKS,
    clip,
    context_block,
    count_of,
    fair_shares,
    input_action_id,
    one_line,
    pack_sections,
    people,
    plain,
    section_block,
    text_input,
)
from bot.blocks.metadata import AnswersPageMetadata, PollMetadata, TourMetadata
from bot.blocks.moderation import hide_button_block
from bot.blocks.tour import TourAction
from bot.flows.poll import MAX_BUDGET, Change, Refusal
from bot.flows.review import (
    MAX_FINAL_THEMES,
    MAX_SUGGESTED_THEMES,
    Side,
    default_picks,
    side_name,
)
from bot.flows.tour import MAX_QUESTIONS


class FindingsAction(StrEnum):
    """Action ids of step 2's buttons; the comment says what rides in the button's value."""

    REVIEW = "findings.review"  # str(tour_id)
    SEE_ANSWERS = "findings.see_answers"  # f"{tour_id}:0"
    ANSWERS_PAGE = "findings.answers_page"  # f"{tour_id}:{page}"
    POST = "findings.post"  # not a button: the preview's submit posts
    VOTE = "poll.vote"  # f"{poll_id}:{theme_id}"
    UNVOTE = "poll.unvote"  # f"{poll_id}:{theme_id}"
    SHARE_INSIGHT = "poll.insight"  # str(poll_id)
    CLOSE_POLL = "poll.close"  # str(poll_id)


class FindingsView(StrEnum):
    """Callback ids of step 2's modals."""

    REVIEW = "findings.review"
    PREVIEW = "findings.preview"
    ANSWERS = "findings.answers"
    INSIGHT = "findings.insight"


class FindingsBlock(StrEnum):
    """Fixed block ids of the modals' inputs; each input's action id is the block id + ".input".
    A suggested theme's inputs are numbered: see `theme_block`."""

    NEW_LABEL = "theme.new.label"
    NEW_SUMMARY = "theme.new.summary"
    NEW_ORDER = "theme.new.order"
    REFLECT_INSIGHTS = "reflect.insights"
    REFLECT_NEXT = "reflect.next"
    REFLECT_INVOLVE = "reflect.involve"
    POLL_BUDGET = "poll.budget"
    POLL_MAX_PER_THEME = "poll.max_per_theme"
    POLL_OPTIONS = "poll.options"
    POLL_CLOSES_ON = "poll.closes_on"
    INSIGHT_THEME = "insight.theme"
    INSIGHT_TEXT = "insight.text"
    SEE_ANSWERS = "findings.see_answers"
    ANSWERS_PREVIOUS = "findings.answers.previous"
    ANSWERS_NEXT = "findings.answers.next"
    POLL_ACTIONS = "poll.actions"


# Option values of the checkboxes and selects.
KEEP = "keep"
HIDE_RESULTS = "hide"
OUTSIDERS = "outsiders"
NO_THEME = "none"

MAX_THEME_LABEL = 150
MAX_THEME_SUMMARY = 300
MAX_REFLECTION = 3_000
MAX_INSIGHT = 3_000
MAX_REVIEW_QUOTES = 3
REVIEW_QUOTE = 200
POST_QUOTE = 300
ANSWER_BULLET = 300
MAX_RANKING_LINES = 10
BAR_WIDTH = 10
BAR_FULL, BAR_EMPTY = "▇", "░"

REFLECTIONS = (
    (FindingsBlock.REFLECT_INSIGHTS, "What insights do you have?"),
    (FindingsBlock.REFLECT_NEXT, "What would you like to do next?"),
    (FindingsBlock.REFLECT_INVOLVE, "How will you involve the team so they are committed?"),
)


def side_tag(kind: str) -> str:
    """A theme's side as the review and the post tag it (mrkdwn)."""
    return clip(side_name(kind), 50)


@dataclass(frozen=True)
class ThemeDraft:
    """A theme as the leader reviews it: suggested, or written by them (kind "own")."""

    label: str
    summary: str
    kind: str  # a `bot.flows.review.Side` value
    answer_count: int
    quotes: tuple[str, ...]  # verbatim answers, already chosen


@dataclass(frozen=True)
class PollTheme:
    """A posted theme with its tally; `votes` is None while results are hidden."""

    theme_id: int
    label: str
    summary: str
    quote: str | None
    votes: int | None
    kind: str = Side.OWN  # the post tags a theme's side, except the leader's own


def theme_block(position: int, field: str) -> str:
    """Block id of a suggested theme's input in the review modal: "theme.2.label". `position`
    counts from 1; `field` is "label", "summary", "keep" or "order"."""
    return f"theme.{position}.{field}"


# --- small pieces ------------------------------------------------------------------------------


def _quoted_questions(questions: Sequence[str]) -> str:
    quoted = [f"“{clip(one_line(q), 350)}”" for q in questions[:MAX_QUESTIONS]]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def bar(count: int, top: int) -> str:
    """ "`▇▇▇▇▇▇▇░░░` 7": the count scaled to the largest one; any vote shows at least one cell."""
    filled = 0
    if count > 0 and top > 0:
        # Rounds half up (Python's round() rounds half to even).
        filled = max(1, min(BAR_WIDTH, (count * 2 * BAR_WIDTH + top) // (2 * top)))
    return f"`{BAR_FULL * filled}{BAR_EMPTY * (BAR_WIDTH - filled)}` {count}"


def _order_options(choices: int) -> list[Option]:
    return [Option(value=str(n), text=str(n)) for n in range(1, choices + 1)]


def _order_input(block_id: str, initial: int, choices: int) -> InputBlock:
    options = _order_options(choices)
    return InputBlock(
        block_id=block_id,
        label="Order",
        optional=True,
        element=StaticSelectElement(
            action_id=input_action_id(block_id),
            options=options,
            initial_option=options[min(max(initial, 1), choices) - 1],
        ),
    )


# --- the leader's review -------------------------------------------------------------------------


def render_review_prompt(
    *, tour_id: int, title: str, respondents: int, participants: int, sides: Sequence[str]
) -> Message:
    """The DM to the leader when their tour has closed; `sides` are the kinds of the suggested
    themes, in order."""
    safe_title = clip(title, 500)
    counts = f"{respondents} of {participants} answered"
    if sides:
        challenges = sum(1 for kind in sides if kind == Side.CHALLENGE)
        strengths = sum(1 for kind in sides if kind == Side.STRENGTH)
        parts = [
            part
            for number, part in (
                (challenges, f"{count_of(challenges, 'challenge', 'challenges')} to act on"),
                (strengths, f"{count_of(strengths, 'thing', 'things')} working well"),
            )
            if number
        ]
        found = (
            f"I found {count_of(len(sides), 'theme', 'themes')} — review them before anything "
            "is shared."
        )
        if parts:
            found += f" {' and '.join(parts).capitalize()}."
        if len(sides) > MAX_FINAL_THEMES:
            found += f" The team hears no more than {MAX_FINAL_THEMES}: you choose."
    else:
        found = (
            "There weren't enough answers to group into themes. You can still read them and "
            "write your own themes before anything is shared."
        )
    text = f"*{safe_title}* closed: {counts}. {found}"
    # The tour's one closing DM (the close notice is sent only when answers stay hidden), so
    # it also offers Export, which has every answer, grouped by question.
    return Message(
        text=f"{safe_title} closed: {counts}. {found}",
        blocks=[
            section_block(text),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Review themes",
                        action_id=FindingsAction.REVIEW,
                        value=str(tour_id),
                        style="primary",
                    ),
                    ButtonElement(text="Export", action_id=TourAction.EXPORT, value=str(tour_id)),
                ]
            ),
        ],
    )


def render_review_modal(
    *,
    tour_id: int,
    title: str,
    respondents: int,
    themes: Sequence[ThemeDraft],
    reflections: Sequence[str | None],
    unthemed: int = 0,
    remote_llm: str | None = None,
) -> View:
    """The suggested themes, each tagged with its side (challenges come first, as given),
    editable, droppable and reorderable; no more than three start ticked (see
    `default_picks`); a theme of the leader's own; how many answers fit no theme, with the way
    to all answers; and the article's three reflection questions, private to the leader. Only
    the first `MAX_SUGGESTED_THEMES` themes are shown."""
    shown = list(themes[:MAX_SUGGESTED_THEMES])
    choices = len(shown) + 1  # the suggested themes and the leader's own
    picks = default_picks([theme.kind for theme in shown])
    more = (
        f" I suggest {len(shown)}: the {MAX_FINAL_THEMES} ticked are a start, tick the ones you "
        "want the team to hear."
        if len(shown) > MAX_FINAL_THEMES
        else ""
    )
    blocks: list[Block] = [
        context_block(
            f"*{clip(title, 500)}* — {count_of(respondents, 'person', 'people')} answered. "
            "Keep no more than three themes: a few clear messages help the team more than a "
            "pile of data. Challenges to act on come first, then what is working well."
            f"{more} Edit the words so people recognise what they said."
        )
    ]
    if remote_llm is not None:
        blocks.append(
            context_block(
                f":warning: Theme naming uses an LLM at *{clip(remote_llm, 200)}*: the team's "
                "answers were sent to that machine, outside the one Partnerbot runs on."
            )
        )
    for position, (theme, picked) in enumerate(zip(shown, picks, strict=True), start=1):
        heading = f"*Theme {position}* · {side_tag(theme.kind)}"
        if theme.kind != Side.OWN:
            heading += f" · {count_of(theme.answer_count, 'answer', 'answers')}"
        blocks += [DividerBlock(), section_block(heading)]
        quotes = [f"“{clip(one_line(q), REVIEW_QUOTE)}”" for q in theme.quotes if q.strip()]
        if quotes:
            blocks.append(context_block("\n".join(quotes[:MAX_REVIEW_QUOTES])))
        keep = Option(value=KEEP, text="Include this theme")
        blocks += [
            text_input(
                theme_block(position, "label"),
                "Label",
                initial=one_line(theme.label),
                max_length=MAX_THEME_LABEL,
                optional=False,
            ),
            text_input(
                theme_block(position, "summary"),
                "Summary",
                initial=one_line(theme.summary),
                max_length=MAX_THEME_SUMMARY,
                optional=True,
            ),
            InputBlock(
                block_id=theme_block(position, "keep"),
                label="Include",
                optional=True,
                element=CheckboxesElement(
                    action_id=input_action_id(theme_block(position, "keep")),
                    options=[keep],
                    # Slack refuses an empty initial_options list.
                    initial_options=[keep] if picked else None,
                ),
            ),
            _order_input(theme_block(position, "order"), position, choices),
        ]
    if unthemed > 0 and shown:
        fit = f"{count_of(unthemed, 'answer', 'answers')} didn't fit a theme — see all answers."
    else:
        fit = "Every answer is behind one of these themes — see all answers."
    blocks += [
        DividerBlock(),
        context_block(fit if shown else "See all answers, then write your own themes."),
        ActionsBlock(
            block_id=FindingsBlock.SEE_ANSWERS,
            elements=[
                ButtonElement(
                    text="See all answers",
                    action_id=FindingsAction.SEE_ANSWERS,
                    value=f"{tour_id}:0",
                )
            ],
        ),
        DividerBlock(),
        section_block("*Your own theme* (optional)"),
        context_block("Something the suggestions missed? Write it here."),
        text_input(
            FindingsBlock.NEW_LABEL,
            "Label",
            initial=None,
            max_length=MAX_THEME_LABEL,
            optional=True,
        ),
        text_input(
            FindingsBlock.NEW_SUMMARY,
            "Summary",
            initial=None,
            max_length=MAX_THEME_SUMMARY,
            optional=True,
        ),
        _order_input(FindingsBlock.NEW_ORDER, choices, choices),
        DividerBlock(),
        section_block("*Before you share* (optional)"),
    ]
    for index, (block_id, question) in enumerate(REFLECTIONS):
        initial = reflections[index] if index < len(reflections) else None
        blocks.append(
            text_input(
                block_id,
                question,
                initial=initial,
                max_length=MAX_REFLECTION,
                optional=True,
                multiline=True,
            )
        )
    blocks.append(context_block("Only you see these."))
    return View(
        type="modal",
        callback_id=FindingsView.REVIEW,
        title="Review themes",
        submit="Preview",
        close="Cancel",
        private_metadata=TourMetadata(tour_id=tour_id).dump(),
        blocks=blocks,
    )


# --- the findings post -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shown:
    """A theme as the post shows it; `votes` None means no bar."""

    label: str
    summary: str
    quote: str | None
    votes: int | None
    theme_id: int | None = None
    kind: str = Side.OWN


def _theme_text(position: int, theme: _Shown, top: int) -> str:
    # At most ~450 + 1,200 + 300 + 30 characters, far inside a section's 3,000.
    heading = f"*{position}. {clip(one_line(theme.label), 400)}*"
    if theme.kind != Side.OWN:  # the leader's own theme is on no side of the questions
        heading += f" · _{side_tag(theme.kind)}_"
    lines = [heading]
    if theme.summary.strip():
        lines.append(clip(one_line(theme.summary), 1_200))
    if theme.quote and theme.quote.strip():
        lines.append("> " + clip(one_line(theme.quote), POST_QUOTE))
    if theme.votes is not None:
        lines.append(bar(theme.votes, top))
    return "\n".join(lines)


def _intro(
    *, asker: str, title: str, questions: Sequence[str], respondents: int, participants: int
) -> str:
    return (
        f"*{clip(title, 300)}*\n{asker} asked {people(participants)}: "
        f"{_quoted_questions(questions)}. {respondents} answered — thank you. "
        "Here are the themes (no more than three):"
    )


def _footer(
    *,
    leader: str,
    budget: int,
    max_per_theme: int,
    hide_results: bool,
    closed: bool,
    voters: int,
) -> str:
    if closed:
        voted = f"{count_of(voters, 'person', 'people')} voted."
        return (
            f"Poll closed. {voted} Next: {leader} and the team agree outcomes for the top themes."
        )
    if voters == 0:
        voted = "Nobody has voted yet."
    else:
        voted = f"{count_of(voters, 'person has', 'people have')} voted."
    hidden = " Results stay hidden until the poll closes." if hide_results else ""
    return (
        f"Each person has {count_of(budget, 'vote', 'votes')}, at most {max_per_theme} on one "
        "theme. Votes can be moved. Who voted for what is never shown — not even to "
        f"{leader}.{hidden}\n{voted}"
    )


def _unthemed_line(unthemed: int, answers: int) -> str:
    return f"{unthemed} of {count_of(answers, 'answer', 'answers')} fit none of these themes."


def _post_body(
    *,
    leader_id: str | None,
    title: str,
    questions: Sequence[str],
    respondents: int,
    participants: int,
    themes: Sequence[_Shown],
    budget: int,
    max_per_theme: int,
    hide_results: bool,
    closed: bool,
    voters: int,
    poll_id: int | None,
    unthemed: int = 0,
    answers: int = 0,
) -> list[Block]:
    """The post's blocks; with a `poll_id`, the buttons too (the preview has none). With
    `unthemed` > 0, a line says how many of the `answers` fit none of the themes."""
    asker = f"<@{leader_id}>" if leader_id else "You"
    shown = themes[:MAX_FINAL_THEMES]
    top = max((t.votes or 0 for t in shown), default=0)
    blocks: list[Block] = [
        HeaderBlock(text="Final ranking" if closed else "What we heard"),
        section_block(
            _intro(
                asker=asker,
                title=title,
                questions=questions,
                respondents=respondents,
                participants=participants,
            )
        ),
    ]
    for position, theme in enumerate(shown, start=1):
        block_id = f"poll.theme.{theme.theme_id}" if theme.theme_id is not None else None
        blocks.append(section_block(_theme_text(position, theme, top), block_id=block_id))
        if poll_id is not None and not closed and theme.theme_id is not None:
            value = f"{poll_id}:{theme.theme_id}"
            blocks.append(
                ActionsBlock(
                    block_id=f"poll.theme.{theme.theme_id}.actions",
                    elements=[
                        ButtonElement(
                            text="Vote", action_id=FindingsAction.VOTE, value=value, style="primary"
                        ),
                        ButtonElement(
                            text="Remove my vote", action_id=FindingsAction.UNVOTE, value=value
                        ),
                    ],
                )
            )
    if unthemed > 0 and shown:
        blocks.append(context_block(_unthemed_line(unthemed, max(answers, unthemed))))
    blocks.append(
        context_block(
            _footer(
                leader=f"<@{leader_id}>" if leader_id else "you",
                budget=budget,
                max_per_theme=max_per_theme,
                hide_results=hide_results,
                closed=closed,
                voters=voters,
            )
        )
    )
    if poll_id is not None:
        buttons = [
            ButtonElement(
                text="Share an insight", action_id=FindingsAction.SHARE_INSIGHT, value=str(poll_id)
            )
        ]
        if not closed:
            buttons.append(
                ButtonElement(
                    text="Close poll",
                    action_id=FindingsAction.CLOSE_POLL,
                    value=str(poll_id),
                    confirm=ConfirmObject(
                        title="Close the poll?",
                        text="Votes can't change after this, and the final ranking is posted "
                        "in the channel.",
                        confirm="Close poll",
                        deny="Keep it open",
                        style="danger",
                    ),
                )
            )
        blocks.append(ActionsBlock(block_id=FindingsBlock.POLL_ACTIONS, elements=buttons))
    return blocks


def render_findings_post(
    *,
    poll_id: int,
    leader_id: str,
    title: str,
    questions: Sequence[str],
    respondents: int,
    participants: int,
    themes: Sequence[PollTheme],
    budget: int,
    max_per_theme: int,
    hide_results: bool,
    closed: bool,
    voters: int,
    unthemed: int = 0,
    answers: int = 0,
) -> Message:
    """The channel message: what was asked, how many answered, up to three themes (each
    tagged with its side) and the poll, and how many of the `answers` fit none of them.

    Tallies show as bars unless results are hidden and the poll is still open (a hidden poll
    reveals its bars when it closes). Once closed, themes are shown in the order given: the
    caller sorts them by rank."""
    show_votes = closed or not hide_results
    shown = [
        _Shown(
            label=t.label,
            summary=t.summary,
            quote=t.quote,
            votes=t.votes if show_votes else None,
            theme_id=t.theme_id,
            kind=t.kind,
        )
        for t in themes[:MAX_FINAL_THEMES]
    ]
    blocks = _post_body(
        leader_id=leader_id,
        title=title,
        questions=questions,
        respondents=respondents,
        participants=participants,
        themes=shown,
        budget=budget,
        max_per_theme=max_per_theme,
        hide_results=hide_results,
        closed=closed,
        voters=voters,
        poll_id=poll_id,
        unthemed=unthemed,
        answers=answers,
    )
    safe_title = clip(title, 500)
    if closed:
        ranked = "; ".join(
            f"{position}. {clip(one_line(t.label), 150)}"
            + (f" ({count_of(t.votes, 'vote', 'votes')})" if t.votes is not None else "")
            for position, t in enumerate(shown, start=1)
        )
        text = f"Final ranking for {safe_title}: {ranked}"
    else:
        text = (
            f"What we heard from {safe_title}: {count_of(len(shown), 'theme', 'themes')} from "
            f"{respondents} answers. Vote for the ones that matter most."
        )
    return Message(text=text, blocks=blocks)


def render_preview_modal(
    *,
    tour_id: int,
    title: str,
    questions: Sequence[str],
    respondents: int,
    participants: int,
    themes: Sequence[ThemeDraft],
    budget: int,
    max_per_theme: int,
    hide_results: bool,
    allow_outsiders: bool,
    leader_id: str | None = None,
    unthemed: int = 0,
    answers: int = 0,
) -> View:
    """The post as the channel will see it (no buttons, no votes yet), then the poll's settings.
    Without `leader_id` the post says "You asked…" where the channel will read "@leader asked…".
    Each theme shows its first quote, as the post will."""
    shown = [
        _Shown(
            label=t.label,
            summary=t.summary,
            quote=t.quotes[0] if t.quotes else None,
            votes=None if hide_results else 0,
            kind=t.kind,
        )
        for t in themes
    ]
    hide = Option(value=HIDE_RESULTS, text="Hide results until the poll closes")
    outsiders = Option(value=OUTSIDERS, text="Let people outside the channel vote")
    chosen = [option for option, on in ((hide, hide_results), (outsiders, allow_outsiders)) if on]
    blocks: list[Block] = [
        context_block(
            "This is what the channel will see. Nothing is posted until you press *Post findings*."
        ),
        DividerBlock(),
        *_post_body(
            leader_id=leader_id,
            title=title,
            questions=questions,
            respondents=respondents,
            participants=participants,
            themes=shown,
            budget=budget,
            max_per_theme=max_per_theme,
            hide_results=hide_results,
            closed=False,
            voters=0,
            poll_id=None,
            unthemed=unthemed,
            answers=answers,
        ),
        DividerBlock(),
        section_block("*Theme poll*\nEveryone in the channel spreads their votes over the themes."),
        InputBlock(
            block_id=FindingsBlock.POLL_BUDGET,
            label="Votes per person",
            element=NumberInputElement(
                action_id=input_action_id(FindingsBlock.POLL_BUDGET),
                is_decimal_allowed=False,
                initial_value=str(min(max(budget, 1), MAX_BUDGET)),
                min_value="1",
                max_value=str(MAX_BUDGET),
            ),
        ),
        InputBlock(
            block_id=FindingsBlock.POLL_MAX_PER_THEME,
            label="Most votes one person can put on one theme",
            element=NumberInputElement(
                action_id=input_action_id(FindingsBlock.POLL_MAX_PER_THEME),
                is_decimal_allowed=False,
                initial_value=str(min(max(max_per_theme, 1), MAX_BUDGET)),
                min_value="1",
                max_value=str(MAX_BUDGET),
            ),
        ),
        InputBlock(
            block_id=FindingsBlock.POLL_OPTIONS,
            label="Options",
            optional=True,
            element=CheckboxesElement(
                action_id=input_action_id(FindingsBlock.POLL_OPTIONS),
                options=[hide, outsiders],
                # Slack refuses an empty initial_options list.
                initial_options=chosen or None,
            ),
        ),
        InputBlock(
            block_id=FindingsBlock.POLL_CLOSES_ON,
            label="Close the poll automatically on",
            optional=True,
            element=DatePickerElement(
                action_id=input_action_id(FindingsBlock.POLL_CLOSES_ON),
                placeholder="No set day: close it yourself",
            ),
            hint="At the end of that day, your time. You can always close it earlier.",
        ),
    ]
    return View(
        type="modal",
        callback_id=FindingsView.PREVIEW,
        title="Post findings",
        submit="Post findings",
        close="Back",
        private_metadata=TourMetadata(tour_id=tour_id).dump(),
        blocks=blocks,
    )


# --- votes and insights ------------------------------------------------------------------------


def _votes_left(left: int) -> str:
    if left <= 0:
        return "You have no votes left."
    return f"You have {count_of(left, 'vote', 'votes')} left."


def _where(placed: Sequence[tuple[str, int]]) -> str:
    parts = [f"{count} on “{clip(one_line(label), 150)}”" for label, count in placed if count > 0]
    if not parts:
        return "You have no votes on any theme."
    return "Your votes: " + ", ".join(parts) + "."


def render_vote_ack(
    *,
    votes_left: int,
    placed: Sequence[tuple[str, int]],
    refused: str | None,
    theme: str | None = None,
    change: Change | None = None,
) -> str:
    """The ephemeral answer to a Vote or Remove my vote click (mrkdwn; labels are escaped).

    `placed` is where the person's votes are now, as (label, votes); `refused` is a
    `bot.flows.poll.Refusal` value (any other text is shown as given); `theme` is the label of
    the theme clicked and `change` what the click asked for. Without `theme` and `change` the
    wording stays true for either kind of click."""
    name = f"“{clip(one_line(theme), 150)}”" if theme else "that theme"
    left, where = _votes_left(votes_left), _where(placed)
    if refused is None:
        if change is Change.ADD:
            done = f"Vote placed on {name}."
        elif change is Change.REMOVE:
            done = f"Vote removed from {name}."
        else:
            done = "Done."
        return f"{done} {left} {where}"
    if refused == Refusal.BUDGET_SPENT:
        return (
            f"You've used all your votes, so that one didn't count. {where} To move a vote, "
            "press *Remove my vote* on one of those themes first."
        )
    if refused == Refusal.THEME_FULL:
        held = dict(placed).get(theme, 0) if theme else 0
        if held == 1:
            full = "already has your vote, the most one theme can take."
        elif held:
            full = f"already has {held} of your votes, the most one theme can take."
        else:
            full = "already has as many of your votes as one theme can take."
        return f"{name[0].upper()}{name[1:]} {full} {left} {where}"
    if refused == Refusal.NOTHING_TO_REMOVE:
        return f"You have no vote on {name} to remove. {left} {where}"
    if refused == Refusal.CLOSED:
        return "This poll has closed, so votes can't change any more."
    if refused == Refusal.NOT_IN_CHANNEL:
        return "Only people in the channel can vote in this poll."
    if refused == Refusal.UNKNOWN_THEME:
        return "That theme isn't in this poll."
    return f"{clip(refused, 500)} {where}"


def render_insight_modal(*, poll_id: int, themes: Sequence[tuple[int, str]]) -> View:
    """Where a team member answers "What insights do you have?", about one theme or none.
    `themes` are (theme id, label)."""
    options = [Option(value=NO_THEME, text="Not about one theme")] + [
        Option(value=str(theme_id), text=plain(label, MAX_OPTION_TEXT))
        for theme_id, label in themes[:99]  # a select holds at most 100 options
    ]
    return View(
        type="modal",
        callback_id=FindingsView.INSIGHT,
        title="Share an insight",
        submit="Share",
        close="Cancel",
        private_metadata=PollMetadata(poll_id=poll_id).dump(),
        blocks=[
            InputBlock(
                block_id=FindingsBlock.INSIGHT_THEME,
                label="Which theme is it about?",
                optional=True,
                element=StaticSelectElement(
                    action_id=input_action_id(FindingsBlock.INSIGHT_THEME),
                    options=options,
                    placeholder="Pick a theme",
                ),
            ),
            text_input(
                FindingsBlock.INSIGHT_TEXT,
                "What insights do you have?",
                initial=None,
                max_length=MAX_INSIGHT,
                optional=False,
                multiline=True,
            ),
            context_block("Your insight is stored with the findings, without your name."),
        ],
    )


# --- all answers, paged ------------------------------------------------------------------------


def render_answers_page(
    *,
    tour_id: int,
    title: str,
    page: int,
    page_count: int,
    questions: Sequence[tuple[str, Sequence[str]]],
    hideable: bool = False,
) -> View:
    """One page of answers (the caller pages and applies the anonymity rules), grouped by
    question. `page` counts from 0. Answers are cut at 300 characters and packed into sections;
    whatever would not fit in one view is counted at the end. `hideable`: the reader may hide
    an answer (bot/blocks/moderation.py)."""
    grouped = [
        (
            f"*{clip(one_line(question), 1_000)}*",
            [
                f"• {clip(answer, ANSWER_BULLET)}".replace("\n", "\n    ")
                for answer in answers
                if answer.strip()
            ],
        )
        for question, answers in questions
    ]
    grouped = [(heading, lines) for heading, lines in grouped if lines]
    blocks: list[Block] = [context_block(f"*{clip(title, 500)}* — answers, grouped by question.")]
    # Left free: a note on what did not fit, the page count, Previous and Next, Hide.
    available = MAX_VIEW_BLOCKS - len(blocks) - 5
    needs = [len(pack_sections(lines, heading, available)[0]) for heading, lines in grouped]
    omitted = 0
    for (heading, lines), share in zip(grouped, fair_shares(needs, available), strict=True):
        if share == 0:
            omitted += len(lines)
            continue
        chunks, left_out = pack_sections(lines, heading, share)
        if left_out:
            chunks[-1] += f"\n_…and {left_out} more_"
        omitted += left_out
        blocks += [section_block(chunk) for chunk in chunks]
    if not grouped:
        blocks.append(section_block("_No answers on this page._"))
    if omitted:
        blocks.append(
            context_block(f"{count_of(omitted, 'answer', 'answers')} didn't fit on this page.")
        )
    blocks.append(context_block(f"Page {page + 1} of {max(page_count, 1)}"))
    # Slack wants action ids unique within a block, and both buttons share one: a row each.
    for block_id, label, target in (
        (FindingsBlock.ANSWERS_PREVIOUS, "Previous", page - 1),
        (FindingsBlock.ANSWERS_NEXT, "Next", page + 1),
    ):
        if 0 <= target < page_count:
            button = ButtonElement(
                text=label, action_id=FindingsAction.ANSWERS_PAGE, value=f"{tour_id}:{target}"
            )
            blocks.append(ActionsBlock(block_id=block_id, elements=[button]))
    if hideable and grouped:
        blocks.append(hide_button_block(tour_id, page))
    return View(
        type="modal",
        callback_id=FindingsView.ANSWERS,
        title="All answers",
        close="Back",
        private_metadata=AnswersPageMetadata(tour_id=tour_id, page=page).dump(),
        blocks=blocks,
    )


def render_final_ranking(
    *, poll_id: int, title: str, ranking: Sequence[tuple[str, int]]
) -> Message:
    """The short message posted in the channel when the poll closes; `ranking` is (label,
    votes), best first."""
    lines = [
        f"{position}. {clip(one_line(label), 200)} — {count_of(votes, 'vote', 'votes')}"
        for position, (label, votes) in enumerate(ranking[:MAX_RANKING_LINES], start=1)
    ]
    safe_title = clip(title, 300)
    body = "\n".join(lines) if lines else "No themes were voted on."
    return Message(
        text=f"Final ranking for {safe_title}: " + "; ".join(lines or ["no votes"]),
        blocks=[
            section_block(
                f"Final ranking for *{safe_title}*:\n{body}", block_id=f"poll.{poll_id}.ranking"
            )
        ],
    )
