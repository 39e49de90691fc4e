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

from scrapers.parsers import ParseContext, Parsed, Rejected, SiteOptions, airline

SEARCH_PATH = "/api/flight/FetchFlights"
#: What united.com's refusal page says.
BLOCK_TEXT = ("united.com was unable to complete",)

#: Product type prefix -> cabin; the longest prefix that matches wins.
PRODUCT_CABINS = airline.cabins(
    economy=["ECO-BASIC", "MIN-ECONOMY", "ECONOMY"],
    premium_economy=["ECO-PREMIUM", "MIN-PREMIUM"],
    business=["MIN-BUSINESS", "BUSINESS"],
    first=["MIN-FIRST", "FIRST"],
)


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


AIRLINE = airline.Airline("united", "UA", "united.com", search_url, Options, BLOCK_TEXT)
blocked = AIRLINE.blocked


def parse(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    """One offer per flight and product; a trip, flight or product of an unexpected shape
    costs itself only."""
    data = AIRLINE.answer(body, ctx.url)
    error = data.get("Error") or data.get("errors")
    problem = json.dumps(error)[:200] if error else "not FetchFlights JSON"
    trips = airline.records(data, ("data", "Trips"), problem)
    yield from airline.walk(trips, ("Flights",), lambda flight: _flight_offers(flight, ctx))


def _flight_offers(record: dict[str, Any], ctx: ParseContext) -> Iterator[Parsed]:
    connections = airline.objects(record.get("Connections"))
    flight = _flight(record, connections)
    products = airline.children(record, "Products")
    # the -NOT-MIXED twin of a product repeats it when no connection changes cabin
    return airline.fares(products, lambda product: _product(flight, product, connections, ctx))


def _flight(record: dict[str, Any], connections: list[dict[str, Any]]) -> airline.Flight:
    """A flight's own Destination is its first segment's: the trip ends at the last leg's."""
    legs = [record, *connections]
    return airline.Flight(
        record.get("Origin"),
        legs[-1].get("Destination"),
        record.get("DepartDateTime"),
        carriers=[leg.get("MarketingCarrier") for leg in legs],
        numbers=[leg.get("FlightNumber") for leg in legs],
        stops=[*(leg.get("Origin") for leg in legs), legs[-1].get("Destination")],
    )


def _product(
    flight: airline.Flight,
    product: dict[str, Any],
    connections: list[dict[str, Any]],
    ctx: ParseContext,
) -> Parsed | None:
    if product.get("ProductSubtype") == "NonExistingProductPlaceHolder":
        return None  # a column of the results table the flight has no product in
    if product.get("BookingCount") == 0:
        return Rejected("sold out")
    miles, taxes = _prices(product)
    if not miles:
        return Rejected("unpriced")
    cabin = _cabin(str(product.get("ProductType") or ""))
    if cabin is None:
        return Rejected(f"unknown product type {product.get('ProductType')}")
    amount, currency = taxes or (None, None)
    saver = "saver award" if product.get("AwardType") == "Saver" else None
    note = " (mixed cabin)" if _mixed(product, connections) else ""
    fare = airline.Fare(cabin, miles, amount, currency, saver, product.get("BookingCount"), note)
    return AIRLINE.offer(ctx, flight, fare)


def _prices(product: dict[str, Any]) -> tuple[float | None, tuple[float, str] | None]:
    """Miles, and (amount, currency) of the taxes, from the product's ``Prices``."""
    miles: float | None = None
    taxes: tuple[float, str] | None = None
    for price in airline.objects(product.get("Prices")):
        if price.get("Currency") == "MILES" and price.get("Amount"):
            miles = float(price["Amount"])
        elif price.get("PricingType") == "Tax" and price.get("Currency"):
            taxes = (float(price.get("Amount") or 0), str(price["Currency"]))
    return miles, taxes


def _cabin(product_type: str) -> str | None:
    matches = [p for p in PRODUCT_CABINS if product_type.startswith(p)]
    return PRODUCT_CABINS[max(matches, key=len)] if matches else None


def _mixed(product: dict[str, Any], connections: list[dict[str, Any]]) -> bool:
    """Whether a connection sells this product type in another cabin than the first flight."""
    kind, cabin = product.get("ProductType"), product.get("CabinType")
    for connection in connections:
        for other in airline.objects(connection.get("Products")):
            if other.get("ProductType") != kind:
                continue
            if other.get("CabinType") and other.get("CabinType") != cabin:
                return True
    return False
