"""Fixtures for the sandbox's own tests: a started fake Slack on the frozen clock and a slack_sdk
client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import FrozenClock
from bot.sandbox.fake_slack import FakeSlack


@pytest.fixture
def fake_clock(clock: FrozenClock) -> Callable[[], float]:
    """The shared frozen clock as the epoch-seconds callable the sandbox takes."""
    return lambda: clock.now().timestamp()


@pytest.fixture
async def fake_slack(fake_clock: Callable[[], float]) -> AsyncIterator[FakeSlack]:
    async with FakeSlack(clock=fake_clock) as fake:
        yield fake


@pytest.fixture
def slack_client(fake_slack: FakeSlack) -> AsyncWebClient:
    # No retry handlers: these tests must see every 429 and 5xx the fake returns.
    return AsyncWebClient(
        token=fake_slack.bot_token, base_url=fake_slack.api_url, retry_handlers=[]
    )
