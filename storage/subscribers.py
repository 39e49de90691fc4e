"""Subscribers of a chat bot and their watches, in SQLite.

A subscriber is one chat (a person, or a group) on one notifier: it is ``active`` until it
sends /stop or the service says the bot was blocked (``stopped`` / ``blocked``), and it may
be paused meanwhile. Each watch says which offers it wants: origins, destinations (airports,
cities, countries or regions), cabins, most miles and travel months; an empty criterion
takes any offer. A subscriber gets an offer when any of its watches matches it.
"""

from __future__ import annotations

import bisect
import calendar
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy
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


def subscribe(
    db: sqlite_utils.Database, target: str, chat: str, name: str = "", service: str = "telegram"
) -> bool:
    """Make ``chat`` an active, unpaused subscriber; True when it was not active before."""
    found = get(db, target, chat)
    if found is None:
        insert(db, "subscribers", {"target": target, "chat": chat, "name": name,
                                   "status": ACTIVE, "paused": 0, "created": _now(),
                                   "updated": _now(), "service": service})  # fmt: skip
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


def active_count(db: sqlite_utils.Database) -> int:
    """Active subscribers over every service (what ``max_subscribers`` caps)."""
    return int(db.execute("SELECT count(*) FROM subscribers WHERE status = ?", [ACTIVE])
               .fetchone()[0])  # fmt: skip


def touch(db: sqlite_utils.Database, target: str, chat: str, when: datetime) -> bool:
    """Record that ``chat`` wrote or tapped at ``when``; False when it is not a subscriber."""
    cursor = db.execute(
        "UPDATE subscribers SET last_interaction = ? WHERE target = ? AND chat = ?"
        " AND (last_interaction IS NULL OR last_interaction < ?)",
        [when.isoformat(), target, chat, when.isoformat()],
    )
    return cursor.rowcount > 0


def set_token(
    db: sqlite_utils.Database, target: str, chat: str, token: str | None, expires: datetime | None
) -> bool:
    """Keep (or, with None, drop) a subscriber's marketing-messages opt-in token."""
    cursor = db.execute(
        "UPDATE subscribers SET notification_token = ?, token_expires = ? WHERE target = ?"
        " AND chat = ?",
        [token, expires.isoformat() if expires else None, target, chat],
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


class PlaceIndex:
    """Bit sets of watches by place, reproducing ``Place.overlaps`` exactly: a watch's country
    or region takes every place in its countries; its airport or city takes its own airports,
    and places as wide as a country (an offer "to Europe") that contain them."""

    def __init__(self) -> None:
        self.anywhere = 0
        self.wide: dict[str, int] = {}  # country -> watches naming a country or region there
        self.narrow_countries: dict[str, int] = {}  # country -> watches naming airports there
        self.narrow_airports: dict[str, int] = {}  # airport -> watches naming it

    def add(self, places: list[str], bit: int) -> None:
        if not places:
            self.anywhere |= bit
        for written in places:
            place = resolve(written)
            if place.airports is None:
                _put(self.wide, place.countries, bit)
            else:
                _put(self.narrow_countries, place.countries, bit)
                _put(self.narrow_airports, place.airports, bit)

    def bits(self, written: str | None) -> int:
        place = try_resolve(written)
        if place is None:
            return self.anywhere
        found = self.anywhere | _get(self.wide, place.countries)
        if place.airports is None:
            return found | _get(self.narrow_countries, place.countries)
        return found | _get(self.narrow_airports, place.airports)


class WatchIndex:
    """Every live watch of one target, indexed so that matching an offer costs set operations,
    not a loop over the watches: bit sets (Python ints, one bit per watch) by cabin, origin,
    destination, travel month and most miles, intersected per offer; the matching bits become
    chats in one vectorized step."""

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        chats: list[str] = []
        self.cabins: dict[str, int] = {}
        self.months: dict[str, int] = {}
        self.origins, self.destinations = PlaceIndex(), PlaceIndex()
        self.any_cabin = self.any_month = self.any_miles = 0
        limits: list[tuple[int, int]] = []
        for row in rows:
            watch, bit = Watch.from_row(row), 1 << len(chats)
            chats.append(row["chat"])
            self.any_cabin |= _put(self.cabins, watch.cabins, bit) if watch.cabins else bit
            self.any_month |= _put(self.months, watch.months, bit) if watch.months else bit
            self.origins.add(watch.origins, bit)
            self.destinations.add(watch.destinations, bit)
            if watch.max_miles is None:
                self.any_miles |= bit
            else:
                limits.append((watch.max_miles, bit))
        self.chats = numpy.array(chats, dtype=object)
        limits.sort()
        self.limits = [limit for limit, _ in limits]
        # at_least[i]: the watches whose most miles is limits[i] or more
        self.at_least = [0] * (len(limits) + 1)
        for i in range(len(limits) - 1, -1, -1):
            self.at_least[i] = self.at_least[i + 1] | limits[i][1]

    def candidates(self, offer: Offer) -> int:
        """The watches that match ``offer``, as a bit set."""
        bits = self.any_cabin | self.cabins.get(offer.cabin or "", 0)
        bits &= self.origins.bits(offer.origin) & self.destinations.bits(offer.destination)
        bits &= self.any_month | _by_month(self.months, offer)
        cheap_enough = self.any_miles
        if offer.miles is not None:
            cheap_enough |= self.at_least[bisect.bisect_left(self.limits, offer.miles)]
        return bits & cheap_enough

    def matching(self, offer: Offer) -> list[str]:
        bits = self.candidates(offer)
        if not bits:
            return []
        size = len(self.chats)
        packed = numpy.frombuffer(bits.to_bytes((size + 7) // 8, "little"), dtype=numpy.uint8)
        positions = numpy.unpackbits(packed, bitorder="little")[:size].nonzero()[0]
        return list(dict.fromkeys(self.chats[positions].tolist()))


def _put(index: dict[str, int], keys: Iterable[str], bit: int) -> int:
    for key in keys:
        index[key] = index.get(key, 0) | bit
    return 0


def _get(index: dict[str, int], keys: Iterable[str]) -> int:
    bits = 0
    for key in keys:
        bits |= index.get(key, 0)
    return bits


def _by_month(index: dict[str, int], offer: Offer) -> int:
    start = offer.travel_start or offer.depart_date
    end = offer.travel_end or offer.depart_date
    if start is None or end is None:
        return 0  # an offer without dates cannot promise a month
    bits, year, month = 0, start.year, start.month
    for _ in range(36):  # a travel window longer than three years is not a window
        bits |= index.get(f"{year:04d}-{month:02d}", 0)
        if (year, month) >= (end.year, end.month):
            break
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return bits


_INDEXES: dict[tuple[int, str], tuple[int, WatchIndex]] = {}


def index(db: sqlite_utils.Database, target: str) -> WatchIndex:
    """The target's watch index, rebuilt only when a subscriber or watch changed (triggers
    bump ``subscriber_version`` on every change, from any connection)."""
    version = db.execute("SELECT version FROM subscriber_version").fetchone()[0]
    cached = _INDEXES.get((id(db), target))
    if cached is not None and cached[0] == version:
        return cached[1]
    rows = db.query(
        "SELECT s.chat, w.* FROM subscriber_watches w JOIN subscribers s ON s.id = w.subscriber_id"
        " WHERE s.target = ? AND s.status = ? AND s.paused = 0 ORDER BY s.id, w.id",
        [target, ACTIVE],
    )
    built = WatchIndex(rows)
    _INDEXES[(id(db), target)] = (version, built)
    return built


def matching(db: sqlite_utils.Database, target: str, offer: Offer) -> list[str]:
    """The chats of active, unpaused subscribers with a watch that matches ``offer``."""
    return index(db, target).matching(offer)


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
