"""The Messenger notifier against a local Graph API stand-in: the messaging window,
marketing-message tokens, and Graph errors turned into retry / failed / gone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fake_graph import PAGE_TOKEN, FakeGraph, Person
from receiver import queue_events

from chat.store import SqliteSubscribers
from notifiers.messenger import MessengerNotifier
from runner.deliver import drain
from settings.config import NotifierConfig
from storage import outbox
from storage.db import connect

NOW = datetime.now(UTC)
RECENT = NOW - timedelta(hours=2)
STALE = NOW - timedelta(days=3)


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraph]:
    monkeypatch.setenv("PAGE_TOKEN", PAGE_TOKEN)
    monkeypatch.setenv("ANA_OPTIN", "notif-token-ana-000111")
    with FakeGraph() as fake:
        yield fake


def messenger(
    graph: FakeGraph, recipients: list[dict[str, Any]], **extra: Any
) -> MessengerNotifier:
    config = NotifierConfig(name="fb", type="messenger", page_token_env="PAGE_TOKEN",
                            base_url=graph.base_url, recipients=recipients, chat_interval=0,
                            **extra)  # fmt: skip
    notifier = MessengerNotifier(config)
    notifier.db = connect(":memory:")  # type: ignore[attr-defined]
    notifier.attach(SqliteSubscribers(notifier.db, notifier.name, "messenger"))
    return notifier


def run(notifier: MessengerNotifier, events: int = 2, now: datetime | None = None) -> Any:
    queue_events(notifier.db, events, {"fb": list(notifier.people)})
    return deliver(notifier, now)


def deliver(notifier: MessengerNotifier, now: datetime | None = None) -> Any:
    async def go() -> Any:
        try:
            return await drain(notifier.db, [notifier], now)
        finally:
            await notifier.close()

    return asyncio.run(go())


def rows(notifier: MessengerNotifier) -> list[dict[str, Any]]:
    return list(notifier.db.query("SELECT * FROM outbox ORDER BY id"))


def test_inside_the_window_offers_go_out_as_updates(graph: FakeGraph) -> None:
    graph.people["111"] = Person(last_interaction=RECENT)
    notifier = messenger(graph, [{"id": "111", "last_interaction": RECENT.isoformat()}])
    report = run(notifier)
    assert report.sent == 2
    psid, body = graph.delivered[0]
    assert psid == "111" and body["messaging_type"] == "UPDATE"
    assert "SFO → NRT" in body["message"]["text"]
    request = graph.receiver.requests[0]
    assert PAGE_TOKEN not in request.path  # the token travels in a header, not the URL


def test_outside_the_window_without_opt_in_nothing_is_sent(graph: FakeGraph) -> None:
    graph.people["222"] = Person(last_interaction=STALE)
    notifier = messenger(graph, [{"id": "222", "last_interaction": STALE.isoformat()}])
    report = run(notifier)
    assert report.dead == 2 and graph.receiver.requests == []
    assert "outside the 24-hour standard messaging window" in rows(notifier)[0]["last_error"]
    assert "promotional" in rows(notifier)[0]["last_error"]


def test_an_opted_in_person_gets_one_digest_per_allowance(graph: FakeGraph) -> None:
    graph.tokens["notif-token-ana-000111"] = "333"
    notifier = messenger(graph, [{"id": "333", "notification_token_env": "ANA_OPTIN"}])
    assert run(notifier, events=3).sent == 3
    assert len(graph.delivered) == 1  # three offers, one marketing message
    body = graph.delivered[0][1]
    assert body["recipient"] == {"notification_messages_token": "notif-token-ana-000111"}
    assert body["message"]["text"].count("SFO → NRT") == 3
    later = run(notifier, events=1)
    assert later.retrying == 1 and len(graph.delivered) == 1  # the 48-hour allowance is used
    wait = datetime.fromisoformat(rows(notifier)[-1]["next_attempt"]) - datetime.now(UTC)
    assert timedelta(hours=47) < wait <= timedelta(hours=48)


def test_graph_saying_outside_the_window_fails_the_delivery(graph: FakeGraph) -> None:
    graph.people["444"] = Person(last_interaction=STALE)  # the config's date is out of date
    notifier = messenger(graph, [{"id": "444", "last_interaction": RECENT.isoformat()}])
    report = run(notifier)
    assert report.dead == 2 and report.retrying == 0
    assert "outside the messaging window" in rows(notifier)[0]["last_error"]
    assert "10/2018278" in rows(notifier)[0]["last_error"]


def test_a_person_no_longer_available_is_gone(graph: FakeGraph) -> None:
    graph.people["555"] = Person(last_interaction=RECENT, available=False)
    notifier = messenger(graph, [{"id": "555", "last_interaction": RECENT.isoformat()}],
                         batch_size=1)  # fmt: skip
    report = run(notifier, events=3)
    assert report.dead == 3
    assert len(graph.receiver.requests) == 1  # gone: the chat's later rows are not tried
    assert "not available" in rows(notifier)[2]["last_error"]


def test_rate_limit_errors_retry_later_and_then_go_through(graph: FakeGraph) -> None:
    graph.people["666"] = Person(last_interaction=RECENT)
    graph.rate_limited = 1
    notifier = messenger(graph, [{"id": "666", "last_interaction": RECENT.isoformat()}])
    first = run(notifier)
    assert first.retrying == 2 and first.sent == 0
    row = rows(notifier)[0]
    assert "613" in row["last_error"] and row["attempts"] == 1
    assert datetime.fromisoformat(row["next_attempt"]) - datetime.now(UTC) > timedelta(seconds=50)
    again = deliver(notifier, datetime.now(UTC) + timedelta(hours=1))
    assert again.sent == 2 and len(graph.delivered) == 1


def test_a_bad_page_token_fails_clearly_without_showing_it(
    graph: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph.people["777"] = Person(last_interaction=RECENT)
    monkeypatch.setenv("PAGE_TOKEN", "EAAG-revoked-token-999")
    notifier = messenger(graph, [{"id": "777", "last_interaction": RECENT.isoformat()}])
    report = run(notifier)
    assert report.dead == 2
    error = rows(notifier)[0]["last_error"]
    assert "page access token is invalid" in error and "190" in error
    assert "EAAG-revoked-token-999" not in error
    assert outbox.counts(notifier.db) == {"dead": 2}


def test_a_long_digest_is_split_below_messengers_limit(graph: FakeGraph) -> None:
    graph.people["888"] = Person(last_interaction=RECENT)
    notifier = messenger(graph, [{"id": "888", "last_interaction": RECENT.isoformat()}])
    assert run(notifier, events=20).sent == 20
    texts = [body["message"]["text"] for _, body in graph.delivered]
    assert len(texts) > 1 and all(len(t) < 2000 for t in texts)
    assert sum(t.count("SFO → NRT") for t in texts) == 20
