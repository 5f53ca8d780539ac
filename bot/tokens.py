"""Which bot token speaks for a workspace.

A deployment runs in one of two modes (exclusive, chosen by the settings):
- single workspace: `SLACK_BOT_TOKEN` speaks for the one workspace it was issued in;
- installed by OAuth: each workspace (or Enterprise Grid organisation) that installed the app has
  its own token, kept encrypted in the database (bot/installations.py).

Everything that calls Slack outside a listener (the outbox, the scheduler, the directory) asks a
`TokenSource` for the token of the row's team, through `TeamClients` (a client per team);
listeners get theirs from Bolt's authorize, which asks the same source (bot/app.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from slack_sdk.web.async_client import AsyncWebClient


class TokenSource(Protocol):
    async def bot_token(self, team_id: str, enterprise_id: str | None = None) -> str | None:
        """The bot token for `team_id` (in `enterprise_id`'s organisation, when known), or
        None when the app is not installed there (never installed, or uninstalled)."""
        ...

    def forget(self, team_id: str) -> None:
        """Drop anything cached for `team_id` (the app was uninstalled or its tokens revoked)."""
        ...

    async def note_workspace(self, team_id: str, enterprise_id: str) -> None:
        """A request came from `team_id`, a workspace of `enterprise_id`'s Grid organisation:
        remember it, so that work known only by its team finds the organisation's token."""
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

    async def note_workspace(self, team_id: str, enterprise_id: str) -> None:
        return None


class TeamClients:
    """Web API clients, one per workspace, made from a `template` client (its API URL, timeout,
    retry handlers, and the HTTP session it holds when asked, so every team's calls share the
    kept-alive connections). The token is asked of the `TokenSource` on every call (which
    caches it); the team's client is kept until its token changes (a re-install, a rotation).
    """

    def __init__(self, template: AsyncWebClient, tokens: TokenSource) -> None:
        self.template = template
        self.tokens = tokens
        self._by_team: dict[str, AsyncWebClient] = {}
        # The token Slack last refused for each team: never used again, so a team whose token
        # was revoked waits without a call until the source has another (a re-install).
        self._refused: dict[str, str] = {}

    async def for_team(
        self, team_id: str, enterprise_id: str | None = None
    ) -> AsyncWebClient | None:
        """The client that speaks for `team_id`, or None when no token does (never installed,
        uninstalled): the caller holds that team's work, never uses another team's token."""
        token = await self.tokens.bot_token(team_id, enterprise_id)
        if token and token == self._refused.get(team_id):
            self.tokens.forget(team_id)  # read the installation again next time
            token = None
        if not token:
            self._by_team.pop(team_id, None)
            return None
        client = self._by_team.get(team_id)
        if client is None or client.token != token:
            template = self.template
            client = AsyncWebClient(
                token=token,
                base_url=template.base_url,
                timeout=template.timeout,
                retry_handlers=template.retry_handlers,
                logger=template.logger,
            )
            self._by_team[team_id] = client
        client.session = self.template.session
        return client

    def forget(self, team_id: str) -> None:
        """Drop the team's client and cached token (uninstalled, tokens revoked, installed
        again)."""
        self._by_team.pop(team_id, None)
        self._refused.pop(team_id, None)
        self.tokens.forget(team_id)

    def refused(self, team_id: str) -> None:
        """Slack refused the team's token (invalid_auth, token_revoked, ...): drop it, and never
        send with that token again; the source is asked afresh each time."""
        client = self._by_team.pop(team_id, None)
        if client is not None and client.token:
            self._refused[team_id] = client.token
        self.tokens.forget(team_id)
