"""The durable outbox: one row per (event, target, chat), marked sent only after the service
accepted it. Rows wait here across crashes and restarts until they go out or go dead.

Every status change is one UPDATE statement, so a crash leaves a batch either wholly marked
or not marked at all; a row's ``attempts`` counts the tries that reached the service.

Before sending, a drain *claims* a chat's pending rows: ``claimed_by`` names the drain (host,
process id and a random tag), ``claimed_until`` ends the lease. Another drain skips a chat
whose rows are claimed by a live owner, so no row is sent by two drains; a claim whose owner
died (same host, process gone) or whose lease ran out is free again.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

import sqlite_utils

from storage.db import transaction

PENDING, SENT, DEAD = "pending", "sent", "dead"
#: How long a claim holds when its owner neither finishes nor dies visibly (another host).
LEASE = timedelta(minutes=15)
_RELEASE = "claimed_by = NULL, claimed_until = NULL"


def enqueue(
    db: sqlite_utils.Database, event_id: int, target: str, chat: str, now: datetime
) -> None:
    """Queue a delivery (inside the transaction that recorded the event)."""
    enqueue_all(db, [(event_id, target, chat)], now)


def enqueue_all(
    db: sqlite_utils.Database, deliveries: list[tuple[int, str, str]], now: datetime
) -> None:
    """Queue (event_id, target, chat) deliveries at once (inside the events' transaction)."""
    stamp = now.isoformat()
    db.conn.executemany(
        "INSERT OR IGNORE INTO outbox (event_id, target, chat, status, attempts, next_attempt,"
        " created) VALUES (?, ?, ?, ?, 0, ?, ?)",
        [(event_id, target, chat, PENDING, stamp, stamp) for event_id, target, chat in deliveries],
    )


def pending(db: sqlite_utils.Database, target: str) -> list[dict[str, Any]]:
    """Every pending delivery of ``target`` in event order (due or not)."""
    return list(
        db.query(
            "SELECT * FROM outbox WHERE target = ? AND status = ? ORDER BY chat, event_id",
            [target, PENDING],
        )
    )


def by_chat(rows: Sequence[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """``pending`` rows grouped per chat, each chat's rows oldest event first."""
    return [(chat, list(group)) for chat, group in groupby(rows, key=lambda r: r["chat"])]


def is_due(row: dict[str, Any], now: datetime) -> bool:
    return datetime.fromisoformat(row["next_attempt"]) <= now


def _update(db: sqlite_utils.Database, assignments: str, values: list[Any], ids: list[int]) -> None:
    if not ids:
        return
    marks = ",".join("?" for _ in ids)
    db.execute(f"UPDATE outbox SET {assignments} WHERE id IN ({marks})", [*values, *ids])


def mark_sent(db: sqlite_utils.Database, ids: list[int], now: datetime) -> None:
    _update(db, f"status = ?, sent_at = ?, attempts = attempts + 1, {_RELEASE}",
            [SENT, now.isoformat()], ids)  # fmt: skip


def mark_retry(
    db: sqlite_utils.Database,
    ids: list[int],
    error: str,
    next_attempt: datetime,
    *,
    count: bool = True,
) -> None:
    """Put rows back to wait for ``next_attempt``; ``count=False`` when the service only
    asked to slow down, which is no failed try."""
    tries = "attempts = attempts + 1, " if count else ""
    _update(db, f"{tries}last_error = ?, next_attempt = ?, {_RELEASE}",
            [error, next_attempt.isoformat()], ids)  # fmt: skip


def mark_dead(db: sqlite_utils.Database, ids: list[int], error: str) -> None:
    _update(db, f"status = ?, attempts = attempts + 1, last_error = ?, {_RELEASE}",
            [DEAD, error], ids)  # fmt: skip


# -- claims ----------------------------------------------------------------------------------


def new_owner() -> str:
    """A name for one drain: this host, this process, and a tag of its own."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def owner_alive(owner: str) -> bool:
    """Whether the drain ``owner`` may still be running (on another host: assume so)."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim(
    db: sqlite_utils.Database, target: str, chat: str, owner: str, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Claim every pending row of ``chat`` for ``owner``, oldest event first; nothing when
    another live drain holds the chat (its rows must go out in order, by one sender)."""
    now = now or datetime.now(UTC)
    with transaction(db):
        holders = db.execute(
            "SELECT DISTINCT claimed_by FROM outbox WHERE target = ? AND chat = ? AND status = ?"
            " AND claimed_by IS NOT NULL AND claimed_by != ? AND claimed_until > ?",
            [target, chat, PENDING, owner, now.isoformat()],
        ).fetchall()
        if any(owner_alive(row[0]) for row in holders):
            return []
        db.execute(
            "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE target = ? AND chat = ?"
            " AND status = ?",
            [owner, (now + LEASE).isoformat(), target, chat, PENDING],
        )
        return list(db.query(
            "SELECT * FROM outbox WHERE target = ? AND chat = ? AND status = ? AND claimed_by = ?"
            " ORDER BY event_id", [target, chat, PENDING, owner]))  # fmt: skip


def release(db: sqlite_utils.Database, owner: str) -> None:
    """Give up what ``owner`` still holds (rows it did not get to)."""
    db.execute(f"UPDATE outbox SET {_RELEASE} WHERE claimed_by = ?", [owner])


def revive(db: sqlite_utils.Database, target: str, now: datetime) -> int:
    """Put ``target``'s dead letters back in the queue (after the cause was fixed)."""
    cursor = db.execute(
        "UPDATE outbox SET status = ?, attempts = 0, next_attempt = ? WHERE target = ?"
        " AND status = ?",
        [PENDING, now.isoformat(), target, DEAD],
    )
    return cursor.rowcount


def dead_letters(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM outbox WHERE status = ? ORDER BY id", [DEAD]))


def last_sent(db: sqlite_utils.Database, target: str, chat: str) -> datetime | None:
    """When ``target`` last delivered to ``chat``, if ever."""
    row = db.execute(
        "SELECT max(sent_at) FROM outbox WHERE target = ? AND chat = ? AND status = ?",
        [target, chat, SENT],
    ).fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None


def backoff(attempts: int, base: float = 30.0, cap: float = 3600.0) -> timedelta:
    """Exponential backoff after ``attempts`` failed tries: 30 s, 60 s, 2 min … capped at 1 h."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {row["status"]: row["n"] for row in db.query(
        "SELECT status, count(*) AS n FROM outbox GROUP BY status")}  # fmt: skip


#: How long a held delivery waits when nothing releases it sooner.
HOLD_SECONDS = 7 * 24 * 3600.0


def hold(db: sqlite_utils.Database, ids: list[int], reason: str, until: datetime) -> None:
    """Hold deliveries until ``until`` without counting an attempt (``reason`` says why)."""
    _update(db, "last_error = ?, next_attempt = ?", [f"held: {reason}", until.isoformat()], ids)


def release_held(
    db: sqlite_utils.Database, target: str, chat: str, now: datetime, max_age: timedelta
) -> int:
    """Make ``chat``'s held deliveries due now (the recipient can be reached again); those
    queued more than ``max_age`` ago are stale offers by now and are dropped."""
    db.execute(
        "UPDATE outbox SET status = ?, last_error = 'stale: held longer than the offers last'"
        " WHERE target = ? AND chat = ? AND status = ? AND last_error LIKE 'held: %'"
        " AND created < ?",
        [DEAD, target, chat, PENDING, (now - max_age).isoformat()],
    )
    return db.execute(
        "UPDATE outbox SET next_attempt = ? WHERE target = ? AND chat = ? AND status = ?"
        " AND last_error LIKE 'held: %'",
        [now.isoformat(), target, chat, PENDING],
    ).rowcount


def held(db: sqlite_utils.Database, target: str, chat: str) -> int:
    """How many of ``chat``'s pending deliveries were held."""
    return int(db.execute(
        "SELECT count(*) FROM outbox WHERE target = ? AND chat = ? AND status = ?"
        " AND last_error LIKE 'held: %'", [target, chat, PENDING]).fetchone()[0])  # fmt: skip
