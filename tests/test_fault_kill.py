"""kill -9 at random moments of the bot's runs: a process records crawl rounds
(``runner.pipeline.record``) and drains the outbox to a webhook (``runner.deliver.drain``)
and is SIGKILLed 50 times at random points, then allowed to finish.

After every kill the database passes ``PRAGMA integrity_check`` and holds no half-written run
(a run's events, their outbox rows and its event count all there, or none of it). At the end
every event reached every chat, and a delivery repeated only for messages in flight at a kill
(accepted by the receiver while the outbox still said pending): the documented at-least-once
window."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fault_driver import CHATS, OFFERS_PER_ROUND, SOURCE, TARGET
from receiver import Receiver

from storage import outbox
from storage.db import connect

DRIVER = Path(__file__).resolve().parent / "fault_driver.py"
KILLS = 50
#: Events one kill can catch in flight: two chats served at once, a batch of two each.
IN_FLIGHT = 4
ROUNDS = 500  # enough work that every kill lands mid-run, however fast a run is


@contextmanager
def fork_server(db_path: Path, endpoint: Receiver) -> Iterator[subprocess.Popen[str]]:
    server = subprocess.Popen(
        [sys.executable, str(DRIVER), str(db_path), endpoint.url, str(ROUNDS)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        yield server
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)


def run(server: subprocess.Popen[str], kill_after: float) -> str:
    """One run of the bot, SIGKILLed after ``kill_after`` seconds (negative: let it finish)."""
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write(f"run {kill_after}\n")
    server.stdin.flush()
    answer = server.stdout.readline().strip()
    assert answer, f"the fork server died: {server.stderr.read() if server.stderr else ''}"
    return answer


def integrity(db_path: Path) -> str:
    with sqlite3.connect(db_path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def half_written_runs(db: Any) -> list[str]:
    """Runs whose rows do not add up: every recorded round has all of its events, each event
    one outbox row per chat, and the run's event count matches."""
    problems = []
    for run in db.query("SELECT * FROM runs WHERE source = ?", [SOURCE]):
        events = db.execute("SELECT count(*) FROM events WHERE run_id = ?", [run["id"]]).fetchone()[
            0
        ]
        rows = db.execute("SELECT count(*) FROM outbox JOIN events ON events.id = outbox.event_id"
                          " WHERE events.run_id = ?", [run["id"]]).fetchone()[0]  # fmt: skip
        expected = OFFERS_PER_ROUND + (1 if run["id"] > 1 else 0)
        if not (run["events"] == events == expected and rows == events * len(CHATS)):
            problems.append(
                f"run {run['id']}: {run['events']} counted, {events} events, {rows} rows"
            )
        if not run["finished"]:
            problems.append(f"run {run['id']}: no finish time")
    return problems


def pairs(requests: list[Any]) -> list[tuple[str, int]]:
    return [(r.json()["chat"], e["id"]) for r in requests if whole(r) for e in r.json()["events"]]


def whole(request: Any) -> bool:
    """A body cut short by the kill is not a delivery: a real service refuses it."""
    return len(request.body) == int(request.headers.get("content-length", -1))


class CountingReceiver(Receiver):
    """The receiver, knowing how many requests it is still in the middle of."""

    def __init__(self) -> None:
        super().__init__()
        self.busy = 0

    def _handler(self) -> Any:
        base = super()._handler()
        endpoint = self

        class Handler(base):  # type: ignore[valid-type,misc]
            def do_POST(self) -> None:  # noqa: N802
                with endpoint._lock:
                    endpoint.busy += 1
                try:
                    super().do_POST()
                finally:
                    with endpoint._lock:
                        endpoint.busy -= 1

        return Handler

    def settle(self, quiet: float = 0.05) -> None:
        """Return once the last request the killed child sent has been answered and recorded."""
        seen, since = -1, time.monotonic()
        while True:
            count = len(self.requests)
            if count != seen or self.busy:
                seen, since = count, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.005)


def accepted_but_pending(db: Any, endpoint: CountingReceiver, before: int) -> set[tuple[str, int]]:
    """What the receiver accepted during the killed run that the outbox still calls pending."""
    endpoint.settle()
    pending = {(row["chat"], row["event_id"]) for row in outbox.pending(db, TARGET)}
    return set(pairs(endpoint.accepted()[before:])) & pending


def test_fifty_kills_lose_nothing_corrupt_nothing_and_repeat_only_in_the_window(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "bot.db"
    db = connect(db_path)
    rng = random.Random(20250601)
    outcomes: Counter[str] = Counter()
    in_window: set[tuple[str, int]] = set()
    recorded_at_kill: list[int] = []
    with CountingReceiver() as endpoint, fork_server(db_path, endpoint) as server:
        for _ in range(KILLS):
            before = len(endpoint.requests)
            outcome = run(server, rng.uniform(0.0, 0.35))
            outcomes[outcome.split()[0]] += 1
            assert outcome in ("killed", "exited 0"), outcome
            assert integrity(db_path) == "ok"
            assert half_written_runs(db) == []
            in_window |= accepted_but_pending(db, endpoint, before)
            recorded_at_kill.append(db.execute("SELECT count(*) FROM runs").fetchone()[0])
        assert run(server, -1) == "exited 0"
        assert integrity(db_path) == "ok"
    assert half_written_runs(db) == []
    assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == ROUNDS

    events = [row["id"] for row in db.query("SELECT id FROM events ORDER BY id")]
    assert len(events) == ROUNDS * OFFERS_PER_ROUND + (ROUNDS - 1)
    arrived = Counter(pairs(endpoint.accepted()))
    assert set(arrived) == {(chat, i) for chat in CHATS for i in events}  # nothing lost
    assert outbox.counts(db) == {"sent": len(events) * len(CHATS)}
    repeated = {pair for pair, n in arrived.items() if n > 1}
    assert in_window <= repeated  # accepted but still pending: sent again, never lost
    # a kill repeats at most the messages in flight: one per chat served side by side (two
    # chats, a batch of two events each), as each message is marked sent on its answer
    extra = sum(n - 1 for n in arrived.values())
    assert extra <= outcomes["killed"] * IN_FLIGHT, (extra, outcomes)
    # the kills landed while there was work, at different points of it
    assert outcomes["killed"] >= KILLS // 2, outcomes
    assert len(set(recorded_at_kill)) >= 3, recorded_at_kill
    print(f"\n{outcomes['killed']} kills, {len(repeated)} repeated deliveries, "
          f"runs recorded at each kill: {recorded_at_kill}")  # fmt: skip
