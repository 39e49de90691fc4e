"""American AAdvantage: the aa.com award search, ``POST /booking/api/search/itinerary`` with
``searchType`` Award, sent from within a loaded aa.com page.

One offer per slice (itinerary) and available, priced product of ``pricingDetail``. A slice's
origin and destination are the whole trip's, connections included. A product marked
``webSpecial`` (an AAdvantage web special) is a promotion.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import urlencode

from pydantic import Field

from offers.errors import MalformedResponse
from scrapers.parsers import ParseContext, Parsed, Rejected, SiteOptions, airline

SEARCH_PATH = "/booking/api/search/itinerary"
#: aa.com's answer when no flight matches: an empty result, not a failure.
NO_FLIGHTS = "309"

PRODUCT_CABINS = airline.cabins(
    economy=["COACH"], premium_economy=["PREMIUM_ECONOMY"], business=["BUSINESS"], first=["FIRST"]
)


class Options(SiteOptions):
    base_url: str = "https://www.aa.com"
    page_path: str = Field(default="/booking/find-flights", description="page the search runs in")


def search_body(origin: str, destination: str, day: date, passengers: int = 1) -> dict[str, Any]:
    """The JSON body aa.com's own booking page posts for a one-way award search."""
    return {
        "metadata": {"selectedProducts": [], "tripType": "OneWay", "udo": {}},
        "passengers": [{"type": "adult", "count": passengers}],
        "requestHeader": {"clientId": "AAcom"},
        "slices": [
            {
                "allCarriers": True,
                "cabin": "",
                "departureDate": day.isoformat(),
                "destination": destination,
                "destinationNearbyAirports": False,
                "maxStops": None,
                "origin": origin,
                "originNearbyAirports": False,
            }
        ],
        "tolerance": "PLUS_MINUS_THREE_DAYS",
        "version": "",
        "queryParams": {"sliceIndex": 0, "sessionId": "", "solutionSet": "", "solutionId": ""},
        "searchType": "Award",
    }


SEARCH_HEADERS = {"Accept": "application/json, text/plain, */*", "Content-Type": "application/json"}


def booking_url(
    base_url: str, origin: str, destination: str, day: date, passengers: int = 1
) -> str:
    """aa.com's award search results for one one-way day, as a link a person can open."""
    slices = json.dumps(
        [
            {
                "orig": origin,
                "origNearby": False,
                "dest": destination,
                "destNearby": False,
                "date": day.isoformat(),
            }
        ],
        separators=(",", ":"),
    )
    query = {
        "locale": "en_US",
        "pax": passengers,
        "adult": passengers,
        "type": "OneWay",
        "searchType": "Award",
        "cabin": "",
        "carriers": "ALL",
        "slices": slices,
    }
    return f"{base_url.rstrip('/')}/booking/search?{urlencode(query)}"


AIRLINE = airline.Airline("american", "AA", "aa.com", booking_url, Options)


def parse(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    data = AIRLINE.answer(body, ctx.url)
    error = str(data.get("error") or "")
    if error == NO_FLIGHTS and not data.get("slices"):
        return
    if error:
        raise MalformedResponse(f"aa.com search error {error!r}")
    slices = airline.records(data, ("slices",), "not an aa.com itinerary search response")
    yield from airline.walk(slices, (), lambda itinerary: _slice_offers(itinerary, ctx))


def _slice_offers(itinerary: dict[str, Any], ctx: ParseContext) -> Iterator[Parsed]:
    flight = _flight(itinerary)
    products = airline.children(itinerary, "pricingDetail")
    return airline.fares(products, lambda product: _product(flight, product, ctx))


def _flight(itinerary: dict[str, Any]) -> airline.Flight:
    """A slice: the whole trip, connections included."""
    segments = airline.objects(itinerary.get("segments"))
    destination = airline.dig(itinerary, "destination", "code")
    return airline.Flight(
        airline.dig(itinerary, "origin", "code"),
        destination,
        itinerary.get("departureDateTime"),
        carriers=[airline.dig(s, "flight", "carrierCode") for s in segments],
        numbers=[airline.dig(s, "flight", "flightNumber") for s in segments],
        stops=[*(airline.dig(s, "origin", "code") for s in segments), destination],
    )


def _product(flight: airline.Flight, product: dict[str, Any], ctx: ParseContext) -> Parsed | None:
    if not product.get("productAvailable"):
        return None  # a product the flight does not sell
    miles = product.get("perPassengerAwardPoints")
    if not miles:
        return Rejected("unpriced")
    cabin = PRODUCT_CABINS.get(str(product.get("productType")))
    if cabin is None:
        return Rejected(f"unknown product type {product.get('productType')}")
    taxes = product.get("perPassengerTaxesAndFees") or {}
    special = "AAdvantage web special" if product.get("webSpecial") else None
    seats = product.get("seatsRemaining")
    fare = airline.Fare(cabin, miles, taxes.get("amount"), taxes.get("currency"), special, seats)
    return AIRLINE.offer(ctx, flight, fare)
