"""The view_submission payload the fake builds carries what Slack would put in view.state.values:
the current value of every input, so an input the user never touched comes with its initial
value, and one with no initial value comes empty."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_payloads import SlackPayloads


def option(value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": value.title()}, "value": value}


OPTIONS = {"options": [option("anonymous"), option("named")]}

# (element type, its other fields, its initial fields, the state Slack submits when the user
# leaves it alone, the state Slack submits when it has no initial value and the user enters none)
ELEMENTS: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    # a text input reports its text as `value`
    (
        "plain_text_input",
        {},
        {"initial_value": "Q3 tour"},
        {"value": "Q3 tour"},
        {"value": None},
    ),
    # a number input reports its number as text, under `value` too
    (
        "number_input",
        {"is_decimal_allowed": False},
        {"initial_value": "3"},
        {"value": "3"},
        {"value": None},
    ),
    # initial_date comes back as selected_date
    (
        "datepicker",
        {},
        {"initial_date": "2026-03-09"},
        {"selected_date": "2026-03-09"},
        {"selected_date": None},
    ),
    # initial_time comes back as selected_time
    (
        "timepicker",
        {},
        {"initial_time": "09:30"},
        {"selected_time": "09:30"},
        {"selected_time": None},
    ),
    # initial_users comes back as selected_users; none picked is an empty list
    (
        "multi_users_select",
        {},
        {"initial_users": ["U001", "U002"]},
        {"selected_users": ["U001", "U002"]},
        {"selected_users": []},
    ),
    # initial_user comes back as selected_user
    (
        "users_select",
        {},
        {"initial_user": "U001"},
        {"selected_user": "U001"},
        {"selected_user": None},
    ),
    # initial_conversation comes back as selected_conversation
    (
        "conversations_select",
        {},
        {"initial_conversation": "CTEAM"},
        {"selected_conversation": "CTEAM"},
        {"selected_conversation": None},
    ),
    # initial_channel comes back as selected_channel
    (
        "channels_select",
        {},
        {"initial_channel": "CTEAM"},
        {"selected_channel": "CTEAM"},
        {"selected_channel": None},
    ),
    # initial_conversations comes back as selected_conversations; none is an empty list
    (
        "multi_conversations_select",
        {},
        {"initial_conversations": ["CTEAM", "CGENERAL"]},
        {"selected_conversations": ["CTEAM", "CGENERAL"]},
        {"selected_conversations": []},
    ),
    # initial_channels comes back as selected_channels; none is an empty list
    (
        "multi_channels_select",
        {},
        {"initial_channels": ["CTEAM"]},
        {"selected_channels": ["CTEAM"]},
        {"selected_channels": []},
    ),
    # a static select's initial_option comes back whole, as selected_option
    (
        "static_select",
        OPTIONS,
        {"initial_option": option("named")},
        {"selected_option": option("named")},
        {"selected_option": None},
    ),
    # a multi static select's initial_options come back as selected_options
    (
        "multi_static_select",
        OPTIONS,
        {"initial_options": [option("named")]},
        {"selected_options": [option("named")]},
        {"selected_options": []},
    ),
    # radio buttons report their initial_option as selected_option, like a select
    (
        "radio_buttons",
        OPTIONS,
        {"initial_option": option("anonymous")},
        {"selected_option": option("anonymous")},
        {"selected_option": None},
    ),
    # checkboxes ticked from the start come back as selected_options; none is an empty list
    (
        "checkboxes",
        OPTIONS,
        {"initial_options": [option("anonymous"), option("named")]},
        {"selected_options": [option("anonymous"), option("named")]},
        {"selected_options": []},
    ),
]
ELEMENT_IDS = [row[0] for row in ELEMENTS]


def modal(element: dict[str, Any], *, optional: bool) -> dict[str, Any]:
    """A modal with the element under test in block `field`, next to a filled required text."""
    return {
        "type": "modal",
        "callback_id": "form",
        "title": {"type": "plain_text", "text": "Form"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "name",
                "label": {"type": "plain_text", "text": "Name"},
                "element": {"type": "plain_text_input", "action_id": "name.input"},
            },
            {
                "type": "input",
                "block_id": "field",
                "optional": optional,
                "label": {"type": "plain_text", "text": "Field"},
                "element": {"action_id": "field.input", **element},
            },
        ],
    }


async def opened(
    fake: FakeSlack, client: AsyncWebClient, element: dict[str, Any], *, optional: bool
) -> dict[str, Any]:
    """The modal as the fake holds it once the app opened it (so Slack would accept it)."""
    answer = await client.views_open(
        trigger_id=fake.issue_trigger_id("ULEAD"), view=modal(element, optional=optional)
    )
    view: dict[str, Any] = answer["view"]
    return view


def submitted(payload: dict[str, Any]) -> Any:
    return payload["view"]["state"]["values"]["field"]["field.input"]


@pytest.fixture
def payloads(fake_slack: FakeSlack) -> SlackPayloads:
    fake_slack.add_user("ULEAD", "lea")
    return SlackPayloads(fake_slack)


@pytest.mark.parametrize(
    ("kind", "fields", "initial", "left_alone", "empty"), ELEMENTS, ids=ELEMENT_IDS
)
async def test_an_input_left_alone_is_submitted_with_its_initial_value(
    fake_slack: FakeSlack,
    slack_client: AsyncWebClient,
    payloads: SlackPayloads,
    kind: str,
    fields: dict[str, Any],
    initial: dict[str, Any],
    left_alone: dict[str, Any],
    empty: dict[str, Any],
) -> None:
    element = {"type": kind, **fields, **initial}
    # Required: the initial value is enough for Slack to let the user submit.
    view = await opened(fake_slack, slack_client, element, optional=False)

    payload = payloads.view_submission("ULEAD", view, {"name": {"name.input": "Q3"}})

    assert submitted(payload) == {"type": kind, **left_alone}
    assert payload["view"]["state"]["values"]["name"] == {
        "name.input": {"type": "plain_text_input", "value": "Q3"}
    }


@pytest.mark.parametrize(
    ("kind", "fields", "initial", "left_alone", "empty"), ELEMENTS, ids=ELEMENT_IDS
)
async def test_an_optional_input_without_initial_value_is_submitted_empty(
    fake_slack: FakeSlack,
    slack_client: AsyncWebClient,
    payloads: SlackPayloads,
    kind: str,
    fields: dict[str, Any],
    initial: dict[str, Any],
    left_alone: dict[str, Any],
    empty: dict[str, Any],
) -> None:
    view = await opened(fake_slack, slack_client, {"type": kind, **fields}, optional=True)

    payload = payloads.view_submission("ULEAD", view, {"name": {"name.input": "Q3"}})

    assert submitted(payload) == {"type": kind, **empty}


@pytest.mark.parametrize(
    ("kind", "fields", "initial", "left_alone", "empty"), ELEMENTS, ids=ELEMENT_IDS
)
async def test_a_required_input_without_initial_value_cannot_be_submitted_empty(
    fake_slack: FakeSlack,
    slack_client: AsyncWebClient,
    payloads: SlackPayloads,
    kind: str,
    fields: dict[str, Any],
    initial: dict[str, Any],
    left_alone: dict[str, Any],
    empty: dict[str, Any],
) -> None:
    view = await opened(fake_slack, slack_client, {"type": kind, **fields}, optional=False)

    with pytest.raises(ValueError, match="required input 'field' is empty"):
        payloads.view_submission("ULEAD", view, {"name": {"name.input": "Q3"}})


@pytest.mark.parametrize(
    ("kind", "fields", "initial", "entered"),
    [
        # typed text replaces the initial text (a bare string is the text)
        ("plain_text_input", {}, {"initial_value": "Q3 tour"}, "Q4 tour"),
        # another date picked
        (
            "datepicker",
            {},
            {"initial_date": "2026-03-09"},
            {"type": "datepicker", "selected_date": "2026-03-16"},
        ),
        # every prefilled person removed: the empty list is what the user left
        (
            "multi_users_select",
            {},
            {"initial_users": ["U001", "U002"]},
            {"type": "multi_users_select", "selected_users": []},
        ),
        # the other radio button chosen
        (
            "radio_buttons",
            OPTIONS,
            {"initial_option": option("anonymous")},
            {"type": "radio_buttons", "selected_option": option("named")},
        ),
        # the ticked box unticked
        (
            "checkboxes",
            OPTIONS,
            {"initial_options": [option("anonymous")]},
            {"type": "checkboxes", "selected_options": []},
        ),
    ],
    ids=["plain_text_input", "datepicker", "multi_users_select", "radio_buttons", "checkboxes"],
)
async def test_what_the_user_enters_replaces_the_initial_value(
    fake_slack: FakeSlack,
    slack_client: AsyncWebClient,
    payloads: SlackPayloads,
    kind: str,
    fields: dict[str, Any],
    initial: dict[str, Any],
    entered: Any,
) -> None:
    view = await opened(
        fake_slack, slack_client, {"type": kind, **fields, **initial}, optional=True
    )

    payload = payloads.view_submission(
        "ULEAD", view, {"name": {"name.input": "Q3"}, "field": {"field.input": entered}}
    )

    expected = {"type": kind, "value": entered} if isinstance(entered, str) else entered
    assert submitted(payload) == expected


async def test_the_initial_value_submitted_is_a_copy_of_the_view(
    fake_slack: FakeSlack, slack_client: AsyncWebClient, payloads: SlackPayloads
) -> None:
    element = {"type": "checkboxes", **OPTIONS, "initial_options": [option("named")]}
    view = await opened(fake_slack, slack_client, element, optional=True)

    payload = payloads.view_submission("ULEAD", view, {"name": {"name.input": "Q3"}})
    submitted(payload)["selected_options"][0]["value"] = "changed by the app"

    assert fake_slack.views[view["id"]]["blocks"][1]["element"]["initial_options"] == [
        option("named")
    ]
