"""The optional LLM step against a stub OpenAI-compatible server on 127.0.0.1: it may rename
and merge, and anything it says that we cannot verify leaves the offline themes standing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from bot.themes import AnswerText, SuggestedTheme, ThemeKind
from bot.themes.llm import LlmEndpoint, refine_with_llm

ANSWERS = [
    AnswerText("a1", 1, "Staging breaks every week."),
    AnswerText("a2", 1, "We wait on staging to test."),
    AnswerText("a3", 1, "Staging data is stale."),
    AnswerText("b1", 1, "Priorities change weekly."),
    AnswerText("b2", 1, "Nobody says why priorities moved."),
    AnswerText("c1", 0, "Reviews are quick and kind."),
    AnswerText("c2", 0, "Friendly code review."),
]
OFFLINE = [
    SuggestedTheme(
        "staging test", "3 answers", ThemeKind.CHALLENGE, ("a1", "a2", "a3"), ("a1", "a2"), 0.8
    ),
    SuggestedTheme("priority week", "2 answers", ThemeKind.CHALLENGE, ("b1", "b2"), ("b1",), 0.7),
    SuggestedTheme("review kind", "2 answers", ThemeKind.STRENGTH, ("c1", "c2"), ("c1",), 0.9),
]

Reply = Callable[[dict[str, Any]], web.StreamResponse]


@pytest.fixture
async def stub() -> AsyncIterator[tuple[str, list[dict[str, Any]], list[Reply]]]:
    """A chat-completions endpoint answering with whatever the test queues."""
    received: list[dict[str, Any]] = []
    replies: list[Reply] = []

    async def completions(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        received.append({"body": body, "auth": request.headers.get("Authorization")})
        return replies.pop(0)(body)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/v1", received, replies
    await runner.cleanup()


def says(content: Any) -> Reply:
    text = content if isinstance(content, str) else json.dumps(content)
    return lambda _body: web.json_response({"choices": [{"message": {"content": text}}]})


def endpoint(url: str, timeout: float = 5.0) -> LlmEndpoint:
    return LlmEndpoint(base_url=url, api_key="sk-test", model="stub-1", timeout=timeout)


async def test_the_llm_may_rename_and_merge(stub: Any) -> None:
    url, received, replies = stub
    replies.append(
        says(
            {
                "themes": [
                    {
                        "label": "Testing waits on staging",
                        "summary": "Staging outages block testing.",
                        "clusters": [0, 1],
                        "quote_ids": ["a2", "a3"],
                    },
                    {
                        "label": "Kind reviews",
                        "summary": "Reviews are quick and friendly.",
                        "clusters": [2],
                        "quote_ids": ["c2"],
                    },
                ]
            }
        )
    )
    themes = await refine_with_llm(OFFLINE, ANSWERS, endpoint=endpoint(url))
    assert [t.label for t in themes] == ["Testing waits on staging", "Kind reviews"]
    assert themes[0].answer_ids == ("a1", "a2", "a3", "b1", "b2")  # merged clusters
    assert themes[0].kind is ThemeKind.CHALLENGE
    assert themes[1].kind is ThemeKind.STRENGTH
    assert themes[0].quote_ids == ("a2", "a3")
    [request] = received
    assert request["auth"] == "Bearer sk-test"
    assert request["body"]["model"] == "stub-1"
    sent = request["body"]["messages"][1]["content"]
    assert "Staging breaks every week." in sent  # answers are cited with their ids
    assert '"id": "a1"' in sent


@pytest.mark.parametrize(
    "reply",
    [
        # a quote id that is not one of the theme's answers (invented or from another theme)
        says(
            {"themes": [{"label": "Staging", "summary": "", "clusters": [0], "quote_ids": ["b1"]}]}
        ),
        says(
            {"themes": [{"label": "Staging", "summary": "", "clusters": [0], "quote_ids": ["zz"]}]}
        ),
        # four themes: more than the article's three
        says(
            {
                "themes": [
                    {"label": f"T{i}", "summary": "", "clusters": [i % 3], "quote_ids": []}
                    for i in range(4)
                ]
            }
        ),
        # a merge of a challenge with a strength: a theme has one side
        says(
            {"themes": [{"label": "A b", "summary": "", "clusters": [1, 2], "quote_ids": ["b1"]}]}
        ),
        # a cluster used twice, and one that does not exist
        says({"themes": [{"label": "A", "summary": "", "clusters": [0, 0], "quote_ids": ["a1"]}]}),
        says({"themes": [{"label": "A", "summary": "", "clusters": [7], "quote_ids": ["a1"]}]}),
        # a person's name in a label
        says(
            {
                "themes": [
                    {
                        "label": "Priya's staging",
                        "summary": "",
                        "clusters": [0],
                        "quote_ids": ["a1"],
                    }
                ]
            }
        ),
        says("Sure! Here are your themes: staging, priorities."),  # not JSON
        lambda _body: web.Response(status=500, text="upstream exploded"),
        lambda _body: web.json_response({"error": "no choices"}),
    ],
)
async def test_anything_unverifiable_keeps_the_offline_themes(stub: Any, reply: Reply) -> None:
    url, _, replies = stub
    replies.append(reply)
    themes = await refine_with_llm(OFFLINE, ANSWERS, endpoint=endpoint(url), names=["Priya's"])
    assert themes == OFFLINE


async def test_a_slow_endpoint_times_out_to_the_offline_themes(stub: Any) -> None:
    url, _, replies = stub
    never = asyncio.Event()

    class Hang(web.StreamResponse):
        async def prepare(self, request: web.BaseRequest) -> Any:  # type: ignore[override]
            await never.wait()  # the endpoint never answers
            return await super().prepare(request)

    replies.append(lambda _body: Hang())
    themes = await refine_with_llm(OFFLINE, ANSWERS, endpoint=endpoint(url, timeout=0.2))
    assert themes == OFFLINE
    never.set()


async def test_an_unreachable_endpoint_keeps_the_offline_themes() -> None:
    themes = await refine_with_llm(OFFLINE, ANSWERS, endpoint=endpoint("http://127.0.0.1:9/v1"))
    assert themes == OFFLINE
