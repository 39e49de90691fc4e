"""The seatsaero parser on saved seats.aero Partner API pages: one offer per record and
available cabin, programs mapped to ours, promotions by region level, and paging."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError
from scrapy.http import TextResponse

from offers.errors import MalformedResponse
from offers.model import make_offer
from scrapers.parsers import ParseContext, Rejected, seatsaero

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "airlines" / "seatsaero"
API_URL = "https://seats.aero/partnerapi/availability?source=delta&take=10"


def run(body: bytes, **options: Any) -> list[Any]:
    response = TextResponse(API_URL, body=body, encoding="utf-8")
    ctx = ParseContext(source="seatsaero", url=response.url, options=seatsaero.Options(**options))
    return list(seatsaero.parse(response.body, ctx))


def fixture(name: str, **options: Any) -> list[Any]:
    return run((FIXTURES / name).read_bytes(), **options)


def offers(results: list[Any]) -> list[dict[str, Any]]:
    return [r for r in results if not isinstance(r, Rejected)]


REFERENCE_LEVELS = {"North America": {"economy": 25000}, "Asia": {"business": 35000}}
MIXED_LEVELS = {"Europe": {"economy": 30000, "business": 60000}, "Asia": 70000, "Japan": 55000}


def test_reference_page_reads_every_available_cabin() -> None:
    results = fixture("availability-page.json", promo_max_miles=REFERENCE_LEVELS)
    # 10 records: business available in all 10, economy in 6, premium and first in none
    assert len(results) == 16 and not [r for r in results if isinstance(r, Rejected)]
    assert Counter(r["cabin"] for r in results) == {"business": 10, "economy": 6}
    assert {r["program"] for r in results} == {"delta"}
    assert results[0] == {
        "program": "delta",
        "airline": "DL",
        "origin": "MEX",
        "destination": "ORD",
        "depart_date": "2023-09-17",
        "cabin": "economy",
        "miles": 47000,
        "promo": False,
        "promo_reason": None,
        "seats": 3,
        "url": "https://seats.aero/search?origins=MEX&destinations=ORD&date=2023-09-17",
        "trip": "one-way",
    }
    for raw in results:
        make_offer({**raw, "source": "seatsaero"})


def test_reference_page_promotions_by_region_level() -> None:
    results = fixture("availability-page.json", promo_max_miles=REFERENCE_LEVELS)
    promos = sorted(
        (r["origin"], r["destination"], r["cabin"], r["miles"]) for r in results if r["promo"]
    )
    # economy to North America at or under 25,000; business to Asia at or under 35,000
    assert promos == [
        ("BOS", "MCO", "economy", 22000),
        ("ICN", "KIX", "business", 15000),
        ("MIA", "BOS", "economy", 23000),
        ("MIA", "JFK", "economy", 18000),
        ("MNL", "ICN", "business", 35000),
        ("TPE", "KIX", "business", 35000),
    ]
    bos = next(r for r in results if r["origin"] == "BOS" and r["cabin"] == "economy")
    assert bos["promo_reason"] == "22,000 miles, at or under 25,000 for economy to North America"


def test_no_levels_means_no_promotions() -> None:
    assert not any(r["promo"] for r in fixture("availability-page.json"))


def test_mixed_records() -> None:
    results = fixture("search-mixed.json", promo_max_miles=MIXED_LEVELS)
    found = offers(results)
    assert [
        (o["program"], o["origin"], o["destination"], o["cabin"], o["miles"]) for o in found
    ] == [
        ("american", "JFK", "CDG", "economy", 30000),
        ("american", "JFK", "CDG", "business", 57500),
        ("sas", "SFO", "NRT", "business", 60000),  # seats.aero "eurobonus"
        ("qantas", "LAX", "SYD", "business", 120000),
    ]  # first at "0" miles, premium not available, the repeated record: nothing
    assert [r.reason for r in results if isinstance(r, Rejected)] == [
        "program: unknown seats.aero source 'ethiopian'",
        "miles: unreadable mileage cost 'n/a'",
        "record without a route",
    ]
    assert found[1]["airline"] == "AA, BA" and found[1]["seats"] == 2
    assert found[2]["seats"] is None  # available with 0 remaining: count unknown


def test_most_specific_level_wins() -> None:
    found = offers(fixture("search-mixed.json", promo_max_miles=MIXED_LEVELS))
    assert [o["promo"] for o in found] == [True, True, False, False]
    # NRT: Japan's 55,000, not Asia's 70,000
    assert found[2]["promo"] is False
    assert found[0]["promo_reason"] == "30,000 miles, at or under 30,000 for economy to Europe"


def test_extra_program_names() -> None:
    found = offers(fixture("search-mixed.json", programs={"ethiopian": "lufthansa"}))
    assert ("lufthansa", "ADD") in {(o["program"], o["destination"]) for o in found}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty response"),
        (b"<html><title>Just a moment...</title></html>", "not JSON"),
        (b'{"error": "invalid API key"}', "no data list"),
        (b'[{"ID": "x"}]', "no data list"),
    ],
)
def test_malformed_bodies_give_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedResponse, match=reason):
        run(body)


def test_next_page_keeps_the_query_and_moves_on() -> None:
    body = (FIXTURES / "availability-page.json").read_bytes()
    url = seatsaero.next_page(body, API_URL)
    assert url is not None
    assert parse_qs(urlsplit(url).query) == {
        "source": ["delta"], "take": ["10"], "cursor": ["1694910072"], "skip": ["10"],
    }  # fmt: skip
    later = seatsaero.next_page(body, url)
    assert later is not None and parse_qs(urlsplit(later).query)["skip"] == ["20"]


def test_last_page_has_no_next() -> None:
    assert seatsaero.next_page((FIXTURES / "search-mixed.json").read_bytes(), API_URL) is None
    assert seatsaero.next_page(b"not json", API_URL) is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"promo_max_miles": {"Atlantis": 1000}}, "unknown place"),
        ({"promo_max_miles": {"Europe": {"coach": 1000}}}, "unknown cabin"),
        ({"promo_max_miles": {"Europe": 0}}, "positive"),
        ({"programs": {"ethiopian": "sheba"}}, "unknown program"),
        ({"daily_calls": 0}, "greater than or equal to 1"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        seatsaero.Options(**options)


#: Values a changed API might put where a record was.
ODD_VALUES = [None, ["x"], "x"]


@pytest.mark.parametrize("odd", ODD_VALUES)
def test_a_record_of_another_type_costs_only_that_record(odd: Any) -> None:
    saved = json.loads((FIXTURES / "availability-page.json").read_bytes())
    whole = run(json.dumps(saved).encode())
    saved["data"][0] = odd
    results = run(json.dumps(saved).encode())
    # record 1 gave MEX-ORD in economy and business; the other 9 records still give theirs
    assert results == [Rejected("record without a route"), *whole[2:]]
    saved = json.loads((FIXTURES / "availability-page.json").read_bytes())
    saved["data"][0]["Route"]["DestinationAirport"] = [odd]
    results = run(json.dumps(saved).encode())
    assert results == [Rejected("unreadable record: TypeError"), *whole[2:]]
