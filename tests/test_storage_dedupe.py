"""Dedupe: an offer alerts once, again when cheaper, and when back after being truly gone —
never because a run failed, and never because two sources show it at different prices."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlite_utils

from offers.model import make_offer
from runner.crawl import CrawlResult
from runner.pipeline import record
from settings.config import Config
from storage import db as storage_db

T0 = datetime(2030, 11, 20, 8, 0, tzinfo=UTC)
CONFIG = Config.model_validate({"dedupe": {"cheaper_by": 1000, "back_after_hours": 24}})
HOUR = timedelta(hours=1)


def offers(source: str, *miles: int, letters: str = "RXY") -> list[Any]:
    return [
        make_offer({"source": source, "program": "delta", "origin": "JFK", "destination": f"LH{i}",
                    "miles": m, "depart_date": "2031-02-01"})
        for i, m in zip(letters, miles, strict=False)
    ]  # fmt: skip


def run(
    db: Any,
    now: datetime,
    *miles: int,
    source: str = "s",
    config: Config = CONFIG,
    letters: str = "RXY",
    **kw: Any,
) -> list[tuple[str, int | None]]:
    found = offers(source, *miles, letters=letters)
    result = CrawlResult(source, started=now, finished=now, offers=found, responses=1, **kw)
    summary = record(db, config, result, lambda event: [("console", "")], now)
    return [(e.kind, e.previous_miles) for e in summary.events]


def fail(db: Any, now: datetime, source: str = "s", **kw: Any) -> Any:
    result = CrawlResult(source, started=now, finished=now, **kw)
    return record(db, CONFIG, result, lambda event: [], now)


def gone(db: Any) -> dict[str, bool]:
    return {r["destination"]: r["gone_since"] is not None for r in db["offers"].rows}


def test_new_then_unchanged_then_cheaper(db: Any) -> None:
    assert run(db, T0, 45000) == [("new", None)]
    assert run(db, T0 + HOUR, 45000) == []
    assert run(db, T0 + 2 * HOUR, 44500) == []  # fell by less than cheaper_by
    assert run(db, T0 + 3 * HOUR, 43000) == [("cheaper", 44500)]
    assert run(db, T0 + 4 * HOUR, 50000) == []  # dearer: no alert


def test_gone_after_two_healthy_runs_in_a_row_then_back(db: Any) -> None:
    run(db, T0, 45000, 30000)
    run(db, T0 + HOUR, 45000)
    assert gone(db) == {"LHR": False, "LHX": False}  # one run missed it: not gone yet
    run(db, T0 + 2 * HOUR, 45000)
    assert gone(db) == {"LHR": False, "LHX": True}
    assert run(db, T0 + 5 * HOUR, 45000, 30000) == []  # back too soon to tell
    run(db, T0 + 6 * HOUR, 45000)
    run(db, T0 + 7 * HOUR, 45000)
    assert run(db, T0 + 32 * HOUR, 45000, 30000) == [("back", None)]


def test_a_sighting_between_misses_starts_the_count_again(db: Any) -> None:
    run(db, T0, 45000, 30000)
    run(db, T0 + HOUR, 45000)
    run(db, T0 + 2 * HOUR, 45000, 30000)
    run(db, T0 + 3 * HOUR, 45000)
    assert gone(db) == {"LHR": False, "LHX": False}


@pytest.mark.parametrize("runs", [1, 3])
def test_runs_before_gone_are_configurable(db: Any, runs: int) -> None:
    config = Config.model_validate({"dedupe": {"gone_after_runs": runs}})
    run(db, T0, 45000, 30000, config=config)
    for hour in range(1, runs):
        run(db, T0 + hour * HOUR, 45000, config=config)
        assert gone(db)["LHX"] is False
    run(db, T0 + runs * HOUR, 45000, config=config)
    assert gone(db)["LHX"] is True


FAILURES = {
    "error": {"errors": 1},
    "blocked": {"blocked": 1, "responses": 1},
    "empty": {"responses": 1},
    "unreadable": {"responses": 1, "rejected": Counter({"malformed response": 1})},
}


@pytest.mark.parametrize("kind", FAILURES)
def test_failed_runs_never_retire_offers_nor_bring_them_back(db: Any, kind: str) -> None:
    run(db, T0, 45000, 30000)
    for hour in range(1, 5):
        summary = fail(db, T0 + hour * HOUR, **FAILURES[kind])
        assert summary.failed is True
    assert gone(db) == {"LHR": False, "LHX": False}
    assert run(db, T0 + 60 * HOUR, 45000, 30000) == []  # no phantom "back"


PARTIAL = [{"errors": 1}, {"complete": False}, {"rejected": Counter({"malformed response": 1})}]


@pytest.mark.parametrize("partial", PARTIAL, ids=["error", "cut-short", "unreadable-page"])
def test_a_run_that_saw_part_of_the_source_does_not_count_a_miss(db: Any, partial: Any) -> None:
    run(db, T0, 45000, 30000)
    run(db, T0 + HOUR, 45000, **partial)
    run(db, T0 + 2 * HOUR, 45000, **partial)
    assert gone(db) == {"LHR": False, "LHX": False}


def test_empty_is_a_failure_only_where_offers_were_expected(db: Any) -> None:
    first = fail(db, T0, source="new-source", responses=1)
    assert (first.status, first.failed) == ("empty", False)  # a source that never found any
    unreadable = fail(db, T0, source="other", responses=1,
                      rejected=Counter({"malformed response": 1}))  # fmt: skip
    assert (unreadable.status, unreadable.failed) == ("empty", True)
    run(db, T0, 45000)
    after = fail(db, T0 + HOUR, responses=1)
    assert (after.status, after.failed) == ("empty", True)
    assert "earlier runs found some" in after.message


def test_the_offer_shows_the_cheapest_source(db: Any) -> None:
    run(db, T0, 25000, source="a")
    run(db, T0 + HOUR, 30000, source="b")
    run(db, T0 + 2 * HOUR, 99000, source="a")  # dearer now at a: b is the cheapest
    row = next(iter(db["offers"].rows))
    assert (row["miles"], row["source"]) == (30000, "b")


def test_two_sources_at_two_prices_never_flip_flop(db: Any) -> None:
    assert run(db, T0, 25000, source="a") == [("new", None)]
    for hour in range(1, 7):
        source, price = ("b", 30000) if hour % 2 else ("a", 25000)
        assert run(db, T0 + hour * HOUR, price, source=source) == []
    row = next(iter(db["offers"].rows))
    assert (row["miles"], row["source"], row["best_miles"]) == (25000, "a", 25000)


def test_cheaper_compares_with_the_lowest_live_source(db: Any) -> None:
    run(db, T0, 25000, source="a")
    run(db, T0 + HOUR, 30000, source="b")
    assert run(db, T0 + 2 * HOUR, 27000, source="b") == []  # cheaper for b, not for the offer
    assert run(db, T0 + 3 * HOUR, 23000, source="b") == [("cheaper", 25000)]
    row = next(iter(db["offers"].rows))
    assert (row["miles"], row["source"]) == (23000, "b")


def test_offer_is_gone_only_when_no_source_shows_it(db: Any) -> None:
    run(db, T0, 25000, source="a")
    run(db, T0 + HOUR, 30000, source="b")
    run(db, T0 + 2 * HOUR, 40000, source="a", letters="X")  # a no longer shows LHR (twice)
    run(db, T0 + 3 * HOUR, 40000, source="a", letters="X")
    row = next(r for r in db["offers"].rows if r["destination"] == "LHR")
    assert (row["gone_since"], row["miles"], row["source"]) == (None, 30000, "b")
    run(db, T0 + 4 * HOUR, 40000, source="b", letters="Y")
    run(db, T0 + 5 * HOUR, 40000, source="b", letters="Y")
    assert gone(db)["LHR"] is True
    # a shows it again at its old price: cheaper than anything live, and back after a day
    assert run(db, T0 + 40 * HOUR, 25000, 40000, source="a") == [("back", None)]


def test_every_event_is_queued_for_delivery_with_its_run(db: Any) -> None:
    run(db, T0, 45000, 30000)
    assert db["outbox"].count == 2
    run_row = next(iter(db["runs"].rows))
    assert (run_row["status"], run_row["offers"], run_row["events"]) == ("ok", 2, 2)


def test_upgrade_keeps_each_offers_source_and_state(tmp_path: Any) -> None:
    step = next(f for f in storage_db.MIGRATIONS if f.__name__ == "_offer_sightings")
    old = sqlite_utils.Database(tmp_path / "old.db")
    for migration in storage_db.MIGRATIONS[: storage_db.MIGRATIONS.index(step)]:
        migration(old)
    old["offers"].insert_all([
        {"key": "k1", "source": "a", "program": "delta", "miles": 25000, "first_seen": "x",
         "last_seen": "y", "gone_since": None},
        {"key": "k2", "source": "b", "program": "delta", "miles": 9000, "first_seen": "x",
         "last_seen": "y", "gone_since": "2030-01-01T00:00:00+00:00"},
    ])  # fmt: skip
    step(old)
    rows = [(r["offer_key"], r["source"], r["miles"], r["gone_since"] is None)
            for r in old["sightings"].rows]  # fmt: skip
    assert sorted(rows) == [("k1", "a", 25000, True), ("k2", "b", 9000, False)]
