"""A gentle warning when an answer in an anonymous tour names someone in the workspace: once,
inline, on the answer form (saving again keeps it), and as a private note after a DM answer is
saved. Nothing is refused and nothing about it is stored."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks.tour import TourAction
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.models import Answer
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from tests.journeys import every_row, launch, reply

PEOPLE = {"UAMY": "Amy Adams", "UBEN": "Ben Brooks", "UCAL": "Cal Cruz", "UDEV": "Dev Das"}


def add_people(fake: FakeSlack) -> list[str]:
    for user_id, real_name in PEOPLE.items():
        fake.add_user(user_id, user_id.lower(), real_name=real_name, tz="Europe/Berlin")
    fake.add_user("UEVE", "ueve", real_name="Eve Evans", tz="Europe/Berlin")
    return [*PEOPLE, "UEVE"]


async def answers(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return sorted((await session.scalars(select(Answer.text))).all())


def warnings_to(fake: FakeSlack, user_id: str) -> list[dict[str, Any]]:
    return [e for e in fake.ephemerals if e["user"] == user_id and "This names" in e["text"]]


async def test_a_dm_answer_naming_someone_is_saved_with_a_private_note(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    people = add_people(fake_slack)
    await launch(slack, fake_slack, deps, users=people)
    await reply(slack, deps, clock, "UAMY", "Ben keeps the staging box alive.")
    await reply(slack, deps, clock, "UCAL", "Reviews are quick and kind.")
    assert await answers(sessions) == [
        "Ben keeps the staging box alive.",
        "Reviews are quick and kind.",
    ]
    [note] = warnings_to(fake_slack, "UAMY")
    assert "<@UBEN>" in note["text"]
    assert TourAction.EDIT in json.dumps(note["blocks"])  # a way to rephrase
    assert "staging" not in json.dumps(note)  # the answer is never repeated
    assert warnings_to(fake_slack, "UCAL") == []  # named nobody
    # Nothing at rest says who named someone.
    for table, row in await every_row(sessions):
        assert "This names" not in row, table


async def test_the_form_warns_once_and_saving_again_keeps_the_words(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    people = add_people(fake_slack)
    await launch(slack, fake_slack, deps, users=people)
    invitation = fake_slack.dms_to("UDEV")[-1]
    await slack.block_action(
        "UDEV", TourAction.ANSWER_FORM, message=invitation, channel_id=invitation["channel"]
    )
    await deps.inflight.wait_idle(timeout=5)
    form = fake_slack.views[fake_slack.view_stack("UDEV")[-1]]
    typed = {"answer.1": {"answer.1.input": "Pairing with amy taught me a lot."}}

    first = await slack.view_submission("UDEV", form, typed)
    assert first.json is not None
    assert first.json["response_action"] == "errors"
    assert "This names <@UAMY>" in first.json["errors"]["answer.1"]
    assert await answers(sessions) == []  # nothing saved yet

    again = await slack.view_submission("UDEV", form, typed)
    assert again.status == 200
    assert not (again.json or {}).get("errors")
    await deps.inflight.wait_idle(timeout=5)
    assert await answers(sessions) == ["Pairing with amy taught me a lot."]


async def test_a_named_tour_does_not_warn(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    people = add_people(fake_slack)
    await launch(slack, fake_slack, deps, users=people, anonymous=False)
    await reply(slack, deps, clock, "UAMY", "Ben keeps the staging box alive.")
    assert warnings_to(fake_slack, "UAMY") == []
