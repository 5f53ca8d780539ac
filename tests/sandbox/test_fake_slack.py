"""The fake Slack Web API, driven by the real slack_sdk client over HTTP."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import FrozenClock
from bot.sandbox.fake_slack import FakeSlack


def add_team(fake: FakeSlack, count: int = 3) -> list[str]:
    ids = [f"U{i:03d}" for i in range(1, count + 1)]
    for i, user_id in enumerate(ids, start=1):
        fake.add_user(user_id, f"member{i}", real_name=f"Member {i}")
    return ids


def dividers(count: int) -> list[dict[str, Any]]:
    return [{"type": "divider"}] * count


def button_blocks(label: str) -> list[dict[str, Any]]:
    button = {"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": "go"}
    return [{"type": "actions", "elements": [button]}]


def modal_view(title: str = "Start a tour") -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
    }


async def refused(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


# --- workspace and chat -------------------------------------------------------------------------


async def test_post_message_to_a_user_id_lands_in_their_dm(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    add_team(fake_slack)

    posted = await slack_client.chat_postMessage(channel="U002", text="Your turn")
    opened = await slack_client.conversations_open(users="U002")

    assert posted["channel"].startswith("D")
    assert opened["channel"]["id"] == posted["channel"]
    assert [m["text"] for m in fake_slack.dms_to("U002")] == ["Your turn"]
    assert fake_slack.dms_to("U001") == []
    assert fake_slack.messages_in(posted["channel"])[0]["dm_user"] == "U002"


async def test_timestamps_are_unique_and_increasing_on_a_frozen_clock(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    add_team(fake_slack)
    stamps = [
        (await slack_client.chat_postMessage(channel="U001", text=str(i)))["ts"] for i in range(3)
    ]
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 3


@pytest.mark.parametrize(
    ("setup", "channel", "error"),
    [
        # nobody by that id
        ("", "C404", "channel_not_found"),
        # a public channel the bot has not joined
        ("public-without-bot", "CPUB", "not_in_channel"),
        # a private channel the bot is not in is invisible to it
        ("private-without-bot", "CPRIV", "channel_not_found"),
        # archived channels take no messages
        ("archived", "CARCH", "is_archived"),
        # a deactivated member
        ("deleted-user", "UGONE", "account_inactive"),
    ],
)
async def test_post_message_refusals(
    fake_slack: FakeSlack, slack_client: AsyncWebClient, setup: str, channel: str, error: str
) -> None:
    fake_slack.add_channel("CPUB", "random", bot_is_member=False)
    fake_slack.add_channel("CPRIV", "secret", is_private=True, bot_is_member=False)
    fake_slack.add_channel("CARCH", "old", is_archived=True)
    fake_slack.add_user("UGONE", "gone", deleted=True)

    caught = await refused(slack_client.chat_postMessage(channel=channel, text="hi"))

    assert caught.response["error"] == error
    assert fake_slack.messages == []


async def test_text_limits_and_missing_text(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    add_team(fake_slack, 1)

    too_long = await refused(slack_client.chat_postMessage(channel="U001", text="x" * 40_001))
    with pytest.warns(UserWarning, match="`text` argument is missing"):
        nothing = await refused(slack_client.chat_postMessage(channel="U001"))
    await slack_client.chat_postMessage(channel="U001", text="x" * 40_000)
    with pytest.warns(UserWarning, match="`text` argument is missing"):
        await slack_client.chat_postMessage(channel="U001", blocks=dividers(1))

    assert too_long.response["error"] == "msg_too_long"
    assert nothing.response["error"] == "no_text"
    assert fake_slack.warnings == ["missing_text"]


async def test_invalid_blocks_are_refused_with_slacks_messages(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    add_team(fake_slack, 1)

    many = await refused(
        slack_client.chat_postMessage(channel="U001", text="t", blocks=dividers(51))
    )
    wide = await refused(
        slack_client.chat_postMessage(channel="U001", text="t", blocks=button_blocks("b" * 76))
    )
    # Exactly at the limits the same calls go through.
    await slack_client.chat_postMessage(channel="U001", text="t", blocks=dividers(50))
    await slack_client.chat_postMessage(channel="U001", text="t", blocks=button_blocks("b" * 75))

    assert many.response["error"] == "invalid_blocks"
    assert wide.response["error"] == "invalid_blocks"
    assert wide.response["response_metadata"]["messages"] == [
        "[ERROR] must be at most 75 characters (got 76) "
        "[json-pointer:/blocks/0/elements/0/text/text]"
    ]
    assert len(fake_slack.messages) == 2


async def test_form_encoded_post_message_is_understood(fake_slack: FakeSlack) -> None:
    add_team(fake_slack, 1)
    form = {"channel": "U001", "text": "t", "blocks": json.dumps(button_blocks("b" * 76))}
    headers = {"Authorization": f"Bearer {fake_slack.bot_token}"}

    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake_slack.api_url}chat.postMessage", data=form, headers=headers) as r,
    ):
        body = await r.json()

    # The blocks arrived as a JSON string and were still decoded and checked.
    assert (r.status, body["error"]) == (200, "invalid_blocks")


async def test_update_and_delete_need_an_existing_message(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    add_team(fake_slack, 1)
    posted = await slack_client.chat_postMessage(channel="U001", text="v1", blocks=dividers(1))

    await slack_client.chat_update(channel=posted["channel"], ts=posted["ts"], text="v2")
    missing = await refused(slack_client.chat_update(channel=posted["channel"], ts="1.0", text="x"))

    assert missing.response["error"] == "message_not_found"
    assert fake_slack.messages[0]["text"] == "v2"
    # An update that sends no blocks keeps the old ones, as Slack does.
    assert fake_slack.messages[0]["blocks"] == dividers(1)

    await slack_client.chat_delete(channel=posted["channel"], ts=posted["ts"])
    again = await refused(slack_client.chat_delete(channel=posted["channel"], ts=posted["ts"]))
    assert again.response["error"] == "message_not_found"
    assert fake_slack.messages == []


async def test_ephemeral_needs_the_user_in_the_channel(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    add_team(fake_slack, 2)
    fake_slack.add_channel("CTEAM", "team", members=["U001"])

    await slack_client.chat_postEphemeral(channel="CTEAM", user="U001", text="only you")
    outsider = await refused(
        slack_client.chat_postEphemeral(channel="CTEAM", user="U002", text="x")
    )

    assert outsider.response["error"] == "user_not_in_channel"
    assert [(e["user"], e["text"]) for e in fake_slack.ephemerals] == [("U001", "only you")]


async def test_conversations_open_refuses_unknown_users_and_bots(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    unknown = await refused(slack_client.conversations_open(users="UNOBODY"))
    bot = await refused(slack_client.conversations_open(users=fake_slack.bot_user_id))
    assert unknown.response["error"] == "user_not_found"
    assert bot.response["error"] == "cannot_dm_bot"


# --- users and channels -------------------------------------------------------------------------


async def test_users_list_pages_through_everyone(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    team = add_team(fake_slack, 5)
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        page = await slack_client.users_list(limit=3, cursor=cursor)
        pages += 1
        seen += [member["id"] for member in page["members"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break

    # Like Slack, the list includes the app's bot user and Slackbot (which is not is_bot).
    assert seen == [fake_slack.bot_user_id, "USLACKBOT", *team]
    assert pages == 3


async def test_a_bad_cursor_is_refused(slack_client: AsyncWebClient) -> None:
    caught = await refused(slack_client.users_list(cursor="not-a-cursor"))
    assert caught.response["error"] == "invalid_cursor"


async def test_conversation_members_and_list_paginate(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    team = add_team(fake_slack, 4)
    fake_slack.add_channel("CTEAM", "team", members=team)
    fake_slack.add_channel("CPRIV", "hidden", is_private=True, bot_is_member=False)
    fake_slack.add_channel("CMINE", "leads", is_private=True)

    first = await slack_client.conversations_members(channel="CTEAM", limit=3)
    rest = await slack_client.conversations_members(
        channel="CTEAM", limit=3, cursor=first["response_metadata"]["next_cursor"]
    )
    listed = await slack_client.conversations_list(types="public_channel,private_channel")

    assert first["members"] + rest["members"] == [*team, fake_slack.bot_user_id]
    assert rest["response_metadata"]["next_cursor"] == ""
    assert [c["id"] for c in listed["channels"]] == ["CTEAM", "CMINE"]


async def test_users_info_follows_the_clock_across_dst(
    fake_slack: FakeSlack, slack_client: AsyncWebClient, clock: FrozenClock
) -> None:
    fake_slack.add_user("U001", "ana", tz="America/New_York")

    winter = (await slack_client.users_info(user="U001"))["user"]
    clock.advance(days=7)  # 2026-03-08 is when New York moves to daylight time
    summer = (await slack_client.users_info(user="U001"))["user"]
    missing = await refused(slack_client.users_info(user="UNOBODY"))

    assert (winter["tz_offset"], winter["tz_label"]) == (-5 * 3600, "EST")
    assert (summer["tz_offset"], summer["tz_label"]) == (-4 * 3600, "EDT")
    assert missing.response["error"] == "user_not_found"


# --- views and triggers -------------------------------------------------------------------------


async def test_a_trigger_opens_one_view_within_its_ttl(
    fake_slack: FakeSlack, slack_client: AsyncWebClient, clock: FrozenClock
) -> None:
    fake_slack.add_user("U001", "ana")
    fresh = fake_slack.issue_trigger_id("U001")
    stale = fake_slack.issue_trigger_id("U001")

    clock.advance(seconds=3)  # exactly the TTL: still good
    opened = await slack_client.views_open(trigger_id=fresh, view=modal_view())
    reused = await refused(slack_client.views_open(trigger_id=fresh, view=modal_view()))
    clock.advance(seconds=0.5)
    expired = await refused(slack_client.views_open(trigger_id=stale, view=modal_view()))
    bogus = await refused(slack_client.views_open(trigger_id="123.456.abc", view=modal_view()))

    assert opened["view"]["id"] in fake_slack.views
    assert reused.response["error"] == "exchanged_trigger_id"
    assert expired.response["error"] == "expired_trigger_id"
    assert bogus.response["error"] == "invalid_trigger_id"
    assert fake_slack.view_stack("U001") == [opened["view"]["id"]]


async def test_an_invalid_view_keeps_the_trigger_unspent(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    fake_slack.add_user("U001", "ana")
    trigger = fake_slack.issue_trigger_id("U001")

    caught = await refused(slack_client.views_open(trigger_id=trigger, view=modal_view("t" * 25)))
    await slack_client.views_open(trigger_id=trigger, view=modal_view("t" * 24))

    assert caught.response["error"] == "invalid_arguments"
    assert caught.response["response_metadata"]["messages"] == [
        "[ERROR] must be at most 24 characters (got 25) [json-pointer:/view/title/text]"
    ]


async def test_views_push_stops_at_three(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    fake_slack.add_user("U001", "ana")
    await slack_client.views_open(trigger_id=fake_slack.issue_trigger_id("U001"), view=modal_view())
    for _ in range(2):
        await slack_client.views_push(
            trigger_id=fake_slack.issue_trigger_id("U001"), view=modal_view()
        )

    fourth = await refused(
        slack_client.views_push(trigger_id=fake_slack.issue_trigger_id("U001"), view=modal_view())
    )

    assert fourth.response["error"] == "push_limit_reached"
    assert len(fake_slack.view_stack("U001")) == 3


async def test_views_update_checks_id_and_hash(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    fake_slack.add_user("U001", "ana")
    opened = await slack_client.views_open(
        trigger_id=fake_slack.issue_trigger_id("U001"), view=modal_view()
    )
    view_id, first_hash = opened["view"]["id"], opened["view"]["hash"]

    updated = await slack_client.views_update(
        view_id=view_id, hash=first_hash, view=modal_view("Step 2")
    )
    conflict = await refused(
        slack_client.views_update(view_id=view_id, hash=first_hash, view=modal_view("Step 3"))
    )
    missing = await refused(slack_client.views_update(view_id="VNOPE", view=modal_view()))

    assert fake_slack.views[view_id]["title"]["text"] == "Step 2"
    assert updated["view"]["hash"] != first_hash
    assert conflict.response["error"] == "hash_conflict"
    assert missing.response["error"] == "not_found"


async def test_views_publish_stores_the_home_tab(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    fake_slack.add_user("U001", "ana")
    home = {"type": "home", "blocks": dividers(100)}

    await slack_client.views_publish(user_id="U001", view=home)
    too_big = await refused(
        slack_client.views_publish(user_id="U001", view={"type": "home", "blocks": dividers(101)})
    )
    as_modal = await refused(slack_client.views_publish(user_id="U001", view=modal_view()))
    nobody = await refused(slack_client.views_publish(user_id="UNOBODY", view=home))

    assert len(fake_slack.home_views["U001"]["blocks"]) == 100
    assert too_big.response["error"] == "invalid_arguments"
    assert as_modal.response["error"] == "invalid_arguments"
    assert nobody.response["error"] == "user_not_found"


# --- auth, faults, rate limits ------------------------------------------------------------------


async def test_auth(fake_slack: FakeSlack) -> None:
    good = AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url)
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=fake_slack.api_url)
    app_level = AsyncWebClient(token=fake_slack.app_token, base_url=fake_slack.api_url)

    identity = await good.auth_test()
    invalid = await refused(wrong.auth_test())
    unknown = await refused(good.api_call("chat.scheduleMessageLater"))
    socket = await app_level.apps_connections_open(app_token=fake_slack.app_token)
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake_slack.api_url}auth.test") as anonymous,
    ):
        not_authed = await anonymous.json()

    assert (identity["user_id"], identity["bot_id"]) == ("UPARTNERBOT", "BPARTNERBOT")
    assert invalid.response["error"] == "invalid_auth"
    assert unknown.response["error"] == "unknown_method"
    assert not_authed["error"] == "not_authed"
    assert socket["url"].startswith("ws://127.0.0.1")


async def test_fail_next_429_carries_retry_after_and_has_no_side_effect(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    add_team(fake_slack, 1)
    fake_slack.fail_next("chat.postMessage", retry_after=7)

    caught = await refused(slack_client.chat_postMessage(channel="U001", text="hi"))

    assert caught.response.status_code == 429
    assert caught.response.headers["Retry-After"] == "7"
    assert caught.response["error"] == "ratelimited"
    assert fake_slack.messages == []
    call = fake_slack.calls_to("chat.postMessage")[-1]
    assert (call.ok, call.http_status, call.error) == (False, 429, "ratelimited")
    # Only the next call fails.
    await slack_client.chat_postMessage(channel="U001", text="hi")
    assert len(fake_slack.messages) == 1


async def test_fail_next_5xx_and_api_errors(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    add_team(fake_slack, 1)
    fake_slack.fail_next("users.info", status=503)
    fake_slack.fail_next("users.info", error="user_not_found")

    outage = await refused(slack_client.users_info(user="U001"))
    gone = await refused(slack_client.users_info(user="U001"))
    back = await slack_client.users_info(user="U001")

    assert outage.response.status_code == 503
    assert (gone.response.status_code, gone.response["error"]) == (200, "user_not_found")
    assert back["user"]["id"] == "U001"


async def test_calls_inside_an_announced_retry_after_window_are_violations(
    fake_slack: FakeSlack, slack_client: AsyncWebClient, clock: FrozenClock
) -> None:
    add_team(fake_slack, 1)
    fake_slack.fail_next("chat.postMessage", retry_after=2)
    await refused(slack_client.chat_postMessage(channel="U001", text="first"))
    opened_at = clock.now().timestamp()

    await slack_client.chat_postMessage(channel="U001", text="first")  # resent at once
    clock.advance(seconds=1)
    await slack_client.chat_postMessage(channel="U001", text="later, still inside")
    clock.advance(seconds=1)
    await slack_client.chat_postMessage(channel="U001", text="on time")
    await slack_client.users_info(user="U001")  # other methods have their own windows

    assert [(v.method, v.at - opened_at) for v in fake_slack.rate_limit_violations] == [
        ("chat.postMessage", 0.0),
        ("chat.postMessage", 1.0),
    ]
    assert {v.window_until - opened_at for v in fake_slack.rate_limit_violations} == {2.0}


async def test_concurrent_sends_that_cross_a_429_are_not_violations(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    team = add_team(fake_slack, 6)
    fake_slack.fail_next("chat.postMessage", retry_after=30)

    results = await asyncio.gather(
        *(slack_client.chat_postMessage(channel=user, text="hi") for user in team),
        return_exceptions=True,
    )

    assert sum(isinstance(r, SlackApiError) for r in results) == 1
    assert len(fake_slack.messages) == 5
    assert fake_slack.rate_limit_violations == []


async def outcomes(fake: FakeSlack, seed: int) -> list[int]:
    add_team(fake, 1)
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, retry_handlers=[])
    fake.inject_faults("chat.postMessage", rate_429=0.3, rate_5xx=0.2, seed=seed)
    statuses = []
    for i in range(40):
        try:
            await client.chat_postMessage(channel="U001", text=str(i))
            statuses.append(200)
        except SlackApiError as error:
            statuses.append(error.response.status_code)
    await client.users_info(user="U001")  # a method the faults do not cover
    return statuses


async def test_inject_faults_is_deterministic_by_seed() -> None:
    async with FakeSlack() as a, FakeSlack() as b, FakeSlack() as c:
        first, again, other = await outcomes(a, 7), await outcomes(b, 7), await outcomes(c, 8)

    assert first == again
    assert first != other
    assert {200, 429, 500} <= set(first)
    # Faulted calls leave no trace in the workspace.
    assert len(a.messages) == first.count(200)
    assert a.calls_to("users.info")[0].ok


async def test_clear_faults(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    add_team(fake_slack, 1)
    fake_slack.inject_faults(rate_5xx=1.0)
    fake_slack.fail_next("auth.test", times=3)
    fake_slack.clear_faults()

    await slack_client.auth_test()
    await slack_client.chat_postMessage(channel="U001", text="hi")

    assert all(call.ok for call in fake_slack.calls)


# --- response_url and waiting -------------------------------------------------------------------


async def test_response_url_records_json_and_wears_out(fake_slack: FakeSlack) -> None:
    url = fake_slack.new_response_url()
    statuses = []
    async with aiohttp.ClientSession() as session:
        for i in range(6):
            async with session.post(url, json={"text": f"reply {i}"}) as response:
                statuses.append(response.status)
        async with session.post(
            fake_slack.new_response_url(), json={"text": "t", "blocks": dividers(51)}
        ) as response:
            too_many_blocks = response.status

    assert statuses == [200] * 5 + [404]
    assert [r["body"]["text"] for r in fake_slack.responses] == [f"reply {i}" for i in range(5)]
    assert fake_slack.responses[0]["url_id"] == url.rsplit("/", 1)[1]
    assert too_many_blocks == 400


async def test_wait_for_wakes_on_a_call(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    waiter = asyncio.create_task(
        fake_slack.wait_for(lambda: bool(fake_slack.calls_to("auth.test")))
    )
    await asyncio.sleep(0)  # let the waiter start waiting (no time passes)
    assert not waiter.done()

    await slack_client.auth_test()

    await asyncio.wait_for(waiter, timeout=1)


async def test_wait_for_times_out_naming_the_last_calls(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    await slack_client.auth_test()
    with pytest.raises(TimeoutError) as caught:
        await fake_slack.wait_for(lambda: bool(fake_slack.messages), timeout=0.05)
    assert "auth.test -> ok (HTTP 200)" in str(caught.value)
