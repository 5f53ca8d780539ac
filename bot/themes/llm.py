"""Optional "bring your own LLM": an OpenAI-compatible chat endpoint may rename and merge the
offline clusters. It only ever names and merges; quotes are cited by answer id and checked
here, and any failure, timeout or answer we cannot verify leaves the offline themes as they are.
Off unless LLM_BASE_URL is set: answers are sent to that endpoint, so an admin opts in."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import aiohttp

from bot.flows.review import MAX_FINAL_THEMES
from bot.themes.types import AnswerText, SuggestedTheme

log = logging.getLogger(__name__)

ANSWERS_PER_CLUSTER = 12
ANSWER_CHARS = 300
MAX_LABEL_CHARS = 60
MAX_SUMMARY_CHARS = 200

INSTRUCTIONS = (
    "You help a team leader report what their team said in an anonymous listening tour. "
    "You get clusters of short answers, each answer with an id. Name the clusters for the "
    "team: merge clusters that say the same thing, "
    f"keep at most {MAX_FINAL_THEMES} themes, and for each "
    "give a short label (2 to 5 words, no people's names), a one-line summary, the cluster "
    "numbers it covers, and 2 or 3 quotes cited only by answer id, chosen from its clusters. "
    'Reply with JSON only: {"themes": [{"label": "...", "summary": "...", "clusters": [0], '
    '"quote_ids": ["..."]}]}'
)


@dataclass(frozen=True)
class LlmEndpoint:
    base_url: str
    api_key: str | None
    model: str
    timeout: float = 20.0


class LlmRejected(Exception):
    """The endpoint failed or said something we cannot use; the offline themes stand."""


def _prompt(themes: Sequence[SuggestedTheme], answers: Mapping[str, AnswerText]) -> str:
    clusters = [
        {
            "cluster": index,
            "offline_label": theme.label,
            "answers": [
                {"id": answer_id, "text": answers[answer_id].text[:ANSWER_CHARS]}
                for answer_id in theme.answer_ids[:ANSWERS_PER_CLUSTER]
                if answer_id in answers
            ],
        }
        for index, theme in enumerate(themes)
    ]
    return json.dumps({"clusters": clusters}, ensure_ascii=False)


async def _ask(endpoint: LlmEndpoint, content: str) -> str:
    headers = {"Content-Type": "application/json"}
    if endpoint.api_key:
        headers["Authorization"] = f"Bearer {endpoint.api_key}"
    body = {
        "model": endpoint.model,
        "temperature": 0,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": content},
        ],
    }
    url = endpoint.base_url.rstrip("/") + "/chat/completions"
    timeout = aiohttp.ClientTimeout(total=endpoint.timeout)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(url, json=body, headers=headers) as response,
        ):
            if response.status != 200:
                raise LlmRejected(f"HTTP {response.status}")
            payload = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as error:
        raise LlmRejected(type(error).__name__) from None
    try:
        return str(payload["choices"][0]["message"]["content"])
    except (KeyError, IndexError, TypeError):
        raise LlmRejected("no message in the reply") from None


def _merge(
    reply: str,
    themes: Sequence[SuggestedTheme],
    answers: Mapping[str, AnswerText],
    names: Collection[str],
) -> list[SuggestedTheme]:
    try:
        proposed = json.loads(reply)["themes"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise LlmRejected("the reply is not the JSON asked for") from None
    if not isinstance(proposed, list) or not 1 <= len(proposed) <= MAX_FINAL_THEMES:
        raise LlmRejected(f"not between 1 and {MAX_FINAL_THEMES} themes")
    lowered_names = {name.lower() for name in names if len(name) > 2}
    used: set[int] = set()
    merged: list[SuggestedTheme] = []
    for item in proposed:
        if not isinstance(item, dict):
            raise LlmRejected("a theme is not an object")
        label = str(item.get("label", "")).strip()
        summary = str(item.get("summary", "")).strip()
        clusters = item.get("clusters")
        quote_ids = item.get("quote_ids")
        if not label or len(label) > MAX_LABEL_CHARS or len(summary) > MAX_SUMMARY_CHARS:
            raise LlmRejected("a label or summary of the wrong size")
        if any(name in label.lower().split() for name in lowered_names):
            raise LlmRejected("a person's name in a label")
        if (
            not isinstance(clusters, list)
            or not clusters
            or len(set(map(str, clusters))) != len(clusters)
            or not all(
                isinstance(c, int) and 0 <= c < len(themes) and c not in used for c in clusters
            )
        ):
            raise LlmRejected("unknown or repeated cluster numbers")
        if len({themes[c].kind for c in clusters}) > 1:
            raise LlmRejected("a theme merges strengths with challenges")
        used.update(clusters)
        covered = [answer_id for c in clusters for answer_id in themes[c].answer_ids]
        if not isinstance(quote_ids, list) or not 1 <= len(quote_ids) <= 3:
            raise LlmRejected("quotes must be 1 to 3 answer ids")
        # Quotes are shown verbatim: only ids of answers in the theme's own clusters count.
        if not all(isinstance(q, str) and q in covered and q in answers for q in quote_ids):
            raise LlmRejected("a quote that is not one of the theme's answers")
        merged.append(
            SuggestedTheme(
                label=label,
                summary=summary or themes[clusters[0]].summary,
                kind=themes[clusters[0]].kind,
                answer_ids=tuple(covered),
                quote_ids=tuple(quote_ids),
                cohesion=min(themes[c].cohesion for c in clusters),
            )
        )
    return merged


async def refine_with_llm(
    themes: Sequence[SuggestedTheme],
    answers: Sequence[AnswerText],
    *,
    endpoint: LlmEndpoint,
    names: Collection[str] = (),
) -> list[SuggestedTheme]:
    """The endpoint's names and merges of the offline themes, or the offline themes unchanged
    when it fails or answers anything we cannot verify."""
    if not themes:
        return list(themes)
    by_id = {answer.id: answer for answer in answers}
    try:
        reply = await _ask(endpoint, _prompt(themes, by_id))
        return _merge(reply, themes, by_id, names)
    except LlmRejected as rejected:
        log.warning(
            "LLM themes not used; keeping the offline ones", extra={"reason": str(rejected)}
        )
        return list(themes)
