"""Draining the outbox: each target's due deliveries, chat by chat in event order, chats side
by side within the notifier's limits, each row marked sent only after the service accepted it.

Delivery is at-least-once: a message can repeat only if the process dies between the
service's acceptance and the outbox update. What fails is retried with exponential backoff
(longer when the service asks for it); after ``max_attempts`` tries, or at once when the
service says it can never go through, the row becomes a dead letter and the admin
notifiers get one alert for the dead letters of the pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from notifiers.base import AdminMessage, Delivery, Item, Notifier
from storage import outbox
from storage.offers import Event

log = logging.getLogger("awardwatch.deliver")

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class DeadLetter:
    target: str
    chat: str
    event_ids: tuple[int, ...]
    reason: str


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    alerts: int = 0
    by_target: dict[str, int] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "retrying": self.retrying, "dead": self.dead,
                "alerts": self.alerts}  # fmt: skip


def _events(db: sqlite_utils.Database, rows: Sequence[dict[str, Any]]) -> list[Event]:
    ids = [row["event_id"] for row in rows]
    marks = ",".join("?" for _ in ids)
    found = {r["id"]: r for r in db.query(f"SELECT * FROM events WHERE id IN ({marks})", ids)}
    return [Event.from_row(found[i]) for i in ids]


async def drain(
    db: sqlite_utils.Database,
    notifiers: Sequence[Notifier],
    now: datetime | None = None,
    *,
    max_attempts: int | None = None,
) -> DeliveryReport:
    """Send every due delivery once; what fails waits for its next attempt. ``now`` fixes the
    clock (for tests and replays); ``max_attempts`` overrides every notifier's own."""
    clock: Clock = (lambda: now) if now else (lambda: datetime.now(UTC))
    report = DeliveryReport()
    await asyncio.gather(
        *(_drain_target(db, n, clock, report, max_attempts or n.max_attempts) for n in notifiers)
    )
    if report.dead_letters:
        await alert_admins(notifiers, dead_letter_text(report.dead_letters), report)
    return report


async def _drain_target(
    db: sqlite_utils.Database,
    notifier: Notifier,
    clock: Clock,
    report: DeliveryReport,
    max_attempts: int,
) -> None:
    slots = asyncio.Semaphore(notifier.concurrency)
    chats = []
    for chat, rows in outbox.by_chat(outbox.pending(db, notifier.name)):
        if not outbox.is_due(rows[0], clock()):
            report.retrying += len(rows)  # order within a chat: the oldest waits, all wait
            continue
        chats.append(_drain_chat(db, notifier, chat, rows, clock, report, max_attempts, slots))
    await asyncio.gather(*chats)


async def _drain_chat(
    db: sqlite_utils.Database,
    notifier: Notifier,
    chat: str,
    rows: list[dict[str, Any]],
    clock: Clock,
    report: DeliveryReport,
    max_attempts: int,
    slots: asyncio.Semaphore,
) -> None:
    async with slots:
        while rows:
            batch, rows = rows[: notifier.batch_size], rows[notifier.batch_size :]
            delivery = await _send(notifier, chat, _events(db, batch))
            held = _settle(db, notifier, batch, delivery, clock(), report, max_attempts)
            if delivery.status == "gone":
                _bury(db, notifier, chat, rows, delivery, report)
                return
            if held:
                report.retrying += len(rows)  # behind a row that waits: keep the order
                return


async def _send(notifier: Notifier, chat: str, events: Sequence[Item]) -> Delivery:
    try:
        return await notifier.send(chat, events)
    except Exception as exc:  # a plugin's bug must not stop the other targets
        log.exception("notifier %s raised", notifier.name)
        return Delivery("retry", notifier.mask(f"{type(exc).__name__}: {exc}"))


def _settle(
    db: sqlite_utils.Database,
    notifier: Notifier,
    batch: list[dict[str, Any]],
    delivery: Delivery,
    now: datetime,
    report: DeliveryReport,
    max_attempts: int,
) -> bool:
    """Record how ``batch`` went; True when some of it waits for a retry."""
    done = len(batch) if delivery.ok else min(delivery.done or 0, len(batch))
    accepted, rest = batch[:done], batch[done:]
    if accepted:
        outbox.mark_sent(db, [row["id"] for row in accepted], now)
        report.sent += len(accepted)
        report.by_target[notifier.name] = report.by_target.get(notifier.name, 0) + len(accepted)
    if not rest:
        return False
    detail = notifier.mask(delivery.detail) or delivery.status
    if delivery.status == "held":  # waits for the recipient, not a failure: no attempt used
        until = now + timedelta(seconds=delivery.retry_after or outbox.HOLD_SECONDS)
        outbox.hold(db, [row["id"] for row in rest], detail, until)
        report.retrying += len(rest)
        return True
    attempts = max(row["attempts"] for row in rest) + 1
    if delivery.status in ("failed", "gone") or attempts >= max_attempts:
        _bury(db, notifier, rest[0]["chat"], rest, delivery, report, attempts)
        return False
    wait = outbox.backoff(attempts)
    if delivery.retry_after:
        wait = max(wait, timedelta(seconds=delivery.retry_after))
    outbox.mark_retry(db, [row["id"] for row in rest], detail, now + wait)
    report.retrying += len(rest)
    log.info("notifier %s: will retry %d deliveries to %r in %s: %s",
             notifier.name, len(rest), chat_label(rest[0]["chat"]), wait, detail)  # fmt: skip
    return True


def _bury(
    db: sqlite_utils.Database,
    notifier: Notifier,
    chat: str,
    rows: list[dict[str, Any]],
    delivery: Delivery,
    report: DeliveryReport,
    attempts: int | None = None,
) -> None:
    if not rows:
        return
    detail = notifier.mask(delivery.detail) or delivery.status
    if attempts is not None and delivery.status == "retry":
        detail = f"gave up after {attempts} tries: {detail}"
    outbox.mark_dead(db, [row["id"] for row in rows], detail)
    report.dead += len(rows)
    ids = tuple(row["event_id"] for row in rows)
    report.dead_letters.append(DeadLetter(notifier.name, chat, ids, detail))
    log.warning("notifier %s: %d dead letters for %r: %s",
                notifier.name, len(rows), chat_label(chat), detail)  # fmt: skip


def chat_label(chat: str) -> str:
    return chat or "(default)"


def dead_letter_text(letters: Sequence[DeadLetter]) -> str:
    """One admin alert for the dead letters of one pass."""
    total = sum(len(letter.event_ids) for letter in letters)
    lines = [f"{total} alert(s) could not be delivered and were given up:"]
    for letter in letters:
        events = ", ".join(str(i) for i in letter.event_ids)
        lines.append(
            f"- {letter.target} → {chat_label(letter.chat)}: events {events}: {letter.reason}"
        )
    return "\n".join(lines)


async def alert_admins(
    notifiers: Sequence[Notifier], text: str, report: DeliveryReport | None = None
) -> int:
    """Send ``text`` to every chat of every admin notifier; return how many went through."""
    admins = [n for n in notifiers if n.config.admin]
    if not admins:
        log.warning("no admin notifier configured; admin alert not sent: %s", text)
        return 0
    message = AdminMessage(text)
    sent = 0
    for notifier in admins:
        for chat in notifier.admin_chats():
            delivery = await _send(notifier, chat, [message])
            if delivery.ok:
                sent += 1
            else:
                log.error("admin alert via %s failed: %s", notifier.name, delivery.detail)
    if report is not None:
        report.alerts += sent
    return sent
