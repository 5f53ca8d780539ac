"""The fake Slack holding several workspaces: each token speaks for its own team (an org-wide
token for its organisation's teams), calls record whose token they carried, reaching into another
team is refused and recorded, and faults can be aimed at one team."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import FrozenClock
from bot.sandbox.fake_slack import CrossTeamViolation, FakeSlack

TOKEN_B = "xoxb-team-b"
TOKEN_C = "xoxb-team-c"
ORG_TOKEN = "xoxb-org-e1"


@pytest.fixture
def teams(fake_slack: FakeSlack) -> FakeSlack:
    """Team A (the default) with UA1 and #a; team B with UB1 and #b; team C (in org E1) with
    UC1 and #c."""
    fake_slack.add_team("TB", "Beta", bot_token=TOKEN_B)
    fake_slack.add_team("TC", "Gamma", bot_token=TOKEN_C, enterprise_id="E1")
    fake_slack.add_user("UA1", "ann")
    fake_slack.add_user("UB1", "bob", team="TB")
    fake_slack.add_user("UC1", "cy", team="TC")
    fake_slack.add_channel("CA", "a", members=["UA1"])
    fake_slack.add_channel("CB", "b", members=["UB1"], team="TB")
    fake_slack.add_channel("CC", "c", members=["UC1"], team="TC")
    return fake_slack


def client(fake: FakeSlack, token: str) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=fake.api_url, retry_handlers=[])


async def refused(call: object) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call  # type: ignore[misc]
    return caught.value


async def test_each_token_answers_for_its_own_team(teams: FakeSlack) -> None:
    a, b = client(teams, teams.bot_token), client(teams, TOKEN_B)

    who_a, who_b = await a.auth_test(), await b.auth_test()
    users_b = await b.users_list()
    channels_b = await b.conversations_list()
    posted = await b.chat_postMessage(channel="UB1", text="hello")
    await a.chat_postMessage(channel="CA", text="hi all")

    assert (who_a["team_id"], who_b["team_id"]) == (teams.team_id, "TB")
    assert who_b["user_id"] == teams.teams["TB"].bot_user_id != who_a["user_id"]
    assert {u["id"] for u in users_b["members"]} == {"UB1", "UBOTTB"}
    assert [c["id"] for c in channels_b["channels"]] == ["CB"]
    assert posted["message"]["team"] == "TB"
    assert [(c.method, c.team_id) for c in teams.calls] == [
        ("auth.test", teams.team_id),
        ("auth.test", "TB"),
        ("users.list", "TB"),
        ("conversations.list", "TB"),
        ("chat.postMessage", "TB"),
        ("chat.postMessage", teams.team_id),
    ]
    assert teams.cross_team_violations == []


@pytest.mark.parametrize(
    ("method", "args", "error", "target"),
    [
        ("chat.postMessage", {"channel": "CB", "text": "x"}, "channel_not_found", "CB"),
        ("chat.postMessage", {"channel": "UB1", "text": "x"}, "user_not_found", "UB1"),
        ("conversations.open", {"users": "UB1"}, "user_not_found", "UB1"),
        ("conversations.info", {"channel": "CB"}, "channel_not_found", "CB"),
        ("conversations.members", {"channel": "CB"}, "channel_not_found", "CB"),
        ("conversations.history", {"channel": "CB"}, "channel_not_found", "CB"),
        ("users.info", {"user": "UB1"}, "user_not_found", "UB1"),
        (
            "chat.postEphemeral",
            {"channel": "CA", "user": "UB1", "text": "x"},
            "user_not_found",
            "UB1",
        ),
    ],
)
async def test_reaching_into_another_team_is_refused_and_recorded(
    teams: FakeSlack, method: str, args: dict[str, str], error: str, target: str
) -> None:
    a = client(teams, teams.bot_token)

    answer = await refused(a.api_call(method, json=args))

    assert answer.response["error"] == error
    assert teams.cross_team_violations == [CrossTeamViolation(method, teams.team_id, target, "TB")]
    assert teams.messages == []


async def test_another_teams_message_view_and_home_are_out_of_reach(teams: FakeSlack) -> None:
    a, b = client(teams, teams.bot_token), client(teams, TOKEN_B)
    posted = await b.chat_postMessage(channel="CB", text="team B only")
    trigger = teams.issue_trigger_id("UB1")

    update = await refused(a.chat_update(channel="CB", ts=posted["ts"], text="hijacked"))
    opened = await refused(a.views_open(trigger_id=trigger, view=_modal()))
    home = await refused(a.views_publish(user_id="UB1", view={"type": "home", "blocks": []}))
    await b.views_open(trigger_id=trigger, view=_modal())  # B's own token may use it

    assert update.response["error"] == "channel_not_found"
    assert opened.response["error"] == "invalid_trigger_id"
    assert home.response["error"] == "user_not_found"
    assert teams.messages_in("CB")[0]["text"] == "team B only"
    assert [v.method for v in teams.cross_team_violations] == [
        "chat.update",
        "views.open",
        "views.publish",
    ]


async def test_an_org_token_speaks_for_every_team_of_its_organisation(teams: FakeSlack) -> None:
    teams.add_org_install("E1", bot_token=ORG_TOKEN)
    teams.add_team("TD", "Delta", bot_token="xoxb-team-d", enterprise_id="E1")
    teams.add_user("UD1", "dee", team="TD")
    org = client(teams, ORG_TOKEN)

    await org.chat_postMessage(channel="UC1", text="to C")
    await org.chat_postMessage(channel="UD1", text="to D")
    only_d = await org.users_list(team_id="TD")
    outside = await refused(org.chat_postMessage(channel="UB1", text="to B"))

    assert [m["team"] for m in teams.messages] == ["TC", "TD"]
    assert {u["id"] for u in only_d["members"]} == {"UD1", "UBOTTD"}
    assert outside.response["error"] == "user_not_found"
    assert {c.team_id for c in teams.calls} == {"E1"}
    assert teams.cross_team_violations == [
        CrossTeamViolation("chat.postMessage", "E1", "UB1", "TB")
    ]


async def test_an_unknown_token_is_invalid_auth_and_carries_no_team(teams: FakeSlack) -> None:
    answer = await refused(client(teams, "xoxb-nobody").auth_test())

    assert answer.response["error"] == "invalid_auth"
    assert teams.calls[-1].team_id is None


async def test_faults_aimed_at_one_team_leave_the_others_alone(
    teams: FakeSlack, clock: FrozenClock
) -> None:
    a, b, c = (client(teams, t) for t in (teams.bot_token, TOKEN_B, TOKEN_C))
    teams.fail_next("chat.postMessage", times=2, retry_after=30, team="TB")
    teams.rate_limit_everything(seconds=60, retry_after=60, team="TC")

    limited = await refused(b.chat_postMessage(channel="CB", text="1"))
    stormed = await refused(c.auth_test())
    clock.advance(seconds=1)  # inside B's 30 s window
    await a.chat_postMessage(channel="CA", text="A is not limited")
    await a.chat_postMessage(channel="CA", text="nor inside B's window")
    assert teams.rate_limit_violations == []  # B's window does not cover A's calls
    await refused(b.chat_postMessage(channel="CB", text="too early"))

    assert limited.response.status_code == 429
    assert stormed.response.status_code == 429
    assert [m["text"] for m in teams.messages_in("CA")] == [
        "A is not limited",
        "nor inside B's window",
    ]
    assert [(v.method, v.team) for v in teams.rate_limit_violations] == [("chat.postMessage", "TB")]


def test_add_team_refuses_a_token_already_in_use(fake_slack: FakeSlack) -> None:
    with pytest.raises(ValueError, match="own bot token"):
        fake_slack.add_team("TB", "Beta", bot_token=fake_slack.bot_token)


def _modal() -> dict[str, object]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Hi"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
    }
