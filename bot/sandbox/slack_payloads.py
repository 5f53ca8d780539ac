"""What Slack sends an app, shaped once for both transports: slash command fields, Events API
callbacks and interaction payloads, carrying trigger_ids and response_urls the fake Slack honours.
Over HTTP they are signed and posted (SignedSlack); in Socket Mode they ride in envelopes.
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot.sandbox.block_kit import SELECT_TYPES, iter_elements
from bot.sandbox.fake_slack import FakeSlack, SlackTeam

JsonDict = dict[str, Any]


class SlackPayloads:
    """Builds the payloads Slack would send, from the fake's users and channels; each carries
    the team of the user who acts (the fake's default team for a user it does not know).

    Building one is the user's action: it issues a fresh trigger_id (and response_url) on the
    fake, remembered as `last_trigger_id` and `last_response_url`.
    """

    def __init__(self, fake: FakeSlack, *, clock: Callable[[], float] = time.time) -> None:
        self.fake = fake
        self._clock = clock
        self._serial = itertools.count(1)
        self.last_trigger_id: str | None = None
        self.last_response_url: str | None = None

    # --- slash commands and events -------------------------------------------------------------

    def slash_command(
        self,
        user_id: str,
        text: str = "",
        *,
        command: str = "/partner",
        channel_id: str = "CGENERAL",
    ) -> dict[str, str]:
        """A slash command's fields: the form Slack posts, or the Socket Mode payload as is."""
        trigger_id = self._new_trigger(user_id)
        response_url = self._new_response_url()
        team = self._home(user_id)
        return {
            "token": self.fake.verification_token,
            "team_id": team.team_id,
            "team_domain": team.domain,
            "channel_id": channel_id,
            "channel_name": self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": self._user(user_id)["username"],
            "command": command,
            "text": text,
            "api_app_id": self.fake.app_id,
            **({"enterprise_id": team.enterprise_id} if team.enterprise_id else {}),
            "is_enterprise_install": str(self._org_wide(user_id)).lower(),
            "response_url": response_url,
            "trigger_id": trigger_id,
        }

    def event_callback(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        event_time: int | None = None,
    ) -> JsonDict:
        """The Events API envelope around `event`; a fresh event_id unless one is given."""
        event_id = event_id or f"Ev{int(self._clock())}{next(self._serial):06d}"
        user = event.get("user")
        actor = user if isinstance(user, str) else None
        team = self._home(actor)
        org_wide = self._org_wide(actor)
        return {
            "token": self.fake.verification_token,
            "team_id": team.team_id,
            **({"enterprise_id": team.enterprise_id} if team.enterprise_id else {}),
            "is_enterprise_install": org_wide,
            "api_app_id": self.fake.app_id,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(self._clock()) if event_time is None else event_time,
            "authorizations": [
                {
                    "enterprise_id": team.enterprise_id,
                    "team_id": None if org_wide else team.team_id,
                    "user_id": team.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": org_wide,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{event_id}",
        }

    def app_home_opened_event(self, user_id: str, *, tab: str = "home") -> JsonDict:
        """The event (not its envelope); it carries the home view the fake holds, as Slack does."""
        event: JsonDict = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.fake.dm_channel_id(user_id),
            "tab": tab,
            "event_ts": self.fake.next_ts(),
        }
        home = self.fake.home_views.get(user_id)
        if home is not None:
            event["view"] = home
        return event

    def dm_event(self, user_id: str, text: str, *, thread_ts: str | None = None) -> JsonDict:
        """The user writes to the bot in their DM (a `message` event, channel_type im)."""
        ts = self.fake.next_ts()
        event: JsonDict = {
            "type": "message",
            "channel": self.fake.dm_channel_id(user_id),
            "user": user_id,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "im",
            "team": self._home(user_id).team_id,
            "client_msg_id": f"00000000-0000-4000-8000-{next(self._serial):012d}",
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
        return event

    # --- interactions --------------------------------------------------------------------------

    def block_actions(
        self,
        user_id: str,
        action_id: str,
        *,
        value: str | None = None,
        block_id: str | None = None,
        message: Mapping[str, Any] | None = None,
        view: Mapping[str, Any] | None = None,
        channel_id: str | None = None,
        selected_option: Mapping[str, Any] | str | None = None,
    ) -> JsonDict:
        """A click on an element of a message or view.

        With a message or view, the element must be in its blocks (a user can only click
        what is shown), and its type, block_id and value are taken from there.
        """
        if message is not None and view is not None:
            raise ValueError("an action comes from a message or a view, not both")
        element: Mapping[str, Any] = {}
        source = message if message is not None else view
        if source is not None:
            found_block_id, element = _find_element(source.get("blocks") or [], action_id, block_id)
            block_id = block_id or found_block_id
        kind = element.get("type") or ("static_select" if selected_option else "button")
        action: JsonDict = {
            "action_id": action_id,
            "block_id": block_id or "b",
            "type": kind,
            "action_ts": f"{self._clock():.6f}",
        }
        if kind == "button":
            action["value"] = value if value is not None else element.get("value")
            if "text" in element:
                action["text"] = element["text"]
            if action["value"] is None:
                del action["value"]
        elif value is not None:
            action["value"] = value
        if selected_option is not None:
            action["selected_option"] = _option(element, selected_option)

        payload: JsonDict = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.fake.app_id,
            "token": self.fake.verification_token,
            "trigger_id": self._new_trigger(user_id),
            "team": self._team(user_id),
            "enterprise": self._enterprise(user_id),
            "is_enterprise_install": self._org_wide(user_id),
            "actions": [action],
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view["id"]}
            payload["view"] = dict(view)
            return payload
        channel = channel_id or (message.get("channel") if message is not None else None)
        if not isinstance(channel, str):
            raise ValueError("an action from a message needs a channel (message or channel_id)")
        payload["channel"] = {"id": channel, "name": self._channel_name(channel)}
        payload["response_url"] = self._new_response_url()
        payload["state"] = {"values": {}}
        container: JsonDict = {"type": "message", "channel_id": channel, "is_ephemeral": False}
        if message is not None:
            container["message_ts"] = message["ts"]
            payload["message"] = _slack_message(message, self.fake)
        else:
            # Without a stored message the click can only be on an ephemeral one.
            container["is_ephemeral"] = True
        payload["container"] = container
        return payload

    def view_submission(
        self, user_id: str, view: Mapping[str, Any] | str, values: Mapping[str, Any]
    ) -> JsonDict:
        """The user submits a modal. `values` is {block_id: {action_id: value}}, what the user
        entered, where a value is Slack's state object or, for text inputs, just the text; they
        are checked against the view's input blocks. Like Slack, every input block is submitted:
        one left out carries its initial value (initial_value, initial_users, ...), or an empty
        one; a required input with neither raises ValueError, as Slack would not submit. Apply
        the app's answer with `FakeSlack.settle_view_submission`.
        """
        stored = self.stored_view(view)
        state = _state_values(stored, values)
        return {
            "type": "view_submission",
            "team": self._team(user_id),
            "user": self._user(user_id),
            "api_app_id": self.fake.app_id,
            "token": self.fake.verification_token,
            "trigger_id": self._new_trigger(user_id),
            "view": {**stored, "state": {"values": state}},
            "response_urls": [],
            "enterprise": self._enterprise(user_id),
            "is_enterprise_install": self._org_wide(user_id),
        }

    def view_closed(
        self, user_id: str, view: Mapping[str, Any] | str, *, is_cleared: bool = False
    ) -> JsonDict:
        """The user closes a modal (on the fake too); Slack only tells the app if the view set
        notify_on_close."""
        stored = self.stored_view(view)
        if not stored.get("notify_on_close"):
            raise ValueError(
                f"view {stored['id']} has notify_on_close false: Slack sends no view_closed"
            )
        self.fake.close_view(user_id, stored["id"])
        return {
            "type": "view_closed",
            "team": self._team(user_id),
            "user": self._user(user_id),
            "api_app_id": self.fake.app_id,
            "token": self.fake.verification_token,
            "view": stored,
            "is_cleared": is_cleared,
            "enterprise": self._enterprise(user_id),
            "is_enterprise_install": self._org_wide(user_id),
        }

    def stored_view(self, view: Mapping[str, Any] | str) -> JsonDict:
        """The fake's copy of a view, by id or by a view object carrying its id."""
        view_id = view if isinstance(view, str) else view.get("id")
        stored = self.fake.views.get(view_id) if isinstance(view_id, str) else None
        if stored is None:
            raise LookupError(f"the fake has no view {view_id!r}; was it opened through it?")
        return dict(stored)

    # --- pieces --------------------------------------------------------------------------------

    def _user(self, user_id: str) -> JsonDict:
        user = self.fake.users.get(user_id)
        name = user["name"] if user is not None else user_id
        return {
            "id": user_id,
            "username": name,
            "name": name,
            "team_id": self._home(user_id).team_id,
        }

    def _home(self, user_id: str | None) -> SlackTeam:
        """The team `user_id` belongs to on the fake (the default team for a stranger)."""
        user = self.fake.users.get(user_id) if user_id is not None else None
        return self.fake.teams[user["team_id"] if user is not None else self.fake.team_id]

    def _org_wide(self, user_id: str | None) -> bool:
        """Whether the app reaches `user_id`'s workspace through an org-wide install (Enterprise
        Grid): Slack then says so in every payload, and Bolt looks up the org's installation."""
        enterprise_id = self._home(user_id).enterprise_id
        return enterprise_id is not None and enterprise_id in self.fake.org_tokens

    def _enterprise(self, user_id: str) -> JsonDict | None:
        enterprise_id = self._home(user_id).enterprise_id
        return {"id": enterprise_id, "name": enterprise_id} if enterprise_id else None

    def _team(self, user_id: str) -> JsonDict:
        team = self._home(user_id)
        return {"id": team.team_id, "domain": team.domain}

    def _channel_name(self, channel_id: str) -> str:
        channel = self.fake.channels.get(channel_id)
        if channel is None or channel.get("is_im"):
            return "directmessage" if channel_id.startswith("D") else "unknown"
        return str(channel["name"]) if not channel["is_private"] else "privategroup"

    def _new_trigger(self, user_id: str) -> str:
        self.last_trigger_id = self.fake.issue_trigger_id(user_id)
        return self.last_trigger_id

    def _new_response_url(self) -> str:
        self.last_response_url = self.fake.new_response_url()
        return self.last_response_url


def _find_element(
    blocks: Iterable[Any], action_id: str, block_id: str | None
) -> tuple[str | None, Mapping[str, Any]]:
    shown = []
    for found_block_id, element in iter_elements(blocks):
        shown.append(f"{found_block_id}/{element.get('action_id')}")
        if element.get("action_id") == action_id and block_id in (None, found_block_id):
            return found_block_id, element
    raise LookupError(
        f"no element with action_id {action_id!r}"
        + (f" in block {block_id!r}" if block_id else "")
        + f"; the user can only click one of: {', '.join(shown) or 'nothing'}"
    )


def _option(element: Mapping[str, Any], selected: Mapping[str, Any] | str) -> Any:
    if not isinstance(selected, str):
        return dict(selected)
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    for option in options:
        if option.get("value") == selected:
            return option
    raise LookupError(f"no option with value {selected!r} in {element.get('action_id')!r}")


def _slack_message(message: Mapping[str, Any], fake: FakeSlack) -> JsonDict:
    """A stored fake message as it appears inside an interaction payload."""
    shaped: JsonDict = {
        "type": "message",
        "user": message.get("user", fake.bot_user_id),
        "bot_id": message.get("bot_id", fake.bot_id),
        "text": message.get("text", ""),
        "ts": message["ts"],
        "team": message.get("team", fake.team_id),
    }
    if message.get("blocks") is not None:
        shaped["blocks"] = message["blocks"]
    if message.get("thread_ts") is not None:
        shaped["thread_ts"] = message["thread_ts"]
    return shaped


def _state_values(view: Mapping[str, Any], values: Mapping[str, Any]) -> JsonDict:
    """view.state.values for a submission, checked against the view's input blocks.

    Slack reports the current value of every input block: what the user entered (`values`),
    else the element's initial value, else an empty one (null, or an empty list). It will not
    let the user submit while a required input is empty.
    """
    inputs: dict[str, Mapping[str, Any]] = {}
    optional: dict[str, bool] = {}
    for block in view.get("blocks") or []:
        if isinstance(block, Mapping) and block.get("type") == "input":
            if not block.get("block_id"):
                raise ValueError("input blocks without block_id get random ids: set one")
            inputs[block["block_id"]] = block["element"]
            optional[block["block_id"]] = bool(block.get("optional"))
    state: JsonDict = {}
    for block_id, by_action in values.items():
        element = inputs.get(block_id)
        if element is None:
            raise LookupError(f"view {view['id']} has no input block {block_id!r}: {list(inputs)}")
        for action_id, value in by_action.items():
            if element.get("action_id") != action_id:
                raise LookupError(
                    f"input block {block_id!r} holds action_id {element.get('action_id')!r}, "
                    f"not {action_id!r}"
                )
            if isinstance(value, str):
                value = {"type": element.get("type"), "value": value}
            state[block_id] = {action_id: value}
    for block_id, element in inputs.items():
        if block_id in state:
            continue
        current = _initial_state(element)
        if current is None:
            if not optional[block_id]:
                raise ValueError(f"required input {block_id!r} is empty; Slack would not submit")
            current = _empty_state(str(element.get("type")))
        state[block_id] = {element.get("action_id"): current}
    return state


# The state key Slack reports an element's value under, and its value when nothing is entered.
_STATE_KEYS: dict[str, tuple[str, Any]] = {
    "users_select": ("selected_user", None),
    "conversations_select": ("selected_conversation", None),
    "channels_select": ("selected_channel", None),
    "datepicker": ("selected_date", None),
    "timepicker": ("selected_time", None),
    "datetimepicker": ("selected_date_time", None),
    "multi_users_select": ("selected_users", []),
    "multi_conversations_select": ("selected_conversations", []),
    "multi_channels_select": ("selected_channels", []),
    "checkboxes": ("selected_options", []),
    "radio_buttons": ("selected_option", None),
    "rich_text_input": ("rich_text_value", None),
    "file_input": ("files", []),
}

# The element field holding the value an input starts with, by state key.
_INITIAL_KEYS: dict[str, str] = {
    "value": "initial_value",
    "selected_user": "initial_user",
    "selected_users": "initial_users",
    "selected_conversation": "initial_conversation",
    "selected_conversations": "initial_conversations",
    "selected_channel": "initial_channel",
    "selected_channels": "initial_channels",
    "selected_date": "initial_date",
    "selected_time": "initial_time",
    "selected_date_time": "initial_date_time",
    "selected_option": "initial_option",
    "selected_options": "initial_options",
    "rich_text_value": "initial_value",
}


def _state_key(element_type: str) -> tuple[str, Any]:
    if element_type in _STATE_KEYS:
        return _STATE_KEYS[element_type]
    if element_type.startswith("multi_"):
        return "selected_options", []
    if element_type in SELECT_TYPES:
        return "selected_option", None
    return "value", None


def _initial_state(element: Mapping[str, Any]) -> JsonDict | None:
    """What Slack submits for an input the user left alone: its initial value, if it has one."""
    element_type = str(element.get("type"))
    key, _ = _state_key(element_type)
    initial = element.get(_INITIAL_KEYS.get(key, ""))  # file_input starts empty
    if initial is None or initial == "" or initial == []:
        return None
    return {"type": element_type, key: copy.deepcopy(initial)}


def _empty_state(element_type: str) -> JsonDict:
    """What Slack submits for an optional input left empty."""
    key, empty = _state_key(element_type)
    return {"type": element_type, key: list(empty) if isinstance(empty, list) else empty}
