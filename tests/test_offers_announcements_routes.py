"""Routes and windows of feed posts as a run stores them: one offer per route, no origin-less
twin beside a full route, an airport-to-airport post as one route, windows as stated."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from offers.announcements import read
from scrapers.parsers import ParseContext
from scrapers.parsers.feed import parse

FETCHED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def feed(title: str, text: str) -> bytes:
    return f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Points Ledger</title>
<item><title>{title}</title><link>https://pointsledger.example/post</link>
<pubDate>Tue, 01 Dec 2026 08:00:00 +0000</pubDate><description><![CDATA[<p>{text}</p>]]>
</description></item></channel></rss>""".encode()


def offers(title: str, text: str) -> list[dict[str, Any]]:
    ctx = ParseContext(source="blog", url="https://pointsledger.example/feed", fetched_at=FETCHED)
    return [r for r in parse(feed(title, text), ctx) if isinstance(r, dict)]


def test_several_origins_are_one_offer_each() -> None:
    found = offers(
        "50% off business to Madrid from Boston, Chicago and New York",
        "Iberia Plus is taking 50% off business class awards to Madrid from Boston, Chicago "
        "and New York. Book by December 20.",
    )
    assert sorted((o["origin"], o["destination"]) for o in found) == [
        ("Boston", "Madrid"), ("Chicago", "Madrid"), ("New York", "Madrid"),
    ]  # fmt: skip
    assert {o["cabin"] for o in found} == {"business"}
    assert {o["discount_pct"] for o in found} == {50.0}


def test_several_destinations_are_one_offer_each() -> None:
    found = offers(
        "Award sale: Chicago to Paris or Rome",
        "Fly from Chicago to Paris or Rome for 22,000 miles one-way with United MileagePlus.",
    )
    assert sorted((o["origin"], o["destination"], o["miles"]) for o in found) == [
        ("Chicago", "Paris", 22000), ("Chicago", "Rome", 22000),
    ]  # fmt: skip


def test_an_airport_pair_is_one_route_without_a_regional_twin() -> None:
    found = offers(
        "British Airways: New York JFK – London Heathrow in business for 50,000 Avios",
        "Fly New York (JFK) to London Heathrow from 50,000 Avios one-way in Club World, one of "
        "the best deals to Europe this year. Book by May 1 for travel through August 31.",
    )
    assert [(o["origin"], o["destination"], o["miles"]) for o in found] == [("JFK", "LHR", 50000)]


def test_no_origin_less_twin_beside_the_full_route() -> None:
    found = offers(
        "Delta award sale to Rome",
        "Delta has an award sale to Rome: Atlanta to Rome from 30,000 miles round-trip.",
    )
    assert [(o["origin"], o["destination"]) for o in found] == [("Atlanta", "Rome")]


def test_a_place_with_its_own_price_is_kept_beside_a_route() -> None:
    found = read(
        "American Airlines reduced mileage awards",
        "Fly to any airport in the US for just 17,500 miles round-trip. For short flights "
        "(i.e., Houston to Dallas), the cost is just 6,500 one-way.",
        date(2019, 8, 2),
    )
    assert sorted((s.origins, s.destinations, s.miles) for s in found.sales) == [
        ((), ("US",), 17500), (("Houston",), ("Dallas",), 6500),
    ]  # fmt: skip


def test_travel_window_as_stated() -> None:
    found = read(
        "Award sale to Rome",
        "Rome from 30,000 miles. Travel from January 15 to March 31, 2027.",
        date(2026, 12, 1),
    )
    assert (found.travel_start, found.travel_end) == (date(2027, 1, 15), date(2027, 3, 31))


def test_a_range_with_the_month_once() -> None:
    for written in ("May 5 – 19, 2031", "5–19 May 2031", "May 5-19, 2031"):
        found = read("Award sale", f"Rome from 30,000 miles. Travel {written}.", date(2030, 12, 1))
        assert (found.travel_start, found.travel_end) == (date(2031, 5, 5), date(2031, 5, 19))


def test_a_clause_naming_only_an_origin_keeps_the_destination() -> None:
    found = offers(
        "Delta SkyMiles flash sale: Boston to Madrid from 30,000 miles",
        "Delta SkyMiles has business class from Boston to Madrid from 30,000 miles one-way, and "
        "from Chicago for 35,000 miles. Book by March 10, 2026.",
    )
    assert sorted((o["origin"], o["destination"], o["miles"]) for o in found) == [
        ("Boston", "Madrid", 30000), ("Chicago", "Madrid", 35000),
    ]  # fmt: skip


def test_a_clause_naming_only_a_destination_keeps_the_origin() -> None:
    found = offers(
        "United award sale from Boston",
        "United has economy awards from Boston to Madrid from 30,000 miles one-way, and to Rome "
        "for 35,000 miles.",
    )
    assert sorted((o["origin"], o["destination"], o["miles"]) for o in found) == [
        ("Boston", "Madrid", 30000), ("Boston", "Rome", 35000),
    ]  # fmt: skip


def test_a_new_sentence_does_not_continue_the_route() -> None:
    found = read(
        "Award sale",
        "Fly from Boston to Madrid from 30,000 miles one-way. Rome is 35,000 miles one-way.",
        date(2026, 3, 2),
    )
    assert sorted((s.origins, s.destinations, s.miles) for s in found.sales) == [
        ((), ("Rome",), 35000), (("Boston",), ("Madrid",), 30000),
    ]  # fmt: skip
