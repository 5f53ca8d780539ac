"""Installs by OAuth into several workspaces, over HTTP against the fake Slack: the "Add to
Slack" page, Slack's redirect back with a code and the state, each workspace's requests answered
with its own token, tokens unreadable in the database, key rotation, uninstall, and an
Enterprise Grid org-wide install serving two workspaces of the org."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import (
    EVENTS_PATH,
    INSTALL_PATH,
    REDIRECT_PATH,
    RunningServer,
    SlackHttpFrontDoor,
    build_app,
    start_http,
)
from bot.clock import FrozenClock
from bot.deps import Deps, build_deps
from bot.installations import InstalledTokens
from bot.models import Answer, SlackInstallation, Tour, Workspace
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import Delivery, SignedSlack
from bot.settings import Settings, load_settings
from bot.store import outbox
from tests.conftest import ALWAYS, SIGNING_SECRET
from tests.journeys import launch_values

# Fernet keys made for these tests (Fernet.generate_key()).
OLD_KEY = "cw_0x689RpI-jtRR7oGtoGEnvEFbVBq-JqlAY-9i1y8="
NEW_KEY = "wZbFXuxWwJp9pV2F1mNk8j3h3dC4rQeL0tYbUaS7vXk="
STATE_SECRET = "a-state-secret-for-the-tests"
COOKIE = "slack-app-oauth-state"


@dataclass(frozen=True)
class Team:
    team_id: str
    name: str
    token: str
    leader: str
    enterprise_id: str | None = None


TEAMS = [
    Team("TALPHA001", "Alpha", "xoxb-alpha-0000-secret", "UALPHALEAD"),
    Team("TBRAVO002", "Bravo", "xoxb-bravo-0000-secret", "UBRAVOLEAD"),
    Team("TCHARL003", "Charlie", "xoxb-charlie-000-secret", "UCHARLLEAD"),
]
GRID = "EGRID0001"
GRID_TOKEN = "xoxb-grid-org-0000-secret"
GRID_TEAMS = [
    Team("TGRIDA001", "Grid North", GRID_TOKEN, "UGRIDALEAD", GRID),
    Team("TGRIDB002", "Grid South", GRID_TOKEN, "UGRIDBLEAD", GRID),
]


@pytest.fixture
async def fake(clock: FrozenClock) -> AsyncIterator[FakeSlack]:
    async with FakeSlack(clock=lambda: clock.now().timestamp()) as fake:
        for team in TEAMS:
            fake.add_team(team.team_id, team.name, bot_token=team.token)
            fake.add_user(team.leader, f"lead-{team.name.lower()}", team=team.team_id)
        for team in GRID_TEAMS:
            fake.add_team(
                team.team_id,
                team.name,
                bot_token=f"xoxb-unused-{team.team_id}",
                enterprise_id=GRID,
            )
            fake.add_user(team.leader, f"lead-{team.team_id.lower()}", team=team.team_id)
        fake.add_org_install(GRID, bot_token=GRID_TOKEN)
        yield fake


def oauth_settings(fake: FakeSlack, database_url: str, *, keys: str = OLD_KEY) -> Settings:
    return load_settings(
        slack_client_id=fake.client_id,
        slack_client_secret=fake.client_secret,
        slack_state_secret=STATE_SECRET,
        partnerbot_encryption_keys=keys,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url,
        database_url=database_url,
        working_hours=ALWAYS,
    )


@dataclass
class Running:
    deps: Deps
    server: RunningServer
    slack: SignedSlack
    browser: aiohttp.ClientSession
    stopped: bool = False

    async def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        assert await self.deps.inflight.wait_idle(timeout=10)
        await self.server.stop()
        await self.deps.close()


async def start(
    settings: Settings, fake: FakeSlack, clock: FrozenClock, session: aiohttp.ClientSession
) -> Running:
    deps = build_deps(settings, clock=clock)
    server = await start_http(SlackHttpFrontDoor(build_app(deps), deps), host="127.0.0.1", port=0)
    fake.oauth_redirect_url = server.url + REDIRECT_PATH
    slack = SignedSlack(server.url + EVENTS_PATH, SIGNING_SECRET, fake, session=session)
    return Running(deps, server, slack, session)


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def bot(
    clean_env: object,
    fake: FakeSlack,
    database_url: str,
    engine: AsyncEngine,
    clock: FrozenClock,
    browser: aiohttp.ClientSession,
) -> AsyncIterator[Running]:
    running = await start(oauth_settings(fake, database_url), fake, clock, browser)
    yield running
    await running.stop()


@dataclass
class Page:
    status: int
    text: str


async def install(bot: Running, team: str, *, org_wide: bool = False) -> Page:
    """What an installer's browser does: open the "Add to Slack" page, follow its link to
    Slack's authorize page (the fake approves at once and redirects back), and come back to
    the app's redirect URL with the state cookie the app set."""
    async with bot.browser.get(bot.server.url + INSTALL_PATH) as page:
        assert page.status == 200
        body = await page.text()
        cookie = page.cookies[COOKIE].value
    link = html.unescape(re.search(r'href="([^"]*oauth/v2/authorize[^"]*)"', body).group(1))  # type: ignore[union-attr]
    link += "&" + urlencode({"team": team, **({"org_wide": "1"} if org_wide else {})})
    async with bot.browser.get(link, allow_redirects=False) as approved:
        assert approved.status == 302, await approved.text()
        back = approved.headers["Location"]
    assert back.startswith(bot.server.url + REDIRECT_PATH)
    async with bot.browser.get(back, headers={"Cookie": f"{COOKIE}={cookie}"}) as done:
        if done.status == 200:  # installed: the state cookie is cleared
            assert done.cookies[COOKIE].value == "deleted"  # Bolt's expired cookie
        return Page(done.status, await done.text())


def as_team(payload: dict[str, Any], team: Team, *, org_wide: bool = False) -> dict[str, Any]:
    """A payload the fake's default team would send, sent from `team` instead."""
    payload["team_id"] = team.team_id
    if "team_domain" in payload:
        payload["team_domain"] = team.name.lower().replace(" ", "")
    if team.enterprise_id:
        payload["enterprise_id"] = team.enterprise_id
    if "is_enterprise_install" in payload:
        flag = org_wide
        payload["is_enterprise_install"] = (
            flag if isinstance(payload.get("authorizations"), list) else str(flag).lower()
        )
    for authorization in payload.get("authorizations", []):
        authorization.update(
            team_id=None if org_wide else team.team_id,
            enterprise_id=team.enterprise_id,
            is_enterprise_install=org_wide,
        )
    return payload


async def command_from(bot: Running, team: Team, *, org_wide: bool = False) -> Delivery:
    fields = bot.slack.payloads.slash_command(team.leader, "tour")
    return await bot.slack.deliver("slash_commands", as_team(fields, team, org_wide=org_wide))


async def event_from(
    bot: Running, team: Team, event: dict[str, Any], *, org_wide: bool = False
) -> Delivery:
    envelope = bot.slack.payloads.event_callback(event)
    envelope["is_enterprise_install"] = org_wide
    return await bot.slack.deliver("events_api", as_team(envelope, team, org_wide=org_wide))


def modal_calls(fake: FakeSlack) -> dict[str | None, list[str]]:
    """views.open calls, by the team whose token each carried."""
    opened: dict[str | None, list[str]] = {}
    for call in fake.calls_to("views.open"):
        opened.setdefault(call.team_id, []).append(str(call.error or "ok"))
    return opened


async def test_three_workspaces_install_and_each_is_answered_with_its_own_token(
    bot: Running, fake: FakeSlack, engine: AsyncEngine
) -> None:
    for team in TEAMS:
        page = await install(bot, team.team_id)
        assert page.status == 200, page.text
        assert f"installed in {team.name}" in page.text
    for team in TEAMS:
        answer = await command_from(bot, team)
        assert answer.status == 200
    await fake.wait_for(lambda: len(fake.calls_to("views.open")) == len(TEAMS))
    assert modal_calls(fake) == {team.team_id: ["ok"] for team in TEAMS}
    assert fake.cross_team_violations == []
    # oauth.v2.access was asked with the app's credentials, once per install
    assert [call.ok for call in fake.calls_to("oauth.v2.access")] == [True] * len(TEAMS)
    async with engine.connect() as connection:
        installed = (
            await connection.execute(
                select(SlackInstallation.team_id, SlackInstallation.user_id).order_by(
                    SlackInstallation.team_id
                )
            )
        ).all()
    assert installed == [
        (team.team_id, team.leader) for team in sorted(TEAMS, key=lambda t: t.team_id)
    ]


async def test_a_workspace_that_did_not_install_is_not_served(
    bot: Running, fake: FakeSlack
) -> None:
    await install(bot, TEAMS[0].team_id)
    answer = await command_from(bot, TEAMS[1])
    assert answer.status == 200  # Bolt tells the person, through the response URL
    assert await bot.deps.inflight.wait_idle(timeout=5)
    assert fake.calls_to("views.open") == []


@pytest.mark.parametrize(
    ("state", "cookie", "reason"),
    [
        # a state the app never issued
        ("forged-state", "forged-state", "expired or was already used"),
        # a state cookie from another browser
        (None, "another-state", "another browser"),
    ],
)
async def test_a_bad_state_is_refused_with_a_clear_page(
    bot: Running, fake: FakeSlack, engine: AsyncEngine, state: str | None, cookie: str, reason: str
) -> None:
    async with bot.browser.get(bot.server.url + INSTALL_PATH) as page:
        issued = page.cookies[COOKIE].value
    code = fake.issue_oauth_code(TEAMS[0].team_id)
    query = urlencode({"code": code, "state": state or issued})
    async with bot.browser.get(
        f"{bot.server.url}{REDIRECT_PATH}?{query}", headers={"Cookie": f"{COOKIE}={cookie}"}
    ) as answer:
        assert answer.status in (400, 401)
        assert reason in await answer.text()
        assert answer.headers["Content-Type"].startswith("text/html")
    assert fake.calls_to("oauth.v2.access") == []
    async with engine.connect() as connection:
        assert (await connection.execute(select(SlackInstallation.id))).all() == []


async def test_a_state_is_good_once_and_for_ten_minutes(
    bot: Running, fake: FakeSlack, clock: FrozenClock
) -> None:
    async def come_back(state: str) -> aiohttp.ClientResponse:
        code = fake.issue_oauth_code(TEAMS[0].team_id)
        query = urlencode({"code": code, "state": state})
        return await bot.browser.get(
            f"{bot.server.url}{REDIRECT_PATH}?{query}", headers={"Cookie": f"{COOKIE}={state}"}
        )

    async with bot.browser.get(bot.server.url + INSTALL_PATH) as page:
        late = page.cookies[COOKIE].value
    clock.advance(minutes=11)
    async with await come_back(late) as answer:
        assert answer.status == 401
        assert "expired" in await answer.text()
    async with bot.browser.get(bot.server.url + INSTALL_PATH) as page:
        fresh = page.cookies[COOKIE].value
    async with await come_back(fresh) as answer:
        assert answer.status == 200
    async with await come_back(fresh) as answer:  # the same state again
        assert answer.status == 401


async def every_value_as_text(engine: AsyncEngine) -> list[str]:
    """Every column of every row of every table, as the database gives it, as text."""
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        values = []
        for table in tables:
            rows = await connection.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608 - names from the database
            values += [str(value) for row in rows for value in row if value is not None]
    return values


async def test_no_token_is_readable_in_the_database(
    bot: Running, fake: FakeSlack, engine: AsyncEngine
) -> None:
    for team in TEAMS:
        assert (await install(bot, team.team_id)).status == 200
    assert (await install(bot, GRID_TEAMS[0].team_id, org_wide=True)).status == 200
    async with bot.browser.get(bot.server.url + INSTALL_PATH) as page:  # a state under way
        state = page.cookies[COOKIE].value
    values = await every_value_as_text(engine)
    assert any(value.startswith("gAAAAA") for value in values)  # Fernet ciphertext is there
    secrets = [team.token for team in TEAMS] + [GRID_TOKEN, fake.client_secret, state]
    for secret in secrets:
        assert not [value for value in values if secret in value], secret
    assert not [value for value in values if "xoxb-" in value]


async def rotate_keys(monkeypatch: pytest.MonkeyPatch, database_url: str, keys: str) -> int:
    """`partnerbot rotate-keys` with these keys (in a thread: the command runs its own loop)."""
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PARTNERBOT_ENCRYPTION_KEYS", keys)
    monkeypatch.setenv("SLACK_CLIENT_ID", "1111111111.2222222222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "fake-client-secret")
    monkeypatch.setenv("SLACK_STATE_SECRET", STATE_SECRET)
    from bot.settings import get_settings

    get_settings.cache_clear()
    return await asyncio.to_thread(main, ["rotate-keys"])


async def test_rotating_the_key_keeps_every_install_working(
    bot: Running,
    fake: FakeSlack,
    engine: AsyncEngine,
    database_url: str,
    clock: FrozenClock,
    browser: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for team in TEAMS:
        assert (await install(bot, team.team_id)).status == 200
    await bot.stop()
    before = await every_value_as_text(engine)

    # the new key first, the old one still there to read what it encrypted
    assert await rotate_keys(monkeypatch, database_url, f"{NEW_KEY},{OLD_KEY}") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == [
        "re-encrypted 3 tokens of 3 installations with the first key of PARTNERBOT_ENCRYPTION_KEYS"
    ]
    assert await rotate_keys(monkeypatch, database_url, f"{NEW_KEY},{OLD_KEY}") == 0  # again
    capsys.readouterr()
    assert set(await every_value_as_text(engine)) != set(before)

    # the old key dropped: every install still answers with its own token
    rotated = await start(oauth_settings(fake, database_url, keys=NEW_KEY), fake, clock, browser)
    try:
        for team in TEAMS:
            assert (await command_from(rotated, team)).status == 200
        await fake.wait_for(lambda: len(fake.calls_to("views.open")) == len(TEAMS))
        assert modal_calls(fake) == {team.team_id: ["ok"] for team in TEAMS}
    finally:
        await rotated.stop()

    # the old key alone no longer reads them: rotation really re-encrypted
    from bot.installations import check_installations
    from bot.settings import SettingsError

    stale = oauth_settings(fake, database_url, keys=OLD_KEY)
    old = build_deps(stale, clock=clock)
    try:
        with pytest.raises(SettingsError, match="PARTNERBOT_ENCRYPTION_KEYS"):
            await check_installations(old.engine, old.sessions, stale)
    finally:
        await old.close()


async def test_uninstalling_one_workspace_deletes_its_tokens_and_leaves_the_others(
    bot: Running, fake: FakeSlack, engine: AsyncEngine
) -> None:
    for team in TEAMS:
        assert (await install(bot, team.team_id)).status == 200
    gone, *kept = TEAMS
    for team in TEAMS:  # every token cached
        assert await bot.deps.tokens.bot_token(team.team_id) == team.token
    answer = await event_from(bot, gone, {"type": "app_uninstalled"})
    assert answer.status == 200
    assert await bot.deps.inflight.wait_idle(timeout=5)

    left, revoked = await installed_and_revoked(engine)
    assert sorted(left) == sorted(team.team_id for team in kept)
    assert revoked == [gone.team_id]
    assert await bot.deps.tokens.bot_token(gone.team_id) is None  # the cache forgot it
    for team in kept:
        assert await bot.deps.tokens.bot_token(team.team_id) == team.token
        assert (await command_from(bot, team)).status == 200
    assert (await command_from(bot, gone)).status == 200
    assert await bot.deps.inflight.wait_idle(timeout=5)
    await fake.wait_for(lambda: len(fake.calls_to("views.open")) == len(kept))
    assert modal_calls(fake) == {team.team_id: ["ok"] for team in kept}

    # a re-install serves it again and lifts the hold on its queue
    assert (await install(bot, gone.team_id)).status == 200
    async with engine.connect() as connection:
        still_revoked = (
            (
                await connection.execute(
                    select(Workspace.team_id).where(Workspace.revoked_at.is_not(None))
                )
            )
            .scalars()
            .all()
        )
    assert still_revoked == []
    assert await bot.deps.tokens.bot_token(gone.team_id) == gone.token


async def test_an_org_wide_install_serves_two_workspaces_of_the_org(
    bot: Running, fake: FakeSlack, engine: AsyncEngine
) -> None:
    page = await install(bot, GRID_TEAMS[0].team_id, org_wide=True)
    assert page.status == 200, page.text
    async with engine.connect() as connection:
        row = (await connection.execute(select(SlackInstallation))).one()
    assert (row.enterprise_id, row.team_id, row.is_enterprise_install) == (GRID, None, True)

    for team in GRID_TEAMS:
        assert (await command_from(bot, team, org_wide=True)).status == 200
    await fake.wait_for(lambda: len(fake.calls_to("views.open")) == len(GRID_TEAMS))
    assert modal_calls(fake) == {GRID: ["ok", "ok"]}  # both with the organisation's token
    assert fake.cross_team_violations == []

    # the outbox and the scheduler, which know only a row's team, find the org's token
    tokens = bot.deps.tokens
    assert isinstance(tokens, InstalledTokens)
    for team in GRID_TEAMS:
        tokens.forget(team.team_id)
        assert await tokens.bot_token(team.team_id) == GRID_TOKEN
    assert await tokens.bot_token(TEAMS[0].team_id) is None  # not in the org, not installed


async def test_single_workspace_mode_has_no_install_pages(
    app_server: RunningServer, browser: aiohttp.ClientSession
) -> None:
    async with browser.get(app_server.url + INSTALL_PATH) as answer:
        assert answer.status == 404


def test_the_install_asks_for_the_manifests_bot_scopes(repo_root: Any) -> None:
    import yaml

    from bot.app import BOT_SCOPES

    manifest = yaml.safe_load((repo_root / "manifest.yml").read_text(encoding="utf-8"))
    assert list(BOT_SCOPES) == manifest["oauth_config"]["scopes"]["bot"]
    assert manifest["oauth_config"]["redirect_urls"]
    assert all(url.endswith(REDIRECT_PATH) for url in manifest["oauth_config"]["redirect_urls"])


async def test_a_revoked_bot_token_is_deleted_and_the_installation_kept(
    bot: Running, fake: FakeSlack, engine: AsyncEngine
) -> None:
    for team in TEAMS:
        assert (await install(bot, team.team_id)).status == 200
    revoked, *kept = TEAMS
    event = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [f"UBOT{revoked.team_id}"]}}
    assert (await event_from(bot, revoked, event)).status == 200
    assert await bot.deps.inflight.wait_idle(timeout=5)
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(SlackInstallation.team_id, SlackInstallation.bot_token_ciphertext)
            )
        ).all()
    holding = {team_id: ciphertext is not None for team_id, ciphertext in rows}
    assert holding == {revoked.team_id: False, **{team.team_id: True for team in kept}}
    assert await bot.deps.tokens.bot_token(revoked.team_id) is None


async def test_uninstalling_an_org_wide_install_stops_every_workspace_of_the_org(
    bot: Running, fake: FakeSlack, engine: AsyncEngine
) -> None:
    assert (await install(bot, TEAMS[0].team_id)).status == 200
    assert (await install(bot, GRID_TEAMS[0].team_id, org_wide=True)).status == 200
    for team in GRID_TEAMS:  # each workspace of the org has been heard from
        assert (await command_from(bot, team, org_wide=True)).status == 200
    assert await bot.deps.inflight.wait_idle(timeout=5)
    uninstalled = await event_from(bot, GRID_TEAMS[1], {"type": "app_uninstalled"}, org_wide=True)
    assert uninstalled.status == 200
    assert await bot.deps.inflight.wait_idle(timeout=5)
    left, revoked = await installed_and_revoked(engine)
    assert left == [TEAMS[0].team_id]
    assert sorted(revoked) == sorted(team.team_id for team in GRID_TEAMS)
    for team in GRID_TEAMS:
        assert await bot.deps.tokens.bot_token(team.team_id) is None
    assert await bot.deps.tokens.bot_token(TEAMS[0].team_id) == TEAMS[0].token


async def test_a_request_naming_another_installed_workspace_is_refused(
    bot: Running, fake: FakeSlack
) -> None:
    alpha, bravo, _ = TEAMS
    for team in (alpha, bravo):
        assert (await install(bot, team.team_id)).status == 200
    # signed, from Alpha's installation, but acting as a user of Bravo
    fields = as_team(bot.slack.payloads.slash_command(alpha.leader, "tour"), alpha)
    envelope = bot.slack.payloads.event_callback(
        {"type": "app_home_opened", "user": bravo.leader, "tab": "home", "user_team": bravo.team_id}
    )
    assert (await bot.slack.deliver("events_api", as_team(envelope, alpha))).status == 200
    assert (await bot.slack.deliver("slash_commands", fields)).status == 200
    assert await bot.deps.inflight.wait_idle(timeout=5)
    await fake.wait_for(lambda: len(fake.calls_to("views.open")) == 1)
    assert modal_calls(fake) == {alpha.team_id: ["ok"]}
    assert fake.calls_to("views.publish") == []  # Bravo's user got no Home from Alpha's token
    assert fake.cross_team_violations == []


async def test_slack_out_of_reach_at_the_redirect_is_a_clear_page(
    bot: Running, fake: FakeSlack, engine: AsyncEngine
) -> None:
    async with bot.browser.get(bot.server.url + INSTALL_PATH) as page:
        state = page.cookies[COOKIE].value
    code = fake.issue_oauth_code(TEAMS[0].team_id)
    await fake.stop()
    query = urlencode({"code": code, "state": state})
    async with bot.browser.get(
        f"{bot.server.url}{REDIRECT_PATH}?{query}", headers={"Cookie": f"{COOKIE}={state}"}
    ) as answer:
        assert answer.status == 502
        assert "Slack could not be reached" in await answer.text()
    async with engine.connect() as connection:
        assert (await connection.execute(select(SlackInstallation.id))).all() == []


async def installed_and_revoked(engine: AsyncEngine) -> tuple[list[str | None], list[str]]:
    """The teams with an installation row, and the workspaces held as revoked."""
    async with engine.connect() as connection:
        left = (await connection.execute(select(SlackInstallation.team_id))).scalars().all()
        revoked = (
            await connection.execute(
                select(Workspace.team_id).where(Workspace.revoked_at.is_not(None))
            )
        ).scalars()
        return list(left), list(revoked)


async def queue_dm(bot: Running, team: Team, tag: str) -> None:
    async with bot.deps.sessions.begin() as session:
        await outbox.enqueue(
            session,
            team_id=team.team_id,
            key=f"{tag}:{team.team_id}",
            method="chat.postMessage",
            payload={"channel": team.leader, "text": f"{tag} for {team.name}"},
            now=bot.deps.clock.now(),
        )


def dms_sent(fake: FakeSlack) -> dict[str | None, list[str]]:
    sent: dict[str | None, list[str]] = {}
    for call in fake.calls_to("chat.postMessage"):
        if call.ok:
            sent.setdefault(call.team_id, []).append(str(call.args.get("text")))
    return sent


async def test_the_outbox_sends_with_each_installations_token_and_a_reinstall_resumes(
    bot: Running, fake: FakeSlack, clock: FrozenClock
) -> None:
    for team in TEAMS:
        assert (await install(bot, team.team_id)).status == 200
        await queue_dm(bot, team, "hello")
    await bot.deps.delivery.deliver_due()
    assert dms_sent(fake) == {team.team_id: [f"hello for {team.name}"] for team in TEAMS}

    gone = TEAMS[1]
    assert (await event_from(bot, gone, {"type": "app_uninstalled"})).status == 200
    assert await bot.deps.inflight.wait_idle(timeout=5)
    clock.advance(seconds=5)  # past chat.postMessage's spacing in one channel
    for team in TEAMS:
        await queue_dm(bot, team, "later")
    await bot.deps.delivery.deliver_due()
    later = {
        team: [text for text in texts if text.startswith("later")]
        for team, texts in dms_sent(fake).items()
    }
    assert later == {
        TEAMS[0].team_id: [f"later for {TEAMS[0].name}"],
        gone.team_id: [],  # held, not sent, not failed
        TEAMS[2].team_id: [f"later for {TEAMS[2].name}"],
    }

    assert (await install(bot, gone.team_id)).status == 200  # installed again
    clock.advance(seconds=5)
    await bot.deps.delivery.deliver_due()
    assert dms_sent(fake)[gone.team_id] == [f"hello for {gone.name}", f"later for {gone.name}"]
    assert fake.cross_team_violations == []


async def test_three_installed_workspaces_run_a_tour_at_once_each_with_its_own_token(
    bot: Running, fake: FakeSlack, engine: AsyncEngine
) -> None:
    """The issue's acceptance: three workspaces install through the OAuth pages, then their
    leaders launch a tour each at the same time; every call Slack receives — the listeners',
    the launch's directory reads, the outbox's invitations — carries that workspace's token,
    and no team's message reaches another team's people."""
    members: dict[str, list[str]] = {}
    for team in TEAMS:
        assert (await install(bot, team.team_id)).status == 200
        members[team.team_id] = [f"U{team.name.upper()[:5]}M{n}" for n in range(1, 4)]
        for member in members[team.team_id]:
            fake.add_user(member, member.lower(), team=team.team_id)
        fake.add_channel(
            f"C{team.team_id}",
            f"{team.name.lower()}-team",
            members=[team.leader, *members[team.team_id]],
            team=team.team_id,
        )
    fake.calls.clear()

    async def launch(team: Team) -> None:
        answer = await bot.slack.slash_command(team.leader, "tour", channel_id=f"C{team.team_id}")
        assert answer.status == 200, answer.text
        await fake.wait_for(lambda: bool(fake.view_stack(team.leader)))
        view = fake.views[fake.view_stack(team.leader)[-1]]
        values = launch_values(
            users=members[team.team_id],
            results=f"C{team.team_id}",
            anonymous=False,
            title=f"{team.name} tour",
        )
        submitted = await bot.slack.view_submission(team.leader, view, values)
        assert submitted.status == 200, submitted.text
        assert submitted.problems == []

    await asyncio.gather(*(launch(team) for team in TEAMS))
    assert await bot.deps.inflight.wait_idle(timeout=10)
    await bot.deps.delivery.deliver_due()

    async with engine.connect() as connection:
        tours = dict((await connection.execute(select(Tour.team_id, Tour.title))).all())
    assert tours == {team.team_id: f"{team.name} tour" for team in TEAMS}
    for team in TEAMS:
        for member in members[team.team_id]:
            [invitation] = fake.dms_to(member)
            assert invitation["team"] == team.team_id
            assert f"{team.name} tour" in json.dumps(invitation)
    tokens = {team.token: team.team_id for team in TEAMS}
    assert {call.team_id for call in fake.calls} == set(tokens.values())
    for team in TEAMS:
        used = {call.method for call in fake.calls if call.team_id == team.team_id}
        assert {"views.open", "users.list", "chat.postMessage"} <= used, (team.name, used)
    assert [(call.method, call.error) for call in fake.calls if not call.ok] == []
    assert fake.cross_team_violations == []


async def test_with_no_token_of_its_own_the_outbox_asks_slack_nothing_about_revoked_workspaces(
    bot: Running, fake: FakeSlack
) -> None:
    """In single-workspace mode the outbox asks auth.test whether its token's workspace is back;
    installed by OAuth it has no token of its own (a call without one is Slack's not_authed and
    a misleading warning): a new installation is what reinstates a workspace."""
    team = TEAMS[0]
    assert (await install(bot, team.team_id)).status == 200
    assert (await event_from(bot, team, {"type": "app_uninstalled"})).status == 200
    assert await bot.deps.inflight.wait_idle(timeout=5)
    fake.calls.clear()
    assert await bot.deps.delivery.reinstate_own_workspace()
    assert fake.calls_to("auth.test") == []


async def test_an_org_wide_install_runs_a_tour_in_one_workspace_of_the_organisation(
    bot: Running, fake: FakeSlack, engine: AsyncEngine
) -> None:
    """Enterprise Grid: one org-wide install. A leader's tour asks the people of the leader's
    own workspace (someone picked from another workspace of the organisation is not asked: a
    tour, its answers and its follow-through live in one workspace); the directory names the
    workspace it lists, as Slack requires with an org token; a member's DM answer, whose event
    names no team in its authorization, reaches the tour; every call carries the org's token."""
    assert (await install(bot, GRID_TEAMS[0].team_id, org_wide=True)).status == 200
    north, south = GRID_TEAMS
    fake.add_user("UNORTHM1", "north-member", team=north.team_id)
    fake.add_user("USOUTHM1", "south-member", team=south.team_id)
    fake.add_channel(
        "CGRIDTEAM", "grid-team", members=[north.leader, "UNORTHM1"], team=north.team_id
    )
    fake.calls.clear()
    answer = await bot.slack.slash_command(north.leader, "tour", channel_id="CGRIDTEAM")
    assert answer.status == 200, answer.text
    await fake.wait_for(lambda: bool(fake.view_stack(north.leader)))
    view = fake.views[fake.view_stack(north.leader)[-1]]
    values = launch_values(
        users=["UNORTHM1", "USOUTHM1"], results="CGRIDTEAM", anonymous=False, title="Grid tour"
    )
    submitted = await bot.slack.view_submission(north.leader, view, values)
    assert submitted.status == 200, submitted.text
    assert submitted.problems == []
    assert await bot.deps.inflight.wait_idle(timeout=10)
    await bot.deps.delivery.deliver_due()

    [invitation] = fake.dms_to("UNORTHM1")
    assert "Grid tour" in json.dumps(invitation)
    assert fake.dms_to("USOUTHM1") == []  # another workspace of the organisation
    listed = fake.calls_to("users.list")
    assert listed, "the launch reads the directory"
    assert all(call.ok and call.args.get("team_id") == north.team_id for call in listed)

    mark = len(fake.calls)
    assert (await bot.slack.dm("UNORTHM1", "More time for reviews")).status == 200
    assert await bot.deps.inflight.wait_idle(timeout=10)
    await bot.deps.delivery.deliver_due()
    async with engine.connect() as connection:
        answers = (await connection.execute(select(Answer.text))).scalars().all()
    assert answers == ["More time for reviews"]
    replies = [c for c in fake.calls[mark:] if c.method == "chat.postMessage"]
    assert replies
    assert all(c.ok and c.args.get("channel") == "UNORTHM1" for c in replies)

    assert {call.team_id for call in fake.calls} == {GRID}  # the organisation's token only
    assert [(call.method, call.error) for call in fake.calls if not call.ok] == []
    assert fake.cross_team_violations == []


async def test_a_reinstall_handled_by_the_web_process_reaches_the_worker_without_a_restart(
    bot: Running, fake: FakeSlack, clock: FrozenClock, database_url: str
) -> None:
    """Web and worker apart: the web process handles the re-install; the worker, which sent
    with the old token and saw Slack refuse it, sends the held message with the new token two
    minutes later, without a restart and without calling Slack with the refused token again."""
    team = TEAMS[0]
    assert (await install(bot, team.team_id)).status == 200
    worker = build_deps(oauth_settings(fake, database_url), clock=clock)
    try:
        await queue_dm(bot, team, "first")
        await worker.delivery.deliver_due()
        assert dms_sent(fake)[team.team_id] == [f"first for {team.name}"]

        fake.teams[team.team_id].bot_token = "xoxb-alpha-0001-reinstalled"  # the old one revoked
        clock.advance(seconds=5)
        await queue_dm(bot, team, "second")
        await worker.delivery.deliver_due()
        refused = [c for c in fake.calls_to("chat.postMessage") if not c.ok]
        assert [c.error for c in refused] == ["invalid_auth"]
        clock.advance(minutes=2)
        await worker.delivery.deliver_due()  # the same token: held without a call
        assert len([c for c in fake.calls_to("chat.postMessage") if not c.ok]) == 1

        assert (await install(bot, team.team_id)).status == 200  # in the web process
        clock.advance(minutes=2)
        await worker.delivery.deliver_due()
        assert dms_sent(fake)[team.team_id] == [f"first for {team.name}", f"second for {team.name}"]
    finally:
        await worker.close()


async def test_a_reinstall_reopens_its_workspace_at_once_in_the_same_process(
    bot: Running, fake: FakeSlack, clock: FrozenClock
) -> None:
    """A token Slack refused shuts the workspace's gate for a while; the install that follows,
    in the same process, reopens it: the held message goes out at once."""
    team = TEAMS[1]
    assert (await install(bot, team.team_id)).status == 200
    fake.teams[team.team_id].bot_token = "xoxb-bravo-0001-reinstalled"
    await queue_dm(bot, team, "held")
    await bot.deps.delivery.deliver_due()
    assert dms_sent(fake).get(team.team_id, []) == []
    assert (await install(bot, team.team_id)).status == 200
    clock.advance(seconds=1)
    await bot.deps.delivery.deliver_due()
    assert dms_sent(fake)[team.team_id] == [f"held for {team.name}"]


async def test_a_token_no_key_reads_stops_the_start_and_otherwise_holds_only_its_workspace(
    bot: Running,
    fake: FakeSlack,
    clock: FrozenClock,
    database_url: str,
    browser: aiohttp.ClientSession,
) -> None:
    """An operator who put a new key first, skipped rotate-keys and dropped the old key: the
    newest install (made with the new key) reads, an older one does not. The start-up check
    counts every unreadable installation; a process already running holds only that workspace."""
    from bot.installations import check_installations
    from bot.settings import SettingsError

    assert (await install(bot, TEAMS[0].team_id)).status == 200  # encrypted with OLD_KEY
    await bot.stop()
    both = await start(
        oauth_settings(fake, database_url, keys=f"{NEW_KEY},{OLD_KEY}"), fake, clock, browser
    )
    try:
        assert (await install(both, TEAMS[1].team_id)).status == 200  # with NEW_KEY
    finally:
        await both.stop()

    new_only = oauth_settings(fake, database_url, keys=NEW_KEY)
    running = build_deps(new_only, clock=clock)
    try:
        with pytest.raises(SettingsError, match="1 of 2 installations"):
            await check_installations(running.engine, running.sessions, new_only)
        assert await running.tokens.bot_token(TEAMS[0].team_id) is None
        assert await running.tokens.bot_token(TEAMS[1].team_id) == TEAMS[1].token
    finally:
        await running.close()
