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
from scrapers.parsers import ParseContext, Parsed, Rejected, SiteOptions, airline
from scrapers.parsers.page import select

#: Signs of Delta's block page: a redirect to the outage page, or its error reference.
BLOCK_URLS = ("system-unavailable1.html",)
BLOCK_TEXT = (*BLOCK_URLS, "#100904A")

#: Fare brand (``dominantSegmentBrandId``) -> cabin. Comfort+ counts as premium economy, as
#: ``offers.text`` reads it; Delta's domestic First is its own cabin.
BRAND_CABINS = airline.cabins(
    economy=["BE", "MAIN"], premium_economy=["DCP", "DPPS"], first=["FIRST"], business=["D1"]
)


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


AIRLINE = airline.Airline("delta", "DL", "delta.com", search_url, Options, BLOCK_TEXT, BLOCK_URLS)
blocked = AIRLINE.blocked


def parse(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    if body.lstrip()[:1] == b"<":
        AIRLINE.refuse_blocks(body, ctx.url)
        yield from parse_deals(body, ctx)
        return
    data = AIRLINE.answer(body, ctx.url)
    itineraries = airline.records(data, ("itinerary",), "not a Delta award search response")
    yield from airline.walk(itineraries, ("trip",), lambda trip: _trip_offers(trip, ctx))


def _trip_offers(trip: dict[str, Any], ctx: ParseContext) -> Iterator[Parsed]:
    # the later viewSeatUrls entries repeat the first
    first = airline.dig(trip.get("viewSeatUrls"), 0)
    if not isinstance(first, dict):
        return iter([Rejected("no fares")])
    offers = airline.dig(first, "fareOffer", "itineraryOfferList") or []
    if not isinstance(offers, list):
        raise TypeError("itineraryOfferList is not a list")
    flight = _flight(trip)
    return airline.fares(offers, lambda offer: _fare(flight, offer, ctx))


def _flight(trip: dict[str, Any]) -> airline.Flight:
    segments = airline.objects(trip.get("flightSegment"))
    return airline.Flight(
        trip.get("originAirportCode"),
        trip.get("destAirportCode"),
        trip.get("schedDepartLocalTs"),
        carriers=[airline.dig(s, "marketingCarrier", "code") for s in segments],
        numbers=[s.get("marketingFlightNum") for s in segments],
        stops=[*(s.get("originAirportCode") for s in segments), trip.get("destAirportCode")],
    )


def _fare(flight: airline.Flight, offer: dict[str, Any], ctx: ParseContext) -> Parsed | None:
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
    level = AIRLINE.options(ctx).promo_miles.get(cabin)
    promo = f"at or under {level:,} miles in {cabin}" if level and int(miles) <= level else None
    money = price.get("currency") or {}
    fare = airline.Fare(
        cabin, miles, money.get("amount"), money.get("code"), promo, note=_mixed(offer)
    )
    return AIRLINE.offer(ctx, flight, fare)


def _mixed(offer: dict[str, Any]) -> str:
    """What the title says of a fare whose legs fly different brands."""
    brands = [leg.get("brandId") for leg in offer.get("brandInfoByFlightLegs") or []]
    if len(set(b for b in brands if b)) > 1:
        return f" (mixed cabin: {'+'.join(str(b) for b in brands)})"
    return ""


def parse_deals(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    """Listings of the SkyMiles deals page: every one is a sale."""
    deals = AIRLINE.options(ctx).deals
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
