"""Source health: each run is ok, empty (fetched, nothing found: a selector or format probably
changed), blocked or error. After ``alert_after`` bad runs in a row the admin hears once; when
the source comes back, once more. A failing source backs off, and one failing for days is paused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from settings.config import SourceConfig, parse_interval

#: Longest a failing source waits between runs, and how long it may fail before it is paused.
MAX_BACKOFF = timedelta(hours=12)
PAUSE_AFTER = timedelta(days=3)


HINTS = {
    "empty": " (fetched but found no offers: the page's layout or format may have changed)",
    "blocked": " (the site is blocking requests)",
}


@dataclass(frozen=True)
class Health:
    source: str
    status: str | None
    streak: int
    failing_since: datetime | None
    paused: str | None = None


def health(db: sqlite_utils.Database, source: str, *, skip_latest: bool = False) -> Health:
    """The source's last status and how many runs in a row were not ok."""
    rows = list(db.query(
        "SELECT status, started FROM runs WHERE source = ? ORDER BY id DESC LIMIT 500", [source]
    ))  # fmt: skip
    if skip_latest:
        rows = rows[1:]
    streak = 0
    for row in rows:
        if row["status"] == "ok":
            break
        streak += 1
    since = datetime.fromisoformat(rows[streak - 1]["started"]) if streak else None
    paused = db.execute("SELECT reason FROM paused WHERE source = ?", [source]).fetchone()
    return Health(source, rows[0]["status"] if rows else None, streak, since,
                  paused[0] if paused else None)  # fmt: skip


def admin_message(db: sqlite_utils.Database, source: SourceConfig, message: str) -> str | None:
    """What to tell the admin after the source's latest run, if anything (no alert storms:
    only when the streak reaches ``alert_after``, and when a failing source recovers)."""
    now = health(db, source.name)
    before = health(db, source.name, skip_latest=True)
    if now.status == "ok" and before.streak >= source.alert_after:
        return f"✅ source {source.name} recovered after {before.streak} bad runs"
    if now.status != "ok" and now.streak == source.alert_after:
        detail = f": {message}" if message else ""
        hint = HINTS.get(now.status or "", "")
        return (
            f"⚠️ source {source.name} is {now.status} for {now.streak} runs in a row{hint}{detail}"
        )
    return None


def base_interval(source: SourceConfig) -> timedelta:
    interval = parse_interval(source.schedule)
    if interval is not None:
        return interval
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(source.schedule, timezone=UTC)
    first = trigger.get_next_fire_time(None, datetime.now(UTC))
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1)) if first else None
    return (second - first) if first and second else timedelta(hours=1)


def backoff(source: SourceConfig, streak: int) -> timedelta | None:
    """How long a failing source waits before its next run (None when it is healthy)."""
    if streak == 0:
        return None
    delay = base_interval(source) * (2 ** min(streak, 10))
    return min(delay, max(MAX_BACKOFF, base_interval(source)))


def should_pause(state: Health, now: datetime) -> bool:
    return bool(state.failing_since and now - state.failing_since >= PAUSE_AFTER)


def pause(db: sqlite_utils.Database, source: str, reason: str, now: datetime) -> None:
    db.execute(
        "INSERT OR REPLACE INTO paused (source, paused_at, reason) VALUES (?, ?, ?)",
        [source, now.isoformat(), reason],
    )


def resume(db: sqlite_utils.Database, source: str) -> bool:
    return db.execute("DELETE FROM paused WHERE source = ?", [source]).rowcount > 0
