"""Delta SkyMiles: the award search JSON that delta.com's search page requests from
``/shop/ow/search``, and the SkyMiles deals (flash-sale) page, read with configurable selectors.

A search yields one offer per trip and fare brand that is offered, not sold out and priced in
miles. Only the first ``viewSeatUrls`` entry is read: the later ones repeat it. A fare is a
promotion when its miles are at or under the configured level of its cabin; every listing on the
deals page is one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import urlencode, urljoin

from parsel import Selector
from pydantic import BaseModel, ConfigDict, Field, field_validator

from offers.model import CABINS
from scrapers.parsers import (
    BlockedResponse,
    MalformedResponse,
    ParseContext,
    Parsed,
    Rejected,
    SiteOptions,
    each,
    json_value,
)
from scrapers.parsers.page import select

#: Signs of Delta's block page: a redirect to the outage page, or its error reference.
BLOCK_MARKERS = ("system-unavailable1.html", "#100904A")

#: Fare brand (``dominantSegmentBrandId``) -> cabin. Comfort+ counts as premium economy, as
#: ``offers.text`` reads it; Delta's domestic First is its own cabin.
BRAND_CABINS = {
    "BE": "economy",
    "MAIN": "economy",
    "DCP": "premium_economy",
    "DPPS": "premium_economy",
    "FIRST": "first",
    "D1": "business",
}


class DealsPage(BaseModel):
    """Where the SkyMiles deals page is and how to read one listing on it."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(default="/us/en/skymiles/award-deals", description="page path on base_url")
    item: str = ".deal-card"
    origin: str = "[data-origin]::attr(data-origin)"
    destination: str = "[data-destination]::attr(data-destination)"
    miles: str = ".deal-miles::text"
    cabin: str = ".deal-cabin::text"
    travel: str = ".deal-travel::text"
    book_by: str = ".deal-book-by::text"
    url: str = "a::attr(href)"

    @field_validator("item", "origin", "destination", "miles", "cabin", "travel", "book_by", "url")
    @classmethod
    def _selector(cls, value: str) -> str:
        select(Selector(text="<html></html>"), value)
        return value


class Options(SiteOptions):
    base_url: str = "https://www.delta.com"
    promo_miles: dict[str, int] = Field(
        default_factory=lambda: {
            "economy": 10_000,
            "premium_economy": 20_000,
            "business": 60_000,
            "first": 25_000,
        },
        description="cabin -> miles at or under which a fare counts as a sale",
    )
    deals_page: bool = Field(default=True, description="also read the SkyMiles deals page")
    deals: DealsPage = Field(default_factory=DealsPage)

    @field_validator("promo_miles")
    @classmethod
    def _cabins(cls, value: dict[str, int]) -> dict[str, int]:
        for cabin in value:
            if cabin not in CABINS:
                raise ValueError(f"unknown cabin {cabin!r}; use one of {', '.join(CABINS)}")
        return value


def search_url(base_url: str, origin: str, destination: str, day: date, passengers: int = 1) -> str:
    """delta.com's award search page for one one-way day, as a link a person can open."""
    query = {
        "action": "findFlights",
        "tripType": "ONE_WAY",
        "priceSchedule": "AWARD",
        "awardTravel": "true",
        "originCity": origin,
        "destinationCity": destination,
        "departureDate": day.isoformat(),
        "paxCount": passengers,
        "searchByCabin": "true",
        "deltaOnlySearch": "false",
    }
    return f"{base_url.rstrip('/')}/flight-search/search?{urlencode(query)}"


def blocked(body: bytes, url: str = "") -> str | None:
    """Why this body or URL is Delta's block page, or None."""
    if BLOCK_MARKERS[0] in url:
        return "redirected to system-unavailable1.html"
    head = body[:50_000].decode("utf-8", errors="replace")
    for marker in BLOCK_MARKERS:
        if marker in head:
            return f"block page ({marker})"
    return None


def parse(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    reason = blocked(body, ctx.url)
    if reason:
        raise BlockedResponse(f"delta.com: {reason}")
    if body.lstrip()[:1] == b"<":
        yield from parse_deals(body, ctx)
        return
    # an itinerary or trip of an unexpected shape costs that record only
    yield from each(_itineraries(body), lambda itinerary: _itinerary_offers(itinerary, ctx))


def _itineraries(body: bytes) -> list[Any]:
    try:
        data = json_value(body)
    except (UnicodeDecodeError, ValueError):
        raise MalformedResponse("not JSON and not a page") from None
    if not isinstance(data, dict) or not isinstance(data.get("itinerary"), list):
        raise MalformedResponse("no itinerary list: not a Delta award search response")
    return list(data["itinerary"])


def _itinerary_offers(itinerary: dict[str, Any], ctx: ParseContext) -> Iterator[Parsed]:
    trips = itinerary.get("trip") or []
    if not isinstance(trips, list):
        raise TypeError("trip is not a list")
    return each(trips, lambda trip: _trip_offers(trip, ctx))


def _trip_offers(trip: dict[str, Any], ctx: ParseContext) -> Iterator[Parsed]:
    seat_urls = trip.get("viewSeatUrls") or []
    if not seat_urls or not isinstance(seat_urls[0], dict):
        yield Rejected("no fares")
        return
    offers = ((seat_urls[0].get("fareOffer") or {}).get("itineraryOfferList")) or []
    if not isinstance(offers, list):
        raise TypeError("itineraryOfferList is not a list")
    seen: set[tuple[str, int]] = set()
    for offer in offers:
        result = _fare(trip, offer, ctx)
        if isinstance(result, dict):
            identity = (str(offer.get("dominantSegmentBrandId")), result["miles"])
            if identity in seen:
                continue
            seen.add(identity)
        if result is not None:
            yield result


def _fare(trip: dict[str, Any], offer: dict[str, Any], ctx: ParseContext) -> Parsed | None:
    """One fare brand of a trip as a raw offer; None for a brand the flight does not sell."""
    if not offer.get("offered"):
        return None
    if offer.get("soldOut"):
        return Rejected("sold out")
    price = offer.get("totalPrice") or {}
    miles = (price.get("miles") or {}).get("miles")
    if not miles:
        return Rejected("unpriced")
    brand = offer.get("dominantSegmentBrandId") or ""
    cabin = BRAND_CABINS.get(brand)
    if cabin is None:
        return Rejected(f"unknown fare brand {brand}")
    options: Options = ctx.options or Options()
    origin, destination = trip.get("originAirportCode"), trip.get("destAirportCode")
    day = str(trip.get("schedDepartLocalTs") or "")[:10]
    level = options.promo_miles.get(cabin)
    promo = level is not None and int(miles) <= level
    money = price.get("currency") or {}
    return {
        "program": ctx.program or "delta",
        "title": _title(trip, offer),
        "airline": _carriers(trip),
        "origin": origin,
        "destination": destination,
        "depart_date": day,
        "cabin": cabin,
        "miles": int(miles),
        "taxes": money.get("amount"),
        "currency": money.get("code"),
        "promo": promo,
        "promo_reason": f"at or under {level:,} miles in {cabin}" if promo and level else None,
        "url": _link(options, origin, destination, day),
        "trip": "one-way",
    }


def _segments(trip: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in trip.get("flightSegment") or [] if isinstance(s, dict)]


def _carriers(trip: dict[str, Any]) -> str | None:
    codes = [(s.get("marketingCarrier") or {}).get("code") for s in _segments(trip)]
    return "/".join(dict.fromkeys(c for c in codes if c)) or None


def _title(trip: dict[str, Any], offer: dict[str, Any]) -> str:
    segments = _segments(trip)
    numbers = "/".join(str(s.get("marketingFlightNum") or "") for s in segments)
    stops = [s.get("originAirportCode") for s in segments] + [trip.get("destAirportCode")]
    title = f"{_carriers(trip) or 'DL'} {numbers} {'-'.join(str(p) for p in stops if p)}"
    brands = [leg.get("brandId") for leg in offer.get("brandInfoByFlightLegs") or []]
    if len(set(b for b in brands if b)) > 1:
        title += f" (mixed cabin: {'+'.join(str(b) for b in brands)})"
    return title


def _link(options: Options, origin: Any, destination: Any, day: str) -> str | None:
    try:
        return search_url(options.base_url, str(origin), str(destination), date.fromisoformat(day))
    except ValueError:
        return None


def parse_deals(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    """Listings of the SkyMiles deals page: every one is a sale."""
    options: Options = ctx.options or Options()
    deals = options.deals
    document = Selector(text=body.decode("utf-8", errors="replace"), type="html", base_url=ctx.url)
    for item in select(document, deals.item):
        raw: dict[str, Any] = {
            field: _text(item, getattr(deals, field))
            for field in ("origin", "destination", "miles", "cabin", "travel", "book_by", "url")
        }
        if not raw["miles"]:
            yield Rejected("deal without miles")
            continue
        if raw["url"]:
            raw["url"] = urljoin(ctx.url, raw["url"])
        yield {
            **raw,
            "program": ctx.program or "delta",
            "airline": "DL",
            "promo": True,
            "promo_reason": "SkyMiles flash sale",
            "trip": "one-way",
        }


def _text(item: Selector, query: str) -> str | None:
    parts = [v.strip() for v in select(item, query).getall() if v and v.strip()]
    return " ".join(parts) or None
