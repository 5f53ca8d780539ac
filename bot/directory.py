"""What Slack knows about people: the workspace's members from `users.list` (Tier 2, so cached
per team for a few minutes), a channel's members, and one person's profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.flows.tour import DirectoryEntry

PAGE_SIZE = 200


@dataclass(frozen=True)
class Person:
    user_id: str
    tz: str
    is_admin: bool
    deleted: bool
    is_bot: bool


def _entry(member: dict[str, Any]) -> DirectoryEntry:
    return DirectoryEntry(
        user_id=str(member["id"]),
        deleted=bool(member.get("deleted")),
        is_bot=bool(member.get("is_bot")) or bool(member.get("is_app_user")),
        tz=member.get("tz"),
    )


class Directory:
    def __init__(self, ttl: timedelta = timedelta(minutes=10)) -> None:
        self._ttl = ttl
        self._members: dict[str, tuple[datetime, dict[str, DirectoryEntry]]] = {}

    async def members(
        self, client: AsyncWebClient, *, team_id: str, now: datetime
    ) -> dict[str, DirectoryEntry]:
        cached = self._members.get(team_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        entries: dict[str, DirectoryEntry] = {}
        cursor: str | None = None
        while True:
            page = await client.users_list(limit=PAGE_SIZE, cursor=cursor)
            members: list[dict[str, Any]] = page.get("members") or []
            for member in members:
                entry = _entry(member)
                entries[entry.user_id] = entry
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        self._members[team_id] = (now, entries)
        return entries

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

    async def person(self, client: AsyncWebClient, *, user_id: str) -> Person:
        user = (await client.users_info(user=user_id))["user"]
        return Person(
            user_id=user_id,
            tz=str(user.get("tz") or "UTC"),
            is_admin=bool(user.get("is_admin") or user.get("is_owner")),
            deleted=bool(user.get("deleted")),
            is_bot=bool(user.get("is_bot")),
        )
