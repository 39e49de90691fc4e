"""A feed post cut short is the sale already known, not a new one: the real feed parser and the
run's record, with the same post in full, then cut, then in full again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from offers.model import make_offer
from runner.crawl import CrawlResult
from runner.pipeline import record
from scrapers.parsers import ParseContext
from scrapers.parsers.feed import parse
from settings.config import Config

T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
CONFIG = Config.model_validate(
    {"sources": [{"name": "blog", "kind": "feed", "urls": ["https://feeds.example/f.xml"]},
                 {"name": "deals", "kind": "api", "urls": ["https://deals.example/"],
                  "options": {"fields": {"miles": "miles"}}}]}
)  # fmt: skip
FULL = (
    "Delta SkyMiles has business class from Boston to Madrid from 30,000 miles one-way, and "
    "from Chicago for 35,000 miles. Book by March 10, 2026 for travel from April 1 to June 30, "
    "2026."
)
CUTS = {
    "ellipsis": FULL[:95] + "…",
    "bracket": FULL[:120] + " […]",
    "half number": FULL[:53] + "…",
    "read more": FULL[:100] + " Read more »",
}


def feed(description: str, link: str = "/posts/delta-madrid") -> bytes:
    return f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Ledger</title>
<link>https://ledger.example/</link><item>
<title>Delta SkyMiles flash sale: Boston to Madrid from 30,000 miles</title><link>{link}</link>
<pubDate>Mon, 02 Mar 2026 10:00:00 +0000</pubDate><description>{description}</description>
</item></channel></rss>""".encode()


def run(db: Any, hours: float, body: bytes, source: str = "blog") -> list[tuple[str, Any]]:
    now = T0 + timedelta(hours=hours)
    ctx = ParseContext(source=source, url="https://feeds.example/f.xml", fetched_at=now)
    offers = [make_offer({**raw, "source": source, "seen_at": now})
              for raw in parse(body, ctx) if isinstance(raw, dict)]  # fmt: skip
    result = CrawlResult(source, started=now, finished=now, offers=offers, responses=1)
    summary = record(db, CONFIG, result, lambda event: [], now)
    return [(e.kind, e.offer.origin) for e in summary.events]


def live(db: Any) -> int:
    return int(db.execute("SELECT count(*) FROM offers WHERE gone_since IS NULL").fetchone()[0])


@pytest.mark.parametrize("cut", CUTS)
def test_a_post_cut_short_never_alerts_a_known_sale_again(db: Any, cut: str) -> None:
    assert sorted(run(db, 0, feed(FULL))) == [("new", "Boston"), ("new", "Chicago")]
    for hour in range(1, 4):
        assert run(db, hour, feed(CUTS[cut])) == []
    assert run(db, 30, feed(FULL)) == []  # and no "back": it was never gone
    assert db["offers"].count == 2 and live(db) == 2


def test_the_full_post_after_its_cut_form_is_the_same_sale(db: Any) -> None:
    assert run(db, 0, feed(CUTS["ellipsis"])) == [("new", "Boston")]
    assert run(db, 1, feed(FULL)) == [("new", "Chicago")]  # only the route not read before
    boston = next(r for r in db["offers"].rows if r["origin"] == "Boston")
    assert (boston["travel_start"], boston["travel_end"]) == ("2026-04-01", "2026-06-30")


def test_another_post_of_the_same_sale_words_is_another_offer(db: Any) -> None:
    run(db, 0, feed(FULL))
    assert run(db, 1, feed(CUTS["ellipsis"], link="/posts/other")) == [("new", "Boston")]
