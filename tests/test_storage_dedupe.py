"""Dedupe: an offer alerts once, again when cheaper, and when back after being gone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from awardwatch.config import Config
from awardwatch.crawl import CrawlResult
from awardwatch.pipeline import record
from offers.model import make_offer

T0 = datetime(2030, 11, 20, 8, 0, tzinfo=UTC)
CONFIG = Config.model_validate({"dedupe": {"cheaper_by": 1000, "back_after_hours": 24}})


def run(db: Any, now: datetime, *miles: int, source: str = "s") -> list[tuple[str, int | None]]:
    offers = [
        make_offer({"source": source, "program": "delta", "origin": "JFK", "destination": f"LH{i}",
                    "miles": m, "depart_date": "2031-02-01"})
        for i, m in zip("RXY", miles, strict=False)
    ]  # fmt: skip
    result = CrawlResult(source, started=now, finished=now, offers=offers, responses=1)
    summary = record(db, CONFIG, result, lambda event: [("console", "")], now)
    return [(e.kind, e.previous_miles) for e in summary.events]


def test_new_then_unchanged_then_cheaper(db: Any) -> None:
    assert run(db, T0, 45000) == [("new", None)]
    assert run(db, T0 + timedelta(hours=1), 45000) == []
    assert run(db, T0 + timedelta(hours=2), 44500) == []  # fell by less than cheaper_by
    assert run(db, T0 + timedelta(hours=3), 43000) == [("cheaper", 44500)]
    assert run(db, T0 + timedelta(hours=4), 50000) == []  # dearer: no alert


def test_back_only_after_being_gone_long_enough(db: Any) -> None:
    run(db, T0, 45000, 30000)
    run(db, T0 + timedelta(hours=1), 45000)  # LHX gone from now on
    assert run(db, T0 + timedelta(hours=5), 45000, 30000) == []  # back too soon to tell
    run(db, T0 + timedelta(hours=6), 45000)
    assert run(db, T0 + timedelta(hours=31), 45000, 30000) == [("back", None)]


def test_every_event_is_queued_for_delivery_with_its_run(db: Any) -> None:
    run(db, T0, 45000, 30000)
    assert db["outbox"].count == 2
    run_row = next(iter(db["runs"].rows))
    assert (run_row["status"], run_row["offers"], run_row["events"]) == ("ok", 2, 2)


def test_failed_run_does_not_mark_offers_gone(db: Any) -> None:
    run(db, T0, 45000)
    failed = CrawlResult("s", started=T0, finished=T0, errors=1)
    record(db, CONFIG, failed, lambda event: [], T0 + timedelta(hours=1))
    assert next(iter(db["offers"].rows))["gone_since"] is None
