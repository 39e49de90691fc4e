"""Flying Blue award fares from the official Air France-KLM Offers API (``best-fare-offers``
in the reward booking flow). The API flags discounted Promo Rewards with ``promoFare``.

One offer per ``bestOffers[]`` entry: its ``connections[]`` are the bounds of the trip (one for
a one-way search, out and back for a round trip), priced together in ``priceInMiles``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from scrapers.parsers import (
    BlockedResponse,
    MalformedResponse,
    ParseContext,
    Parsed,
    Rejected,
    each,
    json_value,
)

PROGRAM = "flyingblue"
API_BASE = "https://api.airfranceklm.com"
SEARCH_PATH = "/opendata/offers/v1/best-fare-offers"

#: The API's commercial cabins and ours, both ways.
CABIN_OF: dict[str, str] = {
    "ECONOMY": "economy",
    "PREMIUM": "premium_economy",
    "PREMIUM_ECONOMY": "premium_economy",
    "BUSINESS": "business",
    "FIRST": "first",
    "LA_PREMIERE": "first",
}
COMMERCIAL_CABIN: dict[str, str] = {
    "economy": "ECONOMY",
    "premium_economy": "PREMIUM",
    "business": "BUSINESS",
    "first": "FIRST",
}
#: Words of the API gateway's own refusal pages (plain text or HTML, not JSON).
GATEWAY_REFUSALS = (b"Over Qps", b"Over Rate", b"Developer Inactive", b"Not Authorized")


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key_env: str = Field(
        default="FLYINGBLUE_API_KEY", description="environment variable holding the API key"
    )
    base_url: str = Field(default=API_BASE, description="API host (a local stand-in in tests)")
    host: Literal["KL", "AF"] = Field(
        default="KL", description="AFKL-TRAVEL-Host: whose market the fares are priced for"
    )
    window_days: int = Field(
        default=60, ge=1, le=355, description="days searched when a watch entry names no dates"
    )
    booking_url: str = Field(
        default="https://www.flyingblue.com/en/spend/flights/promo-rewards",
        description="link given with each offer",
    )


def document(body: bytes) -> list[Any]:
    """The ``bestOffers`` list of a best-fare-offers response, or the reason it is not one."""
    if not body.strip():
        raise MalformedResponse("empty response")
    try:
        data = json_value(body)
    except (ValueError, UnicodeDecodeError):
        refusal = next((w for w in GATEWAY_REFUSALS if w in body[:2000]), None)
        if refusal is not None:
            raise BlockedResponse(f"API gateway refused: {refusal.decode()}") from None
        raise MalformedResponse("not JSON") from None
    if not isinstance(data, dict):
        raise MalformedResponse("not a best-fare-offers response: JSON is not an object")
    offers = data.get("bestOffers")
    if offers is None and data.get("errors"):
        raise MalformedResponse(f"API error: {_error_text(data['errors'])}")
    if not isinstance(offers, list):
        raise MalformedResponse("not a best-fare-offers response: no bestOffers list")
    return offers


def _error_text(errors: Any) -> str:
    first = errors[0] if isinstance(errors, list) and errors else errors
    if isinstance(first, dict):
        return str(first.get("description") or first.get("name") or first.get("code"))[:200]
    return str(first)[:200]


def _dig(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _ends(connection: dict[str, Any]) -> tuple[str | None, str | None]:
    """A bound's origin and destination; from its segments when the bound omits them."""
    origin = _dig(connection, "origin", "code")
    destination = _dig(connection, "destination", "code")
    segments = [s for s in connection.get("segments") or [] if isinstance(s, dict)]
    if segments:
        origin = origin or _dig(segments[0], "origin", "code")
        destination = destination or _dig(segments[-1], "destination", "code")
    return origin, destination


def _carriers(connections: list[dict[str, Any]]) -> str | None:
    codes: list[str] = []
    for connection in connections:
        for segment in connection.get("segments") or []:
            code = _dig(segment, "marketingFlight", "carrier", "code")
            if isinstance(code, str) and code not in codes:
                codes.append(code)
    return ", ".join(codes) or None


def _day(value: Any) -> str | None:
    return value[:10] if isinstance(value, str) and len(value) >= 10 else None


def _departure(best: dict[str, Any], first: dict[str, Any]) -> str | None:
    segments = first.get("segments") or [{}]
    for value in (
        best.get("departureDate"),
        first.get("departureDate"),
        _dig(segments[0], "departureDateTime"),
    ):
        if _day(value):
            return _day(value)
    return None


def _window(best: dict[str, Any]) -> tuple[str, str] | None:
    """The searched date interval, which the API repeats in the offer's links."""
    for link in (best.get("_links") or {}).values():
        href = link.get("href") if isinstance(link, dict) else None
        if not isinstance(href, str):
            continue
        interval = parse_qs(urlsplit(href.split("{", 1)[0]).query).get("dateInterval")
        if interval and "/" in interval[0]:
            start, _, end = interval[0].partition("/")
            return start[:10], end[:10]
    return None


def _dates(best: dict[str, Any], first: dict[str, Any]) -> dict[str, str]:
    day = _departure(best, first)
    if day:
        return {"depart_date": day}
    window = _window(best)
    if window is None:
        return {}
    if window[0] == window[1]:
        return {"depart_date": window[0]}
    return {"travel_start": window[0], "travel_end": window[1]}


def _seats(connections: list[dict[str, Any]]) -> int | None:
    found = [c.get("numberOfSeatsAvailable") for c in connections]
    counts = [n for n in found if isinstance(n, int) and not isinstance(n, bool)]
    return min(counts) if counts else None


def _route(connections: list[dict[str, Any]]) -> tuple[str | None, str | None, str]:
    origin, destination = _ends(connections[0])
    if len(connections) == 1:
        return origin, destination, "one-way"
    _, last_destination = _ends(connections[-1])
    if last_destination == origin:
        return origin, destination, "round-trip"
    # an open jaw: the trip ends where its last bound lands
    return origin, last_destination, "one-way"


def offer(best: Any, options: Options) -> Parsed | None:
    """One best offer as a raw offer; None when it is sold out or has no miles price."""
    if not isinstance(best, dict):
        return Rejected("offer is not an object")
    connections = best.get("connections") or []
    if not isinstance(connections, list) or not connections:
        return Rejected("offer without connections")
    if not all(isinstance(c, dict) for c in connections):
        # the bounds are priced together: without one of them the price is not the trip's
        return Rejected("connection is not an object")
    total = _number(_dig(best, "priceInMiles", "totalPrice"))
    seats = _seats(connections)
    if not total or total <= 0 or seats == 0:
        return None
    label = connections[0].get("commercialCabin")
    cabin = CABIN_OF.get(str(label).upper())
    if cabin is None:
        return Rejected(f"cabin: unknown commercial cabin {label!r}")
    # prices are for the whole party; offers compare per traveller
    travellers = len(_dig(best, "priceInMiles", "pricePerPassengers") or []) or 1
    taxes = _number(_dig(best, "taxDetails", "totalPrice"))
    promo = bool(best.get("promoFare")) or any(c.get("promoFare") for c in connections)
    origin, destination, trip = _route(connections)
    return {
        "program": PROGRAM,
        "airline": _carriers(connections),
        "origin": origin,
        "destination": destination,
        **_dates(best, connections[0]),
        "cabin": cabin,
        "miles": round(total / travellers),
        "taxes": round(taxes / travellers, 2) if taxes is not None else None,
        "currency": _dig(best, "taxDetails", "currency") if taxes is not None else None,
        "promo": promo,
        "promo_reason": "Flying Blue Promo Reward" if promo else None,
        "seats": seats,
        "url": options.booking_url,
        "trip": trip,
    }


#: What makes two records the same offer (a record the API repeats adds nothing).
IDENTITY = (
    "origin",
    "destination",
    "depart_date",
    "travel_start",
    "travel_end",
    "cabin",
    "trip",
    "miles",
)


def _identity(raw: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(raw.get(f) for f in IDENTITY)


def parse(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    options: Options = ctx.options if isinstance(ctx.options, Options) else Options()
    seen: set[tuple[Any, ...]] = set()
    # an offer of an unexpected shape costs that offer only
    for result in each(document(body), lambda best: _found(offer(best, options))):
        if isinstance(result, Rejected):
            yield result
        elif _identity(result) not in seen:
            seen.add(_identity(result))
            yield result


def _found(result: Parsed | None) -> list[Parsed]:
    return [] if result is None else [result]
