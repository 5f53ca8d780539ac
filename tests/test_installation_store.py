"""Bolt's AsyncInstallationStore contract on our tables: the latest installation per workspace
or organisation, an installer's own, the bot's, and the deletes Bolt's revocation listeners
would make."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk.oauth.installation_store import Installation
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FrozenClock
from bot.encryption import TokenCipher
from bot.installations import InstallationStore

KEY = "cw_0x689RpI-jtRR7oGtoGEnvEFbVBq-JqlAY-9i1y8="


def installation(
    clock: FrozenClock,
    *,
    user: str,
    bot_token: str,
    team: str | None = "T1",
    enterprise: str | None = None,
    org_wide: bool = False,
    user_token: str | None = None,
) -> Installation:
    clock.advance(timedelta(minutes=1))  # each install later than the one before
    return Installation(
        app_id="A1",
        enterprise_id=enterprise,
        team_id=team,
        team_name="Team",
        bot_token=bot_token,
        bot_id="B1",
        bot_user_id="UBOT",
        bot_scopes="commands,chat:write",
        user_id=user,
        user_token=user_token,
        incoming_webhook_url="https://hooks.example/secret",
        is_enterprise_install=org_wide,
        installed_at=clock.now().timestamp(),
    )


async def test_the_latest_install_wins_and_an_installer_keeps_their_own(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    store = InstallationStore(sessions, TokenCipher(KEY), clock)
    await store.async_save(
        installation(clock, user="UANN", bot_token="xoxb-1", user_token="xoxp-ann")
    )
    await store.async_save(installation(clock, user="UBEN", bot_token="xoxb-2"))

    latest = await store.async_find_installation(enterprise_id=None, team_id="T1")
    assert latest is not None
    assert (latest.user_id, latest.bot_token) == ("UBEN", "xoxb-2")
    assert latest.incoming_webhook_url == "https://hooks.example/secret"
    anns = await store.async_find_installation(enterprise_id=None, team_id="T1", user_id="UANN")
    assert anns is not None
    # Ann's own user token, with the workspace's newest bot token
    assert (anns.user_token, anns.bot_token) == ("xoxp-ann", "xoxb-2")
    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None
    assert bot.bot_token == "xoxb-2"
    assert await store.async_find_bot(enterprise_id=None, team_id="T2") is None

    await store.async_delete_installation(enterprise_id=None, team_id="T1", user_id="UBEN")
    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None
    assert bot.bot_token == "xoxb-1"

    await store.async_delete_bot(enterprise_id=None, team_id="T1")
    assert await store.async_find_bot(enterprise_id=None, team_id="T1") is None
    kept = await store.async_find_installation(enterprise_id=None, team_id="T1")
    assert kept is not None
    assert kept.user_token == "xoxp-ann"

    await store.async_delete_all(enterprise_id=None, team_id="T1")
    assert await store.async_find_installation(enterprise_id=None, team_id="T1") is None


async def test_an_org_wide_install_is_found_for_the_org_not_for_a_team(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    store = InstallationStore(sessions, TokenCipher(KEY), clock)
    await store.async_save(
        installation(
            clock, user="UADMIN", bot_token="xoxb-org", team=None, enterprise="E1", org_wide=True
        )
    )
    await store.async_save(
        installation(clock, user="UANN", bot_token="xoxb-t9", team="T9", enterprise="E1")
    )

    org = await store.async_find_bot(enterprise_id="E1", team_id="T1", is_enterprise_install=True)
    assert org is not None
    assert (org.bot_token, org.team_id, org.is_enterprise_install) == ("xoxb-org", None, True)
    # a workspace of the org installed on its own keeps its own token
    own = await store.async_find_bot(enterprise_id="E1", team_id="T9")
    assert own is not None
    assert own.bot_token == "xoxb-t9"
    # a team-scoped question does not get the org's install (InstalledTokens asks for it)
    assert await store.async_find_bot(enterprise_id="E1", team_id="T1") is None


async def test_a_workspace_installed_before_it_joined_an_organisation_is_still_found(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """Installed as a plain workspace (no enterprise_id), then the workspace joins a Grid
    organisation: its requests now name the organisation, and its install is found, and
    deleted on uninstall, all the same."""
    store = InstallationStore(sessions, TokenCipher(KEY), clock)
    await store.async_save(installation(clock, user="UANN", bot_token="xoxb-before-grid"))

    bot = await store.async_find_bot(enterprise_id="E1", team_id="T1")
    assert bot is not None
    assert bot.bot_token == "xoxb-before-grid"
    found = await store.async_find_installation(enterprise_id="E1", team_id="T1")
    assert found is not None
    assert found.user_id == "UANN"

    await store.async_delete_installation(enterprise_id="E1", team_id="T1")
    assert await store.async_find_bot(enterprise_id=None, team_id="T1") is None
