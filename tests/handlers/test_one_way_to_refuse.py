"""One way to refuse: no listener or service words a message to the person in a string of its
own when it answers Slack. A refusal is a `UserFacingError` worded in `bot/refusals/` and shown by
the one error handler; what is left inline are the confirmations listed here. (A field error for
bad input, `ack(response_action="errors", ...)`, says what to fix in the form: not a refusal.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = [ROOT / "bot" / "handlers", ROOT / "bot" / "services"]

# The calls that send the person words: the text is their `text=` or, for the few helpers that
# take it by position, the argument at that index.
SENDERS: dict[str, int | None] = {
    "respond": None,
    "ack": None,
    "chat_postEphemeral": None,
    "chat_postMessage": None,
    "Message": None,
    "notice": 3,
    "tell": 0,
}

# Confirmations, not refusals: (module, how the words start).
CONFIRMATIONS = {
    ("bot/handlers/checkins.py", "Done: you won't get these messages any more."),
    ("bot/handlers/poll.py", "Thanks — your reply is kept with these findings"),
}


def _words(node: ast.expr) -> str | None:
    """The words of a string literal or an f-string (its literal parts); None for anything
    else (a name, a renderer's call)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value
            for part in node.values
            if isinstance(part, ast.Constant) and isinstance(part.value, str)
        )
    return None


def _name(call: ast.Call) -> str:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return ""


def inline_texts(source: str) -> list[tuple[int, str]]:
    """(line, words) of every string literal handed to a sender as the text it shows."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or _name(node) not in SENDERS:
            continue
        position = SENDERS[_name(node)]
        given = [k.value for k in node.keywords if k.arg == "text"]
        if position is not None and len(node.args) > position:
            given.append(node.args[position])
        for expression in given:
            words = _words(expression)
            if words is not None:
                found.append((node.lineno, words))
    return found


def _modules() -> list[Path]:
    return sorted(path for folder in CHECKED for path in folder.rglob("*.py"))


def test_no_listener_or_service_words_a_message_inline() -> None:
    offending = []
    for path in _modules():
        module = path.relative_to(ROOT).as_posix()
        for line, words in inline_texts(path.read_text(encoding="utf-8")):
            if not any(module == m and words.startswith(s) for m, s in CONFIRMATIONS):
                offending.append(f"{module}:{line}: {words!r}")
    assert offending == [], (
        "word these in bot/refusals/<feature>.py and raise them (or, for a confirmation, "
        "add it to CONFIRMATIONS):\n" + "\n".join(offending)
    )


def test_every_confirmation_listed_is_still_there() -> None:
    """A stale allow-list entry would let a refusal with the same words back in unnoticed."""
    seen = {
        (path.relative_to(ROOT).as_posix(), words)
        for path in _modules()
        for _, words in inline_texts(path.read_text(encoding="utf-8"))
    }
    for module, start in CONFIRMATIONS:
        assert any(m == module and w.startswith(start) for m, w in seen), (module, start)


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        # A refusal through the response_url, as a keyword: caught.
        ('await respond(text="No.", replace_original=False)', ["No."]),
        # An f-string: its literal words are caught.
        ('await respond(text=f"Only <@{who}> can.")', ["Only <@> can."]),
        # An ephemeral message sent through the Web API: caught.
        ('await client.chat_postEphemeral(channel=c, user=u, text="No.")', ["No."]),
        # A local helper handed the words by position: caught.
        ('await tell("No.")', ["No."]),
        # The click notice: its text (fourth), not its title (third).
        ('await notice(client, body, "Title", "No.")', ["No."]),
        # A message model built with words of its own: caught.
        ('Message(text="No.")', ["No."]),
        # A renderer's words, or a variable: not a literal here.
        ("await respond(text=render_thanks(title))", []),
        ("await respond(text=said)", []),
        # A field error for bad input is not a `text=`.
        ('await ack(response_action="errors", errors={"b": "Pick a day."})', []),
    ],
)
def test_the_check_finds_inline_words(source: str, caught: list[str]) -> None:
    assert [words for _, words in inline_texts(source)] == caught
