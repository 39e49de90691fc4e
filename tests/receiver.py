"""A local HTTP endpoint for notifier tests: it records every request it gets (arrival time,
path, headers, body) and can be told to fail the next ones, like a real service having a bad
minute. Also: a helper that fills an outbox with events, the way a crawl would."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlite_utils

from offers.model import make_offer
from settings.config import DedupeSettings
from storage import outbox
from storage.db import insert, transaction
from storage.events import observe


@dataclass
class Request:
    at: float  # time.monotonic() when the body had been read
    wall: float  # time.time() just before the answer went out
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Responder = Callable[[Request], Answer | None]


class Receiver:
    """Runs on 127.0.0.1 at a free port in a background thread."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.failures: list[Answer] = []
        self.responder: Responder | None = None
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def fail_next(self, count: int, status: int = 500, body: Any = None, **headers: str) -> None:
        """Answer the next ``count`` requests with ``status`` instead of accepting them."""
        with self._lock:
            self.failures += [Answer(status, body or {"error": "down"}, headers)] * count

    def accepted(self) -> list[Request]:
        return [r for r in self.requests if 200 <= r.status < 300]

    def _answer(self, request: Request) -> Answer:
        with self._lock:
            if self.failures:
                return self.failures.pop(0)
        if self.responder:
            answer = self.responder(request)
            if answer is not None:
                return answer
        return Answer()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = Request(time.monotonic(), 0.0, "POST", self.path, headers, body, 0)
                answer = receiver._answer(request)
                if answer.delay:
                    time.sleep(answer.delay)
                request.status = answer.status
                payload = json.dumps(answer.body).encode()
                request.wall = time.time()
                with receiver._lock:
                    receiver.requests.append(request)
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def queue_events(
    db: sqlite_utils.Database,
    count: int,
    chats: dict[str, list[str]],
    now: datetime | None = None,
) -> list[int]:
    """Record ``count`` new-offer events in one run and queue each for every
    ``{target: [chat, ...]}``; return the event ids in order."""
    now = now or datetime.now(UTC)
    ids: list[int] = []
    start = db.execute("SELECT count(*) FROM events").fetchone()[0]
    with transaction(db):
        run_id = insert(db, "runs", {"source": "test", "started": now.isoformat(),
                                     "status": "ok"})  # fmt: skip
        for number in range(start, start + count):
            offer = make_offer({
                "source": "test", "program": "united", "origin": "SFO", "destination": "NRT",
                "cabin": "business", "miles": 30_000 + number,
                "depart_date": (date(2030, 1, 1) + timedelta(days=number)).isoformat(),
                "url": f"https://example.com/offer/{number}",
            })  # fmt: skip
            event = observe(db, offer, rules=[], run_id=run_id, now=now, settings=DedupeSettings())
            assert event is not None
            ids.append(event.id)
            for target, target_chats in chats.items():
                for chat in target_chats:
                    outbox.enqueue(db, event.id, target, chat, now)
    return ids
