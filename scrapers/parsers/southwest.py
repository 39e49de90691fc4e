"""Southwest Rapid Rewards: the points search JSON that southwest.com's booking page requests from
``/api/air-booking/v1/air-booking/page/air/booking/shopping``.

One offer per flight (``airProducts[].details[]``) and fare family (Wanna Get Away, Anytime,
Business Select) that is AVAILABLE and priced in points. Every fare family flies in the one
economy cabin. A non-null ``originalFare`` is Southwest's sale price: a promotion.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import urlencode

from scrapers.parsers import (
    BlockedResponse,
    MalformedResponse,
    ParseContext,
    Parsed,
    Rejected,
    SiteOptions,
    each,
    json_object,
)

SEARCH_PATH = "/api/air-booking/v1/air-booking/page/air/booking/shopping"
#: The error code southwest.com answers a request it takes for a bot with.
BLOCK_CODE = "403050700"

FARE_FAMILIES = {"WGARED": "Wanna Get Away", "ANYRED": "Anytime", "BUSRED": "Business Select"}


class Options(SiteOptions):
    base_url: str = "https://www.southwest.com"


def search_url(base_url: str, origin: str, destination: str, day: date, passengers: int = 1) -> str:
    """southwest.com's points search page for one one-way day, as a link a person can open."""
    query = {
        "adultPassengersCount": passengers,
        "departureDate": day.isoformat(),
        "destinationAirportCode": destination,
        "fareType": "POINTS",
        "originationAirportCode": origin,
        "passengerType": "ADULT",
        "returnDate": "",
        "tripType": "oneway",
    }
    return f"{base_url.rstrip('/')}/air/booking/select.html?{urlencode(query)}"


def blocked(body: bytes, url: str = "") -> str | None:
    """Why this body is Southwest's bot answer, or None."""
    if BLOCK_CODE.encode() in body[:50_000]:
        return f"error code {BLOCK_CODE}"
    return None


def parse(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    reason = blocked(body, ctx.url)
    if reason:
        raise BlockedResponse(f"southwest.com: {reason}")
    data = json_object(body)
    results = (
        (data.get("data") or {}).get("searchResults")
        if isinstance(data.get("data"), dict)
        else None
    )
    if not isinstance(results, dict) or not isinstance(results.get("airProducts"), list):
        raise MalformedResponse(f"no searchResults.airProducts: {_problem(data)}")
    # an air product or flight of an unexpected shape costs that record only
    yield from each(results["airProducts"], lambda product: _product_offers(product, ctx))


def _problem(data: dict[str, Any]) -> str:
    notes = data.get("notifications")
    return (
        f"notifications {json.dumps(notes)[:200]}" if notes else "not a Southwest shopping response"
    )


def _product_offers(product: dict[str, Any], ctx: ParseContext) -> Iterator[Parsed]:
    """The offers of one air product: one search day, its flights in ``details``."""
    flights = product.get("details") or []
    if not isinstance(flights, list):
        raise TypeError("details is not a list")
    return each(flights, lambda flight: _flight_offers(flight, ctx))


def _flight_offers(flight: dict[str, Any], ctx: ParseContext) -> Iterator[Parsed]:
    fares = ((flight.get("fareProducts") or {}).get("ADULT")) or {}
    for family in FARE_FAMILIES:
        fare = fares.get(family)
        if isinstance(fare, dict):
            yield _fare(flight, family, fare, ctx)


def _fare(
    flight: dict[str, Any], family: str, product: dict[str, Any], ctx: ParseContext
) -> Parsed:
    if product.get("availabilityStatus") != "AVAILABLE":
        return Rejected("sold out")
    fare = product.get("fare") or {}
    total = fare.get("totalFare") or {}
    points = _number(total.get("value"))
    if not points or total.get("currencyCode") != "POINTS":
        return Rejected("unpriced")
    options: Options = ctx.options or Options()
    origin, destination = flight.get("originationAirportCode"), flight.get("destinationAirportCode")
    day = str(flight.get("departureDateTime") or "")[:10]
    taxes = fare.get("totalTaxesAndFees") or {}
    was = _was(product.get("originalFare"))
    sale = product.get("originalFare") is not None
    return {
        "program": ctx.program or "southwest",
        "title": f"{_title(flight)} {FARE_FAMILIES[family]}",
        "airline": "WN",
        "origin": origin,
        "destination": destination,
        "depart_date": day,
        "cabin": "economy",
        "miles": int(points),
        "taxes": _number(taxes.get("value")),
        "currency": taxes.get("currencyCode"),
        "discount_pct": round((was - points) / was * 100, 1) if was and was > points else None,
        "promo": sale,
        "promo_reason": _reason(was) if sale else None,
        "url": _link(options, origin, destination, day),
        "trip": "one-way",
    }


def _was(original: Any) -> float | None:
    """Points before the sale: ``originalFare`` is a price, or a fare holding ``totalFare``."""
    if not isinstance(original, dict):
        return None
    total = original.get("totalFare")
    return _number((total if isinstance(total, dict) else original).get("value"))


def _reason(was: float | None) -> str:
    return f"sale fare (was {int(was):,} points)" if was else "sale fare"


def _number(value: Any) -> float | None:
    try:
        return float(str(value).replace(",", "")) if value is not None else None
    except ValueError:
        return None


def _title(flight: dict[str, Any]) -> str:
    segments = [s for s in flight.get("segments") or [] if isinstance(s, dict)]
    numbers = "/".join(str(s.get("flightNumber") or "") for s in segments)
    stops = [s.get("originationAirportCode") for s in segments] + [
        flight.get("destinationAirportCode")
    ]
    return f"WN {numbers} {'-'.join(str(p) for p in stops if p)}"


def _link(options: Options, origin: Any, destination: Any, day: str) -> str | None:
    try:
        return search_url(options.base_url, str(origin), str(destination), date.fromisoformat(day))
    except ValueError:
        return None
