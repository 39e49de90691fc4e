"""Subscribers of a chat bot and their watches, in SQLite.

A subscriber is one chat (a person, or a group) on one notifier: it is ``active`` until it
sends /stop or the service says the bot was blocked (``stopped`` / ``blocked``), and it may
be paused meanwhile. Each watch says which offers it wants: origins, destinations (airports,
cities, countries or regions), cabins, most miles and travel months; an empty criterion
takes any offer. A subscriber gets an offer when any of its watches matches it.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlite_utils

from offers.model import Offer
from offers.places import resolve, try_resolve
from storage.db import insert

ACTIVE, STOPPED, BLOCKED = "active", "stopped", "blocked"
#: Watches one subscriber may keep: enough for anyone, bounded so one chat cannot bloat the db.
MAX_WATCHES = 20


@dataclass(frozen=True)
class Watch:
    """What one subscriber wants to hear about. Months are ``YYYY-MM``."""

    origins: list[str] = field(default_factory=list)
    destinations: list[str] = field(default_factory=list)
    cabins: list[str] = field(default_factory=list)
    max_miles: int | None = None
    months: list[str] = field(default_factory=list)
    id: int = 0

    def matches(self, offer: Offer) -> bool:
        return (
            (not self.cabins or offer.cabin in self.cabins)
            and (
                self.max_miles is None
                or (offer.miles is not None and offer.miles <= self.max_miles)
            )
            and (not self.origins or _within(offer.origin, self.origins))
            and (not self.destinations or _within(offer.destination, self.destinations))
            and (not self.months or any(_in_month(offer, m) for m in self.months))
        )

    def describe(self) -> str:
        """The watch in the words of the /watch command."""
        parts = []
        if self.origins:
            parts.append("from " + ", ".join(self.origins))
        if self.destinations:
            parts.append("to " + ", ".join(self.destinations))
        if self.cabins:
            parts.append("cabin " + ", ".join(self.cabins))
        if self.max_miles is not None:
            parts.append(f"max {self.max_miles:,}")
        if self.months:
            parts.append("months " + ", ".join(self.months))
        return " ".join(parts) or "every offer"

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Watch:
        return cls(
            origins=json.loads(row["origins"] or "[]"),
            destinations=json.loads(row["destinations"] or "[]"),
            cabins=json.loads(row["cabins"] or "[]"),
            max_miles=row["max_miles"],
            months=json.loads(row["months"] or "[]"),
            id=row["id"],
        )


def _within(written: str | None, wanted: Iterable[str]) -> bool:
    place = try_resolve(written)
    return place is not None and any(place.overlaps(resolve(w)) for w in wanted)


def _in_month(offer: Offer, month: str) -> bool:
    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    last = date(year, number, calendar.monthrange(year, number)[1])
    start = offer.travel_start or offer.depart_date
    end = offer.travel_end or offer.depart_date
    if start is None and end is None:
        return False  # an offer without dates cannot promise a month
    return (start or first) <= last and (end or last) >= first


def _now() -> str:
    return datetime.now(UTC).isoformat()


def get(db: sqlite_utils.Database, target: str, chat: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM subscribers WHERE target = ? AND chat = ?", [target, chat]))
    return rows[0] if rows else None


def subscribe(db: sqlite_utils.Database, target: str, chat: str, name: str = "") -> bool:
    """Make ``chat`` an active, unpaused subscriber; True when it was not active before."""
    found = get(db, target, chat)
    if found is None:
        insert(db, "subscribers", {"target": target, "chat": chat, "name": name,
                                   "status": ACTIVE, "paused": 0, "created": _now(),
                                   "updated": _now()})  # fmt: skip
        return True
    db.execute(
        "UPDATE subscribers SET status = ?, paused = 0, name = ?, updated = ? WHERE id = ?",
        [ACTIVE, name or found["name"], _now(), found["id"]],
    )
    return bool(found["status"] != ACTIVE)


def set_status(db: sqlite_utils.Database, target: str, chat: str, status: str) -> bool:
    """Set a subscriber's status; False when ``chat`` is not a subscriber."""
    cursor = db.execute(
        "UPDATE subscribers SET status = ?, updated = ? WHERE target = ? AND chat = ?",
        [status, _now(), target, chat],
    )
    return cursor.rowcount > 0


def set_paused(db: sqlite_utils.Database, target: str, chat: str, paused: bool) -> bool:
    cursor = db.execute(
        "UPDATE subscribers SET paused = ?, updated = ? WHERE target = ? AND chat = ?",
        [int(paused), _now(), target, chat],
    )
    return cursor.rowcount > 0


def stop(db: sqlite_utils.Database, target: str, chat: str) -> bool:
    """Unsubscribe: the subscriber is stopped and its watches are forgotten."""
    found = get(db, target, chat)
    if found is None:
        return False
    db.execute("DELETE FROM subscriber_watches WHERE subscriber_id = ?", [found["id"]])
    return set_status(db, target, chat, STOPPED)


def watches(db: sqlite_utils.Database, target: str, chat: str) -> list[Watch]:
    """A subscriber's watches, in the order /list numbers them."""
    return [
        Watch.from_row(row)
        for row in db.query(
            "SELECT w.* FROM subscriber_watches w JOIN subscribers s ON s.id = w.subscriber_id"
            " WHERE s.target = ? AND s.chat = ? ORDER BY w.id",
            [target, chat],
        )
    ]


def add_watch(db: sqlite_utils.Database, target: str, chat: str, watch: Watch) -> int:
    """Store ``watch`` for an existing subscriber; return its number in /list."""
    found = get(db, target, chat)
    if found is None:
        raise KeyError(chat)
    insert(db, "subscriber_watches", {
        "subscriber_id": found["id"], "origins": json.dumps(watch.origins),
        "destinations": json.dumps(watch.destinations), "cabins": json.dumps(watch.cabins),
        "max_miles": watch.max_miles, "months": json.dumps(watch.months), "created": _now(),
    })  # fmt: skip
    return len(watches(db, target, chat))


def remove_watch(db: sqlite_utils.Database, target: str, chat: str, number: int) -> Watch | None:
    """Forget the ``number``-th watch (1-based, as /list shows it); None when there is none."""
    current = watches(db, target, chat)
    if not 1 <= number <= len(current):
        return None
    gone = current[number - 1]
    db.execute("DELETE FROM subscriber_watches WHERE id = ?", [gone.id])
    return gone


def matching(db: sqlite_utils.Database, target: str, offer: Offer) -> list[str]:
    """The chats of active, unpaused subscribers with a watch that matches ``offer``."""
    chats: dict[str, None] = {}
    rows = db.query(
        "SELECT s.chat, w.* FROM subscriber_watches w JOIN subscribers s ON s.id = w.subscriber_id"
        " WHERE s.target = ? AND s.status = ? AND s.paused = 0 ORDER BY s.id, w.id",
        [target, ACTIVE],
    )
    for row in rows:
        if row["chat"] not in chats and Watch.from_row(row).matches(offer):
            chats[row["chat"]] = None
    return list(chats)


def counts(db: sqlite_utils.Database, target: str) -> dict[str, int]:
    """Subscribers of ``target`` by state (``paused`` counts active ones on pause)."""
    out: dict[str, int] = {}
    for row in db.query(
        "SELECT status, paused, count(*) AS n FROM subscribers WHERE target = ?"
        " GROUP BY status, paused",
        [target],
    ):
        key = "paused" if row["status"] == ACTIVE and row["paused"] else row["status"]
        out[key] = out.get(key, 0) + row["n"]
    return out
