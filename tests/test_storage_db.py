"""The database itself: migrations all or nothing, a newer schema refused, one writer at a
time, backups that never copy a missing or corrupt database over a good one, and outbox
claims that keep two drains from sending one row twice."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from receiver import Answer, queue_events, receiver

from notifiers.webhook import WebhookNotifier
from runner.deliver import drain
from settings.config import NotifierConfig
from storage import db as storage_db
from storage import outbox
from storage.db import (
    MIGRATIONS,
    BackupError,
    DatabaseBusy,
    DatabaseError,
    backup,
    connect,
    writer_lock,
)


def test_a_failing_migration_leaves_no_trace(tmp_path: Path, monkeypatch: Any) -> None:
    path = tmp_path / "bot.db"
    connect(path).conn.close()

    def half_done(db: sqlite_utils.Database) -> None:
        db.table("half").create({"id": int}, pk="id")  # sqlite-utils commits on its own
        db.execute("ALTER TABLE outbox ADD COLUMN half TEXT")
        raise RuntimeError("killed here")

    monkeypatch.setattr(storage_db, "MIGRATIONS", [*MIGRATIONS, half_done])
    with pytest.raises(RuntimeError):
        connect(path)
    raw = sqlite_utils.Database(path)
    assert "half" not in raw.table_names()
    assert "half" not in raw.table("outbox").columns_dict
    assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    monkeypatch.setattr(storage_db, "MIGRATIONS", MIGRATIONS)
    connect(path)  # and the next start is fine


def test_a_database_from_a_newer_awardwatch_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    connect(path).execute(f"PRAGMA user_version = {len(MIGRATIONS) + 3}")
    with pytest.raises(DatabaseError) as caught:
        connect(path)
    assert f"version {len(MIGRATIONS) + 3}" in str(caught.value)
    assert f"this awardwatch's {len(MIGRATIONS)}" in str(caught.value)


def test_two_processes_create_a_fresh_database_together(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    script = "import sys; from storage.db import connect; connect(sys.argv[1])"
    root = Path(__file__).resolve().parent.parent
    children = [
        subprocess.Popen([sys.executable, "-c", script, str(path)], cwd=root,
                         stderr=subprocess.PIPE, text=True)  # fmt: skip
        for _ in range(4)
    ]
    for child in children:
        _, errors = child.communicate(timeout=120)
        assert child.returncode == 0, errors


def test_a_corrupt_database_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    path.write_bytes(b"this is not a database" * 200)
    with pytest.raises(DatabaseError, match="is corrupt .*restore it from a backup"):
        connect(path)


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with writer_lock(path):
        with pytest.raises(DatabaseBusy) as caught, writer_lock(path):
            pass
        assert f"another awardwatch process (pid {os.getpid()}) holds {path}" == str(caught.value)
    with writer_lock(path):  # released with its holder
        pass


def test_backup_refuses_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database at"):
        backup(tmp_path / "none.db", tmp_path / "copy.db")
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "copy.db").exists()


def test_a_corrupt_database_never_replaces_a_good_backup(tmp_path: Path) -> None:
    good = tmp_path / "bot.db"
    queue_events(connect(good), 3, {"hook": ["a"]})
    copy = tmp_path / "backup" / "bot.db"
    backup(good, copy)
    assert sqlite_utils.Database(copy).execute("SELECT count(*) FROM events").fetchone()[0] == 3
    broken = tmp_path / "broken.db"
    data = bytearray(good.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the header survives, the schema page does not
    broken.write_bytes(bytes(data))
    before = copy.read_bytes()
    with pytest.raises(BackupError, match="integrity check"):
        backup(broken, copy)
    assert copy.read_bytes() == before
    assert [p.name for p in copy.parent.iterdir()] == ["bot.db"]  # no partial left


def test_claimed_rows_go_out_once_from_two_drains(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    queue_events(connect(path), 6, {"hook": ["a", "b", "c"]})

    async def two_drains(url: str) -> None:
        notifiers = [
            WebhookNotifier(NotifierConfig(name="hook", type="webhook", url=url, batch_size=1))
            for _ in range(2)
        ]
        try:
            await asyncio.gather(*(drain(connect(path), [n]) for n in notifiers))
        finally:
            for notifier in notifiers:
                await notifier.close()

    with receiver() as endpoint:
        endpoint.responder = lambda request: Answer(delay=0.05)
        asyncio.run(two_drains(endpoint.url))
        arrived = Counter(
            (r.json()["chat"], e["id"]) for r in endpoint.accepted() for e in r.json()["events"]
        )
    assert all(n == 1 for n in arrived.values()), arrived
    db = connect(path)
    leftover = outbox.pending(db, "hook")
    assert len(arrived) + len(leftover) == 18  # the rest waits for the next pass
    assert db.execute("SELECT count(*) FROM outbox WHERE claimed_by IS NOT NULL").fetchone()[0] == 0


def test_a_claim_of_a_dead_process_is_free_again(tmp_path: Path) -> None:
    db = connect(tmp_path / "bot.db")
    queue_events(db, 2, {"hook": ["a"]})
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    host = outbox.new_owner().split(":")[0]
    assert outbox.claim(db, "hook", "a", f"{host}:{dead}:gone")
    assert outbox.claim(db, "hook", "a", outbox.new_owner())  # its owner is gone
    assert not outbox.claim(db, "hook", "a", f"{host}:{os.getpid()}:other")  # a live owner's


def test_sqlite_errors_name_the_problem() -> None:
    text = storage_db.database_problem("x.db", sqlite3.DatabaseError("file is not a database"))
    assert text.startswith("database x.db is corrupt")
