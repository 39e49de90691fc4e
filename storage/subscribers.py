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
import sqlite3
import threading
import weakref
from array import array
from collections.abc import Iterable, Iterator
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


#: The key of watches that leave a criterion open (any cabin, any month, from anywhere).
ANY = "*"
#: The limit of a watch without most miles, in the index's array of limits.
NO_LIMIT = 2**62
#: Chats the index keeps of recent answers (its references, a few MB): enough for the offers
#: of a run that share a route, cabin and months.
RECENT_CHATS = 1_000_000
Key = tuple[str, ...]


def _place_keys(side: str, places: list[str]) -> Iterator[Key]:
    """Where a watch's places file it, reproducing ``Place.overlaps`` exactly: a country or
    region takes every place in its countries; an airport or city takes its own airports, and
    places as wide as a country (an offer "to Europe") that contain them."""
    if not places:
        yield (side, ANY)
    for written in places:
        place = resolve(written)
        if place.airports is None:
            yield from ((side, "wide", country) for country in place.countries)
        else:
            yield from ((side, "country", country) for country in place.countries)
            yield from ((side, "airport", airport) for airport in place.airports)


def watch_keys(watch: Watch) -> set[Key]:
    """Every bit set of the index that holds ``watch``."""
    keys = set(_place_keys("from", watch.origins)) | set(_place_keys("to", watch.destinations))
    keys |= {("cabin", cabin) for cabin in watch.cabins} or {("cabin", ANY)}
    keys |= {("month", month) for month in watch.months} or {("month", ANY)}
    return keys


def _bits(positions: list[int], size: int) -> int:
    flags = numpy.zeros(size, dtype=numpy.uint8)
    flags[positions] = 1
    return int.from_bytes(numpy.packbits(flags, bitorder="little").tobytes(), "little")


class WatchIndex:
    """Every live watch of one target, indexed so that matching an offer costs set operations,
    not a loop over the watches: one bit per watch in sets (Python ints) by cabin, origin,
    destination and travel month, one set per value people name, so memory grows with the
    watches times the values named, not with the watches squared; most miles is one array,
    checked only for the watches the sets let through. A change to one subscriber replaces
    that subscriber's watches (``replace``), no rebuild: a dropped watch's bit is cleared from
    ``alive`` and a new watch takes the next bit."""

    def __init__(self, rows: Iterable[dict[str, Any]] = ()) -> None:
        self.chats: list[str] = []
        self.owners = array("q")  # subscriber id per bit, to list chats in subscriber order
        self.limits = array("q")  # most miles per bit
        # every limit a watch has had, ascending (a few round numbers); replaced, not changed,
        # so a match on another thread never sees it half made
        self.limit_values: tuple[int, ...] = ()
        self.positions: dict[int, list[int]] = {}  # subscriber id -> its live bits
        self.dead = 0
        self.in_order = True  # bits in subscriber order (false once a change appends one)
        # self.chats as a numpy array, with room for the watches of a while to come and grown
        # in place: a change must not copy every chat again
        self._chat_array: Any = None
        self._recent = _Recent()  # answers since the last change, replaced on every change
        pending: dict[Key, list[int]] = {}
        for row in rows:
            watch = Watch.from_row(row)
            position = self._append(row["subscriber_id"], row["chat"], watch)
            for key in watch_keys(watch):
                pending.setdefault(key, []).append(position)
        size = len(self.chats)
        self.sets: dict[Key, int] = {key: _bits(at, size) for key, at in pending.items()}
        self._chat_array = numpy.empty(size * 9 // 8 + 1024, dtype=object)
        self._chat_array[:size] = self.chats
        self.alive = (1 << size) - 1

    def _append(self, subscriber: int, chat: str, watch: Watch) -> int:
        position = len(self.chats)
        if position and self.owners[-1] == subscriber and self.chats[-1] == chat:
            chat = self.chats[-1]  # one string per subscriber, not one per watch
        self.chats.append(chat)
        self.owners.append(subscriber)
        limit = NO_LIMIT if watch.max_miles is None else watch.max_miles
        self.limits.append(limit)
        if limit not in self.limit_values:
            self.limit_values = tuple(sorted((*self.limit_values, limit)))
        self.positions.setdefault(subscriber, []).append(position)
        if self._chat_array is not None:
            if position == len(self._chat_array):
                grown = numpy.empty(2 * position + 1024, dtype=object)
                grown[:position] = self._chat_array
                self._chat_array = grown
            self._chat_array[position] = chat
        return position

    def add(self, subscriber: int, chat: str, watch: Watch) -> None:
        self.in_order = self.in_order and subscriber >= (self.owners[-1] if self.owners else 0)
        bit = 1 << self._append(subscriber, chat, watch)
        for key in watch_keys(watch):
            self.sets[key] = self.sets.get(key, 0) | bit
        self.alive |= bit
        self._recent = _Recent()  # last: an answer found meanwhile goes with the old one

    def drop(self, subscriber: int) -> None:
        gone = 0
        for position in self.positions.pop(subscriber, []):
            gone |= 1 << position
            self.dead += 1
        self.alive &= ~gone
        self._recent = _Recent()

    def replace(self, subscriber: int, chat: str, watches: Iterable[Watch]) -> None:
        """``subscriber``'s live watches are now ``watches`` (none: it gets nothing)."""
        self.drop(subscriber)
        for watch in watches:
            self.add(subscriber, chat, watch)

    def _any(self, keys: Iterable[Key]) -> int:
        bits = 0
        for key in keys:
            bits |= self.sets.get(key, 0)
        return bits

    def _place(self, side: str, written: str | None) -> int:
        place = try_resolve(written)
        found = self.sets.get((side, ANY), 0)
        if place is None:
            return found
        found |= self._any((side, "wide", country) for country in place.countries)
        if place.airports is None:
            return found | self._any((side, "country", country) for country in place.countries)
        return found | self._any((side, "airport", airport) for airport in place.airports)

    def candidates(self, offer: Offer, months: list[Key] | None = None) -> int:
        """The watches that match ``offer`` on everything but miles, as a bit set."""
        bits = self.alive & self._any([("cabin", ANY), ("cabin", offer.cabin or "")])
        for side, written in (("from", offer.origin), ("to", offer.destination)):
            if bits:
                bits &= self._place(side, written)
        if bits:
            bits &= self._any([("month", ANY), *(_offer_months(offer) if months is None
                                                 else months)])  # fmt: skip
        return bits

    def matching(self, offer: Offer) -> list[str]:
        """The chats of the subscribers with a watch that matches ``offer``, one each, in
        subscriber order. Offers alike in route, cabin, months and the watch limits their
        miles pass get the same chats: the answer is kept until the next change."""
        recent = self._recent  # a change meanwhile replaces it: no stale answer is kept
        months = _offer_months(offer)
        key = (offer.cabin, offer.origin, offer.destination, *months, self._limit_class(offer))
        found = recent.answers.get(key)
        if found is None:
            found = self._match(offer, months)
            recent.keep(key, found)
        return list(found)

    def _limit_class(self, offer: Offer) -> int:
        """Which watch limits ``offer`` passes, as the count of distinct limits below its
        miles (-1: an offer without miles, which only watches without a limit take)."""
        if offer.miles is None:
            return -1
        return bisect.bisect_left(self.limit_values, offer.miles)

    def _match(self, offer: Offer, months: list[Key]) -> list[str]:
        bits = self.candidates(offer, months)
        if not bits:
            return []
        positions = _positions(bits, len(self.chats))
        limits = numpy.frombuffer(self.limits, dtype=numpy.int64)[positions]
        if offer.miles is None:  # an offer without a price only suits watches without a cap
            positions = positions[limits == NO_LIMIT]
        else:
            positions = positions[limits >= offer.miles]
        owners = numpy.frombuffer(self.owners, dtype=numpy.int64)[positions]
        if not self.in_order:
            order = numpy.argsort(owners, kind="stable")
            positions, owners = positions[order], owners[order]
        # one chat per subscriber, however many of its watches matched
        first = numpy.ones(len(owners), dtype=bool)
        numpy.not_equal(owners[1:], owners[:-1], out=first[1:])
        chats: list[str] = self._chat_array[positions[first]].tolist()
        return chats


class _Recent:
    """The index's latest answers, up to ``RECENT_CHATS`` chats, oldest forgotten first."""

    def __init__(self) -> None:
        self.answers: dict[tuple[Any, ...], list[str]] = {}
        self.chats = 0
        self.lock = threading.Lock()

    def keep(self, key: tuple[Any, ...], chats: list[str]) -> None:
        if len(chats) > RECENT_CHATS:
            return
        with self.lock:
            while self.answers and self.chats + len(chats) > RECENT_CHATS:
                self.chats -= len(self.answers.pop(next(iter(self.answers))))
            self.answers[key] = chats
            self.chats += len(chats)


def _positions(bits: int, size: int) -> Any:
    """The positions of the set bits of ``bits``, ascending, as a numpy array: only the bytes
    that hold a set bit are unpacked. Unpacked bits are 0 or 1, so they are read as booleans,
    which numpy scans several times faster than bytes."""
    packed = numpy.frombuffer(bits.to_bytes((size + 7) // 8, "little"), dtype=numpy.uint8)
    busy = numpy.flatnonzero(packed != 0)
    found = numpy.flatnonzero(numpy.unpackbits(packed[busy], bitorder="little").view(bool))
    return busy[found >> 3] * 8 + (found & 7)


def _offer_months(offer: Offer) -> list[Key]:
    """The index keys of the months an offer's travel window touches."""
    start = offer.travel_start or offer.depart_date
    end = offer.travel_end or offer.depart_date
    if start is None or end is None:
        return []  # an offer without dates cannot promise a month
    keys: list[Key] = []
    year, month = start.year, start.month
    for _ in range(36):  # a travel window longer than three years is not a window
        keys.append(("month", f"{year:04d}-{month:02d}"))
        if (year, month) >= (end.year, end.month):
            break
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys


_LIVE_WATCHES = (
    "SELECT s.chat, w.* FROM subscriber_watches w JOIN subscribers s ON s.id = w.subscriber_id"
    " WHERE s.target = ? AND s.status = ? AND s.paused = 0"
)


class _Reader:
    """What the index is built from: the committed state of the database. A file database is
    read through a connection of its own, so a change that a transaction of the caller has
    made but not committed (and may roll back) never reaches an index; an in-memory one
    exists on the caller's connection only and is read there, outside transactions."""

    def __init__(self, db: sqlite_utils.Database, path: str) -> None:
        self.lock = threading.Lock()
        self.db = weakref.proxy(db)
        self.own: sqlite3.Connection | None = None
        if path:
            self.own = sqlite3.connect(path, timeout=30, isolation_level=None,
                                       check_same_thread=False)  # fmt: skip
            self.own.row_factory = sqlite3.Row
            self.own.execute("PRAGMA query_only = 1")

    def __del__(self) -> None:
        if self.own is not None:
            self.own.close()

    def committed(self) -> bool:
        """Whether what the reader sees now is committed (the caller is not mid-transaction)."""
        return self.own is not None or not self.db.conn.in_transaction

    def query(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        if self.own is None:
            return list(self.db.query(sql, params))
        return [dict(row) for row in self.own.execute(sql, params)]

    def version(self) -> int | None:
        """A number that changes whenever another connection commits (``PRAGMA data_version``,
        far cheaper than a query); None where every call must look."""
        if self.own is None:
            return None
        return int(self.own.execute("PRAGMA data_version").fetchone()[0])

    def begin(self) -> None:
        if self.own is not None:
            self.own.execute("BEGIN")  # one snapshot for the change count and the rows

    def end(self) -> None:
        if self.own is not None:
            self.own.execute("COMMIT")


class _Cached:
    """One target's index and the last change (``subscriber_changes.seq``) it holds."""

    def __init__(self, reader: _Reader, target: str) -> None:
        self.reader = reader
        self.target = target
        self.seen = -1
        self.version: int | None = None
        self.built: WatchIndex | None = None

    def _rebuild(self) -> WatchIndex:
        self.version = self.reader.version()
        self.reader.begin()
        try:
            self.seen = _last_change(self.reader)
            rows = self.reader.query(_LIVE_WATCHES + " ORDER BY s.id, w.id", [self.target, ACTIVE])
        finally:
            self.reader.end()
        self.built = WatchIndex(rows)
        return self.built

    def current(self) -> WatchIndex:
        """The index as of the last commit: rebuilt the first time, when the change log no
        longer reaches back to what it holds, or when dropped watches outnumber live ones;
        otherwise only the subscribers changed since are read again."""
        if self.built is None:
            return self._rebuild()
        if not self.reader.committed():
            return self.built  # mid-transaction, an in-memory database shows uncommitted rows
        version = self.reader.version()
        if version is not None and version == self.version:
            return self.built  # nothing committed since the last look
        self.version = version
        self.reader.begin()
        try:
            first, last = _change_span(self.reader)
            if last == self.seen:
                return self.built
            if last < self.seen or first > self.seen + 1:
                self.built = None  # the log was trimmed past this index, or the file replaced
            else:
                self._catch_up(last)
        finally:
            self.reader.end()
        built = self.built
        if built is None or built.dead > max(1000, len(built.chats) - built.dead):
            return self._rebuild()
        return built

    def _catch_up(self, last: int) -> None:
        assert self.built is not None
        changed = sorted({row["subscriber_id"] for row in self.reader.query(
            "SELECT subscriber_id FROM subscriber_changes WHERE seq > ? AND seq <= ?",
            [self.seen, last])})  # fmt: skip
        for start in range(0, len(changed), 500):
            chunk = changed[start : start + 500]
            rows = self.reader.query(
                _LIVE_WATCHES + f" AND s.id IN ({','.join('?' for _ in chunk)})"
                " ORDER BY s.id, w.id", [self.target, ACTIVE, *chunk])  # fmt: skip
            live: dict[int, list[dict[str, Any]]] = {number: [] for number in chunk}
            for row in rows:
                live[row["subscriber_id"]].append(row)
            for number, own in live.items():
                chat = own[0]["chat"] if own else ""
                self.built.replace(number, chat, [Watch.from_row(row) for row in own])
        self.seen = last


def _last_change(reader: _Reader) -> int:
    rows = reader.query("SELECT max(seq) AS last FROM subscriber_changes", [])
    return int(rows[0]["last"] or 0)


def _change_span(reader: _Reader) -> tuple[int, int]:
    """The first and last change the log holds (it keeps the latest ``CHANGES_KEPT``)."""
    rows = reader.query("SELECT min(seq) AS first, max(seq) AS last FROM subscriber_changes", [])
    last = int(rows[0]["last"] or 0)
    return int(rows[0]["first"] or last + 1), last


#: Per open database: its reader and one cached index per target; forgotten with the database.
_INDEXES: weakref.WeakKeyDictionary[sqlite_utils.Database, tuple[_Reader, dict[str, _Cached]]]
_INDEXES = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def _cached(db: sqlite_utils.Database, target: str) -> _Cached:
    with _GUARD:
        found = _INDEXES.get(db)
        if found is None:
            path = db.execute("PRAGMA database_list").fetchone()[2] or ""
            found = _INDEXES[db] = (_Reader(db, path), {})
        reader, targets = found
        if target not in targets:
            targets[target] = _Cached(reader, target)
        return targets[target]


def index(db: sqlite_utils.Database, target: str) -> WatchIndex:
    """The target's watch index as of the last commit. Every change to subscribers or
    watches, from any connection or process, appends the subscriber's id to
    ``subscriber_changes`` (triggers), in the writer's transaction: the index re-reads only
    the subscribers changed since it last looked, and a rolled-back change leaves no trace."""
    cached = _cached(db, target)
    with cached.reader.lock:
        return cached.current()


def forget(db: sqlite_utils.Database) -> None:
    """Drop the cached indexes of ``db``: the next match builds them afresh."""
    with _GUARD:
        _INDEXES.pop(db, None)


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
