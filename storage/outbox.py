"""The durable outbox: one row per (event, target, chat), marked sent only after the service
accepted it. Rows wait here across crashes and restarts until they go out or go dead."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from storage.db import insert

PENDING, SENT, DEAD = "pending", "sent", "dead"


def enqueue(
    db: sqlite_utils.Database, event_id: int, target: str, chat: str, now: datetime
) -> None:
    """Queue a delivery (inside the transaction that recorded the event)."""
    db.execute(
        "INSERT OR IGNORE INTO outbox (event_id, target, chat, status, attempts, next_attempt,"
        " created) VALUES (?, ?, ?, ?, 0, ?, ?)",
        [event_id, target, chat, PENDING, now.isoformat(), now.isoformat()],
    )


def pending(db: sqlite_utils.Database, target: str) -> list[dict[str, Any]]:
    """Every pending delivery of ``target`` in event order (due or not)."""
    return list(
        db.query(
            "SELECT * FROM outbox WHERE target = ? AND status = ? ORDER BY chat, event_id",
            [target, PENDING],
        )
    )


def mark_sent(db: sqlite_utils.Database, ids: list[int], now: datetime) -> None:
    for row_id in ids:
        db.execute(
            "UPDATE outbox SET status = ?, sent_at = ?, attempts = attempts + 1 WHERE id = ?",
            [SENT, now.isoformat(), row_id],
        )


def mark_retry(
    db: sqlite_utils.Database, ids: list[int], error: str, next_attempt: datetime
) -> None:
    for row_id in ids:
        db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ?"
            " WHERE id = ?",
            [error, next_attempt.isoformat(), row_id],
        )


def mark_dead(db: sqlite_utils.Database, ids: list[int], error: str) -> None:
    for row_id in ids:
        db.execute(
            "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ? WHERE id = ?",
            [DEAD, error, row_id],
        )


def backoff(attempts: int, base: float = 30.0, cap: float = 3600.0) -> timedelta:
    """Exponential backoff after ``attempts`` failed tries: 30 s, 60 s, 2 min … capped at 1 h."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {row["status"]: row["n"] for row in db.query(
        "SELECT status, count(*) AS n FROM outbox GROUP BY status")}  # fmt: skip
