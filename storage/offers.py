"""Deduplication: an offer alerts once, again when it gets cheaper, and when it comes back.

An offer's identity is its key (program, route, dates, cabin); its value is its miles.
Events: ``new``; ``cheaper`` (miles fell by at least ``cheaper_by`` since last seen);
``back`` (seen again after it was gone for at least ``back_after_hours``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from awardwatch.config import DedupeSettings
from offers.model import Offer
from offers.places import region_of

_OFFER_COLUMNS = [
    "source", "program", "title", "airline", "origin", "destination", "depart_date",
    "travel_start", "travel_end", "cabin", "miles", "trip", "taxes", "currency",
    "discount_pct", "promo", "promo_reason", "book_by", "seats", "url",
]  # fmt: skip


@dataclass
class Event:
    """Something worth telling: an offer that is new, cheaper, or back."""

    id: int
    kind: str
    offer: Offer
    rules: list[str]
    previous_miles: int | None = None
    run_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Event:
        return cls(
            id=row["id"],
            kind=row["kind"],
            offer=Offer.model_validate_json(row["offer"]),
            rules=json.loads(row["rules"] or "[]"),
            previous_miles=row["previous_miles"],
            run_id=row["run_id"],
        )


_COLUMN_NAMES = [*_OFFER_COLUMNS, "region"]


def _columns(offer: Offer) -> dict[str, Any]:
    # attribute by attribute: several times faster than a JSON dump, and this runs per offer
    row = {name: getattr(offer, name) for name in _OFFER_COLUMNS}
    for name in ("depart_date", "travel_start", "travel_end", "book_by"):
        if row[name] is not None:
            row[name] = row[name].isoformat()
    row["promo"] = int(offer.promo)
    row["region"] = region_of(offer.destination)
    return row


def _event_kind(
    stored: dict[str, Any], offer: Offer, now: datetime, settings: DedupeSettings
) -> str | None:
    gone_since = stored["gone_since"]
    if gone_since and now - datetime.fromisoformat(gone_since) >= timedelta(
        hours=settings.back_after_hours
    ):
        return "back"
    if offer.miles and stored["miles"] and stored["miles"] - offer.miles >= settings.cheaper_by:
        return "cheaper"
    return None


def observe(
    db: sqlite_utils.Database,
    offer: Offer,
    *,
    rules: list[str],
    run_id: int,
    now: datetime,
    settings: DedupeSettings,
) -> Event | None:
    """Record that ``offer`` was seen; return the event it makes, if any.

    Call inside ``storage.db.transaction`` together with queueing the event's deliveries.
    """
    events = observe_all(db, [(offer, rules)], run_id=run_id, now=now, settings=settings)
    return events[0] if events else None


_CHUNK = 500  # keys in one IN (…) query, well under SQLite's limit of bound parameters


def _stored(db: sqlite_utils.Database, keys: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        marks = ",".join("?" for _ in chunk)
        cursor = db.execute(
            f"SELECT key, miles, best_miles, gone_since FROM offers WHERE key IN ({marks})", chunk
        )
        for key, miles, best, gone_since in cursor.fetchall():
            found[key] = {"miles": miles, "best_miles": best, "gone_since": gone_since}
    return found


def observe_all(
    db: sqlite_utils.Database,
    seen: list[tuple[Offer, list[str]]],
    *,
    run_id: int,
    now: datetime,
    settings: DedupeSettings,
) -> list[Event]:
    """Record that each offer (one per key, with the rules it matched) was seen; return the
    events they make. Writes in a few batched statements, inside the caller's transaction
    (``storage.db.transaction``), which also makes the event ids assigned here safe."""
    stamp = now.isoformat()
    stored = _stored(db, [offer.key for offer, _ in seen])
    next_id = (db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0] or 0) + 1
    fresh: list[list[Any]] = []
    updates: list[list[Any]] = []
    event_rows: list[list[Any]] = []
    events: list[Event] = []
    for offer, rules in seen:
        columns = _columns(offer)
        before = stored.get(offer.key)
        if before is None:
            kind: str | None = "new"
            fresh.append([offer.key, *columns.values(), stamp, stamp, offer.miles])
        else:
            kind = _event_kind(before, offer, now, settings)
            prices = [m for m in (before["best_miles"], offer.miles) if m]
            updates.append([*columns.values(), stamp, min(prices) if prices else None, offer.key])
        if kind is None:
            continue
        previous = before["miles"] if before is not None and kind == "cheaper" else None
        event_rows.append([next_id, offer.key, kind, offer.miles, previous, stamp, run_id,
                           offer.source, json.dumps(rules), offer.model_dump_json()])  # fmt: skip
        events.append(Event(next_id, kind, offer, rules, previous, run_id))
        next_id += 1
    names = ", ".join(f"[{c}]" for c in _COLUMN_NAMES)
    db.conn.executemany(
        f"INSERT INTO offers ([key], {names}, first_seen, last_seen, best_miles)"
        f" VALUES ({', '.join('?' for _ in range(len(_COLUMN_NAMES) + 4))})",
        fresh,
    )
    db.conn.executemany(
        f"UPDATE offers SET {', '.join(f'[{c}] = ?' for c in _COLUMN_NAMES)}, last_seen = ?,"
        " gone_since = NULL, best_miles = ? WHERE key = ?",
        updates,
    )
    db.conn.executemany(
        "INSERT INTO events (id, offer_key, kind, miles, previous_miles, at, run_id, source,"
        " rules, offer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        event_rows,
    )
    return events


def mark_gone(db: sqlite_utils.Database, source: str, seen: set[str], now: datetime) -> int:
    """After a complete run of ``source``: its offers not seen this time are gone from now."""
    rows = db.execute(
        "SELECT key FROM offers WHERE source = ? AND gone_since IS NULL", [source]
    ).fetchall()
    gone = [(now.isoformat(), key) for (key,) in rows if key not in seen]
    db.conn.executemany("UPDATE offers SET gone_since = ? WHERE key = ?", gone)
    return len(gone)


def current(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """The live offers (not gone), sorted by program and miles."""
    return list(
        db.query(
            "SELECT * FROM offers WHERE gone_since IS NULL"
            " ORDER BY program, miles IS NULL, miles, key"
        )
    )


def events_since(db: sqlite_utils.Database, after_id: int = 0) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM events WHERE id > ? ORDER BY id", [after_id]))
