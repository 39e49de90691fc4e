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

from scrapers.parsers import (
    MalformedResponse,
    ParseContext,
    Parsed,
    Rejected,
    SiteOptions,
    each,
    json_object,
)

SEARCH_PATH = "/booking/api/search/itinerary"
#: aa.com's answer when no flight matches: an empty result, not a failure.
NO_FLIGHTS = "309"

PRODUCT_CABINS = {
    "COACH": "economy",
    "PREMIUM_ECONOMY": "premium_economy",
    "BUSINESS": "business",
    "FIRST": "first",
}


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


def parse(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    data = json_object(body)
    error = str(data.get("error") or "")
    slices = data.get("slices")
    if error == NO_FLIGHTS and not slices:
        return
    if error:
        raise MalformedResponse(f"aa.com search error {error!r}")
    if not isinstance(slices, list):
        raise MalformedResponse("no slices: not an aa.com itinerary search response")
    # a slice of an unexpected shape costs that slice only
    yield from each(slices, lambda itinerary: _slice_offers(itinerary, ctx))


def _slice_offers(itinerary: dict[str, Any], ctx: ParseContext) -> Iterator[Parsed]:
    products = itinerary.get("pricingDetail") or []
    if not isinstance(products, list):
        raise TypeError("pricingDetail is not a list")
    seen: set[tuple[Any, ...]] = set()
    # a product of an unexpected shape costs that product only
    for result in each(products, lambda product: _available(itinerary, product, ctx)):
        if isinstance(result, dict):
            identity = (result["cabin"], result["miles"], result["promo"])
            if identity in seen:
                continue
            seen.add(identity)
        yield result


def _available(
    itinerary: dict[str, Any], product: dict[str, Any], ctx: ParseContext
) -> list[Parsed]:
    if not product.get("productAvailable"):
        return []  # a product the flight does not sell
    return [_product(itinerary, product, ctx)]


def _product(itinerary: dict[str, Any], product: dict[str, Any], ctx: ParseContext) -> Parsed:
    miles = product.get("perPassengerAwardPoints")
    if not miles:
        return Rejected("unpriced")
    cabin = PRODUCT_CABINS.get(str(product.get("productType")))
    if cabin is None:
        return Rejected(f"unknown product type {product.get('productType')}")
    options: Options = ctx.options or Options()
    origin = (itinerary.get("origin") or {}).get("code")
    destination = (itinerary.get("destination") or {}).get("code")
    day = str(itinerary.get("departureDateTime") or "")[:10]
    taxes = product.get("perPassengerTaxesAndFees") or {}
    special = bool(product.get("webSpecial"))
    return {
        "program": ctx.program or "american",
        "title": _title(itinerary),
        "airline": _carriers(itinerary),
        "origin": origin,
        "destination": destination,
        "depart_date": day,
        "cabin": cabin,
        "miles": int(miles),
        "taxes": taxes.get("amount"),
        "currency": taxes.get("currency"),
        "promo": special,
        "promo_reason": "AAdvantage web special" if special else None,
        "seats": product.get("seatsRemaining") or None,
        "url": _link(options, origin, destination, day),
        "trip": "one-way",
    }


def _segments(itinerary: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in itinerary.get("segments") or [] if isinstance(s, dict)]


def _carriers(itinerary: dict[str, Any]) -> str | None:
    codes = [(s.get("flight") or {}).get("carrierCode") for s in _segments(itinerary)]
    return "/".join(dict.fromkeys(c for c in codes if c)) or None


def _title(itinerary: dict[str, Any]) -> str:
    segments = _segments(itinerary)
    numbers = "/".join(str((s.get("flight") or {}).get("flightNumber") or "") for s in segments)
    stops = [(s.get("origin") or {}).get("code") for s in segments]
    stops.append((itinerary.get("destination") or {}).get("code"))
    return f"{_carriers(itinerary) or 'AA'} {numbers} {'-'.join(str(p) for p in stops if p)}"


def _link(options: Options, origin: Any, destination: Any, day: str) -> str | None:
    try:
        return booking_url(options.base_url, str(origin), str(destination), date.fromisoformat(day))
    except ValueError:
        return None
