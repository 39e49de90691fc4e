"""The united.com FetchFlights parser, on a trimmed real response and on edge records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offers.errors import BlockedResponse, MalformedResponse
from offers.model import make_offer
from scrapers.parsers import ParseContext, Parsed, Rejected
from scrapers.parsers.united import Options, parse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "airlines" / "united"


def run(body: bytes) -> tuple[list[dict[str, Any]], list[str]]:
    ctx = ParseContext(source="ua", program="united", options=Options())
    found: list[Parsed] = list(parse(body, ctx))
    offers = [o for o in found if isinstance(o, dict)]
    return offers, [r.reason for r in found if isinstance(r, Rejected)]


def test_real_response_one_offer_per_flight_and_priced_product() -> None:
    offers, rejected = run((FIXTURES / "fetchflights.json").read_bytes())
    # by hand: 4 flights, each with an economy product, a premium placeholder and a business
    # product whose -NOT-MIXED twin repeats it at the same price
    assert len(offers) == 8
    assert rejected == []
    assert [(o["title"], o["cabin"], o["miles"]) for o in offers[:2]] == [
        ("UA 372 HNL-SFO", "economy", 31800),
        ("UA 372 HNL-SFO", "business", 84500),
    ]
    assert [o["miles"] for o in offers[6:]] == [37500, 70900]
    assert [o["seats"] for o in offers if o["cabin"] == "business"] == [9, 7, 8, 9]
    first = offers[0]
    assert (first["origin"], first["destination"], first["depart_date"]) == (
        "HNL",
        "SFO",
        "2022-04-21",
    )
    assert (first["taxes"], first["currency"], first["promo"]) == (5.6, "USD", False)
    assert first["url"].startswith(
        "https://www.united.com/en/us/fsr/choose-flights?f=HNL&t=SFO&d=2022-04-21"
    )
    for offer in offers:
        make_offer({**offer, "source": "ua"})


def test_connection_saver_mixed_cabin_sold_out_and_unpriced() -> None:
    offers, rejected = run((FIXTURES / "edge.json").read_bytes())
    # SFO-ORD connects to ORD-LHR: the trip ends at the connection's destination
    assert {(o["origin"], o["destination"]) for o in offers} == {("SFO", "LHR")}
    assert [(o["cabin"], o["miles"], o["promo"], o["title"]) for o in offers] == [
        ("economy", 30000, True, "UA 1234/958 SFO-ORD-LHR"),
        ("business", 88000, False, "UA 1234/958 SFO-ORD-LHR (mixed cabin)"),
        ("business", 120000, False, "UA 1234/958 SFO-ORD-LHR"),
    ]
    assert offers[0]["promo_reason"] == "saver award"
    assert (offers[0]["taxes"], offers[0]["seats"]) == (80.5, 4)
    # MIN-FIRST has no price; ECO-BASIC has no seats left; the premium column is a placeholder
    assert rejected == ["unpriced", "sold out"]


def test_refusal_page_is_a_block() -> None:
    body = (
        b"<html><body><p>Sorry, united.com was unable to complete this request.</p></body></html>"
    )
    with pytest.raises(BlockedResponse, match="unable to complete"):
        run(body)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html><body>Choose flights</body></html>", "not JSON"),
        (b'"FetchFlights"', "not a JSON object"),
        (b'{"data": null, "Error": {"Message": "session expired"}}', "session expired"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedResponse, match=reason):
        run(body)


#: Values a changed API might put where a record was.
ODD_VALUES = [None, ["x"], "x"]


@pytest.mark.parametrize("odd", ODD_VALUES)
def test_a_flight_of_another_type_costs_only_that_flight(odd: Any) -> None:
    saved = json.loads((FIXTURES / "fetchflights.json").read_bytes())
    whole, _ = run(json.dumps(saved).encode())
    saved["data"]["Trips"][0]["Flights"][1] = odd
    offers, rejected = run(json.dumps(saved).encode())
    # every flight gives 2 offers: the first, third and fourth still do
    assert offers == whole[:2] + whole[4:]
    assert rejected == ["unreadable record: AttributeError"]
