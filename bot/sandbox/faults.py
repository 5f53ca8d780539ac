"""Which fake Slack API calls fail, and whether clients respected the Retry-After windows announced.

Pure bookkeeping on an injected clock; `fake_slack` turns a `Fault` into an HTTP response.
Like Slack's, rate-limit windows are per workspace and method: a call is answered for the team
whose token it carried (`team`), and a fault can be aimed at one team (`team=None`: every team).
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Fault:
    """How one call fails: an HTTP status, or (when `error` is set) HTTP 200 with ok:false."""

    status: int
    error: str | None = None
    retry_after: int | None = None


@dataclass(frozen=True)
class RateLimitViolation:
    """A call that arrived while a Retry-After window the fake announced was still open."""

    method: str
    at: float
    window_until: float
    team: str | None = None


@dataclass(frozen=True)
class _Window:
    until: float
    opened_at: float
    # Calls numbered up to here had reached the fake before the 429 went out: in flight.
    last_arrival: int
    args: Mapping[str, Any]


@dataclass
class _RandomFaults:
    method: str | None
    rate_429: float
    rate_5xx: float
    retry_after: int
    rng: random.Random = field(repr=False)
    team: str | None = None


class FaultPlan:
    """Planned (`fail_next`) and random (`inject`) faults, plus announced rate-limit windows."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        # Keyed by (team, method); team None applies to every team.
        self._planned: defaultdict[tuple[str | None, str], deque[Fault]] = defaultdict(deque)
        self._random: list[_RandomFaults] = []
        self._windows: dict[tuple[str | None, str], _Window] = {}
        self.violations: list[RateLimitViolation] = []
        # Per team (None: every team): (until, Retry-After announced).
        self._storms: dict[str | None, tuple[float, int]] = {}

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        error: str | None = None,
        retry_after: int = 1,
        times: int = 1,
        team: str | None = None,
    ) -> None:
        if error is not None:
            fault = Fault(status=200, error=error)
        elif status == 429:
            fault = Fault(status=429, error="ratelimited", retry_after=retry_after)
        else:
            fault = Fault(status=status)
        self._planned[(team, method)].extend([fault] * times)

    def inject(
        self,
        method: str | None = None,
        *,
        rate_429: float = 0.0,
        rate_5xx: float = 0.0,
        retry_after: int = 1,
        seed: int = 0,
        team: str | None = None,
    ) -> None:
        if not (rate_429 >= 0.0 and rate_5xx >= 0.0 and rate_429 + rate_5xx <= 1.0):
            raise ValueError("rates must be non-negative and sum to at most 1")
        self._random.append(
            _RandomFaults(method, rate_429, rate_5xx, retry_after, random.Random(seed), team)
        )

    def storm(self, *, seconds: float, retry_after: int, team: str | None = None) -> None:
        """Answer every call 429 for `seconds` from now, each with `retry_after` (Slack's
        Retry-After says when to ask again, not when the storm ends)."""
        self._storms[team] = (self._clock() + seconds, retry_after)

    def clear(self) -> None:
        self._planned.clear()
        self._random.clear()
        self._storms.clear()

    def arrive(
        self,
        method: str,
        args: Mapping[str, Any],
        *,
        arrival: int,
        latest_arrival: int,
        team: str | None = None,
    ) -> Fault | None:
        """Note call number `arrival` to `method`, carrying `team`'s token, being answered now;
        return its fault, if any.

        `latest_arrival` is the highest call number that has reached the fake so far.
        """
        now = self._clock()
        window = self._windows.get((team, method))
        if window is not None and self._violates(window, now, args, arrival):
            self.violations.append(RateLimitViolation(method, now, window.until, team))
        fault = self._draw(team, method)
        if fault is not None and fault.retry_after is not None:
            self._windows[(team, method)] = _Window(
                until=now + fault.retry_after,
                opened_at=now,
                last_arrival=latest_arrival,
                args=dict(args),
            )
        return fault

    @staticmethod
    def _violates(window: _Window, now: float, args: Mapping[str, Any], arrival: int) -> bool:
        if now >= window.until or arrival <= window.last_arrival:
            return False
        # On a frozen clock, concurrent sends that crossed the 429 on the wire arrive at the
        # same instant as the announcement and cannot be told from a careless client. Only an
        # immediate resend of the refused call is then certain to be one; any call at a later
        # instant inside the window is.
        return now > window.opened_at or dict(args) == window.args

    def _draw(self, team: str | None, method: str) -> Fault | None:
        for scope in (team, None):
            storm = self._storms.get(scope)
            if storm is not None and self._clock() < storm[0]:
                return Fault(status=429, error="ratelimited", retry_after=storm[1])
        for scope in (team, None):
            planned = self._planned.get((scope, method))
            if planned:
                return planned.popleft()
        chosen: Fault | None = None
        for rule in self._random:
            if rule.method not in (None, method) or rule.team not in (None, team):
                continue
            # Draw for every matching rule on every call, so one seed always yields the same
            # sequence for the same calls, whichever rule happened to fire first.
            roll = rule.rng.random()
            if chosen is not None:
                continue
            if roll < rule.rate_429:
                chosen = Fault(status=429, error="ratelimited", retry_after=rule.retry_after)
            elif roll < rule.rate_429 + rule.rate_5xx:
                chosen = Fault(status=500)
        return chosen
