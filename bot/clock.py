"""Time as a dependency: the bot asks a clock, so tests and `tick --at` can say what "now" is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when told to (tests, `partnerbot tick --at`)."""

    def __init__(self, at: datetime) -> None:
        self._at = as_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = as_utc(at)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._at += delta if delta is not None else timedelta(**kwargs)
        return self._at


def as_utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a clock needs an aware datetime (say +00:00 or Z)")
    return at.astimezone(UTC)
