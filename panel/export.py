"""Formula-safe CSV for the panel's exports: a scraped title such as ``=HYPERLINK(…)`` opens in a
spreadsheet as text, not as a formula.

Datasette writes CSV itself; this ASGI wrapper rewrites each ``.csv`` answer, whole (streaming
is off in the panel's settings, so an answer holds at most ``max_returned_rows`` rows): a cell
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``
(OWASP's advice), unless it is a plain number.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def safe_cell(cell: str) -> str:
    """The cell as a spreadsheet will show it as text."""
    if cell.startswith(FORMULA_STARTS) and not _NUMBER.match(cell):
        return "'" + cell
    return cell


def safe_csv(text: str) -> str:
    """Every cell of a CSV document made safe; quoting as Datasette writes it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in csv.reader(io.StringIO(text, newline="")):
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


class FormulaSafeCSV:
    """Rewrites the body of every ``.csv`` answer with :func:`safe_csv`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or ".csv" not in scope.get("path", ""):
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def collect(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            if start.get("status") == 200:
                body = safe_csv(body.decode("utf-8", "replace")).encode()
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, collect)
