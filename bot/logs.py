"""Structured logs: every line carries the team, user and request it belongs to.

Answer text and tokens never reach a log: Bolt's and slack_sdk's debug output (which includes
request bodies) is held at INFO, and Bolt's "unhandled request" warning is cut to its kind.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

from bot.settings import LogFormat

request_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar(
    "request_context",
    default={},  # noqa: B039 - never mutated; replaced with .set()
)

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
_CHATTY_LIBRARIES = ("slack_bolt", "slack_sdk", "aiohttp.access", "aiosqlite")


def bind(**fields: str | None) -> contextvars.Token[dict[str, str]]:
    """Add fields to the log context of this task and the tasks it starts."""
    merged = dict(request_context.get())
    merged.update({key: value for key, value in fields.items() if value})
    return request_context.set(merged)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = dict(request_context.get())
    fields.update({key: value for key, value in record.__dict__.items() if key not in _RESERVED})
    return fields


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        parts = [stamp[:-4] + "Z", record.levelname.lower(), record.name, record.getMessage()]
        line = " ".join(parts)
        extra = " ".join(f"{key}={_quote(value)}" for key, value in _fields(record).items())
        if extra:
            line = f"{line} {extra}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class UnhandledRequestFilter(logging.Filter):
    """Bolt prints the whole payload of a request nobody handles; keep only that it happened.
    It also warns on every start that SLACK_BOT_TOKEN "will be unused" whenever that variable is
    set (as it is in production) because we hand it a client built from the same token: that
    line says nothing an operator can act on, so it is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message == warning_client_prioritized_and_token_skipped():
            return False
        if message.startswith("Unhandled request"):
            record.msg = "Unhandled request (payload omitted)"
            record.args = ()
        return True


def _quote(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (not text or any(c in text for c in ' "=\n')) else text


def configure_logging(level: str, log_format: LogFormat = LogFormat.TEXT) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format is LogFormat.JSON else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _CHATTY_LIBRARIES:
        library = logging.getLogger(name)
        library.setLevel(max(logging.getLevelName(level), logging.INFO))
    # APScheduler logs "Running job" and "executed successfully" at INFO every minute; our own
    # tick line says what a tick did. Below DEBUG they are noise.
    numeric = logging.getLevelName(level)
    logging.getLogger("apscheduler.executors").setLevel(
        numeric if numeric <= logging.DEBUG else max(numeric, logging.WARNING)
    )
