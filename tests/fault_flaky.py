"""Flaky versions of the local stand-ins (webhook receiver, Telegram Bot API, Google Sheets):
a seeded share of calls gets 429, a 5xx, a stall past the client's timeout, or a connection
reset, as a real service on a bad day. A refused, stalled or reset call is never applied; a
Sheets append can also be applied and then lose its answer, which the sink must detect."""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler
from typing import Any

from fake_sheets import ApiError, FakeSheets
from fake_telegram import Failure, FakeTelegram
from receiver import Receiver, Request

FAULTS = ("429", "5xx", "timeout", "reset")


class Chaos:
    """Decides, call by call, whether and how a stand-in misbehaves."""

    def __init__(self, seed: int, rate: float = 0.2, stall: float = 0.8) -> None:
        self.rng = random.Random(seed)
        self.rate = rate
        self.stall = stall  # seconds a "timeout" call hangs: longer than the client waits
        self.injected: Counter[str] = Counter()
        self.calls = 0
        self._lock = threading.Lock()

    def roll(self) -> str | None:
        with self._lock:
            self.calls += 1
            if self.rng.random() >= self.rate:
                return None
            fault = self.rng.choice(FAULTS)
            self.injected[fault] += 1
            return fault


def reset(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection with a TCP RST instead of an answer."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True


class FlakyReceiver(Receiver):
    """``tests/receiver.py`` whose calls fail as ``chaos`` says; failed calls are recorded
    with their status (0 for a reset), accepted ones as usual."""

    def __init__(self, chaos: Chaos) -> None:
        self.chaos = chaos
        super().__init__()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        base = super()._handler()
        receiver = self

        class Handler(base):  # type: ignore[valid-type,misc]
            def do_POST(self) -> None:  # noqa: N802
                fault = receiver.chaos.roll()
                if fault is None:
                    return super().do_POST()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = {"429": 429, "5xx": 503, "timeout": 504, "reset": 0}[fault]
                with receiver._lock:
                    receiver.requests.append(Request(time.monotonic(), time.time(), "POST",
                                                     self.path, {}, body, status))  # fmt: skip
                if fault == "reset":
                    return reset(self)
                if fault == "timeout":
                    time.sleep(receiver.chaos.stall)
                payload = json.dumps({"error": fault}).encode()
                try:
                    self.send_response(status)
                    if fault == "429":
                        self.send_header("Retry-After", "1")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client stopped waiting
                return None

        return Handler


class FlakyTelegram(FakeTelegram):
    """``tests/fake_telegram.py`` failing any Bot API method as ``chaos`` says."""

    def __init__(self, chaos: Chaos, **kwargs: Any) -> None:
        self.chaos = chaos
        self._fault = threading.local()  # each call is served on its own thread
        super().__init__(**kwargs)

    def _failure(self, method: str, params: dict[str, Any]) -> Failure | None:
        fault = getattr(self._fault, "now", None)
        if fault == "429":
            return Failure(method, 429, "Too Many Requests: retry after 1", {"retry_after": 1})
        if fault == "5xx":
            return Failure(method, 502, "Bad Gateway")
        if fault == "timeout":
            return Failure(method, 504, "Gateway Timeout", delay=self.chaos.stall)
        return super()._failure(method, params)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        base = super()._handler()
        fake = self

        class Handler(base):  # type: ignore[valid-type,misc]
            def _serve(self) -> None:
                fake._fault.now = fake.chaos.roll()
                if fake._fault.now == "reset":
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    return reset(self)
                return super()._serve()

        return Handler


class FlakySheets(FakeSheets):
    """``tests/fake_sheets.py`` failing API calls as ``chaos`` says; besides, a share of
    appends is applied and then the connection dropped, so the sink never hears of it."""

    def __init__(self, chaos: Chaos, lost_answers: float = 0.1) -> None:
        super().__init__()
        self.chaos = chaos
        self.lost_answers = lost_answers
        self.resets = 0
        self.lost = 0
        self._drop: int | None = None
        self.after_append = self._decide_drop

    def gate(self, authorization: str | None, key: str) -> Any:
        fault = self.chaos.roll()
        if fault == "429":
            raise ApiError(429, "Quota exceeded for quota metric 'Write requests'.",
                           {"Retry-After": "0"})  # fmt: skip
        if fault == "5xx":
            raise ApiError(503, "The service is currently unavailable.")
        if fault == "timeout":
            time.sleep(self.chaos.stall)
            raise ApiError(503, "The service is currently unavailable.")
        if fault == "reset":
            raise ResetConnection
        return super().gate(authorization, key)

    def _decide_drop(self) -> None:
        with self.chaos._lock:
            self._drop = int(self.chaos.rng.random() < self.lost_answers)
        self.lost += self._drop

    @property  # type: ignore[override]
    def drop_appends(self) -> int:
        """The stand-in counts down appends to drop; here each append rolls (after_append)."""
        return self._drop or 0

    @drop_appends.setter
    def drop_appends(self, value: int) -> None:
        self._drop = None

    def serve(self) -> FlakySheets:
        super().serve()
        assert self.server is not None
        handler = self.server.RequestHandlerClass
        fake = self

        class Handler(handler):  # type: ignore[valid-type,misc]
            def _handle(self, method: str) -> None:
                try:
                    return super()._handle(method)
                except ResetConnection:
                    fake.resets += 1
                    return reset(self)
                except OSError:
                    return None  # a stalled call: the client stopped waiting

        self.server.RequestHandlerClass = Handler
        return self


class ResetConnection(Exception):
    """The stand-in hangs up on this call"""
