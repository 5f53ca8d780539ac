"""Who is away, by Slack status: the one read every prompt path uses, and its bound before an
acknowledgement (a form's answer to Slack must not wait on a slow member list)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.services import working_hours
from bot.services.working_hours import time_off


@pytest.mark.parametrize("quick", [False, True])
async def test_time_off_reads_statuses_from_the_member_list(
    deps: Deps, fake_slack: FakeSlack, quick: bool
) -> None:
    fake_slack.set_status("UALICE", emoji=":palm_tree:", text="Vacationing")
    team = fake_slack.team_id
    found = await time_off(deps, [(team, "UALICE"), (team, "UBOB")], quick=quick)
    assert set(found) == {"UALICE"}
    assert found["UALICE"].until is None  # no expiry set


async def test_before_an_ack_a_read_that_hangs_counts_everyone_present(
    deps: Deps, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_slack.set_status("UALICE", emoji=":palm_tree:", text="Vacationing")
    monkeypatch.setattr(working_hours, "QUICK_READ_SECONDS", 0.05)
    never = asyncio.Event()

    async def hanging(*args: Any, **kwargs: Any) -> dict[str, Any]:
        await never.wait()
        return {}

    monkeypatch.setattr(deps.directory, "members", hanging)
    found = await asyncio.wait_for(
        time_off(deps, [(fake_slack.team_id, "UALICE")], quick=True), timeout=5
    )
    assert found == {}  # given up within the bound: present, the prompt goes
