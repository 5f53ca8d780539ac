"""The app's OAuth installations and the OAuth states of installs under way. Rows hold tokens
as ciphertext only: bot/installations.py encrypts before and decrypts after these queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import OAuthState, SlackInstallation

# What delete_bot empties: the bot's token and what comes with it.
BOT_SECRETS = ("bot_token_ciphertext", "bot_refresh_token_ciphertext")
# Every column that holds ciphertext (what `rotate-keys` re-encrypts).
CIPHERTEXT_COLUMNS = (
    "bot_token_ciphertext",
    "bot_refresh_token_ciphertext",
    "user_token_ciphertext",
    "user_refresh_token_ciphertext",
    "incoming_webhook_url_ciphertext",
)


def _installed_in(enterprise_id: str | None, team_id: str | None) -> ColumnElement[bool]:
    """Rows of the workspace `team_id`, or of the org-wide install of `enterprise_id` when
    `team_id` is None. A workspace's id is Slack-wide, so its own install is found whatever
    organisation the request names: one installed before its workspace joined a Grid
    organisation (stored without `enterprise_id`) is still found, replaced and deleted."""
    if team_id is not None:
        return SlackInstallation.team_id == team_id
    return SlackInstallation.enterprise_id.is_not_distinct_from(
        enterprise_id
    ) & SlackInstallation.team_id.is_(None)


async def save(session: AsyncSession, *, values: dict[str, Any]) -> None:
    """The installation `values` describe replaces the installer's earlier one there."""
    await session.execute(
        delete(SlackInstallation).where(
            _installed_in(values["enterprise_id"], values["team_id"]),
            SlackInstallation.user_id == values["user_id"],
        )
    )
    session.add(SlackInstallation(**values))
    await session.flush()


async def latest(
    session: AsyncSession,
    *,
    enterprise_id: str | None,
    team_id: str | None,
    user_id: str | None = None,
    with_bot: bool = False,
) -> SlackInstallation | None:
    """The most recent installation there (by `user_id` when given; holding a bot token when
    `with_bot`)."""
    query = select(SlackInstallation).where(_installed_in(enterprise_id, team_id))
    if user_id is not None:
        query = query.where(SlackInstallation.user_id == user_id)
    if with_bot:
        query = query.where(SlackInstallation.bot_token_ciphertext.is_not(None))
    query = query.order_by(SlackInstallation.installed_at.desc(), SlackInstallation.id.desc())
    found: SlackInstallation | None = await session.scalar(query.limit(1))
    return found


async def forget_bot(
    session: AsyncSession, *, enterprise_id: str | None, team_id: str | None
) -> int:
    """Empty the bot tokens of the installations there; how many rows held one."""
    result = await session.execute(
        update(SlackInstallation)
        .where(
            _installed_in(enterprise_id, team_id),
            SlackInstallation.bot_token_ciphertext.is_not(None),
        )
        .values(dict.fromkeys(BOT_SECRETS))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def remove(
    session: AsyncSession,
    *,
    enterprise_id: str | None,
    team_id: str | None,
    user_id: str | None = None,
) -> int:
    """Delete the installations there (only `user_id`'s when given); how many."""
    query = delete(SlackInstallation).where(_installed_in(enterprise_id, team_id))
    if user_id is not None:
        query = query.where(SlackInstallation.user_id == user_id)
    result = await session.execute(query.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


async def every_installation(
    session: AsyncSession, *, lock: bool = True
) -> Sequence[SlackInstallation]:
    """All installations; with `lock`, locked for update where the database can (key
    rotation)."""
    query = select(SlackInstallation).order_by(SlackInstallation.id)
    if lock and session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    return (await session.scalars(query)).all()


async def add_state(session: AsyncSession, *, digest: str, expires_at: datetime) -> None:
    session.add(OAuthState(state_digest=digest, expires_at=expires_at))
    await session.flush()


async def consume_state(session: AsyncSession, *, digest: str, now: datetime) -> bool:
    """Delete the state; True if it was there and had not expired (a state is good once)."""
    expires_at = await session.scalar(
        delete(OAuthState).where(OAuthState.state_digest == digest).returning(OAuthState.expires_at)
    )
    return expires_at is not None and expires_at > now


async def purge_states(session: AsyncSession, *, now: datetime) -> None:
    """Forget the states that expired unused (installs abandoned in the browser)."""
    await session.execute(delete(OAuthState).where(OAuthState.expires_at <= now))
