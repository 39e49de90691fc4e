"""The webhook notifier: a signed JSON POST that the receiving server verifies, and HTTP
answers turned into sent / retry / failed / gone."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from receiver import Receiver, queue_events, receiver

from notifiers.webhook import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookNotifier,
    sign,
    verify,
)
from runner.deliver import drain
from settings.config import NotifierConfig
from storage.db import connect

SECRET = "whsec-test-0123456789"


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    with receiver() as running:
        yield running


def webhook(endpoint: Receiver, **extra: Any) -> WebhookNotifier:
    notifier = WebhookNotifier(NotifierConfig(
        name="hook", type="webhook", url=f"{endpoint.url}/alerts", secret_env="HOOK_SECRET",
        **extra))  # fmt: skip
    notifier.db = connect(":memory:")  # type: ignore[attr-defined]
    return notifier


def deliver(notifier: WebhookNotifier, events: int = 0, now: datetime | None = None) -> Any:
    if events:
        queue_events(notifier.db, events, {"hook": [""]})  # type: ignore[attr-defined]

    async def go() -> Any:
        try:
            return await drain(notifier.db, [notifier], now)  # type: ignore[attr-defined]
        finally:
            await notifier.close()

    return asyncio.run(go())


def test_the_receiver_verifies_the_signature_over_the_raw_body(endpoint: Receiver) -> None:
    notifier = webhook(endpoint)
    assert deliver(notifier, events=3).sent == 3
    request = endpoint.requests[0]
    signature = request.headers[SIGNATURE_HEADER.lower()]
    timestamp = request.headers[TIMESTAMP_HEADER.lower()]
    assert signature.startswith("sha256=")
    assert verify(request.body, SECRET, signature, timestamp)
    assert not verify(request.body + b" ", SECRET, signature, timestamp)
    assert not verify(request.body, "another-secret", signature, timestamp)
    document = request.json()
    assert [e["kind"] for e in document["events"]] == ["new", "new", "new"]
    assert document["events"][0]["offer"]["origin"] == "SFO"
    assert document["events"][0]["offer"]["miles"] == 30_000
    assert "SFO → NRT" in document["events"][0]["text"]


def test_the_signature_covers_the_timestamp(endpoint: Receiver) -> None:
    assert deliver(webhook(endpoint), events=1).sent == 1
    request = endpoint.requests[0]
    signature = request.headers[SIGNATURE_HEADER.lower()]
    timestamp = int(request.headers[TIMESTAMP_HEADER.lower()])
    # the same body under another timestamp does not verify: the time cannot be swapped
    assert not verify(request.body, SECRET, signature, str(timestamp + 1), now=timestamp)
    assert signature == sign(request.body, SECRET, str(timestamp))


def test_a_replay_after_five_minutes_is_refused(endpoint: Receiver) -> None:
    assert deliver(webhook(endpoint), events=1).sent == 1
    request = endpoint.requests[0]
    signature = request.headers[SIGNATURE_HEADER.lower()]
    stamp = request.headers[TIMESTAMP_HEADER.lower()]
    sent = int(stamp)
    assert verify(request.body, SECRET, signature, stamp, now=sent + 299)
    assert not verify(request.body, SECRET, signature, stamp, now=sent + 301)
    assert not verify(request.body, SECRET, signature, stamp, now=sent - 301)
    assert not verify(request.body, SECRET, signature, "not a time", now=sent)


def test_without_a_secret_there_is_no_signature(endpoint: Receiver) -> None:
    notifier = WebhookNotifier(NotifierConfig(name="hook", type="webhook", url=endpoint.url))
    notifier.db = connect(":memory:")  # type: ignore[attr-defined]
    assert deliver(notifier, events=1).sent == 1
    assert SIGNATURE_HEADER.lower() not in endpoint.requests[0].headers


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(500, "retrying"), (503, "retrying"), (400, "dead"), (404, "dead"), (410, "dead")],
)  # fmt: skip
def test_http_answers_decide_retry_or_dead(endpoint: Receiver, status: int, outcome: str) -> None:
    endpoint.fail_next(1, status)
    report = deliver(webhook(endpoint), events=2)
    assert getattr(report, outcome) == 2 and report.sent == 0


def test_a_429_waits_in_the_pass_and_is_no_failed_try(endpoint: Receiver) -> None:
    endpoint.fail_next(1, 429, Retry_After="1")
    notifier = webhook(endpoint)
    report = deliver(notifier, events=2)
    assert report.sent == 2 and report.retrying == 0
    rows = list(notifier.db.query("SELECT attempts FROM outbox"))  # type: ignore[attr-defined]
    assert [row["attempts"] for row in rows] == [1, 1]


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_webhook_keeps_the_alerts(endpoint: Receiver, status: int) -> None:
    endpoint.fail_next(1, status)
    report = deliver(webhook(endpoint), events=2)
    assert "hook" in report.rejected and report.retrying == 2 and report.dead == 0


def test_each_delivery_carries_its_outbox_id(endpoint: Receiver) -> None:
    notifier = webhook(endpoint)
    deliver(notifier, events=3)
    ids = [row["id"] for row in notifier.db.query("SELECT id FROM outbox ORDER BY id")]  # type: ignore[attr-defined]
    [request] = endpoint.requests
    assert request.headers[DELIVERY_HEADER.lower()] == ",".join(str(i) for i in ids)
    assert [e["delivery"] for e in request.json()["events"]] == ids


def test_retry_after_is_honoured(endpoint: Receiver) -> None:
    endpoint.fail_next(1, 429, Retry_After="7200")
    notifier = webhook(endpoint)
    deliver(notifier, events=1)
    row = next(iter(notifier.db.query("SELECT * FROM outbox")))  # type: ignore[attr-defined]
    wait = datetime.fromisoformat(row["next_attempt"]) - datetime.now(UTC)
    assert timedelta(hours=1, minutes=59) < wait <= timedelta(hours=2)


def test_an_unreachable_endpoint_is_retried(endpoint: Receiver) -> None:
    notifier = WebhookNotifier(NotifierConfig(name="hook", type="webhook",
                                              url="http://127.0.0.1:9/closed"))  # fmt: skip
    notifier.db = connect(":memory:")  # type: ignore[attr-defined]
    report = deliver(notifier, events=1)
    assert report.retrying == 1


def test_the_readme_receiver_checks_signature_and_age(
    endpoint: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The receiver the README shows, run on a real delivery."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    [code] = [c for c in re.findall(r"```python\n(.*?)```", readme, re.S) if "check_webhook" in c]
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    check = namespace["check_webhook"]
    assert deliver(webhook(endpoint), events=1).sent == 1
    request = endpoint.requests[0]
    headers = {name: request.headers[name.lower()] for name in (SIGNATURE_HEADER, TIMESTAMP_HEADER)}
    assert check(request.body, headers, SECRET)
    assert not check(request.body + b"x", headers, SECRET)
    assert not check(request.body, {**headers, TIMESTAMP_HEADER: "1"}, SECRET)
    sent = int(headers[TIMESTAMP_HEADER])
    monkeypatch.setattr(time, "time", lambda: sent + 301.0)
    assert not check(request.body, headers, SECRET)
