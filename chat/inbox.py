"""The durable inbox of chat events. An event is written here before it is acknowledged or
acted on; (target, key) is unique, so an event the service delivers twice is taken once, and
``done`` is set in the same transaction that applies the command: after a crash a command is
neither lost (Messenger: still pending) nor applied twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils


def _now() -> str:
    return datetime.now(UTC).isoformat()


def put(
    db: sqlite_utils.Database, service: str, target: str, key: str, sender: str, body: Any
) -> bool:
    """Store one event; False when (target, key) was taken in before (a redelivery)."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO chat_inbox (service, target, key, sender, body, received)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [service, target, key, sender, json.dumps(body), _now()],
    )
    return cursor.rowcount > 0


def take(db: sqlite_utils.Database, target: str, key: str) -> bool:
    """Mark the event done (inside the transaction that acts on it); False when it already
    was, so the caller must not act on it again."""
    cursor = db.execute(
        "UPDATE chat_inbox SET done = ? WHERE target = ? AND key = ? AND done IS NULL",
        [_now(), target, key],
    )
    return cursor.rowcount > 0


def pending(db: sqlite_utils.Database, target: str, limit: int = 100) -> list[dict[str, Any]]:
    """Events not yet acted on, oldest first."""
    rows = db.query(
        "SELECT * FROM chat_inbox WHERE done IS NULL AND target = ? ORDER BY id LIMIT ?",
        [target, limit],
    )
    return [{**row, "body": json.loads(row["body"])} for row in rows]


def prune(db: sqlite_utils.Database, older_than: timedelta) -> int:
    """Forget events acted on before ``older_than`` ago (past any redelivery)."""
    cutoff = (datetime.now(UTC) - older_than).isoformat()
    return db.execute(
        "DELETE FROM chat_inbox WHERE done IS NOT NULL AND done < ?", [cutoff]
    ).rowcount
