"""Messenger as a chat service: signed webhook posts made the way Meta makes them (retries,
bad signatures included) reach the daemon's webhook server; replies and alerts go to a local
Graph Send API stand-in that keeps the 24-hour window. A person subscribes, sets a watch,
gets an alert inside the window, has later alerts held as a digest that arrives when they
next write, taps a quick reply, and stops."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from conftest import ROOT
from fake_graph import PAGE_TOKEN, FakeGraph, Person
from receiver import queue_events

from chat import inbox
from chat.messenger import MessengerChat, messenger_chats, signature
from chat.server import ChatServer
from offers.model import Offer, make_offer
from runner.bot import Bot
from runner.crawl import CrawlResult
from settings.config import Config
from storage import outbox, subscribers

APP_SECRET = "app-secret-0123456789abcdef"
VERIFY = "verify-me-please"
PAGE_ID = "1122334455"
ADA = "7001"


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AW_PAGE_TOKEN", PAGE_TOKEN)
    monkeypatch.setenv("AW_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("AW_VERIFY", VERIFY)
    with FakeGraph() as fake:
        yield fake


def config(graph: FakeGraph, **chat: Any) -> Config:
    return Config.model_validate({"chat": {"listen_port": 0, **chat}, "notifiers": [{
        "name": "page", "type": "messenger", "page_token_env": "AW_PAGE_TOKEN",
        "base_url": graph.base_url, "subscribers": True, "app_secret_env": "AW_APP_SECRET",
        "verify_token_env": "AW_VERIFY", "webhook_path": "/hooks/messenger",
        "chat_interval": 0,
    }]})  # fmt: skip


def offer(**values: Any) -> Offer:
    raw = {"source": "test", "program": "aeroplan", "origin": "BOS", "destination": "LHR",
           "cabin": "business", "miles": 55000, "depart_date": "2030-03-10",
           "url": "https://www.aircanada.com/aeroplan", **values}  # fmt: skip
    return make_offer(raw)


def event_body(psid: str, stamp: int | None = None, **event: Any) -> bytes:
    """A webhook post as Meta sends it: one entry, one messaging event."""
    stamp = stamp or int(time.time() * 1000)
    return json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "time": stamp, "messaging": [
        {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": stamp, **event}
    ]}]}).encode()  # fmt: skip


_mids = iter(range(1, 10**6))


def says(psid: str, text: str, **message: Any) -> bytes:
    return event_body(psid, message=({"mid": f"m_{next(_mids)}", "text": text} | message))


def taps(psid: str, title: str, payload: str) -> bytes:
    return says(psid, title, quick_reply={"payload": payload})


def postback(psid: str, title: str, payload: str) -> bytes:
    return event_body(psid, postback={"mid": f"m_{next(_mids)}", "title": title,
                                      "payload": payload})  # fmt: skip


async def until(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@dataclass
class Page:
    """The daemon's side (bot, webhook server, inbox worker) and Meta's (the Graph stand-in,
    and a client that posts webhook events)."""

    graph: FakeGraph
    bot: Bot
    chat: MessengerChat
    server: ChatServer
    http: httpx.AsyncClient

    @property
    def url(self) -> str:
        return f"{self.server.url}/hooks/messenger"

    async def post(self, body: bytes, secret: str | None = APP_SECRET) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Hub-Signature-256"] = signature(secret, body)
        return await self.http.post(self.url, content=body, headers=headers)

    async def person_writes(self, psid: str, body: bytes, replies: int = 1) -> list[str]:
        """``psid`` writes (Meta opens the window); the texts the Page sent back."""
        self.graph.people.setdefault(psid, Person()).last_interaction = datetime.now(UTC)
        before = len(self.texts(psid))
        answer = await self.post(body)
        assert answer.status_code == 200 and answer.text == "EVENT_RECEIVED"
        await until(lambda: len(self.texts(psid)) >= before + replies)
        await asyncio.sleep(0.2)  # nothing more should come
        return self.texts(psid)[before:]

    def sent(self, psid: str) -> list[dict[str, Any]]:
        return [body for who, body in self.graph.delivered if who == psid]

    def texts(self, psid: str) -> list[str]:
        return [body["message"]["text"] for body in self.sent(psid)]

    async def crawl(self, *offers: Offer) -> Any:
        now = datetime.now(UTC)
        self.bot.record(CrawlResult("test", now, now, offers=list(offers), responses=1,
                                    items=len(offers)))  # fmt: skip
        return await self.bot.deliver()

    def away(self, psid: str, hours: float) -> None:
        """The person's last interaction was ``hours`` ago (on both sides)."""
        then = datetime.now(UTC) - timedelta(hours=hours)
        self.graph.people[psid].last_interaction = then
        self.bot.db.execute("UPDATE subscribers SET last_interaction = ? WHERE chat = ?",
                            [then.isoformat(), psid])  # fmt: skip


@asynccontextmanager
async def page(graph: FakeGraph, db: Any, **chat: Any) -> AsyncIterator[Page]:
    cfg = config(graph, **chat)
    bot = Bot(cfg, db=db)
    [transport] = messenger_chats(cfg, db, bot.notifiers, wake=bot.deliver)
    server = ChatServer(cfg.chat, [transport])
    stop = asyncio.Event()
    await server.start()
    worker = asyncio.create_task(transport.run(stop))
    try:
        async with httpx.AsyncClient(timeout=20) as http:
            yield Page(graph, bot, transport, server, http)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 20)
        await server.stop()
        await bot.close()


def test_verification_answers_the_challenge_only_with_the_token(graph: FakeGraph, db: Any) -> None:
    async def go() -> None:
        async with page(graph, db) as p:
            query = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
            good = await p.http.get(p.url, params={**query, "hub.verify_token": VERIFY})
            bad = await p.http.get(p.url, params={**query, "hub.verify_token": "guess"})
            assert (good.status_code, good.text) == (200, "1158201444")
            assert bad.status_code == 403
            assert graph.profile["get_started"] == {"payload": "GET_STARTED"}
            menu = graph.profile["persistent_menu"][0]["call_to_actions"]
            assert [m["title"] for m in menu] == ["Watch", "My watches", "Pause", "Stop"]

    asyncio.run(go())


def test_a_person_subscribes_watches_and_gets_alerts_held_while_away(
    graph: FakeGraph, db: Any
) -> None:
    async def go() -> None:
        async with page(graph, db) as p:
            [hello] = await p.person_writes(ADA, says(ADA, "hi! what is this?"))
            assert hello.startswith("Hello! I send award fare alerts. Write start to subscribe")
            [welcome] = await p.person_writes(ADA, postback(ADA, "Get started", "GET_STARTED"))
            assert welcome.startswith("Subscribed.")
            [added] = await p.person_writes(
                ADA, says(ADA, "watch from Boston to Europe business max 60000")
            )
            assert added == "Watch 1 added: from Boston to Europe cabin business max 60,000"
            assert p.sent(ADA)[-1]["messaging_type"] == "RESPONSE"

            # inside the window: the alert goes out at once, with quick replies
            report = await p.crawl(
                offer(title="Boston to London"), offer(destination="NRT", title="not Europe")
            )
            assert report.sent == 1
            alert = p.sent(ADA)[-1]
            assert alert["messaging_type"] == "UPDATE" and "Boston to London" in alert[
                "message"]["text"]  # fmt: skip
            titles = [q["title"] for q in alert["message"]["quick_replies"]]
            assert titles == ["More like this", "Pause", "My watches"]

            # a day and more later: alerts wait in the outbox, nothing is sent, no tag used
            p.away(ADA, 30)
            before = len(graph.delivered)
            report = await p.crawl(
                offer(destination="CDG", title="Paris first"),
                offer(destination="FCO", title="Rome second"),
            )
            assert report.sent == 0 and report.dead == 0 and len(graph.delivered) == before
            held = list(db.query("SELECT * FROM outbox WHERE chat = ? AND status = 'pending'",
                                 [ADA]))  # fmt: skip
            assert len(held) == 2 and all(r["last_error"].startswith("held:") for r in held)
            assert all(r["attempts"] == 0 for r in held)

            # they tap "My watches": the window opens, the digest comes, newest first
            texts = await p.person_writes(ADA, taps(ADA, "My watches", "LIST"), replies=2)
            [digest] = [t for t in texts if "while you were away" in t]
            assert digest.index("Rome second") < digest.index("Paris first")
            assert "1. from Boston to Europe cabin business max 60,000" in texts
            assert all(body.get("messaging_type") != "MESSAGE_TAG" for _, body in graph.delivered)
            assert dict(db.execute("SELECT status, count(*) FROM outbox GROUP BY status")
                        .fetchall()) == {"sent": 3}  # fmt: skip

            # "More like this" on an alert adds a watch for its route
            event_id = alert["message"]["quick_replies"][0]["payload"].split(":")[1]
            [more] = await p.person_writes(ADA, taps(ADA, "More like this", f"MORE:{event_id}"))
            assert more == "Watch 2 added: from BOS to LHR cabin business"

            # Stop from the menu: unsubscribed, no more alerts
            [bye] = await p.person_writes(ADA, postback(ADA, "Stop", "STOP"))
            assert bye.startswith("Unsubscribed")
            before = len(graph.delivered)
            await p.crawl(offer(destination="MAD", title="Madrid"))
            assert len(graph.delivered) == before

    asyncio.run(go())


def test_meta_retrying_an_event_gets_it_handled_once(graph: FakeGraph, db: Any) -> None:
    async def go() -> None:
        async with page(graph, db) as p:
            await p.person_writes(ADA, says(ADA, "start"))
            await p.person_writes(ADA, says(ADA, "watch to Japan"))
            forget = says(ADA, "unwatch 1")
            await p.person_writes(ADA, forget)
            again = await p.post(forget)  # Meta did not hear our 200 in time and retries
            assert again.status_code == 200
            await p.person_writes(ADA, says(ADA, "watch to Peru"))
            assert len([t for t in p.texts(ADA) if t.startswith("Forgot watch 1")]) == 1
            assert [w.describe() for w in subscribers.watches(db, "page", ADA)] == ["to Peru"]

    asyncio.run(go())


def test_unsigned_badly_signed_and_oversized_posts_are_refused(
    graph: FakeGraph, db: Any, caplog: Any
) -> None:
    async def go() -> None:
        async with page(graph, db, max_body_bytes=4096) as p:
            body = says(ADA, "start")
            assert (await p.post(body, secret=None)).status_code == 403
            assert (await p.post(body, secret="not-the-app-secret")).status_code == 403
            tampered = body.replace(b"start", b"stop!")
            headers = {"X-Hub-Signature-256": signature(APP_SECRET, body)}
            assert (await p.http.post(p.url, content=tampered, headers=headers)).status_code == 403
            huge = says(ADA, "x" * 5000)
            assert (await p.post(huge)).status_code == 413
            assert (await p.http.post(f"{p.server.url}/elsewhere", content=body)).status_code == 404
            await asyncio.sleep(0.3)
            assert graph.delivered == [] and subscribers.get(db, "page", ADA) is None

    asyncio.run(go())
    assert "missing or wrong signature refused" in caplog.text


def test_events_taken_in_before_a_crash_are_handled_after_it(graph: FakeGraph, db: Any) -> None:
    cfg = config(graph)
    [before_crash] = messenger_chats(cfg, db)
    before_crash.take_in([json.loads(says(ADA, "start"))["entry"][0]["messaging"][0]])
    assert len(inbox.pending(db, "page")) == 1
    graph.people[ADA] = Person(last_interaction=datetime.now(UTC))

    async def go() -> None:
        async with page(graph, db) as p:
            await until(lambda: bool(p.texts(ADA)))
            assert p.texts(ADA)[0].startswith("Subscribed.")

    asyncio.run(go())
    assert inbox.pending(db, "page") == []


def test_an_opted_in_person_away_gets_one_digest_by_token(graph: FakeGraph, db: Any) -> None:
    token = "notif-token-7001-abc"
    graph.tokens[token] = ADA

    async def go() -> None:
        async with page(graph, db) as p:
            await p.person_writes(ADA, says(ADA, "start"))
            await p.person_writes(ADA, says(ADA, "watch to Europe"))
            expiry = int((time.time() + 180 * 86400) * 1000)
            [thanks] = await p.person_writes(ADA, event_body(ADA, optin={
                "type": "notification_messages", "payload": "alerts",
                "notification_messages_token": token, "token_expiry_timestamp": expiry,
                "notification_messages_timezone": "UTC"}))  # fmt: skip
            assert thanks.startswith("Thanks")
            p.away(ADA, 30)
            before = len(graph.delivered)
            await p.crawl(
                offer(destination="CDG", title="Paris"), offer(destination="FCO", title="Rome")
            )
            [(_, body)] = graph.delivered[before:]
            assert body["recipient"] == {"notification_messages_token": token}
            assert "Rome" in body["message"]["text"] and "Paris" in body["message"]["text"]

    asyncio.run(go())


def test_a_refused_token_or_a_closed_window_holds_the_alerts(graph: FakeGraph, db: Any) -> None:
    async def go() -> None:
        async with page(graph, db) as p:
            await p.person_writes(ADA, says(ADA, "start"))
            await p.person_writes(ADA, says(ADA, "watch all"))
            p.away(ADA, 30)
            subscribers.set_token(db, "page", ADA, "a-token-meta-no-longer-takes", None)
            assert (await p.crawl(offer(title="First"))).dead == 0
            assert subscribers.get(db, "page", ADA)["notification_token"] is None
            # the window closed on Meta's side sooner than we knew: held, not dead
            db.execute(
                "UPDATE subscribers SET last_interaction = ?", [datetime.now(UTC).isoformat()]
            )
            graph.people[ADA].last_interaction = datetime.now(UTC) - timedelta(hours=30)
            assert (await p.crawl(offer(title="Second", destination="CDG"))).dead == 0
            texts = await p.person_writes(ADA, says(ADA, "list"), replies=2)
            [digest] = [t for t in texts if "while you were away" in t]
            assert digest.index("Second") < digest.index("First")

    asyncio.run(go())


def test_a_person_gone_from_messenger_is_marked(graph: FakeGraph, db: Any) -> None:
    async def go() -> None:
        async with page(graph, db) as p:
            await p.person_writes(ADA, says(ADA, "start"))
            await p.person_writes(ADA, says(ADA, "watch all"))
            graph.people[ADA].available = False
            report = await p.crawl(offer())
            assert report.dead == 1
            assert subscribers.get(db, "page", ADA)["status"] == subscribers.BLOCKED

    asyncio.run(go())


def test_the_daemon_serves_the_webhook_and_answers(
    graph: FakeGraph, tmp_path: Any, sites: Any, config_for: Any
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    extra = f"""
[chat]
listen_port = {port}

[[notifiers]]
name = "page"
type = "messenger"
page_token_env = "AW_PAGE_TOKEN"
base_url = "{graph.base_url}"
subscribers = true
app_secret_env = "AW_APP_SECRET"
verify_token_env = "AW_VERIFY"
"""
    path = config_for(only=["skydeals"], extra=extra)
    daemon = subprocess.Popen(
        [sys.executable, str(ROOT / "scheduler.py"), "--config", str(path), "daemon"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/messenger"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                check = httpx.get(url, params={"hub.mode": "subscribe", "hub.challenge": "42",
                                               "hub.verify_token": VERIFY})  # fmt: skip
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and daemon.poll() is None, "no webhook server"
                time.sleep(0.3)
        assert (check.status_code, check.text) == (200, "42")
        graph.people[ADA] = Person(last_interaction=datetime.now(UTC))
        body = says(ADA, "start")
        posted = httpx.post(url, content=body,
                            headers={"X-Hub-Signature-256": signature(APP_SECRET, body)})  # fmt: skip
        assert posted.status_code == 200
        while not any(who == ADA for who, _ in graph.delivered):
            assert time.monotonic() < deadline + 30, "no reply"
            time.sleep(0.2)
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, err
    assert "daemon stopped" in err


def test_alerts_held_longer_than_a_week_are_dropped_when_the_person_returns(db: Any) -> None:
    queue_events(db, 2, {"page": [ADA]})
    now = datetime.now(UTC)
    ids = [row["id"] for row in db.query("SELECT id FROM outbox ORDER BY id")]
    outbox.hold(db, ids, "outside the window", now + timedelta(days=7))
    db.execute("UPDATE outbox SET created = ? WHERE id = ?",
               [(now - timedelta(days=8)).isoformat(), ids[0]])  # fmt: skip
    assert outbox.release_held(db, "page", ADA, now, timedelta(days=7)) == 1
    assert [r["status"] for r in db.query("SELECT status FROM outbox ORDER BY id")] == [
        "dead", "pending"]  # fmt: skip
