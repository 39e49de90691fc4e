"""The delta.com award search and SkyMiles deals parsers, on a trimmed real response, edge
records of its shape and a deals page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offers.errors import BlockedResponse, MalformedResponse
from offers.model import make_offer
from scrapers.parsers import ParseContext, Parsed, Rejected
from scrapers.parsers.delta import Options, parse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "airlines" / "delta"


def run(
    body: bytes, url: str = "https://www.delta.com/shop/ow/search", **options: Any
) -> tuple[list[dict[str, Any]], list[str]]:
    ctx = ParseContext(source="dl", url=url, program="delta", options=Options(**options))
    found: list[Parsed] = list(parse(body, ctx))
    offers = [o for o in found if isinstance(o, dict)]
    return offers, [r.reason for r in found if isinstance(r, Rejected)]


def test_real_response_one_offer_per_trip_and_offered_brand() -> None:
    offers, rejected = run((FIXTURES / "shop-search.json").read_bytes())
    # by hand: trip 1 sells MAIN and D1, trip 2 MAIN only (D1 sold out), trip 3 MAIN and D1;
    # Comfort+ is sold out on all three; the second viewSeatUrls entry repeats the first
    assert [(o["title"], o["cabin"], o["miles"]) for o in offers] == [
        ("DL 2362/392 SFO-LAX-JFK", "economy", 25000),
        ("DL 2362/392 SFO-LAX-JFK (mixed cabin: FIRST+D1)", "business", 230000),
        ("DL 2362/562 SFO-LAX-JFK", "economy", 25000),
        ("DL 3634/323 SFO-LAX-JFK", "economy", 25000),
        ("DL 3634/323 SFO-LAX-JFK (mixed cabin: FIRST+D1)", "business", 230000),
    ]
    assert rejected == ["sold out"] * 4
    first = offers[0]
    assert (first["origin"], first["destination"], first["depart_date"]) == (
        "SFO",
        "JFK",
        "2022-07-10",
    )
    assert (first["taxes"], first["currency"], first["airline"], first["promo"]) == (
        5.6,
        "USD",
        "DL",
        False,
    )
    assert "originCity=SFO&destinationCity=JFK&departureDate=2022-07-10" in first["url"]
    for offer in offers:
        make_offer({**offer, "source": "dl"})


def test_sale_level_is_per_cabin_and_configurable() -> None:
    offers, _ = run((FIXTURES / "shop-search.json").read_bytes(), promo_miles={"economy": 25000})
    assert [o["promo"] for o in offers] == [True, False, True, True, False]
    assert offers[0]["promo_reason"] == "at or under 25,000 miles in economy"


def test_connection_repeats_sold_out_unpriced_and_unknown_brands() -> None:
    offers, rejected = run((FIXTURES / "edge.json").read_bytes())
    assert [
        (o["origin"], o["destination"], o["cabin"], o["miles"], o["promo"]) for o in offers
    ] == [
        ("JFK", "LHR", "economy", 30000, False),
        ("JFK", "CDG", "economy", 9000, True),  # the default economy sale level is 10,000
        ("JFK", "CDG", "business", 60000, True),  # listed twice, read once
    ]
    assert offers[1]["airline"] == "DL/KL"
    assert offers[1]["title"] == "DL/KL 72/1223 JFK-AMS-CDG"
    assert (offers[0]["taxes"], offers[0]["depart_date"]) == (210.3, "2027-02-01")
    assert rejected == ["sold out", "unpriced", "unknown fare brand ZZ", "no fares"]


def test_deals_page_listings_are_promotions() -> None:
    url = "https://www.delta.com/us/en/skymiles/award-deals"
    offers, rejected = run((FIXTURES / "deals.html").read_bytes(), url=url)
    assert [(o["origin"], o["destination"], o["miles"], o["cabin"]) for o in offers] == [
        ("ATL", "CDG", "50,000", "Delta One"),
        ("DTW", "LAX", "7,500", "Main Cabin"),
    ]
    assert rejected == ["deal without miles"]
    assert offers[0]["url"] == "https://www.delta.com/flight-search/book-a-flight?from=ATL&to=CDG"
    offer = make_offer({**offers[0], "source": "dl"})
    assert (offer.miles, offer.cabin, offer.promo, offer.promo_reason) == (
        50000,
        "business",
        True,
        "SkyMiles flash sale",
    )
    assert (str(offer.travel_start), str(offer.travel_end), str(offer.book_by)) == (
        "2027-01-10",
        "2027-03-15",
        "2026-12-01",
    )


def test_deals_selectors_are_configurable() -> None:
    body = b'<ul><li class="x"><b>9,000</b><i>LAX</i><u>SEA</u></li></ul>'
    deals = {"item": "li.x", "miles": "b::text", "origin": "i::text", "destination": "u::text"}
    offers, _ = run(body, url="https://www.delta.com/deals", deals=deals)
    assert [(o["origin"], o["destination"], o["miles"]) for o in offers] == [
        ("LAX", "SEA", "9,000")
    ]


@pytest.mark.parametrize(
    ("body", "url"),
    [
        (
            b"<html><body>Temporarily unavailable</body></html>",
            "https://www.delta.com/content/system-unavailable1.html",
        ),
        (
            b"<html><body><p>Something went wrong. Reference #100904A</p></body></html>",
            "https://www.delta.com/",
        ),
    ],
)
def test_block_pages(body: bytes, url: str) -> None:
    with pytest.raises(BlockedResponse):
        run(body, url=url)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe garbage", "not JSON"),
        (b'{"shoppingError": {"error": {"message": "no flights"}}}', "no itinerary"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedResponse, match=reason):
        run(body)


#: Values a changed API might put where a record was.
ODD_VALUES = [None, ["x"], "x"]


@pytest.mark.parametrize("odd", ODD_VALUES)
def test_a_trip_of_another_type_costs_only_that_trip(odd: Any) -> None:
    saved = json.loads((FIXTURES / "shop-search.json").read_bytes())
    whole, _ = run(json.dumps(saved).encode())
    saved["itinerary"][1]["trip"][0] = odd
    offers, rejected = run(json.dumps(saved).encode())
    # trip 2 gave one offer and two sold-out fares; trips 1 and 3 still give theirs
    assert offers == whole[:2] + whole[3:]
    assert rejected == ["sold out", "unreadable record: AttributeError", "sold out"]
