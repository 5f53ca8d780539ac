"""What Slack knows about people and channels: the workspace's members from `users.list`
(Tier 2), a channel's members, one person's profile and whether the bot is in a channel. The
lookups that a modal submission needs are cached, so they can be answered before the ack.

Every cache is kept per team, and every lookup is given the client that speaks for that team
(its token): one workspace's answers never stand in for another's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.flows.tour import DirectoryEntry
from bot.flows.working_hours import SlackStatus

PAGE_SIZE = 200


@dataclass(frozen=True)
class Person:
    user_id: str
    tz: str
    is_admin: bool
    deleted: bool
    is_bot: bool
    has_tz: bool = True  # False when Slack knows no zone for them (tz is then "UTC")
    # Their Slack status, read for time off and never stored.
    status: SlackStatus = field(default_factory=SlackStatus)


@dataclass(frozen=True)
class ChannelAccess:
    """Can the bot post in this channel? `visible` is False when Slack says channel_not_found
    (a private channel the bot is not in looks exactly like a missing one)."""

    channel_id: str
    visible: bool
    is_member: bool
    is_archived: bool


def _entry(member: dict[str, Any]) -> DirectoryEntry:
    profile = member.get("profile") or {}
    names = (
        member.get("name"),
        member.get("real_name"),
        profile.get("real_name"),
        profile.get("display_name"),
    )
    return DirectoryEntry(
        user_id=str(member["id"]),
        deleted=bool(member.get("deleted")),
        is_bot=bool(member.get("is_bot")) or bool(member.get("is_app_user")),
        tz=member.get("tz"),
        names=tuple(dict.fromkeys(str(name) for name in names if name)),
        display_name=next(
            (
                str(name)
                for name in (
                    profile.get("display_name"),
                    profile.get("real_name"),
                    member.get("real_name"),
                    member.get("name"),
                )
                if name
            ),
            None,
        ),
        status=SlackStatus.of_user(member),
    )


class Directory:
    def __init__(
        self,
        ttl: timedelta = timedelta(minutes=10),
        channel_ttl: timedelta = timedelta(minutes=5),
    ) -> None:
        self._ttl = ttl
        self._channel_ttl = channel_ttl
        self._members: dict[str, tuple[datetime, dict[str, DirectoryEntry]]] = {}
        # Keyed by (team, user or channel id).
        self._people: dict[tuple[str, str], tuple[datetime, Person]] = {}
        self._channels: dict[tuple[str, str], tuple[datetime, ChannelAccess]] = {}
        self._channel_members: dict[tuple[str, str], tuple[datetime, frozenset[str]]] = {}
        self._member_list_ttl = timedelta(minutes=1)

    async def members(
        self, client: AsyncWebClient, *, team_id: str, now: datetime
    ) -> dict[str, DirectoryEntry]:
        cached = self._members.get(team_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        entries: dict[str, DirectoryEntry] = {}
        cursor: str | None = None
        while True:
            page = await client.users_list(limit=PAGE_SIZE, cursor=cursor, team_id=team_id)
            members: list[dict[str, Any]] = page.get("members") or []
            for member in members:
                entry = _entry(member)
                entries[entry.user_id] = entry
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        self._members[team_id] = (now, entries)
        return entries

    async def display_names(
        self, client: AsyncWebClient, *, team_id: str, now: datetime
    ) -> dict[str, str]:
        """Each member's name as Slack shows it, by user id, from the cached member list (one
        `users.list` walk, not a `users.info` per person)."""
        members = await self.members(client, team_id=team_id, now=now)
        return {
            user_id: entry.display_name
            for user_id, entry in members.items()
            if entry.display_name is not None
        }

    def cached_members(self, *, team_id: str, now: datetime) -> dict[str, DirectoryEntry]:
        """The members `members` last fetched, if still fresh; never asks Slack (for work
        that must answer within Slack's 3 seconds and can do without)."""
        cached = self._members.get(team_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        return {}

    async def channel_members(self, client: AsyncWebClient, *, channel_id: str) -> list[str]:
        members: list[str] = []
        cursor: str | None = None
        while True:
            page = await client.conversations_members(
                channel=channel_id, limit=PAGE_SIZE, cursor=cursor
            )
            ids: list[str] = page.get("members") or []
            members.extend(str(member) for member in ids)
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return members

    async def is_member(
        self, client: AsyncWebClient, *, team_id: str, channel_id: str, user_id: str, now: datetime
    ) -> bool:
        """Whether someone is in a channel, from a member list kept for a minute (a burst of
        votes would otherwise page through conversations.members on every click)."""
        key = (team_id, channel_id)
        cached = self._channel_members.get(key)
        if cached is None or now - cached[0] >= self._member_list_ttl:
            cached = (now, frozenset(await self.channel_members(client, channel_id=channel_id)))
            self._channel_members[key] = cached
        return user_id in cached[1]

    async def person(
        self, client: AsyncWebClient, *, team_id: str, user_id: str, now: datetime
    ) -> Person:
        cached = self._people.get((team_id, user_id))
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        user = (await client.users_info(user=user_id))["user"]
        person = Person(
            user_id=user_id,
            tz=str(user.get("tz") or "UTC"),
            is_admin=bool(user.get("is_admin") or user.get("is_owner")),
            deleted=bool(user.get("deleted")),
            is_bot=bool(user.get("is_bot")),
            has_tz=bool(user.get("tz")),
            status=SlackStatus.of_user(user),
        )
        self._people[(team_id, user_id)] = (now, person)
        return person

    async def channel(
        self,
        client: AsyncWebClient,
        *,
        team_id: str,
        channel_id: str,
        now: datetime,
        refresh: bool = False,
    ) -> ChannelAccess:
        cached = self._channels.get((team_id, channel_id))
        if not refresh and cached is not None and now - cached[0] < self._channel_ttl:
            return cached[1]
        try:
            info = (await client.conversations_info(channel=channel_id)).get("channel") or {}
            access = ChannelAccess(
                channel_id=channel_id,
                visible=True,
                is_member=bool(info.get("is_member")),
                is_archived=bool(info.get("is_archived")),
            )
        except SlackApiError as error:
            if error.response.get("error") != "channel_not_found":
                raise
            access = ChannelAccess(channel_id, visible=False, is_member=False, is_archived=False)
        self._channels[(team_id, channel_id)] = (now, access)
        return access

    def forget(self, team_id: str) -> None:
        """Drop everything cached about the team (the app was uninstalled there)."""
        self._members.pop(team_id, None)
        for cache in (self._people, self._channels, self._channel_members):
            for key in [k for k in cache if k[0] == team_id]:
                del cache[key]
