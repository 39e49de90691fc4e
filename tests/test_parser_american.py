"""The aa.com award search parser, on a trimmed real response and on edge records of its shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from offers.errors import MalformedResponse
from offers.model import make_offer
from scrapers.parsers import ParseContext, Parsed, Rejected
from scrapers.parsers.american import Options, parse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "airlines" / "american"


def run(body: bytes) -> tuple[list[dict[str, Any]], list[str]]:
    ctx = ParseContext(source="aa", program="american", options=Options())
    found: list[Parsed] = list(parse(body, ctx))
    offers = [o for o in found if isinstance(o, dict)]
    return offers, [r.reason for r in found if isinstance(r, Rejected)]


def test_real_response_one_offer_per_slice_and_available_product() -> None:
    offers, rejected = run((FIXTURES / "itinerary-search.json").read_bytes())
    # by hand: slice 1 has 4 available products, slice 2 has 3, slice 3 has 3; the
    # PREMIUM_ECONOMY and BUSINESS products are unavailable everywhere
    assert len(offers) == 10
    assert rejected == []
    assert [(o["cabin"], o["miles"], o["promo"]) for o in offers[:4]] == [
        ("economy", 25500, True),
        ("economy", 40000, False),
        ("first", 55000, True),
        ("first", 90000, False),
    ]
    assert sum(o["promo"] for o in offers) == 4
    first = offers[0]
    assert (first["origin"], first["destination"], first["depart_date"]) == (
        "LAX",
        "HNL",
        "2022-08-29",
    )
    assert (first["taxes"], first["currency"], first["airline"]) == (5.6, "USD", "AA")
    assert first["promo_reason"] == "AAdvantage web special"
    assert first["seats"] is None  # aa.com says 0 when it does not count seats
    assert first["url"].startswith("https://www.aa.com/booking/search?")
    assert [o["miles"] for o in offers[7:]] == [20000, 64000, 90000]
    for offer in offers:
        make_offer({**offer, "source": "aa"})


def test_connection_repeated_unavailable_and_unpriced_products() -> None:
    offers, rejected = run((FIXTURES / "edge.json").read_bytes())
    # the repeated COACH product counts once; BUSINESS is not available; FIRST has no points
    [offer] = offers
    assert (offer["origin"], offer["destination"], offer["title"]) == (
        "LAX",
        "JFK",
        "AA 2410/1302 LAX-DFW-JFK",
    )
    assert (offer["miles"], offer["seats"], offer["promo"]) == (12500, 3, True)
    assert rejected == ["unpriced"]


def test_no_flights_is_an_empty_result() -> None:
    assert run(b'{"error": "309", "slices": null}') == ([], [])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"error": "500", "slices": []}', "search error"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedResponse, match=reason):
        run(body)
