"""One source run through the road after the crawl: filter → dedupe → outbox, recorded with
its run in a single transaction, so a crash leaves either the whole run or none of it.

Only a healthy run retires offers: one that found offers, completely, with no failed request,
block or unreadable response. A run that found nothing where offers were expected (the source
found some before, or a response could not be read: a selector matching nothing, a login page,
a body that is not the source's format) is a failed run, like an error or a block."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlite_utils

from offers.model import Event, Offer
from offers.rules import evaluate
from runner.crawl import BLOCKED_STATUS, EMPTY, ERROR, OK, CrawlResult
from settings.config import Config
from storage import outbox
from storage.db import insert, transaction
from storage.events import mark_gone, observe_all

#: Given an event, the (target, chat) pairs it must be delivered to.
Router = Callable[[Event], Sequence[tuple[str, str]]]


@dataclass
class RunSummary:
    run_id: int
    source: str
    status: str
    items: int
    offers: int
    events: list[Event] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    message: str = ""
    duration: float = 0.0
    failed: bool = False

    def as_json(self) -> dict[str, Any]:
        kinds = Counter(e.kind for e in self.events)
        return {
            "run_id": self.run_id,
            "source": self.source,
            "status": self.status,
            "items": self.items,
            "offers": self.offers,
            "events": dict(kinds),
            "rejected": self.rejected,
            "errors": self.errors,
            "message": self.message,
            "duration": round(self.duration, 2),
            "failed": self.failed,
        }


def select(
    config: Config, result: CrawlResult, today: Any
) -> tuple[list[tuple[Offer, list[str]]], Counter[str]]:
    """The offers that pass the filter (cheapest first, one per identity) and the rejections."""
    rejected: Counter[str] = Counter(result.rejected)
    passed: dict[str, tuple[Offer, list[str]]] = {}
    for offer in sorted(result.offers, key=lambda o: (o.miles is None, o.miles or 0)):
        verdict = evaluate(config.rules, offer, today)
        if not verdict.passed:
            rejected[verdict.reason or "rejected"] += 1
        elif offer.key not in passed:
            passed[offer.key] = (offer, verdict.rules)
    return list(passed.values()), rejected


#: The rejection a parser's MalformedResponse is counted under (scrapers/spiders/base.py).
UNREADABLE = "malformed response"


def healthy(result: CrawlResult) -> bool:
    """A run that saw the whole source: only such a run may tell that an offer is gone."""
    return (
        result.status == OK
        and result.complete
        and not result.errors
        and not result.blocked
        and not result.rejected.get(UNREADABLE)
    )


def found_before(db: sqlite_utils.Database, source: str) -> bool:
    query = "SELECT 1 FROM runs WHERE source = ? AND status = ? LIMIT 1"
    return db.execute(query, [source, OK]).fetchone() is not None


def failed(db: sqlite_utils.Database, result: CrawlResult) -> bool:
    """Error, blocked, or empty where offers were expected."""
    if result.status in (ERROR, BLOCKED_STATUS):
        return True
    if result.status != EMPTY:
        return False
    return bool(result.rejected.get(UNREADABLE)) or found_before(db, result.source)


def _reads_posts(config: Config, source: str) -> bool:
    return any(s.name == source and s.kind == "feed" for s in config.sources)


def record(
    db: sqlite_utils.Database, config: Config, result: CrawlResult, route: Router, now: datetime
) -> RunSummary:
    """Filter, dedupe and queue deliveries for one crawl, and record the run: all or nothing."""
    passed, rejected = select(config, result, now.date())
    status = result.status
    with transaction(db):
        bad = failed(db, result)
        message = result.message
        if bad and status == EMPTY and not message:
            message = "no offers found, where earlier runs found some"
        run_id = insert(db, "runs", {
            "source": result.source, "started": result.started.isoformat(),
            "finished": (result.finished or now).isoformat(), "status": status,
            "items": result.items, "offers": len(passed), "events": 0,
            "rejected": json.dumps(dict(rejected), sort_keys=True), "errors": result.errors,
            "message": message, "duration": round(result.duration, 3),
            "requests": result.requests,
        })  # fmt: skip
        reads_posts = _reads_posts(config, result.source)
        events = observe_all(
            db, passed, run_id=run_id, now=now, settings=config.dedupe, announcements=reads_posts
        )
        outbox.enqueue_all(
            db, [(event.id, target, chat) for event in events for target, chat in route(event)], now
        )
        if healthy(result):
            seen = {offer.key for offer, _ in passed}
            # a post still in the feed still announces its sales, however much of it is shown
            posts = frozenset(o.url for o in result.offers if o.url and reads_posts)
            mark_gone(db, result.source, seen, now, after_runs=config.dedupe.gone_after_runs,
                      posts=posts)  # fmt: skip
        db.execute("UPDATE runs SET events = ? WHERE id = ?", [len(events), run_id])
    return RunSummary(
        run_id=run_id,
        source=result.source,
        status=status,
        items=result.items,
        offers=len(passed),
        events=events,
        rejected=dict(rejected),
        errors=result.errors,
        message=message,
        duration=result.duration,
        failed=bad,
    )
