"""A local stand-in for the two airline APIs the ``flyingblue`` and ``seatsaero`` sources call,
served on 127.0.0.1: the Air France-KLM Offers API (``best-fare-offers``, ``API-Key`` header)
and the seats.aero Partner API (``/search``, ``/availability``, ``Partner-Authorization``
header, cursor paging with ``take``/``skip``/``cursor``/``hasMore``).

It checks the key as the services do (401 without the right one), can be told to answer
every call with a status such as 429, and records each request it got.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

OFFERS_PATH = "/opendata/offers/v1/best-fare-offers"
SEATSAERO_ROOT = "/partnerapi"
SEATSAERO_PATHS = (f"{SEATSAERO_ROOT}/search", f"{SEATSAERO_ROOT}/availability")
#: seats.aero keeps one cursor per query; any stable number does.
CURSOR = 1767225600


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeAirlineApis:
    flyingblue_key: str = "fb-test-key"
    seatsaero_key: str = "sa-test-key"
    offers: bytes = b'{"bestOffers": []}'
    records: list[dict[str, Any]] = field(default_factory=list)
    #: answer every call with this status (401, 403, 429 ...) instead of data
    status: int | None = None
    calls: list[Call] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> str:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def api_calls(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    # -- the services -------------------------------------------------------------------

    def answer(self, call: Call) -> tuple[int, bytes]:
        if self.status is not None:
            return self.status, json.dumps({"error": f"status {self.status}"}).encode()
        if call.path == OFFERS_PATH and call.method == "POST":
            if call.headers.get("api-key") != self.flyingblue_key:
                return 401, b"<h1>Developer Inactive</h1>"
            return 200, self.best_offers(call)
        if call.path in SEATSAERO_PATHS and call.method == "GET":
            if call.headers.get("partner-authorization") != self.seatsaero_key:
                return 401, json.dumps({"error": "invalid API key"}).encode()
            return 200, json.dumps(self.page(call)).encode()
        return 404, b'{"error": "not found"}'

    def best_offers(self, call: Call) -> bytes:
        """The configured offers in the requested cabin (the body as it is when not JSON)."""
        try:
            offers = json.loads(self.offers)
            cabin = json.loads(call.body)["commercialCabin"]
        except (ValueError, KeyError):
            return self.offers
        in_cabin = [
            o for o in offers.get("bestOffers", [])
            if o.get("connections") and o["connections"][0].get("commercialCabin") == cabin
        ]  # fmt: skip
        return json.dumps({**offers, "bestOffers": in_cabin}).encode()

    def matching(self, query: dict[str, str]) -> list[dict[str, Any]]:
        def wanted(record: dict[str, Any]) -> bool:
            route = record["Route"]
            for param, value in (
                ("origin_airport", route["OriginAirport"]),
                ("destination_airport", route["DestinationAirport"]),
                ("source", route["Source"]),
            ):
                if param in query and value not in query[param].split(","):
                    return False
            day = record["Date"]
            return query.get("start_date", day) <= day <= query.get("end_date", day)

        return [r for r in self.records if wanted(r)]

    def page(self, call: Call) -> dict[str, Any]:
        query = call.query
        take, skip = int(query.get("take", 500)), int(query.get("skip", 0))
        found = self.matching(query)
        data = found[skip : skip + take]
        more = skip + take < len(found)
        next_query = {**query, "skip": str(skip + take), "cursor": str(CURSOR)}
        return {
            "data": data,
            "count": len(data),
            "hasMore": more,
            "moreURL": f"{call.path}?{urlencode(next_query)}" if more else "",
            "cursor": CURSOR,
        }


def _handler(fake: FakeAirlineApis) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            call = Call(
                method=self.command,
                path=parts.path,
                query=dict(parse_qsl(parts.query)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            fake.calls.append(call)
            status, body = fake.answer(call)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _serve
        do_POST = _serve

    return Handler
