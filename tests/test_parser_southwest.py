"""The southwest.com points search parser, on a real response and on edge records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from offers.errors import MalformedResponse
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


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            b'{"success": false, "notifications": {"formErrors": [{"code": "ERROR__NO_ROUTES"}]}}',
            "NO_ROUTES",
        ),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedResponse, match=reason):
        run(body)
