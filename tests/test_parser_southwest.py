"""The southwest.com points search parser, on a real response and on edge records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offers.errors import BlockedResponse, MalformedResponse
from offers.model import make_offer
from scrapers.parsers import ParseContext, Parsed, Rejected
from scrapers.parsers.southwest import Options, parse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "airlines" / "southwest"


def run(body: bytes) -> tuple[list[dict[str, Any]], list[str]]:
    ctx = ParseContext(source="wn", program="southwest", options=Options())
    found: list[Parsed] = list(parse(body, ctx))
    offers = [o for o in found if isinstance(o, dict)]
    return offers, [r.reason for r in found if isinstance(r, Rejected)]


def test_real_response_one_offer_per_flight_and_fare_family() -> None:
    offers, rejected = run((FIXTURES / "shopping.json").read_bytes())
    # by hand: 3 flights x 3 available fare families, none on sale
    assert len(offers) == 9
    assert rejected == []
    assert [o["miles"] for o in offers[:3]] == [17009, 23646, 26965]
    assert [o["title"] for o in offers[3:6]] == [
        "WN 1562/1935 OAK-LAX-KOA Wanna Get Away",
        "WN 1562/1935 OAK-LAX-KOA Anytime",
        "WN 1562/1935 OAK-LAX-KOA Business Select",
    ]
    assert not any(o["promo"] for o in offers)
    first = offers[0]
    assert (first["origin"], first["destination"], first["depart_date"]) == (
        "OAK",
        "KOA",
        "2022-07-25",
    )
    assert (first["cabin"], first["taxes"], first["currency"]) == ("economy", 5.6, "USD")
    assert "originationAirportCode=OAK" in first["url"]
    for offer in offers:
        make_offer({**offer, "source": "wn"})


def test_sale_fare_sold_out_and_unpriced_families() -> None:
    offers, rejected = run((FIXTURES / "edge.json").read_bytes())
    [sale] = offers
    assert (sale["title"], sale["miles"], sale["promo"]) == (
        "WN 2571/2358 OAK-LAS-KOA Wanna Get Away",
        9000,
        True,
    )
    assert sale["promo_reason"] == "sale fare (was 12,000 points)"
    assert sale["discount_pct"] == 25.0
    # Anytime is UNAVAILABLE; Business Select is AVAILABLE without a fare
    assert rejected == ["sold out", "unpriced"]


def test_bot_error_code_is_a_block() -> None:
    body = b'{"code": 403050700, "message": "We are sorry, something went wrong."}'
    with pytest.raises(BlockedResponse, match="403050700"):
        run(body)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not JSON"),
        (b"<html>Select flights</html>", "not JSON"),
        (
            b'{"success": false, "notifications": {"formErrors": [{"code": "ERROR__NO_ROUTES"}]}}',
            "NO_ROUTES",
        ),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedResponse, match=reason):
        run(body)


#: Values a changed API might put where a record was.
ODD_VALUES = [None, ["x"], "x"]


@pytest.mark.parametrize("odd", ODD_VALUES)
def test_a_flight_of_another_type_costs_only_that_flight(odd: Any) -> None:
    saved = json.loads((FIXTURES / "shopping.json").read_bytes())
    whole, _ = run(json.dumps(saved).encode())
    saved["data"]["searchResults"]["airProducts"][0]["details"][1] = odd
    offers, rejected = run(json.dumps(saved).encode())
    # every flight gives its 3 fare families: the first and third still do
    assert offers == whole[:3] + whole[6:]
    assert rejected == ["unreadable record: AttributeError"]
