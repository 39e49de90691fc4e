"""The subscriber store the chat bots work on: one notifier's subscribers, keyed by
(service, chat id), kept in SQLite by ``storage.subscribers``. Commands see only this
interface, so they stay the same on every chat service; the notifier sees the same store as
its ``notifiers.base.Audience``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import sqlite_utils

from notifiers.base import Notifier
from offers.model import Offer
from settings.config import Config
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

    # -- what the transports and the notifier (as its Audience) need ------------------------

    def touch(self, chat: str, when: datetime) -> bool:
        """Record that the person wrote at ``when`` (Messenger's 24-hour window)."""
        return subscribers.touch(self.db, self.target, chat, when)

    def set_token(self, chat: str, token: str | None, expires: datetime | None) -> bool:
        return subscribers.set_token(self.db, self.target, chat, token, expires)

    def drop_token(self, chat: str) -> None:
        subscribers.set_token(self.db, self.target, chat, None, None)

    def block(self, chat: str) -> bool:
        return subscribers.set_status(self.db, self.target, chat, subscribers.BLOCKED)

    def release_held(self, chat: str, now: datetime, max_age: timedelta) -> int:
        """Let the alerts held for ``chat`` go out (dropping those older than ``max_age``)."""
        return outbox.release_held(self.db, self.target, chat, now, max_age)

    def matching(self, offer: Offer) -> list[str]:
        return subscribers.matching(self.db, self.target, offer)

    def subscribed(self, chat: str) -> bool:
        return self.get(chat) is not None

    def inactive(self, chat: str) -> str | None:
        found = self.get(chat)
        return found["status"] if found and found["status"] != subscribers.ACTIVE else None

    def last_interaction(self, chat: str) -> datetime | None:
        found = self.get(chat)
        return _when(found["last_interaction"]) if found else None

    def token(self, chat: str, now: datetime) -> str | None:
        found = self.get(chat)
        if found is None or not found["notification_token"]:
            return None
        expires = _when(found["token_expires"])
        return found["notification_token"] if expires is None or expires > now else None

    def held(self, chat: str) -> bool:
        return bool(outbox.held(self.db, self.target, chat))

    def last_sent(self, chat: str) -> datetime | None:
        return outbox.last_sent(self.db, self.target, chat)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


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
