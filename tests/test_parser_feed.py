"""The feed parser on saved RSS and Atom feeds: one offer per award sale, a reason for the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import XmlResponse

from awardwatch.errors import MalformedResponse
from offers.model import make_offer
from scrapers.parsers import ParseContext, Rejected
from scrapers.parsers.feed import Options, announcements, parse

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
FETCHED = datetime(2026, 4, 5, tzinfo=UTC)


def response(name: str) -> XmlResponse:
    return XmlResponse(url=f"https://feeds.example/{name}", body=(FEEDS / name).read_bytes())


def run(name: str, **context: Any) -> tuple[list[dict[str, Any]], list[str]]:
    ctx = ParseContext(
        source="blog", url=f"https://feeds.example/{name}", fetched_at=FETCHED, **context
    )
    results = list(parse(response(name).body, ctx))
    offers = [r for r in results if isinstance(r, dict)]
    return offers, [r.reason for r in results if isinstance(r, Rejected)]


def test_rss_award_sales_become_valid_offers() -> None:
    offers, _ = run("points_blog.rss")
    built = [make_offer({**o, "source": "blog"}) for o in offers]
    assert [(o.program, o.origin, o.destination, o.miles) for o in built] == [
        ("flyingblue", "Paris", "New York", 15000),
        ("american", "Dallas", "Honolulu", 22500),
        ("american", "Chicago", "Paris", 30000),
        ("american", "Miami", "Lima", 17500),
        ("british", None, "Caribbean", None),
        ("british", None, "Mexico", None),
    ]
    first = built[0]
    assert (first.trip, first.cabin, str(first.book_by)) == ("one-way", "economy", "2026-03-06")
    assert (str(first.travel_start), str(first.travel_end)) == ("2026-04-01", "2026-06-30")
    assert first.url == "https://pointsledger.example/flying-blue-promo-rewards-march"
    assert first.promo and first.promo_reason == "award sale announced by Points Ledger"


def test_a_discount_without_miles_is_an_offer_with_discount_pct() -> None:
    offers, _ = run("points_blog.rss")
    british = make_offer({**offers[-1], "source": "blog"})
    assert (british.miles, british.discount_pct, str(british.book_by)) == (None, 25.0, "2026-02-10")


def test_rss_lookalikes_are_rejected_with_the_reason() -> None:
    _, rejected = run("points_blog.rss")
    assert rejected == [
        "not an award sale: cash fare sale",
        "not an award sale: buy miles bonus",
        "not an award sale: credit card offer",
        "not an award sale: general guide",
    ]


def test_atom_posts_in_french_and_german() -> None:
    offers, rejected = run("airline_news.atom")
    assert [
        (o["program"], o["origin"], o["destination"], o["miles"], o["trip"]) for o in offers
    ] == [
        ("flyingblue", "Paris", "Montréal", 12500, "one-way"),
        ("lufthansa", "Frankfurt am Main", "New York", 20000, "round-trip"),
    ]
    assert [str(offers[1][k]) for k in ("book_by", "travel_start", "travel_end")] == [
        "2026-04-30", "2026-05-01", "2026-06-30",
    ]  # fmt: skip
    assert rejected == ["not an award sale: no miles price or award discount"]


def test_malformed_feed_yields_what_it_can_and_records_the_problem() -> None:
    offers, rejected = run("truncated.rss")
    # the cut-off post still names its sale and places in its title
    assert [(o["program"], o["destination"], o["miles"], o["trip"]) for o in offers] == [
        ("delta", "Cancun", 12500, "round-trip"),
        ("iberia", "Buenos Aires", None, None),
        ("iberia", "Lima", None, None),
    ]
    assert str(offers[0]["travel_end"]) == "2026-05-31"
    assert rejected[0].startswith("malformed feed: ")


def test_not_a_feed_is_a_malformed_response() -> None:
    ctx = ParseContext(source="blog")
    with pytest.raises(MalformedResponse):
        list(parse(b"<html><body>Just a moment...</body></html>", ctx))
    with pytest.raises(MalformedResponse):
        list(parse(b"   ", ctx))


ANONYMOUS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Deals</title>
<item><title>Award sale: 10,000 miles to Miami</title><link>https://deals.example/1</link>
<pubDate>Mon, 02 Mar 2026 10:00:00 +0000</pubDate></item></channel></rss>"""


def test_program_falls_back_to_the_source_setting() -> None:
    ctx = ParseContext(source="united-news", program="united", fetched_at=FETCHED)
    (offer,) = list(parse(ANONYMOUS, ctx))
    assert isinstance(offer, dict) and offer["program"] == "united"
    assert list(parse(ANONYMOUS, ParseContext(source="blog"))) == [
        Rejected("no program: the post names none and the source sets none")
    ]


def test_require_miles_option() -> None:
    offers, rejected = run("points_blog.rss", options=Options(require_miles=True))
    assert all(o["miles"] for o in offers)
    assert "no miles price in post" in rejected


def test_cli_records_of_award_sales() -> None:
    records = list(announcements((FEEDS / "points_blog.rss").read_bytes(), FETCHED))
    assert [r["link"].rsplit("/", 1)[-1] for r in records] == [
        "flying-blue-promo-rewards-march", "american-award-sale", "ba-caribbean",
    ]  # fmt: skip
    american = records[1]
    assert american == {
        "link": "https://pointsledger.example/american-award-sale",
        "title": "American Airlines award sale to three continents",
        "program": "american",
        "miles": 17500,
        "trip": "one-way",
        "cabin": "economy",
        "origins": ["Dallas", "Chicago", "Miami"],
        "destinations": ["Honolulu", "Paris", "Lima"],
        "travel_start": "2026-01-10",
        "travel_end": "2026-03-31",
        "book_by": "2025-12-01",
        "is_award_sale": True,
    }
