"""Deduplication: an offer alerts once, again when it gets cheaper, and when it comes back.

An offer's identity is its key (program, route, dates, cabin); its value is its miles.
Events: ``new``; ``cheaper`` (miles fell by at least ``cheaper_by`` below the lowest price any
live source showed); ``back`` (seen again after it was gone for at least ``back_after_hours``).
Which source shows an offer at what price is kept in ``sightings`` (storage/sightings.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

import sqlite_utils

from offers.model import Event, Offer
from offers.places import region_of
from settings.config import DedupeSettings
from storage import identity, sightings
from storage.db import select_in

_OFFER_COLUMNS = [
    "source", "program", "title", "airline", "origin", "destination", "depart_date",
    "travel_start", "travel_end", "cabin", "miles", "trip", "taxes", "currency",
    "discount_pct", "promo", "promo_reason", "book_by", "seats", "url",
]  # fmt: skip


_COLUMN_NAMES = [*_OFFER_COLUMNS, "region"]


_VALUES = attrgetter(*_OFFER_COLUMNS)
_DATES = [_OFFER_COLUMNS.index(name)
          for name in ("depart_date", "travel_start", "travel_end", "book_by")]  # fmt: skip
_PROMO, _MILES = _OFFER_COLUMNS.index("promo"), _OFFER_COLUMNS.index("miles")


def _columns(offer: Offer) -> list[Any]:
    """The values of ``_COLUMN_NAMES`` of the offer's row."""
    # one attrgetter call, not a JSON dump nor a dict: this runs for every offer
    row = list(_VALUES(offer))
    for index in _DATES:
        if row[index] is not None:
            row[index] = row[index].isoformat()
    row[_PROMO] = int(row[_PROMO])
    row.append(region_of(offer.destination))
    return row


def _event_kind(
    stored: dict[str, Any], offer: Offer, lowest_before: int | None, now: datetime,
    settings: DedupeSettings,
) -> str | None:  # fmt: skip
    gone_since = stored["gone_since"]
    if gone_since and now - datetime.fromisoformat(gone_since) >= timedelta(
        hours=settings.back_after_hours
    ):
        return "back"
    if offer.miles and lowest_before and lowest_before - offer.miles >= settings.cheaper_by:
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


def _stored(db: sqlite_utils.Database, keys: list[str]) -> dict[str, dict[str, Any]]:
    sql = "SELECT key, miles, best_miles, gone_since FROM offers WHERE key IN ({marks})"
    return {key: {"miles": miles, "best_miles": best, "gone_since": gone_since}
            for key, miles, best, gone_since in select_in(db, sql, keys)}  # fmt: skip


def observe_all(
    db: sqlite_utils.Database,
    seen: list[tuple[Offer, list[str]]],
    *,
    run_id: int,
    now: datetime,
    settings: DedupeSettings,
    announcements: bool = False,
) -> list[Event]:
    """Record that each offer (one per key, with the rules it matched) was seen by its source;
    return the events they make. "cheaper" compares with the lowest price any live source
    showed. With ``announcements`` (offers read from posts), an offer whose key is unknown is
    the known offer of the same post that it agrees with (see :func:`storage.identity.match`):
    a post cut short in a feed is the same sale, not a new one.

    Writes in a few batched statements, inside the caller's transaction
    (``storage.db.transaction``), which also makes the event ids assigned here safe."""
    keyed = [(offer.key, offer, rules, False) for offer, rules in seen]
    if announcements:
        keyed = identity.match(db, keyed, _stored(db, [key for key, *_ in keyed]))
    first_id = (db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0] or 0) + 1
    events: list[Event] = []
    # a slice at a time: the stored rows and the rows to write of 100,000 offers at once
    # would take gigabytes; keys are unique, so one slice's writes never touch another's
    for start in range(0, len(keyed), OBSERVE_CHUNK):
        chunk = keyed[start : start + OBSERVE_CHUNK]
        events += _observe(db, chunk, run_id, now, settings, first_id + len(events))
    return events


#: The sightings of an offer no source showed yet (read only).
_UNSEEN: dict[str, sightings.Sighting] = {}

#: Offers observed in one slice of ``observe_all``.
OBSERVE_CHUNK = 2000


def _observe(
    db: sqlite_utils.Database,
    keyed: list[tuple[str, Offer, list[str], bool]],
    run_id: int,
    now: datetime,
    settings: DedupeSettings,
    next_id: int,
) -> list[Event]:
    stamp = now.isoformat()
    keys = [key for key, *_ in keyed]
    stored = _stored(db, keys)
    seen_by = sightings.load(db, keys)
    fresh: list[list[Any]] = []
    updates: list[list[Any]] = []
    refreshed: list[list[Any]] = []
    sighted: list[tuple[str, str, int | None, str | None]] = []
    event_rows: list[list[Any]] = []
    events: list[Event] = []
    matched_rules: dict[tuple[str, ...], str] = {}
    for key, offer, rules, matched in keyed:
        columns = _columns(offer)
        before = stored.get(key)
        others = seen_by.get(key, _UNSEEN)
        price = offer.miles
        mine = others.get(offer.source)
        if matched and mine and mine.miles and price and price > mine.miles:
            price = mine.miles  # a post cut short may lose its lowest price: not a rise
        if before is None:
            kind: str | None = "new"
            lowest_before = None
            fresh.append([key, *columns, stamp, stamp, offer.miles])
        else:
            live = {s.source: s.miles for s in others.values() if s.live}
            lowest_before = sightings.lowest(live.values()) if live else before["miles"]
            kind = _event_kind(before, offer, lowest_before, now, settings)
            live[offer.source] = price
            low = sightings.lowest(live.values())
            best = sightings.lowest([before["best_miles"], offer.miles])
            if low is None or (price is not None and price <= low):
                columns[_MILES] = price
                updates.append([*columns, stamp, best, key])
            else:  # another source shows it cheaper: that one is the offer's price and link
                cheapest = min(
                    (s for s in others.values() if s.live and s.miles == low and s != mine),
                    key=lambda s: s.source,
                )
                refreshed.append([low, cheapest.source, cheapest.url, stamp, best, key])
        sighted.append((key, offer.source, price, offer.url))
        if kind is None:
            continue
        previous = lowest_before if kind == "cheaper" else None
        rule_names = tuple(rules)
        if rule_names not in matched_rules:  # a run's offers match the same few sets of rules
            matched_rules[rule_names] = json.dumps(rules)
        event_rows.append([next_id, key, kind, offer.miles, previous, stamp, run_id,
                           offer.source, matched_rules[rule_names],
                           offer.model_dump_json()])  # fmt: skip
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
        "UPDATE offers SET miles = ?, source = ?, url = coalesce(?, url), last_seen = ?,"
        " gone_since = NULL, best_miles = ? WHERE key = ?",
        refreshed,
    )
    sightings.record(db, sighted, stamp)
    db.conn.executemany(
        "INSERT INTO events (id, offer_key, kind, miles, previous_miles, at, run_id, source,"
        " rules, offer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        event_rows,
    )
    return events


def mark_gone(
    db: sqlite_utils.Database,
    source: str,
    seen: set[str],
    now: datetime,
    after_runs: int = 1,
    *,
    posts: frozenset[str] = frozenset(),
) -> int:
    """After a healthy run of ``source`` (complete, nothing failed): the offers it showed but
    did not find ``after_runs`` times in a row are no longer shown by it; those no source shows
    any more are gone. The offers of ``posts`` (links of posts the run read) are not missed.
    Returns how many offers went gone."""
    return sightings.settle(db, sightings.miss(db, source, seen, now, after_runs, posts))


def current(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """The live offers (not gone), sorted by program and miles."""
    return list(each_current(db))


def each_current(db: sqlite_utils.Database) -> Iterator[dict[str, Any]]:
    """``current`` one row at a time, for a caller that need not hold them all."""
    return db.query(
        "SELECT * FROM offers WHERE gone_since IS NULL ORDER BY program, miles IS NULL, miles, key"
    )


def events_since(db: sqlite_utils.Database, after_id: int = 0) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM events WHERE id > ? ORDER BY id", [after_id]))
