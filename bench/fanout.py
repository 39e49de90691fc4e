"""One pass of the outbox drain (``runner.deliver.drain``) through the Telegram notifier
(python-telegram-bot with ``base_url``) fanning out to many chats, private and group, against
a local Bot API that enforces Telegram's limits exactly where Telegram does, on arrival: 30
messages in any second overall, one a second per chat, 20 in any minute per group; past them
it answers 429 with ``retry_after``. The baseline is the rate those limits allow.

    .venv/bin/python bench/fanout.py [--private 36] [--groups 8] [--messages 30] [--latency 0.2]

Every API call takes ``--latency`` seconds to answer (200 ms by default, a far-away bot's
round trip), counted by the limits on arrival. Each private chat gets ``--messages`` alerts
and each group 19 (one minute's worth), one message each (``batch_size = 1``); with this many
chats the overall limit is the one that binds. Target: every alert delivered in the one
pass, no 429, at least 90% of the allowed rate.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import TESTS, Figure, quiet_logs, report
from pipeline import raw_offers

sys.path.insert(0, str(TESTS))

from fake_telegram import TOKEN, FakeTelegram, _error, _params  # noqa: E402

from chat.store import SqliteSubscribers  # noqa: E402
from notifiers import plugin  # noqa: E402
from offers.model import (
    Event,  # noqa: E402
    make_offer,  # noqa: E402
)
from runner.crawl import CrawlResult  # noqa: E402
from runner.deliver import drain  # noqa: E402
from runner.pipeline import record  # noqa: E402
from settings.config import Config, NotifierConfig  # noqa: E402
from storage.db import connect  # noqa: E402

OVERALL_PER_SECOND = 30
CHAT_INTERVAL = 1.0
GROUP_PER_MINUTE = 20
GROUP_MESSAGES = 19
TOKEN_ENV = "AWARDWATCH_BENCH_TELEGRAM_TOKEN"


class LimitedTelegram(FakeTelegram):
    """The fake Bot API, with Telegram's flood control on sendMessage."""

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__()
        self.latency = latency
        self.recent: deque[float] = deque()
        self.last_to: dict[str, float] = {}
        self.group_recent: dict[str, deque[float]] = {}
        self.refused = 0
        self.first: float | None = None
        self.last: float | None = None
        self._limits = threading.Lock()

    def answer(self, path: str, content_type: str, body: str) -> tuple[int, dict[str, Any]]:
        if path.endswith("/sendMessage"):
            chat = str(_params_chat(content_type, body))
            wait = self._admit(chat, time.monotonic())
            time.sleep(self.latency)  # the network's round trip, after Telegram counted it
            if wait > 0:
                return 429, _error(429, f"Too Many Requests: retry after {int(wait) + 1}",
                                   {"retry_after": int(wait) + 1})  # fmt: skip
        return super().answer(path, content_type, body)

    def _admit(self, chat: str, now: float) -> float:
        """Seconds the sender should have waited, or 0 when the message is within limits."""
        with self._limits:
            while self.recent and self.recent[0] <= now - 1.0:
                self.recent.popleft()
            wait = 0.0
            if len(self.recent) >= OVERALL_PER_SECOND:
                wait = self.recent[0] + 1.0 - now
            previous = self.last_to.get(chat)
            if previous is not None and now - previous < CHAT_INTERVAL:
                wait = max(wait, previous + CHAT_INTERVAL - now)
            group = self.group_recent.setdefault(chat, deque()) if chat.startswith("-") else None
            if group is not None:
                while group and group[0] <= now - 60.0:
                    group.popleft()
                if len(group) >= GROUP_PER_MINUTE:
                    wait = max(wait, group[0] + 60.0 - now)
            if wait > 0:
                self.refused += 1
                return wait
            self.recent.append(now)
            self.last_to[chat] = now
            if group is not None:
                group.append(now)
            self.first = self.first if self.first is not None else now
            self.last = now
            return 0.0


@dataclass
class Counts:
    accepted: int
    refused: int
    span: float


def serve_apart(ready: Any, latency: float) -> None:
    """Run the limited Bot API in its own process (forked), so it does not share the
    bot's interpreter lock; report what it counted when told to stop."""
    with LimitedTelegram(latency) as api:
        ready.send(api.base_url)
        ready.recv()
        span = (api.last or 0) - (api.first or 0)
        ready.send(Counts(len(api.sent()), api.refused, span))


def _params_chat(content_type: str, body: str) -> Any:
    return _params(content_type, body).get("chat_id")


def chats_of(private: int, groups: int, messages: int) -> list[str]:
    """One entry per alert: each private chat ``messages`` times, each group 19 times."""
    people = [str(100_000 + n) for n in range(private)] * messages
    rooms = [str(-100_000 - n) for n in range(groups)] * GROUP_MESSAGES
    return people + rooms


def queue(db: Any, chats: list[str]) -> None:
    """One new offer per entry of ``chats``, routed there, through the real pipeline."""
    now = datetime.now(UTC)
    result = CrawlResult("bench", started=now, responses=1)
    result.offers = [make_offer(row) for row in raw_offers(len(chats), now.date())]

    def route(event: Event) -> list[tuple[str, str]]:
        return [("telegram", chats[(event.id - 1) % len(chats)])]

    record(db, Config(), result, route, now)


async def deliver(db: Any, base_url: str) -> tuple[float, int]:
    notifier = plugin("telegram")(NotifierConfig(
        name="telegram", type="telegram", token_env=TOKEN_ENV, base_url=base_url,
        chats=[{"chat": "1"}], batch_size=1,
    ))  # fmt: skip
    notifier.attach(SqliteSubscribers(db, notifier.name, "telegram"))
    await notifier.start()
    began = time.perf_counter()
    outcome = await drain(db, [notifier])
    seconds = time.perf_counter() - began
    await notifier.close()
    return seconds, outcome.sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--private", type=int, default=36, help="private chats")
    parser.add_argument("--groups", type=int, default=8, help="group chats")
    parser.add_argument("--messages", type=int, default=30, help="alerts per private chat")
    parser.add_argument("--latency", type=float, default=0.2,
                        help="seconds of round trip each API call takes (default 0.2)")  # fmt: skip
    args = parser.parse_args()
    quiet_logs()
    os.environ[TOKEN_ENV] = TOKEN
    chats = chats_of(args.private, args.groups, args.messages)
    ours, theirs = multiprocessing.get_context("fork").Pipe()
    server = multiprocessing.get_context("fork").Process(
        target=serve_apart, args=(theirs, args.latency)
    )
    server.start()
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as folder:
        db = connect(Path(folder) / "bench.db")
        queue(db, chats)
        seconds, sent = asyncio.run(deliver(db, ours.recv()))
    ours.send("stop")
    counts: Counts = ours.recv()
    server.join()
    accepted, span = counts.accepted, counts.span
    rate = (accepted - 1) / span if span else 0.0
    # what the limits allow this workload: every chat at its own limit, capped overall
    allowed = min(OVERALL_PER_SECOND, args.private / CHAT_INTERVAL + args.groups * (
        GROUP_PER_MINUTE / 60))  # fmt: skip
    print(f"   {sent:,} of {len(chats):,} alerts marked sent, {accepted:,} messages accepted, "
          f"{counts.refused} answered 429, drain took {seconds:.1f} s")  # fmt: skip
    ratio = rate / allowed
    report(
        f"fan-out at {args.latency * 1000:.0f} ms round trip, {len(chats):,} alerts to "
        f"{args.private} private chats and {args.groups} groups",
        Figure("outbox drain → Telegram notifier", rate, "messages/s"),
        Figure("rate Telegram's limits allow", allowed, "messages/s"),
        target="every alert in one pass, no 429, at least 90% of the allowed rate",
        ratio=ratio,
        met=ratio >= 0.90 and counts.refused == 0 and sent == len(chats),
    )


if __name__ == "__main__":
    main()
