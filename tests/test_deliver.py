"""The delivery loop: per-chat order, retries with backoff, dead letters with one admin alert,
partial sends, and rate limits as seen by the receiving server."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from receiver import Answer, Receiver, queue_events, receiver

from notifiers.apprise import AppriseNotifier
from notifiers.base import Delivery, Item, Notifier, accepted
from notifiers.webhook import WebhookNotifier
from runner.deliver import DeliveryReport, drain
from settings.config import NotifierConfig
from storage import outbox
from storage.db import connect

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def hook(endpoint: Receiver, name: str = "hook", **extra: Any) -> WebhookNotifier:
    return WebhookNotifier(NotifierConfig(name=name, type="webhook", url=endpoint.url, **extra))


def run(db: Any, notifiers: Sequence[Notifier], now: datetime | None = None, **kw: Any) -> Any:
    async def go() -> DeliveryReport:
        try:
            return await drain(db, notifiers, now, **kw)
        finally:
            for notifier in notifiers:
                await notifier.close()

    return asyncio.run(go())


def received(endpoint: Receiver) -> list[tuple[str, int]]:
    """(chat, event id) in arrival order, of what the endpoint accepted."""
    return [(r.json()["chat"] or "", e["id"]) for r in endpoint.accepted()
            for e in r.json()["events"]]  # fmt: skip


def test_each_chat_gets_its_events_in_order_and_a_waiting_chat_holds_back() -> None:
    db = connect(":memory:")
    with receiver() as endpoint:
        ids = queue_events(db, 4, {"hook": ["a", "b"]}, now=T0)
        # chat a's oldest delivery failed before and waits an hour: a's later ones wait too
        head = next(iter(db.query("SELECT id FROM outbox WHERE chat = 'a' ORDER BY event_id")))
        outbox.mark_retry(db, [head["id"]], "earlier failure", T0 + timedelta(hours=1))
        first = run(db, [hook(endpoint, batch_size=1)], T0)
        assert first.sent == 4 and first.retrying == 4
        assert received(endpoint) == [("b", i) for i in ids]
        later = run(db, [hook(endpoint, batch_size=1)], T0 + timedelta(hours=2))
        assert later.sent == 4
        assert [i for chat, i in received(endpoint) if chat == "a"] == ids


def test_a_failure_mid_chat_stops_the_chat_until_its_retry() -> None:
    db = connect(":memory:")
    with receiver() as endpoint:
        ids = queue_events(db, 3, {"hook": ["a"]}, now=T0)
        calls = {"n": 0}

        def second_fails(request: Any) -> Answer | None:
            calls["n"] += 1
            return Answer(503) if calls["n"] == 2 else None

        endpoint.responder = second_fails
        report = run(db, [hook(endpoint, batch_size=1)], T0)
        assert (report.sent, report.retrying) == (1, 2)
        assert run(db, [hook(endpoint, batch_size=1)], T0 + timedelta(seconds=10)).sent == 0
        assert run(db, [hook(endpoint, batch_size=1)], T0 + timedelta(minutes=5)).sent == 2
        assert [i for _, i in received(endpoint)] == ids


def test_backoff_doubles_and_a_dead_letter_alerts_the_admin_once() -> None:
    db = connect(":memory:")
    with receiver() as endpoint, receiver() as admin_endpoint:
        endpoint.responder = lambda request: Answer(500, {"error": "down"})
        ids = queue_events(db, 2, {"hook": [""]}, now=T0)
        notifiers: list[Notifier] = [
            hook(endpoint, max_attempts=4),
            hook(admin_endpoint, "ops", admin=True),
        ]
        moment, waits, reports = T0, [], []
        for _ in range(6):
            reports.append(run(db, notifiers, moment))
            row = next(iter(db.query("SELECT * FROM outbox ORDER BY id")))
            waits.append(datetime.fromisoformat(row["next_attempt"]) - moment)
            moment += timedelta(hours=2)
        assert waits[:3] == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
        assert [r.dead for r in reports] == [0, 0, 0, 2, 0, 0]
        assert len(endpoint.requests) == 4  # four tries, then no more
        assert sum(r.alerts for r in reports) == 1
        (alert,) = admin_endpoint.requests
        text = alert.json()["admin"][0]["text"]
        assert "2 alert(s) could not be delivered" in text
        assert f"events {ids[0]}, {ids[1]}" in text and "gave up after 4 tries" in text
        assert outbox.counts(db) == {"dead": 2}


def test_a_refused_message_is_dead_at_once() -> None:
    db = connect(":memory:")
    with receiver() as endpoint, receiver() as admin_endpoint:
        endpoint.fail_next(1, 400, {"error": "bad payload"})
        queue_events(db, 1, {"hook": [""]}, now=T0)
        report = run(db, [hook(endpoint), hook(admin_endpoint, "ops", admin=True)], T0)
        assert (report.dead, report.alerts) == (1, 1)
        assert "HTTP 400" in admin_endpoint.requests[0].json()["admin"][0]["text"]


def test_a_partly_sent_digest_marks_only_what_the_service_accepted() -> None:
    db = connect(":memory:")
    with receiver() as endpoint:
        endpoint.responder = lambda request: Answer(500) if len(endpoint.accepted()) >= 1 else None
        target = AppriseNotifier(NotifierConfig(
            name="chat", type="apprise", urls=[f"json://127.0.0.1:{endpoint.port}/x"],
            max_length=250, chat_interval=0))  # fmt: skip
        queue_events(db, 4, {"chat": list(target.services)}, now=T0)
        report = run(db, [target], T0)
        first_message = endpoint.accepted()[0].json()["message"]
        in_first = first_message.count("SFO → NRT")
        assert 1 <= in_first < 4
        assert (report.sent, report.retrying) == (in_first, 4 - in_first)


class Exploding(Notifier):
    type_name = "exploding"

    async def send(self, chat: str, events: Sequence[Item]) -> Delivery:
        raise RuntimeError("plugin bug")


def test_a_plugin_that_raises_is_retried_and_does_not_stop_the_others() -> None:
    db = connect(":memory:")
    with receiver() as endpoint:
        queue_events(db, 1, {"hook": [""], "boom": [""]}, now=T0)
        boom = Exploding(NotifierConfig(name="boom", type="exploding"))
        report = run(db, [boom, hook(endpoint)], T0)
        assert (report.sent, report.retrying) == (1, 1)
        (row,) = db.query("SELECT * FROM outbox WHERE target = 'boom'")
        assert "RuntimeError: plugin bug" in row["last_error"]


def most_in_any_window(stamps: list[float], width: float) -> int:
    stamps = sorted(stamps)
    return max(sum(1 for t in stamps[i:] if t < start + width) for i, start in enumerate(stamps))


def test_rate_limits_hold_at_the_receiver() -> None:
    db = connect(":memory:")
    with receiver() as endpoint:
        queue_events(db, 5, {"hook": ["a", "b", "c"], "group": ["g"]}, now=T0)
        paced = hook(endpoint, batch_size=1, rate_per_second=10, chat_interval=0.3)
        grouped = hook(endpoint, "group", batch_size=1, group_rate=2, group_period=1.0,
                       group_chats=["g"])  # fmt: skip
        report = run(db, [paced, grouped], T0)
        assert report.sent == 20
    by_chat: dict[str, list[float]] = {}
    for request in endpoint.requests:
        by_chat.setdefault(request.json()["chat"], []).append(request.at)
    overall = sorted(t for chat in "abc" for t in by_chat[chat])
    # at most 10 a second overall, one per 0.3 s per chat, two a second to the group; one
    # extra message of slack in each window absorbs the jitter of a busy machine
    assert most_in_any_window(overall, 1.0) <= 11
    assert (len(overall) - 1) / (overall[-1] - overall[0]) <= 10 * 1.25
    for chat in "abc":
        assert most_in_any_window(by_chat[chat], 0.3) <= 2
        assert by_chat[chat][-1] - by_chat[chat][0] >= 4 * 0.3 * 0.8
    assert most_in_any_window(by_chat["g"], 1.0) <= 3
    assert by_chat["g"][-1] - by_chat["g"][0] >= 2 * 0.8


def test_chats_are_served_side_by_side() -> None:
    db = connect(":memory:")
    with receiver() as endpoint:
        queue_events(db, 3, {"hook": ["a", "b", "c", "d"]}, now=T0)
        endpoint.responder = lambda request: Answer(delay=0.3)
        report = run(db, [hook(endpoint, batch_size=1, concurrency=4)], T0)
        assert report.sent == 12
        arrivals = sorted(r.at for r in endpoint.requests)
    # twelve 0.3 s answers one after another would take 3.6 s; four chats at once, about 1 s
    assert arrivals[-1] - arrivals[0] < 3.0


def test_a_429_holds_only_its_chat_for_exactly_the_time_asked() -> None:
    db = connect(":memory:")
    refused: list[float] = []

    def flood_once(request: Any) -> Answer | None:
        if request.json()["chat"] == "a" and not refused:
            refused.append(request.at)
            return Answer(429, {"ok": False}, {"Retry-After": "2"})
        return None

    with receiver() as endpoint:
        queue_events(db, 3, {"hook": ["a", "b"]}, now=T0)
        endpoint.responder = flood_once
        report = run(db, [hook(endpoint, batch_size=1, max_attempts=1)], T0)
        arrivals = {chat: [r.at for r in endpoint.accepted() if r.json()["chat"] == chat]
                    for chat in "ab"}  # fmt: skip
    assert report.sent == 6 and report.dead == 0  # a 429 is no failed try, even the last
    assert arrivals["a"][0] - refused[0] >= 2.0  # the chat waited what the service asked
    assert arrivals["b"][-1] < arrivals["a"][0]  # the other chat did not wait for it


def test_each_event_is_marked_sent_when_its_message_is_answered() -> None:
    db = connect(":memory:")
    marked: list[int] = []

    class Recording(WebhookNotifier):
        async def send(self, chat: str, events: Sequence[Item]) -> Delivery:
            # three messages in one send: each answered one is recorded before the next goes
            for count in range(1, len(events) + 1):
                marked.append(outbox.counts(db).get("sent", 0))
                accepted(count)
            return Delivery("sent")

    queue_events(db, 3, {"hook": ["a"]}, now=T0)
    notifier = Recording(NotifierConfig(name="hook", type="webhook", url="http://127.0.0.1:9"))
    assert run(db, [notifier], T0).sent == 3
    assert marked == [0, 1, 2]
