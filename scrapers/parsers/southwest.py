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

from scrapers.parsers import ParseContext, Parsed, Rejected, SiteOptions, airline

SEARCH_PATH = "/api/air-booking/v1/air-booking/page/air/booking/shopping"
#: The error code southwest.com answers a request it takes for a bot with.
BLOCK_TEXT = ("403050700",)

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


AIRLINE = airline.Airline("southwest", "WN", "southwest.com", search_url, Options, BLOCK_TEXT)
blocked = AIRLINE.blocked


def parse(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    data = AIRLINE.answer(body, ctx.url)
    notes = data.get("notifications")
    problem = (
        f"notifications {json.dumps(notes)[:200]}" if notes else "not a Southwest shopping response"
    )
    products = airline.records(data, ("data", "searchResults", "airProducts"), problem)
    # an air product is one search day, its flights in ``details``
    yield from airline.walk(products, ("details",), lambda flight: _flight_offers(flight, ctx))


def _flight_offers(record: dict[str, Any], ctx: ParseContext) -> Iterator[Parsed]:
    offered = airline.dig(record, "fareProducts", "ADULT") or {}
    families = [(f, offered.get(f)) for f in FARE_FAMILIES if isinstance(offered.get(f), dict)]
    flight = _flight(record)
    return airline.fares(families, lambda family: _fare(flight, family[0], family[1], ctx))


def _flight(record: dict[str, Any]) -> airline.Flight:
    segments = airline.objects(record.get("segments"))
    destination = record.get("destinationAirportCode")
    return airline.Flight(
        record.get("originationAirportCode"),
        destination,
        record.get("departureDateTime"),
        carriers=["WN"],
        numbers=[s.get("flightNumber") for s in segments],
        stops=[*(s.get("originationAirportCode") for s in segments), destination],
    )


def _fare(
    flight: airline.Flight, family: str, product: dict[str, Any], ctx: ParseContext
) -> Parsed:
    if product.get("availabilityStatus") != "AVAILABLE":
        return Rejected("sold out")
    fare = product.get("fare") or {}
    total = fare.get("totalFare") or {}
    points = _number(total.get("value"))
    if not points or total.get("currencyCode") != "POINTS":
        return Rejected("unpriced")
    taxes = fare.get("totalTaxesAndFees") or {}
    was = _was(product.get("originalFare"))
    sale = _reason(was) if product.get("originalFare") is not None else None
    discount = round((was - points) / was * 100, 1) if was and was > points else None
    found = airline.Fare(
        "economy",
        points,
        _number(taxes.get("value")),
        taxes.get("currencyCode"),
        promo=sale,
        note=f" {FARE_FAMILIES[family]}",
        more={"discount_pct": discount},
    )
    return AIRLINE.offer(ctx, flight, found)


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
