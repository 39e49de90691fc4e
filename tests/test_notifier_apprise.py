"""The Apprise notifier, through Apprise itself, to a local ``json://`` endpoint: each URL is
its own chat, failures retry alone, and URLs (which hold tokens) never show in errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from receiver import Receiver, queue_events, receiver

from notifiers.apprise import AppriseNotifier, chat_key
from offers.errors import ConfigError
from runner.deliver import drain
from settings.config import NotifierConfig
from storage.db import connect

TOKEN = "xoxb-secret-token-42"


@pytest.fixture
def endpoints() -> Iterator[tuple[Receiver, Receiver]]:
    with receiver() as first, receiver() as second:
        yield first, second


def url(endpoint: Receiver, path: str = TOKEN) -> str:
    return f"json://127.0.0.1:{endpoint.port}/{path}"


def notifier(**options: Any) -> AppriseNotifier:
    made = AppriseNotifier(NotifierConfig(name="apprise", type="apprise", chat_interval=0,
                                          **options))  # fmt: skip
    made.db = connect(":memory:")  # type: ignore[attr-defined]
    return made


def deliver(target: AppriseNotifier, events: int) -> Any:
    db = target.db  # type: ignore[attr-defined]
    queue_events(db, events, {"apprise": list(target.services)})
    return asyncio.run(drain(db, [target]))


def test_offers_reach_every_url_through_apprise(endpoints: tuple[Receiver, Receiver]) -> None:
    first, second = endpoints
    target = notifier(urls=[url(first), url(second, "other")], title="Award alert")
    report = deliver(target, events=2)
    assert report.sent == 4
    for endpoint in endpoints:
        (request,) = endpoint.requests
        document = request.json()
        assert document["title"] == "Award alert"
        assert document["message"].count("SFO → NRT") == 2


def test_urls_from_the_environment(
    endpoints: tuple[Receiver, Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = endpoints
    monkeypatch.setenv("APPRISE_URLS", f"{url(first)}, {url(second, 'abc')}")
    target = notifier(urls_env="APPRISE_URLS")
    assert set(target.services) == {chat_key(url(first)), chat_key(url(second, "abc"))}
    assert deliver(target, events=1).sent == 2


def test_one_failing_service_retries_alone_and_its_url_is_masked(
    endpoints: tuple[Receiver, Receiver],
) -> None:
    first, second = endpoints
    second.fail_next(1, 500)
    target = notifier(urls=[url(first), url(second)])
    report = deliver(target, events=1)
    assert report.sent == 1 and report.retrying == 1
    db = target.db  # type: ignore[attr-defined]
    (failed,) = db.query("SELECT * FROM outbox WHERE status = 'pending'")
    assert failed["chat"] == chat_key(url(second))
    assert "500" in failed["last_error"] and TOKEN not in failed["last_error"]
    assert TOKEN not in failed["chat"]
    assert len(first.requests) == 1  # the service that took it is not sent it again


def test_a_long_digest_is_split_for_the_service(endpoints: tuple[Receiver, Receiver]) -> None:
    first, _ = endpoints
    target = notifier(urls=[url(first)], max_length=400)
    assert deliver(target, events=6).sent == 6
    messages = [r.json()["message"] for r in first.requests]
    assert len(messages) > 1 and all(len(m) <= 400 for m in messages)
    assert messages[0].startswith("6 award offers")


def test_config_needs_a_usable_url() -> None:
    with pytest.raises(ConfigError, match="urls"):
        notifier()
    with pytest.raises(ConfigError, match="not an Apprise URL"):
        notifier(urls=["nosuchservice://abc"])
