"""United MileagePlus: the ``FetchFlights`` JSON that united.com's results page requests.

One offer per flight (``data.Trips[].Flights[]``) and product with a price in MILES. A flight's
own ``Destination`` is its first segment's: with ``Connections`` the trip ends at the last
connection's. The cabin is read from the product type (MIN-ECONOMY, ECO-PREMIUM, MIN-BUSINESS,
MIN-FIRST); a product whose connections fly another cabin is marked mixed in its title. A
``Saver`` award is a promotion.
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

SEARCH_PATH = "/api/flight/FetchFlights"
BLOCK_MARKER = "united.com was unable to complete"

#: Product type prefix -> cabin; the longest prefix that matches wins.
PRODUCT_CABINS = {
    "ECO-BASIC": "economy",
    "MIN-ECONOMY": "economy",
    "ECONOMY": "economy",
    "ECO-PREMIUM": "premium_economy",
    "MIN-PREMIUM": "premium_economy",
    "MIN-BUSINESS": "business",
    "BUSINESS": "business",
    "MIN-FIRST": "first",
    "FIRST": "first",
}


class Options(SiteOptions):
    base_url: str = "https://www.united.com"


def search_url(base_url: str, origin: str, destination: str, day: date, passengers: int = 1) -> str:
    """united.com's award results page for one one-way day, as a link a person can open."""
    query = {
        "f": origin,
        "t": destination,
        "d": day.isoformat(),
        "tt": 1,
        "at": 1,
        "sc": 7,
        "px": passengers,
        "taxng": 1,
        "newHP": "True",
        "clm": 7,
        "st": "bestmatches",
    }
    return f"{base_url.rstrip('/')}/en/us/fsr/choose-flights?{urlencode(query)}"


def blocked(body: bytes, url: str = "") -> str | None:
    """Why this body is united.com's refusal page, or None."""
    if BLOCK_MARKER in body[:100_000].decode("utf-8", errors="replace"):
        return f'"{BLOCK_MARKER}"'
    return None


def parse(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    reason = blocked(body, ctx.url)
    if reason:
        raise BlockedResponse(f"united.com: {reason}")
    data = json_object(body)
    trips = (data.get("data") or {}).get("Trips") if isinstance(data.get("data"), dict) else None
    if not isinstance(trips, list):
        error = data.get("Error") or data.get("errors")
        raise MalformedResponse(
            f"no data.Trips: {json.dumps(error)[:200] if error else 'not FetchFlights JSON'}"
        )
    # a trip or flight of an unexpected shape costs that record only
    yield from each(trips, lambda trip: _trip_offers(trip, ctx))


def _trip_offers(trip: dict[str, Any], ctx: ParseContext) -> Iterator[Parsed]:
    flights = trip.get("Flights") or []
    if not isinstance(flights, list):
        raise TypeError("Flights is not a list")
    return each(flights, lambda flight: _flight_offers(flight, ctx))


def _flight_offers(flight: dict[str, Any], ctx: ParseContext) -> Iterator[Parsed]:
    products = flight.get("Products") or []
    if not isinstance(products, list):
        raise TypeError("Products is not a list")
    seen: set[tuple[Any, ...]] = set()
    for product in products:
        if not isinstance(product, dict):
            yield Rejected("product is not an object")
            continue
        if product.get("ProductSubtype") == "NonExistingProductPlaceHolder":
            continue  # a column of the results table the flight has no product in
        result = _product(flight, product, ctx)
        if isinstance(result, dict):
            # the -NOT-MIXED twin of a product repeats it when no connection changes cabin
            identity = (result["cabin"], result["miles"], result["promo"], result["title"])
            if identity in seen:
                continue
            seen.add(identity)
        yield result


def _product(flight: dict[str, Any], product: dict[str, Any], ctx: ParseContext) -> Parsed:
    if product.get("BookingCount") == 0:
        return Rejected("sold out")
    miles, taxes = _prices(product)
    if not miles:
        return Rejected("unpriced")
    cabin = _cabin(str(product.get("ProductType") or ""))
    if cabin is None:
        return Rejected(f"unknown product type {product.get('ProductType')}")
    options: Options = ctx.options or Options()
    connections = _connections(flight)
    destination = connections[-1].get("Destination") if connections else flight.get("Destination")
    day = str(flight.get("DepartDateTime") or "")[:10]
    saver = product.get("AwardType") == "Saver"
    title = _title(flight, connections)
    if _mixed(product, connections):
        title += " (mixed cabin)"
    return {
        "program": ctx.program or "united",
        "title": title,
        "airline": _carriers(flight, connections),
        "origin": flight.get("Origin"),
        "destination": destination,
        "depart_date": day,
        "cabin": cabin,
        "miles": int(miles),
        "taxes": taxes[0] if taxes else None,
        "currency": taxes[1] if taxes else None,
        "promo": saver,
        "promo_reason": "saver award" if saver else None,
        "seats": product.get("BookingCount") or None,
        "url": _link(options, flight.get("Origin"), destination, day),
        "trip": "one-way",
    }


def _prices(product: dict[str, Any]) -> tuple[float | None, tuple[float, str] | None]:
    """Miles, and (amount, currency) of the taxes, from the product's ``Prices``."""
    miles: float | None = None
    taxes: tuple[float, str] | None = None
    for price in product.get("Prices") or []:
        if not isinstance(price, dict):
            continue
        if price.get("Currency") == "MILES" and price.get("Amount"):
            miles = float(price["Amount"])
        elif price.get("PricingType") == "Tax" and price.get("Currency"):
            taxes = (float(price.get("Amount") or 0), str(price["Currency"]))
    return miles, taxes


def _cabin(product_type: str) -> str | None:
    matches = [p for p in PRODUCT_CABINS if product_type.startswith(p)]
    return PRODUCT_CABINS[max(matches, key=len)] if matches else None


def _connections(flight: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in flight.get("Connections") or [] if isinstance(c, dict)]


def _mixed(product: dict[str, Any], connections: list[dict[str, Any]]) -> bool:
    """Whether a connection sells this product type in another cabin than the first flight."""
    kind, cabin = product.get("ProductType"), product.get("CabinType")
    for connection in connections:
        for other in connection.get("Products") or []:
            if not isinstance(other, dict) or other.get("ProductType") != kind:
                continue
            if other.get("CabinType") and other.get("CabinType") != cabin:
                return True
    return False


def _carriers(flight: dict[str, Any], connections: list[dict[str, Any]]) -> str | None:
    codes = [f.get("MarketingCarrier") for f in [flight, *connections]]
    return "/".join(dict.fromkeys(c for c in codes if c)) or None


def _title(flight: dict[str, Any], connections: list[dict[str, Any]]) -> str:
    legs = [flight, *connections]
    numbers = "/".join(str(f.get("FlightNumber") or "") for f in legs)
    stops = [f.get("Origin") for f in legs] + [legs[-1].get("Destination")]
    return (
        f"{_carriers(flight, connections) or 'UA'} {numbers} {'-'.join(str(p) for p in stops if p)}"
    )


def _link(options: Options, origin: Any, destination: Any, day: str) -> str | None:
    try:
        return search_url(options.base_url, str(origin), str(destination), date.fromisoformat(day))
    except ValueError:
        return None
