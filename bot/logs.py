"""Structured logs: every line carries the team, user and request it belongs to.

Answer text and tokens never reach a log: Bolt's and slack_sdk's debug output (which includes
request bodies) is held at INFO, and Bolt's "unhandled request" warning is cut to its kind. The
same line from the same place is written at most `log_repeats_per_minute` times a minute.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
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


class ClientErrorFilter(logging.Filter):
    """aiohttp logs a client's malformed request (a line or header too long, a body that is
    not what it said) with its traceback; keep one line saying what the client did wrong."""

    def filter(self, record: logging.LogRecord) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError

        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and 400 <= (error.code or 400) < 500:
            record.msg = "malformed request from a client: %s"
            record.args = (type(error).__name__,)
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


@dataclass
class _Repeats:
    window_started: float
    written: int = 0
    suppressed: int = 0


class RepeatFilter(logging.Filter):
    """At most `per_minute` lines with the same message from the same place in a minute; the
    first line after a minute with some left out is preceded by one saying how many.

    "The same message" is the message before its arguments are filled in, so a line that
    names a varying client address still counts as one message."""

    WINDOW_SECONDS = 60.0

    def __init__(
        self,
        per_minute: int,
        emit: Callable[[logging.LogRecord], object],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._per_minute = per_minute
        self._emit = emit
        self._clock = clock
        self._seen: dict[tuple[str, str, int, str], _Repeats] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "suppressed", None) is not None:
            return True  # our own summary line
        key = (record.name, record.pathname, record.lineno, str(record.msg))
        now = self._clock()
        repeats = self._seen.get(key)
        if repeats is None or now - repeats.window_started >= self.WINDOW_SECONDS:
            if repeats is not None and repeats.suppressed:
                self._summarise(record, repeats.suppressed)
            if len(self._seen) > 10_000:  # messages are templates: this only bounds a bug
                self._seen.clear()
            repeats = self._seen[key] = _Repeats(window_started=now)
        if repeats.written < self._per_minute:
            repeats.written += 1
            return True
        repeats.suppressed += 1
        return False

    def _summarise(self, record: logging.LogRecord, suppressed: int) -> None:
        summary = logging.LogRecord(
            record.name,
            logging.WARNING,
            record.pathname,
            record.lineno,
            "suppressed %d repeats of %r in the last minute",
            (suppressed, str(record.msg)),
            None,
        )
        summary.suppressed = suppressed
        self._emit(summary)


def _quote(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (not text or any(c in text for c in ' "=\n')) else text


def configure_logging(
    level: str, log_format: LogFormat = LogFormat.TEXT, *, repeats_per_minute: int = 20
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format is LogFormat.JSON else TextFormatter())
    handler.addFilter(RepeatFilter(repeats_per_minute, emit=handler.handle))
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
