"""Which sources show each offer, and at what price.

One offer (one identity) may be shown by several sources at different prices. Its price is the
lowest any live source shows, so two sources never make it flip-flop; it is gone only when no
source shows it any more. A source stops showing an offer after ``gone_after_runs`` healthy
runs of that source in a row did not find it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from storage.db import select_in


@dataclass(frozen=True)
class Sighting:
    """One source's view of one offer."""

    source: str
    miles: int | None
    url: str | None
    gone_since: str | None

    @property
    def live(self) -> bool:
        return self.gone_since is None


def lowest(prices: Iterable[int | None]) -> int | None:
    known = [p for p in prices if p]
    return min(known) if known else None


def load(db: sqlite_utils.Database, keys: list[str]) -> dict[str, dict[str, Sighting]]:
    """The sightings of each offer key, by source."""
    found: dict[str, dict[str, Sighting]] = {}
    sql = (
        "SELECT offer_key, source, miles, url, gone_since FROM sightings"
        " WHERE offer_key IN ({marks})"
    )
    for key, source, miles, url, gone_since in select_in(db, sql, keys):
        found.setdefault(key, {})[source] = Sighting(source, miles, url, gone_since)
    return found


def record(db: sqlite_utils.Database, rows: list[tuple[str, str, int | None, str | None]],
           stamp: str) -> None:  # fmt: skip
    """Record (offer key, source, miles, url) as seen now: live again, no runs missed."""
    db.conn.executemany(
        "INSERT INTO sightings (offer_key, source, miles, url, first_seen, last_seen)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (offer_key, source) DO UPDATE SET"
        " miles = excluded.miles, url = excluded.url, last_seen = excluded.last_seen,"
        " missed = 0, missing_since = NULL, gone_since = NULL",
        [(key, source, miles, url, stamp, stamp) for key, source, miles, url in rows],
    )


def miss(
    db: sqlite_utils.Database,
    source: str,
    seen: set[str],
    now: datetime,
    after_runs: int,
    links: frozenset[str] = frozenset(),
) -> list[str]:
    """After a healthy run of ``source`` at ``now``: count a miss for each offer it shows that
    this run did not find (neither in ``seen`` nor recorded at ``now``); the source stops
    showing those missed ``after_runs`` times in a row (gone since the first miss). Returns
    the keys whose sighting went gone. An offer whose link is in ``links`` counts as found: a
    post still in the feed still announces every sale it did, whatever part of it the feed
    carries today."""
    stamp = now.isoformat()
    rows = db.execute(
        "SELECT offer_key, url, missed, missing_since FROM sightings"
        " WHERE source = ? AND gone_since IS NULL AND last_seen IS NOT ?",
        [source, stamp],
    ).fetchall()
    updates, gone = [], []
    for key, url, missed, missing_since in rows:
        if key in seen or url in links:
            continue
        since = missing_since or stamp
        ended = since if missed + 1 >= after_runs else None
        updates.append((missed + 1, since, ended, key, source))
        if ended:
            gone.append(key)
    db.conn.executemany(
        "UPDATE sightings SET missed = ?, missing_since = ?, gone_since = ?"
        " WHERE offer_key = ? AND source = ?",
        updates,
    )
    return gone


def settle(db: sqlite_utils.Database, keys: list[str]) -> int:
    """Bring the offers of ``keys`` in line with their sightings: gone when no source shows
    them (since the last source stopped), else priced by the cheapest live source. Returns how
    many offers went gone."""
    gone = 0
    for key, sightings in load(db, keys).items():
        live = [s for s in sightings.values() if s.live]
        if not live:
            ended = max(s.gone_since or "" for s in sightings.values())
            gone += db.execute(
                "UPDATE offers SET gone_since = ? WHERE key = ? AND gone_since IS NULL",
                [ended, key],
            ).rowcount
            continue
        cheapest = min(live, key=lambda s: (s.miles is None, s.miles or 0, s.source))
        db.execute(
            "UPDATE offers SET miles = ?, source = ?, url = coalesce(?, url) WHERE key = ?",
            [cheapest.miles, cheapest.source, cheapest.url, key],
        )
    return gone
