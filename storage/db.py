"""The SQLite database: opened in WAL mode and migrated to the current schema.

Migrations are numbered by their place in MIGRATIONS and tracked in ``PRAGMA user_version``,
so an upgrade keeps existing data: add a function at the end, never edit a released one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils


def _initial(db: sqlite_utils.Database) -> None:
    db.table("offers").create(
        {
            "key": str,
            "source": str,
            "program": str,
            "title": str,
            "airline": str,
            "origin": str,
            "destination": str,
            "region": str,
            "depart_date": str,
            "travel_start": str,
            "travel_end": str,
            "cabin": str,
            "miles": int,
            "trip": str,
            "taxes": float,
            "currency": str,
            "discount_pct": float,
            "promo": int,
            "promo_reason": str,
            "book_by": str,
            "seats": int,
            "url": str,
            "first_seen": str,
            "last_seen": str,
            "gone_since": str,
            "best_miles": int,
        },
        pk="key",
    )
    db.table("runs").create(
        {
            "id": int,
            "source": str,
            "started": str,
            "finished": str,
            "status": str,
            "items": int,
            "offers": int,
            "events": int,
            "rejected": str,
            "errors": int,
            "message": str,
            "duration": float,
        },
        pk="id",
    )
    db.table("events").create(
        {
            "id": int,
            "offer_key": str,
            "kind": str,
            "miles": int,
            "previous_miles": int,
            "at": str,
            "run_id": int,
            "source": str,
            "rules": str,
            "offer": str,
        },
        pk="id",
        foreign_keys=[("offer_key", "offers", "key"), ("run_id", "runs", "id")],
    )
    db.table("outbox").create(
        {
            "id": int,
            "event_id": int,
            "target": str,
            "chat": str,
            "status": str,
            "attempts": int,
            "next_attempt": str,
            "last_error": str,
            "created": str,
            "sent_at": str,
        },
        pk="id",
        foreign_keys=[("event_id", "events", "id")],
    )
    db.table("outbox").create_index(["event_id", "target", "chat"], unique=True)
    db.table("outbox").create_index(["status", "next_attempt"])
    db.table("events").create_index(["at"])
    db.table("runs").create_index(["source", "started"])
    db.table("offers").create_index(["program", "miles"])


def _sheet_sync(db: sqlite_utils.Database) -> None:
    # How far each worksheet of each Google Sheet is written: the last event / run id
    # appended, or the digest of the rows last written (Current).
    db.table("sheet_sync").create(
        {"spreadsheet_key": str, "worksheet": str, "last_id": int, "digest": str, "synced_at": str},
        pk=("spreadsheet_key", "worksheet"),
    )


def _subscribers(db: sqlite_utils.Database) -> None:
    # People and groups who asked a chat bot for alerts, and what each of them watches for;
    # ``target`` is the notifier (bot) they talk to, ``chat`` their chat id on that service.
    db.table("subscribers").create(
        {"id": int, "target": str, "chat": str, "name": str, "status": str, "paused": int,
         "created": str, "updated": str},
        pk="id",
    )  # fmt: skip
    db.table("subscribers").create_index(["target", "chat"], unique=True)
    db.table("subscriber_watches").create(
        {"id": int, "subscriber_id": int, "origins": str, "destinations": str, "cabins": str,
         "max_miles": int, "months": str, "created": str},
        pk="id",
        foreign_keys=[("subscriber_id", "subscribers", "id")],
    )  # fmt: skip
    db.table("subscriber_watches").create_index(["subscriber_id"])


def _source_health(db: sqlite_utils.Database) -> None:
    db.table("runs").add_column("requests", int)
    db.table("paused").create(
        {"source": str, "paused_at": str, "reason": str}, pk="source", if_not_exists=True
    )


def _subscriber_version(db: sqlite_utils.Database) -> None:
    # a counter every change to subscribers bumps, so matching can cache its index safely
    db.execute(
        "CREATE TABLE subscriber_version (id INTEGER PRIMARY KEY CHECK (id = 1),"
        " version INTEGER NOT NULL)"
    )
    db.execute("INSERT INTO subscriber_version VALUES (1, 0)")
    for table in ("subscribers", "subscriber_watches"):
        for operation in ("INSERT", "UPDATE", "DELETE"):
            db.execute(
                f"CREATE TRIGGER {table}_{operation.lower()}_bumps_version AFTER {operation}"
                f" ON {table} BEGIN UPDATE subscriber_version SET version = version + 1; END"
            )


def _subscriber_service(db: sqlite_utils.Database) -> None:
    # which chat service a subscriber talks through (every earlier one came by Telegram),
    # when they last wrote (Messenger's 24-hour window is counted from it), and the
    # marketing-messages opt-in token a Messenger user may have given, with its expiry
    db.execute("ALTER TABLE subscribers ADD COLUMN service TEXT NOT NULL DEFAULT 'telegram'")
    db.execute("ALTER TABLE subscribers ADD COLUMN last_interaction TEXT")
    db.execute("ALTER TABLE subscribers ADD COLUMN notification_token TEXT")
    db.execute("ALTER TABLE subscribers ADD COLUMN token_expires TEXT")
    # a person writing moves last_interaction only: that must not rebuild the watch index
    db.execute("DROP TRIGGER IF EXISTS subscribers_update_bumps_version")
    db.execute(
        "CREATE TRIGGER subscribers_update_bumps_version AFTER UPDATE OF target, chat, status,"
        " paused ON subscribers BEGIN UPDATE subscriber_version SET version = version + 1; END"
    )


def _chat_inbox(db: sqlite_utils.Database) -> None:
    # Chat events taken in: written before they are acknowledged or acted on, unique per
    # (target, key) so a redelivered event is handled once; ``done`` set in the transaction
    # that applies the command.
    db.execute(
        "CREATE TABLE chat_inbox (id INTEGER PRIMARY KEY, service TEXT NOT NULL,"
        " target TEXT NOT NULL, key TEXT NOT NULL, sender TEXT NOT NULL, body TEXT NOT NULL,"
        " received TEXT NOT NULL, done TEXT, UNIQUE (target, key))"
    )
    db.execute("CREATE INDEX chat_inbox_pending ON chat_inbox (done, id)")


#: Schema changes in order. Append only.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _initial,
    _sheet_sync,
    _subscribers,
    _source_health,
    _subscriber_version,
    _subscriber_service,
    _chat_inbox,
]


def migrate(db: sqlite_utils.Database) -> int:
    """Apply the migrations this database has not had yet; return the new version."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        with db.conn:
            step(db)
            db.execute(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS)


def connect(path: Path | str) -> sqlite_utils.Database:
    """Open (creating when needed) the bot's database, in WAL mode and migrated."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    if str(path) != ":memory:":
        db.enable_wal()
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA synchronous = NORMAL")
    migrate(db)
    return db


def backup(db: sqlite_utils.Database, target: Path | str) -> None:
    """Copy the live database with SQLite's online backup API (safe while it is written)."""
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    destination = sqlite3.connect(str(target))
    try:
        db.conn.backup(destination)
    finally:
        destination.close()


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """All-or-nothing writes. Inside, write with ``db.execute`` only: sqlite-utils' own
    insert methods commit on their own and would end the transaction early."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def insert(db: sqlite_utils.Database, table: str, row: dict[str, object]) -> int:
    """INSERT one row with plain SQL (safe inside ``transaction``); return its rowid."""
    columns = ", ".join(f"[{c}]" for c in row)
    marks = ", ".join("?" for _ in row)
    cursor = db.execute(f"INSERT INTO [{table}] ({columns}) VALUES ({marks})", list(row.values()))
    return int(cursor.lastrowid or 0)
