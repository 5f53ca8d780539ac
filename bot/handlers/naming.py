"""A gentle warning when an answer in an anonymous tour names someone in the workspace: on the
answer form before it saves (submitting again keeps it), and after a DM answer is saved. It
never refuses an answer and stores nothing: the warning is not an outbox row, since a row
saying "this person named someone" would point at the one answer that does."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.tour import TourAction
from bot.deps import Deps
from bot.flows.moderation import NameIndex, naming_warning, people_named
from bot.flows.tour import DirectoryEntry
from bot.models import Tour, TourStatus
from bot.store.tours import focused_tour_id, get_tour

log = logging.getLogger("bot.handlers.naming")

# Texts already warned about, per form (view id): submitting the same words again keeps them.
# In memory only, a few thousand forms at most; after a restart a form is simply warned again.
_WARNED: OrderedDict[str, set[str]] = OrderedDict()
_WARNED_FORMS = 4096


# Each team's name index and the directory snapshot it was built from: rebuilt only when the
# directory fetched its members again, not for every answer.
_INDEXES: dict[str, tuple[Mapping[str, DirectoryEntry], NameIndex]] = {}


def _index_of(team_id: str, members: Mapping[str, DirectoryEntry]) -> NameIndex:
    cached = _INDEXES.get(team_id)
    if cached is not None and cached[0] is members:
        return cached[1]
    index = NameIndex.of(
        {user_id: entry.names for user_id, entry in members.items() if not entry.is_bot}
    )
    _INDEXES[team_id] = (members, index)
    return index


async def _names(deps: Deps, client: AsyncWebClient, team_id: str) -> NameIndex:
    """Everyone's names, from the directory's cache (one users.list a while); mentions alone
    when Slack cannot say in time."""
    try:
        members = await deps.directory.members(client, team_id=team_id, now=deps.clock.now())
    except (TimeoutError, SlackApiError, OSError) as error:
        log.warning("names unavailable for the naming warning", extra={"error": str(error)})
        return NameIndex.of({})
    return _index_of(team_id, members)


def _anonymous_and_open(tour: Tour | None) -> bool:
    return tour is not None and tour.anonymous and tour.status is TourStatus.OPEN


class Warned(Exception):
    """The form names someone: answered with inline warnings, nothing saved."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("answer names someone")
        self.errors = errors


def cached_names(deps: Deps, team_id: str) -> NameIndex:
    """Everyone's names as the directory last fetched them, without asking Slack: the form
    must answer within 3 seconds (with a cold cache, mentions alone are noticed)."""
    members = deps.directory.cached_members(team_id=team_id, now=deps.clock.now())
    return _index_of(team_id, members) if members else NameIndex.of({})


async def check_form(
    session: AsyncSession,
    *,
    team_id: str,
    user_id: str,
    tour_id: int,
    view_id: str,
    typed: Mapping[int, str],
    names: NameIndex,
) -> None:
    """Raise Warned with inline warnings, by the form's block id, for answers of an open
    anonymous tour that name someone and were not warned about in this form before. Runs in
    the submission's own transaction, so a database outage is answered as any other write."""
    if not any(text.strip() for text in typed.values()):
        return
    if not _anonymous_and_open(await get_tour(session, tour_id=tour_id, team_id=team_id)):
        return
    warned = _WARNED.setdefault(view_id, set())
    _WARNED.move_to_end(view_id)
    while len(_WARNED) > _WARNED_FORMS:
        _WARNED.popitem(last=False)
    problems: dict[str, str] = {}
    for position, text in typed.items():
        named = people_named(text, names, author=user_id) if text.strip() else []
        if named and text not in warned:
            warned.add(text)
            problems[f"answer.{position + 1}"] = (
                f"{naming_warning(named)} Press Save again to keep it."
            )
    if problems:
        raise Warned(problems)


async def warn_after_dm(
    deps: Deps, client: AsyncWebClient, *, team_id: str, user_id: str, channel: str, text: str
) -> None:
    """After a DM answer to an open anonymous tour that names someone: an ephemeral note with
    Edit answers, sent straight to Slack: nothing stored, and nothing left in the DM's history
    (which anyone holding the bot token could read)."""
    if not text.strip():
        return
    # Most answers name nobody: find out from the cached names before asking the database.
    named = people_named(text, await _names(deps, client, team_id), author=user_id)
    if not named:
        return
    try:
        async with deps.sessions() as session:
            tour_id = await focused_tour_id(session, team_id=team_id, user_id=user_id)
            tour = await get_tour(session, tour_id=tour_id, team_id=team_id) if tour_id else None
    except OperationalError as error:  # the answer is saved; the note is a courtesy
        log.warning("naming warning skipped", extra={"error": type(error).__name__})
        return
    if tour is None or not _anonymous_and_open(tour):
        return
    warning = naming_warning(named)
    blocks = [
        SectionBlock(text=f"{warning} *Edit answers* lets you rephrase it."),
        ActionsBlock(
            elements=[
                ButtonElement(text="Edit answers", action_id=TourAction.EDIT, value=str(tour.id))
            ]
        ),
    ]
    try:
        await client.chat_postEphemeral(
            channel=channel, user=user_id, text=warning, blocks=[b.to_dict() for b in blocks]
        )
    except SlackApiError as error:
        log.warning("naming warning not sent", extra={"error": str(error.response.get("error"))})
