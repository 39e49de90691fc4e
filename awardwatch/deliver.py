"""Draining the outbox: each target's pending deliveries, chat by chat in event order,
marked sent only after the service accepted them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

import sqlite_utils

from notifiers.base import Delivery, Notifier
from storage import outbox
from storage.offers import Event

log = logging.getLogger("awardwatch.deliver")

#: Failed tries after which a delivery becomes a dead letter.
MAX_ATTEMPTS = 8


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    by_target: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "retrying": self.retrying, "dead": self.dead}


def _events(db: sqlite_utils.Database, rows: Sequence[dict[str, Any]]) -> list[Event]:
    ids = [row["event_id"] for row in rows]
    marks = ",".join("?" for _ in ids)
    found = {r["id"]: r for r in db.query(f"SELECT * FROM events WHERE id IN ({marks})", ids)}
    return [Event.from_row(found[i]) for i in ids]


async def drain(
    db: sqlite_utils.Database, notifiers: Sequence[Notifier], now: datetime | None = None
) -> DeliveryReport:
    """Send every due delivery once; what fails waits for its next attempt."""
    report = DeliveryReport()
    for notifier in notifiers:
        rows = outbox.pending(db, notifier.name)
        for chat, chat_rows in groupby(rows, key=lambda r: r["chat"]):
            batch = list(chat_rows)
            moment = now or datetime.now(UTC)
            if datetime.fromisoformat(batch[0]["next_attempt"]) > moment:
                report.retrying += len(batch)  # order within a chat: wait for the oldest
                continue
            delivery = await _send(notifier, chat, _events(db, batch))
            _settle(db, notifier, batch, delivery, report)
    return report


async def _send(notifier: Notifier, chat: str, events: list[Event]) -> Delivery:
    try:
        return await notifier.send(chat, events)
    except Exception as exc:  # a plugin's bug must not stop the other targets
        log.exception("notifier %s raised", notifier.name)
        return Delivery("retry", notifier.mask(f"{type(exc).__name__}: {exc}"))


def _settle(
    db: sqlite_utils.Database,
    notifier: Notifier,
    batch: list[dict[str, Any]],
    delivery: Delivery,
    report: DeliveryReport,
) -> None:
    ids = [row["id"] for row in batch]
    now = datetime.now(UTC)
    if delivery.ok:
        outbox.mark_sent(db, ids, now)
        report.sent += len(ids)
        report.by_target[notifier.name] = report.by_target.get(notifier.name, 0) + len(ids)
        return
    detail = notifier.mask(delivery.detail)
    attempts = max(row["attempts"] for row in batch) + 1
    if delivery.status in ("failed", "gone") or attempts >= MAX_ATTEMPTS:
        outbox.mark_dead(db, ids, detail)
        report.dead += len(ids)
        log.warning("notifier %s: gave up on %d deliveries: %s", notifier.name, len(ids), detail)
        return
    wait = outbox.backoff(attempts)
    if delivery.retry_after:
        wait = max(wait, timedelta(seconds=delivery.retry_after))
    outbox.mark_retry(db, ids, detail, now + wait)
    report.retrying += len(ids)
    log.info("notifier %s: will retry %d deliveries in %s: %s", notifier.name, len(ids), wait, detail)
