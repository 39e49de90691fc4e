"""A small bot for the kill test: each run records the next crawl rounds (through
``runner.pipeline.record``) and drains the outbox (``runner.deliver.drain``) to a
webhook, until every round is recorded and nothing is pending.

Importing the bot takes seconds on a busy machine, so this process imports it once and then
serves as a fork server: for every line ``run SECONDS`` on stdin it forks a child that does one
run, SIGKILLs the child after SECONDS if it is still going (a negative number: never), and
answers ``killed`` or ``exited CODE`` on stdout. The child is an ordinary process killed
mid-write; only the start-up cost is shared.

    python tests/fault_driver.py DB_PATH WEBHOOK_URL ROUNDS
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import traceback
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from notifiers.webhook import WebhookNotifier  # noqa: E402
from offers.model import (  # noqa: E402
    Event,  # noqa: E402
    Offer,
    make_offer,
)
from runner.crawl import CrawlResult  # noqa: E402
from runner.deliver import drain  # noqa: E402
from runner.pipeline import record  # noqa: E402
from settings.config import Config, NotifierConfig  # noqa: E402
from storage import outbox  # noqa: E402
from storage.db import connect  # noqa: E402

SOURCE = "kill-test"
TARGET = "hook"
CHATS = ("a", "b")
OFFERS_PER_ROUND = 3
CONFIG = Config.model_validate({"rules": [{"name": "cheap", "max_miles": 200_000}]})


def offers_of_round(number: int) -> list[Offer]:
    """Three new offers, and (after the first round) the previous round's first one cheaper."""
    made = [_offer(number, slot, 50_000 + slot) for slot in range(OFFERS_PER_ROUND)]
    if number:
        made.append(_offer(number - 1, 0, 40_000))
    return made


def _offer(number: int, slot: int, miles: int) -> Offer:
    return make_offer({
        "source": SOURCE, "program": "united", "origin": "SFO", "destination": "NRT",
        "cabin": "business", "miles": miles,
        "depart_date": (date(2031, 1, 1) + timedelta(days=number * 10 + slot)).isoformat(),
        "title": f"round {number} slot {slot}", "url": f"https://example.com/{number}/{slot}",
    })  # fmt: skip


def route(event: Event) -> list[tuple[str, str]]:
    return [(TARGET, chat) for chat in CHATS]


async def one_run(db_path: str, url: str, rounds: int) -> None:
    db = connect(db_path)
    notifier = WebhookNotifier(NotifierConfig(
        name=TARGET, type="webhook", url=url, batch_size=2, rate_per_second=500, concurrency=2))  # fmt: skip
    try:
        while True:
            done = db.execute("SELECT count(*) FROM runs WHERE source = ?", [SOURCE]).fetchone()[0]
            if done < rounds:
                now = datetime.now(UTC)
                found = offers_of_round(done)
                result = CrawlResult(SOURCE, now, now, offers=found, responses=1, items=len(found))
                record(db, CONFIG, result, route, now)
            await drain(db, [notifier])
            if done >= rounds and not outbox.pending(db, TARGET):
                return
    finally:
        await notifier.close()


def warm_up() -> None:
    """Record one round in memory: what the road imports and caches lazily on first use is
    then ready in every child, so a kill lands in the work, not in start-up."""
    now = datetime.now(UTC)
    found = offers_of_round(0)
    result = CrawlResult(SOURCE, now, now, offers=found, responses=1, items=len(found))
    record(connect(":memory:"), CONFIG, result, route, now)


def serve(db_path: str, url: str, rounds: int) -> None:
    warm_up()
    for line in sys.stdin:
        seconds = float(line.split()[1])
        pid = os.fork()
        if pid == 0:
            _child(db_path, url, rounds)
        print(_supervise(pid, seconds), flush=True)


def _child(db_path: str, url: str, rounds: int) -> None:
    code = 0
    try:
        asyncio.run(one_run(db_path, url, rounds))
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stderr.flush()
    os._exit(code)


def _supervise(pid: int, seconds: float) -> str:
    deadline = time.monotonic() + seconds if seconds >= 0 else None
    while True:
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            return f"exited {os.waitstatus_to_exitcode(status)}"
        if deadline is not None and time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)  # still our unreaped child: the pid cannot be reused
            os.waitpid(pid, 0)
            return "killed"
        time.sleep(0.001)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]))
