"""Per-user command rate limiting: a token bucket per (service, user), so one person sending
commands as fast as they can slows only themselves."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

Verdict = Literal["ok", "refuse", "ignore"]


class CommandRate:
    """At most ``per_minute`` commands a minute per user, in bursts of up to ``per_minute``.
    A user over the limit is told once (``refuse``), then ignored until the bucket refills."""

    #: Users remembered at most; full buckets are forgotten first.
    max_users = 10_000

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.refill = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float, bool]] = {}  # tokens, when, told

    def check(self, user: str) -> Verdict:
        now = self.clock()
        tokens, then, told = self._buckets.get(user, (self.capacity, now, False))
        tokens = min(self.capacity, tokens + (now - then) * self.refill)
        if tokens >= 1:
            self._remember(user, (tokens - 1, now, False))
            return "ok"
        self._remember(user, (tokens, now, True))
        return "ignore" if told else "refuse"

    def _remember(self, user: str, state: tuple[float, float, bool]) -> None:
        if user not in self._buckets and len(self._buckets) >= self.max_users:
            self._forget_idle()
        self._buckets[user] = state

    def _forget_idle(self) -> None:
        now = self.clock()
        idle = self.capacity / self.refill if self.refill else 0.0
        for user, (_, then, _) in list(self._buckets.items()):
            if now - then >= idle:
                del self._buckets[user]
        while len(self._buckets) >= self.max_users:
            del self._buckets[next(iter(self._buckets))]
