"""A local stand-in of an airline's website for the capture tests: pages and JSON answers by
path, on 127.0.0.1, recording every request it gets (method, path, query, headers, body)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "airlines"


@dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: str = "application/json"
    status: int = 200
    location: str | None = None


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Site:
    """Path -> answer; any other path is a 404 (robots.txt and favicon included)."""

    routes: dict[str, Answer]
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


def page(airline: str, name: str = "page.html") -> Answer:
    return Answer((FIXTURES / airline / name).read_bytes(), "text/html; charset=utf-8")


def json_answer(airline: str, name: str, dates: dict[str, str] | None = None) -> Answer:
    """A fixture body, with its recorded dates moved (the bot drops offers in the past)."""
    text = (FIXTURES / airline / name).read_text(encoding="utf-8")
    for old, new in (dates or {}).items():
        text = text.replace(old, new)
    return Answer(text.encode())


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            site.seen.append(
                Seen(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
            )
            answer = site.routes.get(parts.path, Answer(b"not found", "text/plain", 404))
            self.send_response(answer.status)
            if answer.location:
                self.send_header("Location", answer.location)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(answer.body)

        do_GET = do_POST = _answer

    return Handler


@contextmanager
def serve(routes: dict[str, Answer]) -> Iterator[Site]:
    """Serve ``routes`` on a free port of 127.0.0.1 for the duration of the block."""
    site = Site(routes)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
