"""Text of hostile length from a page is cut to the documented bounds when the offer is made,
so recording a run costs the same whatever the page wrote."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from offers.errors import InvalidOffer
from offers.model import MAX_LENGTHS, MAX_MILES, MAX_RAW_TEXT, make_offer
from offers.rules import Rule
from runner.crawl import CrawlResult
from runner.pipeline import record
from settings.config import BotSettings, Config

HUGE = 200_000


def hostile(n: int) -> dict[str, Any]:
    return {
        "source": "hostile",
        "program": "united",
        "title": f"{n} " + "Sale! " * HUGE,
        "airline": "United " * HUGE,
        "origin": "fr so an " * HUGE,
        "destination": "Paris" + "x" * HUGE,
        "promo_reason": "because " * HUGE,
        "url": "https://example.com/?" + "a" * HUGE,
        "miles": f"{10000 + n} miles",
        "cabin": "business " + " " * HUGE,
    }


@pytest.mark.parametrize("field", sorted(MAX_LENGTHS))
def test_each_text_field_is_cut_to_its_bound(field: str) -> None:
    offer = make_offer(hostile(1))
    value = getattr(offer, field)
    assert value is not None and len(value) <= MAX_LENGTHS[field]


def test_cut_text_ends_with_an_ellipsis() -> None:
    assert make_offer(hostile(1)).title.endswith("…")  # type: ignore[union-attr]


def test_normal_text_is_kept_whole() -> None:
    offer = make_offer({"source": "s", "program": "delta", "title": "  New York  to Paris ",
                        "miles": "45,000"})  # fmt: skip
    assert offer.title == "New York to Paris"


def test_loose_text_of_other_fields_is_bounded_before_it_is_read() -> None:
    started = time.monotonic()
    with pytest.raises(InvalidOffer, match="miles"):
        make_offer({"source": "s", "program": "delta", "miles": "9" * HUGE})
    with pytest.raises(InvalidOffer, match="cabin"):
        make_offer({"source": "s", "program": "delta", "miles": "1", "cabin": "x" * HUGE})
    assert time.monotonic() - started < 10
    assert MAX_RAW_TEXT == 200


def test_numbers_too_big_to_store_are_rejected() -> None:
    with pytest.raises(InvalidOffer, match="miles"):
        make_offer({"source": "s", "program": "delta", "miles": MAX_MILES + 1})


def test_sixty_hostile_offers_record_quickly(db: Any) -> None:
    now = datetime.now(UTC)
    config = Config(bot=BotSettings(), rules=[Rule(name="eu", destinations=["Europe", "US"])])
    result = CrawlResult("hostile", started=now - timedelta(seconds=5), finished=now)
    result.offers = [make_offer(hostile(n)) for n in range(60)]
    result.items = result.responses = 60
    started = time.monotonic()
    summary = record(db, config, result, lambda event: [], now)
    assert time.monotonic() - started < 10  # 13 s before the bounds, well under 1 s with them
    assert summary.items == 60
    longest = db.execute("SELECT max(length(title)), max(length(origin)) FROM offers").fetchone()
    assert longest == (None, None) or longest[0] <= MAX_LENGTHS["title"]
