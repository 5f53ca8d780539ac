"""Installs by OAuth into several workspaces: Bolt's installation and state stores on our own
database (async, on our engine; Bolt's bundled SQLAlchemy store is synchronous), each token
encrypted at rest (bot/encryption.py); the `TokenSource` that finds a team's bot token among
them; the authorize that hands it to listeners; and `rotate-keys`."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db import database_refuses_writes
from bot.delivery import HELD_ERRORS
from bot.encryption import TokenCipher, UnreadableToken
from bot.models import SlackInstallation
from bot.settings import Settings, SettingsError
from bot.store import installations, workspaces

log = logging.getLogger("bot.installations")

# How long an installer has between GET /slack/install and Slack's redirect back (Bolt's
# default cookie lifetime is the same).
STATE_LIFETIME = timedelta(minutes=10)
# How long a found bot token is reused before the installation is read again: how soon a
# process that did not handle an uninstall or a re-install (the worker, another replica) sees it.
BOT_CACHE = timedelta(minutes=1)
DATABASE_CHECK_SECONDS = 10.0


def _instant(seconds: int | float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _seconds(at: datetime | None) -> int | None:
    return None if at is None else int(at.timestamp())


class InstallationStore(AsyncInstallationStore):
    """Bolt's `AsyncInstallationStore` over `slack_installations`. Saving an installation
    also marks its workspaces installed again (`workspaces.reinstate`: their held outbox rows
    go out) and notes a Grid workspace's organisation; then `after_save` callbacks run."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        cipher: TokenCipher,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._cipher = cipher
        self._clock = clock
        self.clock = clock
        self.after_save: list[Callable[[Installation, list[str]], None]] = []

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        now = self._clock.now()
        enterprise_id, team_id = installation.enterprise_id, installation.team_id
        if installation.is_enterprise_install:
            team_id = None  # an org-wide install speaks for every workspace of the org
        async with self._sessions.begin() as session:
            await installations.save(session, values=self._row(installation, team_id=team_id))
            if team_id is None and enterprise_id:
                teams = await workspaces.teams_of_enterprise(session, enterprise_id=enterprise_id)
            else:
                teams = [team_id] if team_id else []
                if team_id and enterprise_id:
                    await workspaces.note_enterprise(
                        session, team_id=team_id, enterprise_id=enterprise_id, now=now
                    )
            for team in teams:
                await workspaces.reinstate(
                    session, team_id=team, now=now, refused_errors=HELD_ERRORS
                )
        log.info(
            "installed",
            extra={
                "team": team_id,
                "enterprise": enterprise_id,
                "org_wide": bool(installation.is_enterprise_install),
            },
        )
        for callback in self.after_save:
            callback(installation, teams)

    async def async_save_bot(self, bot: Bot) -> None:
        # Bolt calls this only for token rotation, which this app does not turn on; a bot alone
        # has no installer to file it under.
        raise NotImplementedError("token rotation is not enabled for Partnerbot")

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        installation = await self.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        if installation is None or installation.bot_token is None:
            return None
        return installation.to_bot()

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The latest installation there (`user_id`'s, with the latest bot token, when given).
        An org-wide install is asked for with `is_enterprise_install` (or no team)."""
        if is_enterprise_install:
            team_id = None
        async with self._sessions() as session:
            row = await installations.latest(
                session, enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
            )
            if row is None:
                return None
            bot_row = row
            if user_id is not None or row.bot_token_ciphertext is None:
                bot_row = (
                    await installations.latest(
                        session, enterprise_id=enterprise_id, team_id=team_id, with_bot=True
                    )
                    or row
                )
        return self._installation(row, bot_row)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        async with self._sessions.begin() as session:
            await installations.forget_bot(session, enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        async with self._sessions.begin() as session:
            await installations.remove(
                session, enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
            )

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        async with self._sessions.begin() as session:
            await delete_all(session, enterprise_id=enterprise_id, team_id=team_id)

    def _row(self, installation: Installation, *, team_id: str | None) -> dict[str, Any]:
        encrypt = self._cipher.encrypt
        return {
            "app_id": installation.app_id,
            "enterprise_id": installation.enterprise_id,
            "enterprise_name": installation.enterprise_name,
            "enterprise_url": installation.enterprise_url,
            "team_id": team_id,
            "team_name": installation.team_name,
            "bot_token_ciphertext": encrypt(installation.bot_token),
            "bot_id": installation.bot_id,
            "bot_user_id": installation.bot_user_id,
            "bot_scopes": ",".join(installation.bot_scopes or []) or None,
            "bot_refresh_token_ciphertext": encrypt(installation.bot_refresh_token),
            "bot_token_expires_at": _instant(installation.bot_token_expires_at),
            "user_id": installation.user_id,
            "user_token_ciphertext": encrypt(installation.user_token),
            "user_scopes": ",".join(installation.user_scopes or []) or None,
            "user_refresh_token_ciphertext": encrypt(installation.user_refresh_token),
            "user_token_expires_at": _instant(installation.user_token_expires_at),
            "incoming_webhook_url_ciphertext": encrypt(installation.incoming_webhook_url),
            "incoming_webhook_channel": installation.incoming_webhook_channel,
            "incoming_webhook_channel_id": installation.incoming_webhook_channel_id,
            "incoming_webhook_configuration_url": installation.incoming_webhook_configuration_url,
            "is_enterprise_install": bool(installation.is_enterprise_install),
            "token_type": installation.token_type,
            "installed_at": _instant(installation.installed_at) or self._clock.now(),
        }

    def _installation(self, row: SlackInstallation, bot_row: SlackInstallation) -> Installation:
        decrypt = self._cipher.decrypt
        return Installation(
            app_id=row.app_id,
            enterprise_id=row.enterprise_id,
            enterprise_name=row.enterprise_name,
            enterprise_url=row.enterprise_url,
            team_id=row.team_id,
            team_name=row.team_name,
            bot_token=decrypt(bot_row.bot_token_ciphertext),
            bot_id=bot_row.bot_id,
            bot_user_id=bot_row.bot_user_id,
            bot_scopes=bot_row.bot_scopes or "",
            bot_refresh_token=decrypt(bot_row.bot_refresh_token_ciphertext),
            bot_token_expires_at=_seconds(bot_row.bot_token_expires_at),
            user_id=row.user_id,
            user_token=decrypt(row.user_token_ciphertext),
            user_scopes=row.user_scopes or "",
            user_refresh_token=decrypt(row.user_refresh_token_ciphertext),
            user_token_expires_at=_seconds(row.user_token_expires_at),
            incoming_webhook_url=decrypt(row.incoming_webhook_url_ciphertext),
            incoming_webhook_channel=row.incoming_webhook_channel,
            incoming_webhook_channel_id=row.incoming_webhook_channel_id,
            incoming_webhook_configuration_url=row.incoming_webhook_configuration_url,
            is_enterprise_install=row.is_enterprise_install,
            token_type=row.token_type,
            installed_at=row.installed_at.timestamp(),
        )


async def delete_all(
    session: AsyncSession, *, enterprise_id: str | None, team_id: str | None
) -> int:
    """Delete every installation there, in the caller's transaction (the uninstall handler's);
    how many."""
    return await installations.remove(session, enterprise_id=enterprise_id, team_id=team_id)


class StateStore(AsyncOAuthStateStore):
    """Bolt's `AsyncOAuthStateStore` over `oauth_states`: a state is good once, for
    STATE_LIFETIME. Only its HMAC with SLACK_STATE_SECRET is stored."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, *, secret: str
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._secret = secret.encode("utf-8")

    @property
    def logger(self) -> logging.Logger:
        return log

    def _digest(self, state: str) -> str:
        return hmac.new(self._secret, state.encode("utf-8"), hashlib.sha256).hexdigest()

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        now = self._clock.now()
        async with self._sessions.begin() as session:
            await installations.purge_states(session, now=now)
            await installations.add_state(
                session, digest=self._digest(state), expires_at=now + STATE_LIFETIME
            )
        return state

    async def async_consume(self, state: str) -> bool:
        if not state or len(state) > 200:
            return False
        async with self._sessions.begin() as session:
            return await installations.consume_state(
                session, digest=self._digest(state), now=self._clock.now()
            )


class InstalledTokens:
    """`bot.tokens.TokenSource` over the installations: a team's bot token is its own
    workspace install's, else its Grid organisation's org-wide install's (the organisation
    known from the request, or from `workspaces.enterprise_id`). Found bots are cached by team
    (an org-wide install's also by organisation) for `BOT_CACHE` at most, and dropped at once
    by `forget` (an uninstall here) or a new install: another process (the web role handles the
    uninstall and the re-install, the worker sends) sees the change within that time. A stored
    token no key reads counts as none (the workspace's work waits; logged once)."""

    def __init__(self, store: InstallationStore, sessions: async_sessionmaker[AsyncSession]):
        self._store = store
        self._sessions = sessions
        self._clock = store.clock
        self._bots: dict[str, tuple[datetime, Bot]] = {}
        self._noted: set[str] = set()
        self._unreadable: set[str] = set()
        store.after_save.append(self._installed)

    def _cached(self, key: str) -> Bot | None:
        found = self._bots.get(key)
        if found is None or self._clock.now() - found[0] >= BOT_CACHE:
            return None
        return found[1]

    async def _find(
        self, *, enterprise_id: str | None, team_id: str | None, org_wide: bool = False
    ) -> Bot | None:
        try:
            return await self._store.async_find_bot(
                enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=org_wide
            )
        except UnreadableToken as problem:
            where = team_id or enterprise_id or ""
            if where not in self._unreadable:
                self._unreadable.add(where)
                log.error(
                    "a workspace's stored token cannot be decrypted; its work waits",
                    extra={"team": team_id, "enterprise": enterprise_id, "error": str(problem)},
                )
            return None

    async def bot(
        self,
        team_id: str | None,
        enterprise_id: str | None = None,
        *,
        is_enterprise_install: bool = False,
    ) -> Bot | None:
        if is_enterprise_install or not team_id:
            if not enterprise_id:
                return None
            org = self._cached(f"org:{enterprise_id}")
            if org is None:
                org = await self._find(enterprise_id=enterprise_id, team_id=None, org_wide=True)
                if org is not None:
                    self._bots[f"org:{enterprise_id}"] = (self._clock.now(), org)
            return org
        cached = self._cached(team_id)
        if cached is not None:
            return cached
        if enterprise_id is None:
            async with self._sessions() as session:
                enterprise_id = await workspaces.enterprise_of(session, team_id=team_id)
        bot = await self._find(enterprise_id=enterprise_id, team_id=team_id)
        if bot is None and enterprise_id:
            bot = await self._find(enterprise_id=enterprise_id, team_id=None, org_wide=True)
        if bot is not None:
            self._bots[team_id] = (self._clock.now(), bot)
        return bot

    async def bot_token(self, team_id: str, enterprise_id: str | None = None) -> str | None:
        bot = await self.bot(team_id, enterprise_id)
        return bot.bot_token if bot is not None else None

    async def note_workspace(self, team_id: str, enterprise_id: str) -> None:
        """A request came from `team_id`, a workspace of `enterprise_id`'s organisation: noted
        once, so the outbox and the scheduler, which know only a row's team, find the org-wide
        install's token for it."""
        if team_id in self._noted:
            return
        async with self._sessions.begin() as session:
            await workspaces.note_enterprise(
                session, team_id=team_id, enterprise_id=enterprise_id, now=self._clock.now()
            )
        self._noted.add(team_id)

    def forget(self, team_id: str) -> None:
        self._bots.pop(team_id, None)

    def forget_enterprise(self, enterprise_id: str) -> None:
        """Drop every team served by the organisation's org-wide install."""
        for key, (_, bot) in list(self._bots.items()):
            if bot.enterprise_id == enterprise_id and bot.is_enterprise_install:
                del self._bots[key]

    def _installed(self, installation: Installation, teams: list[str]) -> None:
        if installation.is_enterprise_install and installation.enterprise_id:
            self.forget_enterprise(installation.enterprise_id)
        for team in teams:
            self.forget(team)


class InstalledAuthorize(AsyncAuthorize):
    """Bolt's authorize in OAuth mode: the request's workspace's bot, from the installations
    (cached, no auth.test per request). The first request from a workspace served by an
    org-wide install records the workspace's organisation, so the outbox and the scheduler
    find the org's token for it too."""

    def __init__(self, tokens: InstalledTokens):
        super().__init__()  # type: ignore[no-untyped-call]
        self._tokens = tokens

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        org_wide = bool(context.is_enterprise_install)
        bot = await self._tokens.bot(team_id, enterprise_id, is_enterprise_install=org_wide)
        if bot is None:
            log.warning(
                "a request from a workspace the app is not installed in",
                extra={"team": team_id, "enterprise": enterprise_id},
            )
            return None
        if bot.is_enterprise_install and team_id and bot.enterprise_id:
            await self._tokens.note_workspace(team_id, bot.enterprise_id)
        return AuthorizeResult(
            enterprise_id=bot.enterprise_id,
            team_id=None if bot.is_enterprise_install else bot.team_id,
            team=bot.team_name,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            bot_token=bot.bot_token,
            bot_scopes=bot.bot_scopes,
        )


@dataclass(frozen=True)
class CheckedInstallations:
    installed: int  # installations stored


async def check_installations(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> CheckedInstallations:
    """OAuth mode's start-up check (there is no token to auth.test yet): the database answers
    and the keys decrypt every stored token. A token no key reads stops the bot with one line
    (SettingsError), before a listener or the outbox fails on it."""
    cipher = settings.token_cipher()
    refused = await database_refuses_writes(engine, timeout=DATABASE_CHECK_SECONDS)
    if refused is not None:
        raise SettingsError(f"the database refuses writes at start ({refused}); check DATABASE_URL")
    async with sessions() as session:
        rows = await installations.every_installation(session, lock=False)
    installed = len(rows)
    unreadable = 0
    for row in rows:
        try:
            for stored in (row.bot_token_ciphertext, row.user_token_ciphertext):
                cipher.decrypt(stored)
        except UnreadableToken:
            unreadable += 1
    if unreadable:
        raise SettingsError(
            f"{unreadable} of {installed} installations have tokens that no key in "
            "PARTNERBOT_ENCRYPTION_KEYS decrypts: put the key they were encrypted with back "
            "(after the new one), run `partnerbot rotate-keys`, then drop it (docs/OPERATIONS.md, "
            "key rotation)"
        )
    log.info(
        "mode: installed by OAuth into several workspaces (no token to check until one "
        "installs); encryption key and database checked",
        extra={"installations": installed},
    )
    return CheckedInstallations(installed)


async def rotate_keys(session: AsyncSession, cipher: TokenCipher) -> tuple[int, int]:
    """Re-encrypt every stored token with the first key, in the caller's transaction: (tokens,
    installations). Running it again changes nothing that matters (the same keys decrypt)."""
    rows = await installations.every_installation(session)
    tokens = 0
    for row in rows:
        for column in installations.CIPHERTEXT_COLUMNS:
            stored = getattr(row, column)
            if stored is not None:
                setattr(row, column, cipher.rotate(stored))
                tokens += 1
    await session.flush()
    return tokens, len(rows)
