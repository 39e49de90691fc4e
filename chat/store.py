"""The subscriber store the chat commands work on: one notifier's subscribers, keyed by
(service, chat id), kept in SQLite by ``storage.subscribers``. Commands see only this
interface, so they stay the same on every chat service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

import sqlite_utils

from awardwatch.config import Config
from notifiers.base import Notifier
from storage import outbox, subscribers
from storage.subscribers import Watch


class SubscriberStore(Protocol):
    service: str
    capacity: int | None

    def get(self, chat: str) -> dict[str, Any] | None: ...
    def subscribe(self, chat: str, name: str) -> bool: ...
    def active_count(self) -> int: ...
    def stop(self, chat: str) -> bool: ...
    def set_paused(self, chat: str, paused: bool) -> bool: ...
    def watches(self, chat: str) -> list[Watch]: ...
    def add_watch(self, chat: str, watch: Watch) -> int: ...
    def remove_watch(self, chat: str, number: int) -> Watch | None: ...
    def counts(self) -> dict[str, int]: ...
    def run_counts(self) -> tuple[int, dict[str, int]]: ...
    def outbox_counts(self) -> dict[str, int]: ...
    def last_runs(self) -> list[dict[str, Any]]: ...


class SqliteSubscribers:
    """The subscribers of notifier ``target`` on chat service ``service``; ``capacity``: most
    active subscribers over every service (None: no cap)."""

    def __init__(
        self, db: sqlite_utils.Database, target: str, service: str, capacity: int | None = None
    ) -> None:
        self.db = db
        self.target = target
        self.service = service
        self.capacity = capacity

    def get(self, chat: str) -> dict[str, Any] | None:
        return subscribers.get(self.db, self.target, chat)

    def subscribe(self, chat: str, name: str) -> bool:
        return subscribers.subscribe(self.db, self.target, chat, name, self.service)

    def active_count(self) -> int:
        return subscribers.active_count(self.db)

    def stop(self, chat: str) -> bool:
        return subscribers.stop(self.db, self.target, chat)

    def set_paused(self, chat: str, paused: bool) -> bool:
        return subscribers.set_paused(self.db, self.target, chat, paused)

    def watches(self, chat: str) -> list[Watch]:
        return subscribers.watches(self.db, self.target, chat)

    def add_watch(self, chat: str, watch: Watch) -> int:
        return subscribers.add_watch(self.db, self.target, chat, watch)

    def remove_watch(self, chat: str, number: int) -> Watch | None:
        return subscribers.remove_watch(self.db, self.target, chat, number)

    def counts(self) -> dict[str, int]:
        return subscribers.counts(self.db, self.target)

    def run_counts(self) -> tuple[int, dict[str, int]]:
        """Runs in all, and the last day's runs by status."""
        recent = {r["status"]: r["n"] for r in self.db.query(
            "SELECT status, count(*) AS n FROM runs WHERE started >= datetime('now', '-1 day')"
            " GROUP BY status")}  # fmt: skip
        return int(self.db.execute("SELECT count(*) FROM runs").fetchone()[0]), recent

    def outbox_counts(self) -> dict[str, int]:
        return outbox.counts(self.db)

    def last_runs(self) -> list[dict[str, Any]]:
        return list(self.db.query(
            "SELECT r.* FROM runs r JOIN (SELECT source, max(id) AS id FROM runs GROUP BY source)"
            " last ON last.id = r.id ORDER BY r.source"))  # fmt: skip


N = TypeVar("N", bound=Notifier)


def taking_subscribers(config: Config, kind: type[N], given: Sequence[Notifier] = ()) -> list[N]:
    """The configured notifiers of ``kind`` whose bot takes subscribers: the delivering
    instances when ``given`` (so replies share their pacing), else new ones."""
    by_name = {n.name: n for n in given}
    found = []
    for entry in config.notifiers:
        if entry.type == kind.type_name:
            notifier = by_name.get(entry.name) or kind(entry)
            assert isinstance(notifier, kind)
            if getattr(notifier.options, "subscribers", False):
                found.append(notifier)
    return found
