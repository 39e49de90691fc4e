"""Draining the outbox: each target's due deliveries, chat by chat in event order, chats side
by side within the notifier's limits. A drain first claims a chat's rows (so two drains never
send one row), and marks each event sent as soon as the service answered the message that
carried it.

Delivery is at-least-once: a message can repeat only if the process dies between the
service's answer and the outbox update, or the service applied a message but its answer was
lost (a timeout). What fails is retried with exponential backoff (longer when the service
asks for it); after ``max_attempts`` tries, or at once when the service says it can never go
through, the row becomes a dead letter and the admin notifiers get one alert for the dead
letters of the pass. "Slow down" (429) is no failure: only that chat waits, exactly as long
as the service asked, and no try is counted. A service that refuses the bot itself (a wrong
token) stops that notifier for the pass: its rows wait, and the admins are told.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from notifiers.base import AdminMessage, Delivery, Item, Notifier, Sending, sending
from offers.model import Event
from storage import outbox

log = logging.getLogger("runner.deliver")

#: Longest "retry after" waited for within a pass (longer: the chat goes on next pass), and
#: how many such waits one chat takes in a pass.
WAIT_IN_PASS = 60.0
MAX_WAITS_IN_PASS = 5

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
    #: Notifiers the service refused outright (wrong token or address), with the reason.
    rejected: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "retrying": self.retrying, "dead": self.dead,
                "alerts": self.alerts, "rejected": self.rejected}  # fmt: skip


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
    owner = outbox.new_owner()
    try:
        await asyncio.gather(*(
            _drain_target(db, n, clock, report, max_attempts or n.max_attempts, owner)
            for n in notifiers
        ))  # fmt: skip
    finally:
        outbox.release(db, owner)
    if report.rejected:
        await alert_admins(notifiers, rejected_text(report.rejected), report)
    if report.dead_letters:
        await alert_admins(notifiers, dead_letter_text(report.dead_letters), report)
    return report


async def _drain_target(
    db: sqlite_utils.Database,
    notifier: Notifier,
    clock: Clock,
    report: DeliveryReport,
    max_attempts: int,
    owner: str,
) -> None:
    slots = asyncio.Semaphore(notifier.in_flight())
    chats = []
    for chat, rows in outbox.by_chat(outbox.pending(db, notifier.name)):
        if not outbox.is_due(rows[0], clock()):
            report.retrying += len(rows)  # order within a chat: the oldest waits, all wait
            continue
        job = _Chat(db, notifier, chat, clock, report, max_attempts, owner)
        chats.append(job.drain(slots))
    await asyncio.gather(*chats)


class _Chat:
    """One chat's share of a drain: claim its rows, send them in order batch by batch, mark
    each event sent the moment the service accepted it."""

    def __init__(self, db: sqlite_utils.Database, notifier: Notifier, chat: str, clock: Clock,
                 report: DeliveryReport, max_attempts: int, owner: str) -> None:  # fmt: skip
        self.db, self.notifier, self.chat, self.clock = db, notifier, chat, clock
        self.report, self.max_attempts, self.owner = report, max_attempts, owner

    async def drain(self, slots: asyncio.Semaphore) -> None:
        async with slots:
            if self.notifier.name in self.report.rejected:
                return
            rows = outbox.claim(self.db, self.notifier.name, self.chat, self.owner)
            if rows and not outbox.is_due(rows[0], self.clock()):
                self.report.retrying += len(rows)
                return
            waits = 0
            while rows:
                batch, rows = rows[: self.notifier.batch_size], rows[self.notifier.batch_size :]
                delivery, marked = await self._send(batch)
                rest = batch[marked:]
                if delivery.ok or not rest:
                    continue
                if self._wait_in_pass(delivery, waits):
                    waits += 1
                    rows = rest + rows  # the chat alone waits; its order is kept
                    continue
                self._settle(rest, delivery, rows)
                return

    async def _send(self, batch: list[dict[str, Any]]) -> tuple[Delivery, int]:
        """Send ``batch``; return how it went and how many leading rows are marked sent."""
        marked = 0

        def accepted(count: int) -> None:
            nonlocal marked
            count = min(count, len(batch))
            if count > marked:
                self._mark_sent(batch[marked:count])
                marked = count

        token = sending.set(Sending(tuple(row["id"] for row in batch), accepted))
        try:
            delivery = await _send(self.notifier, self.chat, _events(self.db, batch))
        finally:
            sending.reset(token)
        accepted(len(batch) if delivery.ok else delivery.done or 0)
        return delivery, marked

    def _mark_sent(self, rows: list[dict[str, Any]]) -> None:
        outbox.mark_sent(self.db, [row["id"] for row in rows], self.clock())
        name = self.notifier.name
        self.report.sent += len(rows)
        self.report.by_target[name] = self.report.by_target.get(name, 0) + len(rows)

    def _wait_in_pass(self, delivery: Delivery, waits: int) -> bool:
        """A 429 holds this chat for exactly ``retry_after``; a short wait is taken within the
        pass (the chat's other messages queue behind it), a long one ends it for this pass."""
        if not delivery.rate_limited:
            return False
        seconds = delivery.retry_after if delivery.retry_after is not None else 1.0
        self.notifier.hold(self.chat, seconds)
        log.info("notifier %s: %r asked to wait %g s", self.notifier.name,
                 chat_label(self.chat), seconds)  # fmt: skip
        return seconds <= WAIT_IN_PASS and waits < MAX_WAITS_IN_PASS

    def _settle(
        self, rest: list[dict[str, Any]], delivery: Delivery, behind: list[dict[str, Any]]
    ) -> None:
        """Record a send that stopped before ``rest``; ``behind`` are the chat's later rows."""
        notifier, report, now = self.notifier, self.report, self.clock()
        detail = notifier.mask(delivery.detail) or delivery.status
        if delivery.status == "rejected":  # the bot, not the message: no try counted
            report.rejected.setdefault(notifier.name, detail)
            outbox.mark_retry(self.db, [row["id"] for row in rest], detail, now, count=False)
            report.retrying += len(rest) + len(behind)
            return
        if delivery.status == "gone":
            _bury(self.db, notifier, self.chat, rest + behind, delivery, report)
            return
        if delivery.status == "held":  # waits for the recipient, not a failure: no attempt used
            until = now + timedelta(seconds=delivery.retry_after or outbox.HOLD_SECONDS)
            outbox.hold(self.db, [row["id"] for row in rest], detail, until)
            report.retrying += len(rest) + len(behind)
            return
        attempts = max(row["attempts"] for row in rest) + 1
        if delivery.status == "failed" or (not delivery.rate_limited
                                           and attempts >= self.max_attempts):  # fmt: skip
            _bury(self.db, notifier, self.chat, rest, delivery, report, attempts)
            report.retrying += len(behind)  # they go next pass, in order
            return
        if delivery.rate_limited:
            wait = timedelta(seconds=delivery.retry_after or 1.0)
        else:
            wait = outbox.backoff(attempts)
            if delivery.retry_after:
                wait = max(wait, timedelta(seconds=delivery.retry_after))
        outbox.mark_retry(self.db, [row["id"] for row in rest], detail, now + wait,
                          count=not delivery.rate_limited)  # fmt: skip
        report.retrying += len(rest) + len(behind)  # behind a row that waits: keep the order
        log.info("notifier %s: will retry %d deliveries to %r in %s: %s",
                 notifier.name, len(rest), chat_label(self.chat), wait, detail)  # fmt: skip


async def _send(notifier: Notifier, chat: str, events: Sequence[Item]) -> Delivery:
    try:
        return await notifier.send(chat, events)
    except Exception as exc:  # a plugin's bug must not stop the other targets
        log.exception("notifier %s raised", notifier.name)
        return Delivery("retry", notifier.mask(f"{type(exc).__name__}: {exc}"))


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


def rejected_text(rejected: dict[str, str]) -> str:
    """One admin alert for the notifiers whose service refused the bot itself."""
    lines = ["alerts wait in the outbox: fix these notifiers' config and run again:"]
    lines += [f"- {name}: {reason}" for name, reason in sorted(rejected.items())]
    return "\n".join(lines)


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
