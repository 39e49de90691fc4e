"""The aa.com award search parser, on a trimmed real response and on edge records of its shape."""

from __future__ import annotations

import json
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
        (b"<html><body>Oops</body></html>", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"error": "", "responseMetadata": {}}', "no slices"),
        (b'{"error": "500", "slices": []}', "search error"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedResponse, match=reason):
        run(body)


#: Values a changed API might put where a record was.
ODD_VALUES = [None, ["x"], "x"]


@pytest.mark.parametrize("odd", ODD_VALUES)
def test_a_slice_or_product_of_another_type_costs_only_itself(odd: Any) -> None:
    saved = json.loads((FIXTURES / "itinerary-search.json").read_bytes())
    whole, _ = run(json.dumps(saved).encode())
    saved["slices"][1] = odd
    offers, rejected = run(json.dumps(saved).encode())
    # slice 2 gave 3 of the 10 offers; the slices around it still give theirs
    assert offers == whole[:4] + whole[7:]
    assert rejected == ["unreadable record: AttributeError"]
    saved = json.loads((FIXTURES / "itinerary-search.json").read_bytes())
    saved["slices"][0]["pricingDetail"][0] = odd
    offers, rejected = run(json.dumps(saved).encode())
    # the odd product was slice 1's economy web special; its other products are kept
    assert offers == whole[1:]
    assert rejected == ["unreadable record: AttributeError"]
