"""The flyingblue parser on saved Air France-KLM Offers API responses (best-fare-offers,
reward booking flow)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import TextResponse

from offers.errors import BlockedResponse, MalformedResponse
from offers.model import make_offer
from scrapers.parsers import ParseContext, Rejected, flyingblue

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "airlines" / "flyingblue"
API_URL = "https://api.airfranceklm.com/opendata/offers/v1/best-fare-offers"


def run(body: bytes) -> list[Any]:
    """The parser on a body served as a Scrapy response, as a crawl would hand it over."""
    response = TextResponse(API_URL, body=body, encoding="utf-8")
    ctx = ParseContext(source="flyingblue", url=response.url, options=flyingblue.Options())
    return list(flyingblue.parse(response.body, ctx))


def fixture(name: str) -> list[Any]:
    return run((FIXTURES / name).read_bytes())


def offers(results: list[Any]) -> list[dict[str, Any]]:
    return [r for r in results if not isinstance(r, Rejected)]


def test_reference_response_gives_its_one_offer_exactly() -> None:
    results = fixture("best-fare-offers-reward.json")
    assert results == [
        {
            "program": "flyingblue",
            "airline": None,
            "origin": "CDG",
            "destination": "JFK",
            "travel_start": "2024-08-01",
            "travel_end": "2024-08-08",
            "cabin": "business",
            "miles": 50000,
            "taxes": 383.5,
            "currency": "USD",
            "promo": False,
            "promo_reason": None,
            "seats": None,
            "url": "https://www.flyingblue.com/en/spend/flights/promo-rewards",
            "trip": "one-way",
        }
    ]
    offer = make_offer({**results[0], "source": "flyingblue"})
    assert offer.travel_start is not None and offer.travel_start.isoformat() == "2024-08-01"


def test_promo_reward_over_a_connection() -> None:
    first = offers(fixture("best-fare-offers-mixed.json"))[0]
    assert first["origin"] == "AMS" and first["destination"] == "JFK"
    assert first["airline"] == "KL, AF"  # AMS-CDG on KL, CDG-JFK on AF
    assert first["depart_date"] == "2026-03-14"
    assert (first["cabin"], first["miles"], first["taxes"], first["currency"]) == (
        "economy", 15000, 96.41, "EUR",
    )  # fmt: skip
    assert first["promo"] is True and first["promo_reason"] == "Flying Blue Promo Reward"
    assert first["seats"] == 4


def test_round_trip_takes_the_outbound_route_and_fewest_seats() -> None:
    trip = offers(fixture("best-fare-offers-mixed.json"))[1]
    assert (trip["origin"], trip["destination"], trip["trip"]) == ("CDG", "JFK", "round-trip")
    assert (trip["cabin"], trip["miles"], trip["seats"]) == ("business", 144000, 2)
    assert trip["promo"] is False


def test_party_prices_are_per_traveller() -> None:
    two = offers(fixture("best-fare-offers-mixed.json"))[2]
    assert (two["cabin"], two["miles"], two["taxes"]) == ("premium_economy", 45000, 150.0)


def test_sold_out_and_unpriced_offers_give_nothing_and_repeats_are_dropped() -> None:
    results = fixture("best-fare-offers-mixed.json")
    found = offers(results)
    assert len(found) == 3  # 8 records: sold out, unpriced, 2 unreadable, 1 repeat
    routes = {(o["origin"], o["destination"]) for o in found}
    assert ("CDG", "LAX") not in routes and ("CDG", "SFO") not in routes
    assert [r.reason for r in results if isinstance(r, Rejected)] == [
        "cabin: unknown commercial cabin 'SPACE'",
        "offer without connections",
    ]
    for raw in found:
        make_offer({**raw, "source": "flyingblue"})


def test_gateway_refusal_is_a_block() -> None:
    with pytest.raises(BlockedResponse, match="Over Qps"):
        fixture("over-qps.html")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty response"),
        (b"<html><body>Service unavailable</body></html>", "not JSON"),
        (b"[1, 2]", "not an object"),
        (b'{"recommendations": []}', "no bestOffers list"),
        (
            b'{"errors": [{"code": 2003, "description": "Invalid dateInterval"}]}',
            "Invalid dateInterval",
        ),
    ],
)
def test_malformed_bodies_give_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedResponse, match=reason):
        run(body)


def test_empty_offer_list_is_no_offers() -> None:
    assert run(b'{"bestOffers": []}') == []


#: What the saved mixed response rejects as it is.
KNOWN_REJECTIONS = ["cabin: unknown commercial cabin 'SPACE'", "offer without connections"]
#: Values a changed API might put where a record was.
ODD_VALUES = [None, ["x"], "x"]


@pytest.mark.parametrize("odd", ODD_VALUES)
def test_an_offer_or_connection_of_another_type_costs_only_that_offer(odd: Any) -> None:
    saved = json.loads((FIXTURES / "best-fare-offers-mixed.json").read_bytes())
    whole = offers(run(json.dumps(saved).encode()))
    saved["bestOffers"][2] = odd
    results = run(json.dumps(saved).encode())
    assert offers(results) == whole[:2]
    assert [r.reason for r in results if isinstance(r, Rejected)] == [
        "offer is not an object",
        *KNOWN_REJECTIONS,
    ]
    saved = json.loads((FIXTURES / "best-fare-offers-mixed.json").read_bytes())
    saved["bestOffers"][1]["connections"][1] = odd
    results = run(json.dumps(saved).encode())
    # the round trip's bounds are priced together: without its way back it is no offer at all
    assert offers(results) == [whole[0], whole[2]]
    assert [r.reason for r in results if isinstance(r, Rejected)] == [
        "connection is not an object",
        *KNOWN_REJECTIONS,
    ]
