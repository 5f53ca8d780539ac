"""Which bot token speaks for a workspace.

A deployment runs in one of two modes (exclusive, chosen by the settings):
- single workspace: `SLACK_BOT_TOKEN` speaks for the one workspace it was issued in;
- installed by OAuth: each workspace (or Enterprise Grid organisation) that installed the app has
  its own token, kept encrypted in the database (bot/installations.py).

Everything that calls Slack outside a listener (the outbox, the scheduler, the directory) asks a
`TokenSource` for the token of the row's team; listeners get theirs from Bolt's authorize.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class TokenSource(Protocol):
    async def bot_token(self, team_id: str, enterprise_id: str | None = None) -> str | None:
        """The bot token for `team_id` (in `enterprise_id`'s organisation, when known), or
        None when the app is not installed there (never installed, or uninstalled)."""
        ...

    def forget(self, team_id: str) -> None:
        """Drop anything cached for `team_id` (the app was uninstalled or its tokens revoked)."""
        ...


@dataclass(frozen=True)
class SingleToken:
    """Single-workspace mode: one token for every call (None when no token is configured, as in
    commands that never call Slack)."""

    token: str | None

    async def bot_token(self, team_id: str, enterprise_id: str | None = None) -> str | None:
        return self.token

    def forget(self, team_id: str) -> None:
        return None
