"""The feed parser on saved RSS and Atom feeds: one offer per award sale, a reason for the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import XmlResponse

from offers.errors import MalformedResponse
from offers.model import make_offer
from scrapers.parsers import ParseContext, Rejected
from scrapers.parsers.feed import Options, parse, uncut

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


def test_rejected_posts_say_which_post() -> None:
    ctx = ParseContext(source="blog", url="https://feeds.example/f", fetched_at=FETCHED)
    results = list(parse((FEEDS / "points_blog.rss").read_bytes(), ctx))
    rejected = [r for r in results if isinstance(r, Rejected)]
    assert rejected and all(r.item for r in rejected)


def feed_of(channel: str, items: str, root: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0"{root}><channel><title>Deals</title>{channel}'
        f"{items}</channel></rss>"
    ).encode()


def item(link: str, attrs: str = "") -> str:
    return (
        f"<item{attrs}><title>United MileagePlus award sale: 10,000 miles to Miami</title>"
        f"<link>{link}</link><pubDate>Mon, 02 Mar 2026 10:00:00 +0000</pubDate></item>"
    )


LINKS = {
    "feed link": (feed_of("<link>https://blog.example/</link>", item("/posts/a")),
                  "https://blog.example/posts/a"),
    "response url": (feed_of("", item("/posts/a")), "https://feeds.example/posts/a"),
    "item xml:base": (
        feed_of("<link>https://blog.example/</link>",
                item("a.html", ' xml:base="https://other.example/x/"')),
        "https://other.example/x/a.html",
    ),
    "feed xml:base": (
        feed_of("", item("posts/a"), ' xml:base="https://base.example/blog/"'),
        "https://base.example/blog/posts/a",
    ),
    "absolute": (feed_of("<link>https://blog.example/</link>", item("https://x.example/p")),
                 "https://x.example/p"),
    "atom": (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>N</title>'
        b'<link href="https://news.example/"/><entry><title>United MileagePlus award sale: '
        b'10,000 miles to Miami</title><id>1</id><updated>2026-03-02T10:00:00Z</updated>'
        b'<link href="/2026/sale"/></entry></feed>',
        "https://news.example/2026/sale",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", LINKS)
def test_post_links_are_absolute(case: str) -> None:
    body, expected = LINKS[case]
    ctx = ParseContext(source="blog", url="https://feeds.example/feed.xml", fetched_at=FETCHED,
                       program="united")  # fmt: skip
    offers = [r for r in parse(body, ctx) if isinstance(r, dict)]
    assert [o["url"] for o in offers] == [expected]


CUTS = [
    ("from 50,0…", "from"),
    ("for travel through May […]", "for travel through May"),
    ("Book by Friday. Read more »", "Book by Friday."),
    ("to Rome from 30,000 miles... Continue reading →", "to Rome from 30,000 miles"),
    ("Boston to Rome (…)", "Boston to Rome"),
    ("A whole post.", "A whole post."),
    ("No cut here", "No cut here"),
]


@pytest.mark.parametrize(("text", "kept"), CUTS)
def test_a_post_cut_short_loses_the_mark_and_any_half_number(text: str, kept: str) -> None:
    assert uncut(text) == kept
