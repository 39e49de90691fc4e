"""The daemon's webhook server: one small ASGI app, served by uvicorn on the daemon's own
event loop, where chat services post their events (Messenger always; Telegram in webhook
mode). It reads at most ``max_body_bytes`` of a post and hands the request to the transport
that owns the path; the transports check signatures and secrets. Meant to sit behind the
operator's HTTPS reverse proxy (see the README)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl

import uvicorn

from settings.config import ChatSettings

log = logging.getLogger("awardwatch.chat.server")

#: Connections served at once; more are answered 503 (Meta retries).
CONCURRENCY = 100


@dataclass(frozen=True)
class WebRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass(frozen=True)
class WebAnswer:
    status: int
    text: str = ""


class Endpoint(Protocol):
    @property
    def webhook_path(self) -> str: ...

    async def handle(self, request: WebRequest) -> WebAnswer: ...


class BodyTooLarge(Exception):
    """The request body is larger than the server takes"""


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the daemon's reactor owns the signals


class ChatServer:
    """Routes each transport's ``webhook_path`` to it; runs until ``stop``."""

    def __init__(self, settings: ChatSettings, *endpoints: Sequence[Endpoint],
                 telegram: Sequence[Endpoint] = ()) -> None:  # fmt: skip
        self.settings = settings
        self.routes: dict[str, Endpoint] = {}
        for endpoint in [*telegram, *(e for group in endpoints for e in group)]:
            self.routes[endpoint.webhook_path] = endpoint
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.settings.listen_host}:{self.port}"

    async def start(self) -> None:
        config = uvicorn.Config(
            self, log_level="warning", access_log=False, lifespan="off",
            limit_concurrency=CONCURRENCY, timeout_keep_alive=5,
        )  # fmt: skip
        self._server = _Server(config)
        sock = socket.socket(socket.AF_INET6 if ":" in self.settings.listen_host
                             else socket.AF_INET)  # fmt: skip
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.settings.listen_host, self.settings.listen_port))
        self.port = sock.getsockname()[1]
        self._task = asyncio.ensure_future(self._server.serve(sockets=[sock]))
        while not self._server.started and not self._task.done():
            await asyncio.sleep(0.02)
        if self._task.done():
            self._task.result()  # the server could not start: say why
        log.info("webhook server listening on %s (%s)", self.url, ", ".join(self.routes))

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        endpoint = self.routes.get(scope["path"])
        if endpoint is None:
            return await _answer(send, WebAnswer(404, "not found"))
        try:
            body = await _read(receive, self.settings.max_body_bytes)
        except BodyTooLarge:
            log.warning("webhook %s: body over %d bytes refused", scope["path"],
                        self.settings.max_body_bytes)  # fmt: skip
            return await _answer(send, WebAnswer(413, "too large"))
        request = WebRequest(
            method=scope["method"], path=scope["path"],
            query=dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))),
            headers={k.decode("latin-1").lower(): v.decode("latin-1")
                     for k, v in scope.get("headers", [])},
            body=body,
        )  # fmt: skip
        try:
            answer = await endpoint.handle(request)
        except Exception:
            log.exception("webhook %s: handling a request failed", scope["path"])
            answer = WebAnswer(500, "error")
        await _answer(send, answer)


async def _read(receive: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _answer(send: Any, answer: WebAnswer) -> None:
    body = answer.text.encode()
    await send({"type": "http.response.start", "status": answer.status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
