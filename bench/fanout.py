"""Messages per second from the outbox drain (``awardwatch.deliver.drain``) through the
Telegram notifier (python-telegram-bot with ``base_url``) to a local Bot API that enforces
Telegram's limits — 30 messages in any second overall, one a second per chat — and answers
429 with ``retry_after`` past them. The baseline is the allowed rate itself.

    .venv/bin/python bench/fanout.py [--deliveries 1500]

Each delivery goes to its own chat (one chat's deliveries would share a digest message).
10,000 deliveries take about 6 minutes at 30/s; the default measures the same rate sooner.
Target: at least 95% of the allowed rate, with no 429.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import TESTS, Figure, quiet_logs, report
from pipeline import raw_offers

sys.path.insert(0, str(TESTS))

from fake_telegram import TOKEN, FakeTelegram, _error, _params  # noqa: E402

from awardwatch.config import Config, NotifierConfig  # noqa: E402
from awardwatch.crawl import CrawlResult  # noqa: E402
from awardwatch.deliver import drain  # noqa: E402
from awardwatch.pipeline import record  # noqa: E402
from notifiers import plugin  # noqa: E402
from offers.model import make_offer  # noqa: E402
from storage.db import connect  # noqa: E402
from storage.offers import Event  # noqa: E402

OVERALL_PER_SECOND = 30
CHAT_INTERVAL = 1.0
#: Slack for the network between the notifier's clock and the server's.
JITTER = 0.01
TOKEN_ENV = "AWARDWATCH_BENCH_TELEGRAM_TOKEN"


class LimitedTelegram(FakeTelegram):
    """The fake Bot API, with Telegram's flood control on sendMessage."""

    def __init__(self) -> None:
        super().__init__()
        self.recent: deque[float] = deque()
        self.last_to: dict[str, float] = {}
        self.refused = 0
        self.first: float | None = None
        self.last: float | None = None
        self._limits = threading.Lock()

    def answer(self, path: str, content_type: str, body: str) -> tuple[int, dict[str, Any]]:
        if path.endswith("/sendMessage"):
            chat = str(_params_chat(content_type, body))
            wait = self._admit(chat, time.monotonic())
            if wait > 0:
                return 429, _error(429, f"Too Many Requests: retry after {int(wait) + 1}",
                                   {"retry_after": int(wait) + 1})  # fmt: skip
        return super().answer(path, content_type, body)

    def _admit(self, chat: str, now: float) -> float:
        """Seconds the sender should have waited, or 0 when the message is within limits."""
        with self._limits:
            while self.recent and self.recent[0] <= now - 1.0 + JITTER:
                self.recent.popleft()
            wait = 0.0
            if len(self.recent) >= OVERALL_PER_SECOND:
                wait = self.recent[0] + 1.0 - now
            previous = self.last_to.get(chat)
            if previous is not None and now - previous < CHAT_INTERVAL - JITTER:
                wait = max(wait, previous + CHAT_INTERVAL - now)
            if wait > 0:
                self.refused += 1
                return wait
            self.recent.append(now)
            self.last_to[chat] = now
            self.first = self.first if self.first is not None else now
            self.last = now
            return 0.0


def _params_chat(content_type: str, body: str) -> Any:
    return _params(content_type, body).get("chat_id")


def queue(db: Any, count: int) -> None:
    """``count`` new offers, each event routed to its own chat, through the real pipeline."""
    now = datetime.now(UTC)
    result = CrawlResult("bench", started=now, responses=1)
    result.offers = [make_offer(row) for row in raw_offers(count, now.date())]

    def route(event: Event) -> list[tuple[str, str]]:
        return [("telegram", str(100_000 + event.id))]

    record(db, Config(), result, route, now)


async def deliver(db: Any, base_url: str) -> tuple[float, int]:
    notifier = plugin("telegram")(NotifierConfig(
        name="telegram", type="telegram", token_env=TOKEN_ENV, base_url=base_url,
        chats=[{"chat": "1"}],
    ))  # fmt: skip
    notifier.db = db  # type: ignore[attr-defined]
    await notifier.start()
    began = time.perf_counter()
    outcome = await drain(db, [notifier])
    seconds = time.perf_counter() - began
    await notifier.close()
    return seconds, outcome.sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1500)
    args = parser.parse_args()
    quiet_logs()
    os.environ[TOKEN_ENV] = TOKEN
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as folder, LimitedTelegram() as api:
        db = connect(Path(folder) / "bench.db")
        queue(db, args.deliveries)
        seconds, sent = asyncio.run(deliver(db, api.base_url))
        accepted = len(api.sent())
        span = (api.last or 0) - (api.first or 0)
    rate = (accepted - 1) / span if span else 0.0
    print(f"   {sent:,} deliveries marked sent, {accepted:,} messages accepted, "
          f"{api.refused} answered 429, drain took {seconds:.1f} s")  # fmt: skip
    ratio = rate / OVERALL_PER_SECOND
    report(
        f"fan-out, {args.deliveries:,} deliveries to {args.deliveries:,} chats",
        Figure("outbox drain → Telegram notifier", rate, "messages/s"),
        Figure("Telegram's allowed rate", OVERALL_PER_SECOND, "messages/s"),
        target="at least 95% of the allowed rate with no 429",
        ratio=ratio,
        met=ratio >= 0.95 and api.refused == 0 and sent == args.deliveries,
    )


if __name__ == "__main__":
    main()
