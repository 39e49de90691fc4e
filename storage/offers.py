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
from storage.db import insert

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


def _columns(offer: Offer) -> dict[str, Any]:
    record = offer.record()
    row = {name: record[name] for name in _OFFER_COLUMNS}
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
    stamp = now.isoformat()
    cursor = db.execute("SELECT * FROM offers WHERE key = ?", [offer.key])
    names = [d[0] for d in cursor.description]
    found = cursor.fetchone()
    columns = _columns(offer)
    if found is None:
        kind: str | None = "new"
        previous = None
        insert(db, "offers", {"key": offer.key, **columns, "first_seen": stamp,
                              "last_seen": stamp, "best_miles": offer.miles})  # fmt: skip
    else:
        stored = dict(zip(names, found, strict=True))
        kind = _event_kind(stored, offer, now, settings)
        previous = stored["miles"]
        best = min(m for m in (stored["best_miles"], offer.miles) if m) if (stored["best_miles"] or offer.miles) else None
        assignments = ", ".join(f"[{c}] = ?" for c in columns)
        db.execute(
            f"UPDATE offers SET {assignments}, last_seen = ?, gone_since = NULL, best_miles = ?"
            " WHERE key = ?",
            [*columns.values(), stamp, best, offer.key],
        )
    if kind is None:
        return None
    event_id = insert(db, "events", {
        "offer_key": offer.key, "kind": kind, "miles": offer.miles,
        "previous_miles": previous if kind == "cheaper" else None, "at": stamp,
        "run_id": run_id, "source": offer.source, "rules": json.dumps(rules),
        "offer": offer.model_dump_json(),
    })  # fmt: skip
    return Event(event_id, kind, offer, rules, previous if kind == "cheaper" else None, run_id)


def mark_gone(db: sqlite_utils.Database, source: str, seen: set[str], now: datetime) -> int:
    """After a complete run of ``source``: its offers not seen this time are gone from now."""
    rows = db.execute(
        "SELECT key FROM offers WHERE source = ? AND gone_since IS NULL", [source]
    ).fetchall()
    gone = [key for (key,) in rows if key not in seen]
    for key in gone:
        db.execute("UPDATE offers SET gone_since = ? WHERE key = ?", [now.isoformat(), key])
    return len(gone)


def current(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """The live offers (not gone), sorted by program and miles."""
    return list(
        db.query(
            "SELECT * FROM offers WHERE gone_since IS NULL ORDER BY program, miles IS NULL, miles, key"
        )
    )


def events_since(db: sqlite_utils.Database, after_id: int = 0) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM events WHERE id > ? ORDER BY id", [after_id]))
