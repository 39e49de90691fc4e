"""The SQLite database: opened in WAL mode and migrated to the current schema; one writing
process at a time (an OS lock file beside it); safe backups.

Migrations are sqlite-utils' ``Migrations``, named after their functions in MIGRATIONS and
recorded in its ``_sqlite_migrations`` table; ``PRAGMA user_version`` counts them too, as it
did before, so that an older awardwatch refuses a newer database. An upgrade keeps existing
data: add a function at the end, never edit a released one. Each runs in its own transaction:
a migration that fails or is killed leaves no trace.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from offers.errors import AwardwatchError


class DatabaseError(AwardwatchError):
    """The database cannot be used"""

    exit_code = 2


class DatabaseBusy(AwardwatchError):
    """Another awardwatch process holds the database"""

    exit_code = 3


class BackupError(AwardwatchError):
    """The backup was not made"""


RESTORE_HINT = "restore it from a backup (`awardwatch backup` makes one from a good copy)"


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


def _offer_sightings(db: sqlite_utils.Database) -> None:
    # Which sources show each offer, at what price, and how many healthy runs of a source in a
    # row missed it: an offer is gone when no source shows it any more, and its price is the
    # lowest a live source shows.
    db.execute(
        "CREATE TABLE sightings (offer_key TEXT NOT NULL, source TEXT NOT NULL, miles INTEGER,"
        " url TEXT, first_seen TEXT, last_seen TEXT, missed INTEGER NOT NULL DEFAULT 0,"
        " missing_since TEXT, gone_since TEXT, PRIMARY KEY (offer_key, source))"
    )
    db.execute("CREATE INDEX sightings_source_gone ON sightings (source, gone_since)")
    db.execute(
        "INSERT INTO sightings (offer_key, source, miles, url, first_seen, last_seen, gone_since)"
        " SELECT key, source, miles, url, first_seen, last_seen, gone_since FROM offers"
    )


def _outbox_claims(db: sqlite_utils.Database) -> None:
    # a drain claims a chat's rows (owner and lease expiry) before sending them, so two
    # drains never send one row twice
    db.execute("ALTER TABLE outbox ADD COLUMN claimed_by TEXT")
    db.execute("ALTER TABLE outbox ADD COLUMN claimed_until TEXT")


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


#: Changes the subscriber change log keeps; an index further behind than this is rebuilt.
CHANGES_KEPT = 10_000


def _subscriber_changes(db: sqlite_utils.Database) -> None:
    # Which subscriber each change to subscribers or watches touched, written by triggers in
    # the writer's own transaction (so from any process, and gone with a rollback): a cached
    # watch index re-reads only those subscribers. The latest CHANGES_KEPT are kept.
    db.execute(
        "CREATE TABLE subscriber_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " subscriber_id INTEGER NOT NULL)"
    )
    log = "INSERT INTO subscriber_changes (subscriber_id) VALUES"
    triggers = {
        "subscribers_insert_logged AFTER INSERT ON subscribers": f"{log} (NEW.id);",
        "subscribers_update_logged AFTER UPDATE OF target, chat, status, paused ON subscribers":
            f"{log} (OLD.id); {log} (NEW.id);",
        "subscribers_delete_logged AFTER DELETE ON subscribers": f"{log} (OLD.id);",
        "subscriber_watches_insert_logged AFTER INSERT ON subscriber_watches":
            f"{log} (NEW.subscriber_id);",
        "subscriber_watches_update_logged AFTER UPDATE ON subscriber_watches":
            f"{log} (OLD.subscriber_id); {log} (NEW.subscriber_id);",
        "subscriber_watches_delete_logged AFTER DELETE ON subscriber_watches":
            f"{log} (OLD.subscriber_id);",
        "subscriber_changes_trimmed AFTER INSERT ON subscriber_changes":
            f"DELETE FROM subscriber_changes WHERE seq <= NEW.seq - {CHANGES_KEPT};",
    }  # fmt: skip
    for head, body in triggers.items():
        db.execute(f"CREATE TRIGGER {head} BEGIN {body} END")


#: Schema changes in order. Append only.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _initial,
    _sheet_sync,
    _subscribers,
    _source_health,
    _subscriber_version,
    _offer_sightings,
    _outbox_claims,
    _subscriber_service,
    _chat_inbox,
    _subscriber_changes,
]


#: The name of awardwatch's migrations in sqlite-utils' ``_sqlite_migrations`` table.
MIGRATION_SET = "awardwatch"


def schema_version(db: sqlite_utils.Database) -> int:
    """How many migrations the database has had, as ``PRAGMA user_version`` counts them: kept
    beside sqlite-utils' record so that an older awardwatch still recognises a newer database."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _steps() -> Migrations:
    steps = Migrations(MIGRATION_SET)
    for step in MIGRATIONS:
        steps()(step)
    return steps


def migrate(db: sqlite_utils.Database) -> int:
    """Apply the migrations this database has not had yet, each all or nothing; return the
    new version. A database from a newer awardwatch is refused, not touched."""
    steps = _steps()
    while True:
        version = _known_version(db, steps)
        if version == len(MIGRATIONS) and len(steps.applied(db)) == version:
            return version
        # one migration a transaction; a second process waits here, then sees it done
        with transaction(db):
            _adopt(db, steps)
            pending = steps.pending(db)
            if pending:
                steps.apply(db, stop_before=[step.name for step in pending[1:]])
                db.execute(f"PRAGMA user_version = {len(steps.applied(db))}")


def _known_version(db: sqlite_utils.Database, steps: Migrations) -> int:
    """The database's schema version, or DatabaseError when this awardwatch is too old for it."""
    version = schema_version(db)
    applied = [step.name for step in steps.applied(db)]
    known = {step.__name__ for step in MIGRATIONS}
    if version > len(MIGRATIONS) or not known.issuperset(applied):
        raise DatabaseError(
            f"the database has schema version {max(version, len(applied))}, newer than this "
            f"awardwatch's {len(MIGRATIONS)}: run the newer awardwatch, or restore a backup"
        )
    return version


def _adopt(db: sqlite_utils.Database, steps: Migrations) -> None:
    """Record in sqlite-utils' table the migrations a database counted only in
    ``user_version`` (awardwatch before it used sqlite-utils' migrations), so none runs again."""
    steps.ensure_migrations_table(db)
    if steps.applied(db):
        return
    db.table(Migrations.migrations_table).insert_all(
        {"migration_set": MIGRATION_SET, "name": step.__name__, "applied_at": "user_version"}
        for step in MIGRATIONS[: schema_version(db)]
    )


def connect(path: Path | str) -> sqlite_utils.Database:
    """Open (creating when needed) the bot's database, in WAL mode and migrated; a file that
    is not a usable database raises DatabaseError with one line saying what to do."""
    memory = str(path) == ":memory:"
    try:
        if not memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None,
                               check_same_thread=False)  # fmt: skip
        db = sqlite_utils.Database(conn)
        if not memory:
            db.enable_wal()
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")
        migrate(db)
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(database_problem(path, exc)) from None
    except OSError as exc:
        raise DatabaseError(f"database {path}: {exc.strerror or exc}") from None
    return db


def database_problem(path: Path | str, exc: sqlite3.Error) -> str:
    """One line on what is wrong with the database at ``path`` and what to do about it."""
    text = str(exc)
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return f"database {path} is corrupt ({text}): {RESTORE_HINT}"
    if "readonly" in text or "read-only" in text:
        return f"database {path} is read-only ({text}): let awardwatch write it and its folder"
    if "unable to open" in text:
        return f"database {path} cannot be opened ({text}): check the path and its permissions"
    return f"database {path}: {text}"


# -- one writer ------------------------------------------------------------------------------


def lock_path(database: Path | str) -> Path:
    return Path(f"{database}.lock")


@contextmanager
def writer_lock(database: Path | str) -> Iterator[Path]:
    """Hold the database's writer lock (an OS lock on ``<database>.lock``) for the block, or
    raise DatabaseBusy at once naming the process that holds it. The OS drops the lock when
    its process dies, however it dies: a stale file never blocks."""
    path = lock_path(database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise DatabaseError(f"cannot create the lock file {path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 32, 0).decode(errors="replace").strip() or "?"
            raise DatabaseBusy(
                f"another awardwatch process (pid {holder}) holds {database}"
            ) from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(handle)  # closing releases the lock


# -- backups ---------------------------------------------------------------------------------


def integrity(path: Path | str) -> str:
    """``ok``, or what SQLite's integrity check found wrong with the database at ``path``."""
    try:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=30)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return str(exc)
    found = "; ".join(str(row[0]) for row in rows[:3])
    return found or "empty answer"


def backup(source: Path | str, target: Path | str) -> None:
    """Copy the database at ``source`` to ``target`` with SQLite's online backup API (safe
    while it is written). A missing or corrupt source is refused; the copy is checked before
    it replaces ``target``, so a good backup is never overwritten by a bad one."""
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise BackupError(f"no database at {source}: nothing to back up")
    problem = integrity(source)
    if problem != "ok":
        raise BackupError(f"database {source} failed its integrity check ({problem}): "
                          "not backed up; keep the last good backup")  # fmt: skip
    if target.is_dir():
        raise BackupError(f"backup target {target} is a folder: give a file name")
    partial = target.with_name(f".{target.name}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy(source, partial)
        problem = integrity(partial)
        if problem != "ok":
            raise BackupError(f"the copy of {source} failed its integrity check ({problem}): "
                              f"{target} left as it was")  # fmt: skip
        os.replace(partial, target)
    except OSError as exc:
        raise BackupError(f"cannot write the backup {target}: {exc.strerror or exc}") from None
    except sqlite3.Error as exc:
        raise BackupError(f"backup of {source} to {target} failed: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)


def _copy(source: Path, target: Path) -> None:
    origin = sqlite3.connect(f"file:{source.resolve()}?mode=ro", uri=True, timeout=30)
    destination = sqlite3.connect(str(target))
    try:
        origin.backup(destination)
        destination.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
    finally:
        destination.close()
        origin.close()


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """All-or-nothing writes (sqlite-utils' own methods inside it join the transaction).
    Unlike ``db.atomic()``, which begins a deferred transaction, it takes the write lock at
    once (``BEGIN IMMEDIATE``): a deferred transaction that reads and then writes fails with
    "database is locked", without waiting, when another process wrote in between."""
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


#: Keys in one ``IN (…)`` query, well under SQLite's limit of bound parameters.
IN_CHUNK = 500


def select_in(
    db: sqlite_utils.Database, sql: str, keys: Sequence[str]
) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sql`` for every key, ``sql`` holding ``{marks}`` where its ``IN (…)`` list
    goes; queried a chunk of keys at a time."""
    for start in range(0, len(keys), IN_CHUNK):
        chunk = list(keys[start : start + IN_CHUNK])
        yield from db.execute(sql.format(marks=",".join("?" for _ in chunk)), chunk).fetchall()
