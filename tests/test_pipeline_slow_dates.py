"""The item pipeline reads common dates on the event loop and hands a date only dateparser
reads to a worker thread."""

from __future__ import annotations

from datetime import date

import pytest
from scrapy.utils.test import get_crawler
from twisted.internet.defer import Deferred

from offers import dates
from offers.model import Offer
from scrapers.pipelines import OfferPipeline
from scrapers.spiders.feed import FeedSpider
from settings.config import SourceConfig

ITEM = {"source": "t", "program": "delta", "origin": "JFK", "destination": "LHR",
        "miles": "45,000", "depart_date": "2031-03-15"}  # fmt: skip


def test_a_common_date_is_read_at_once() -> None:
    pipeline = OfferPipeline(get_crawler())
    offer = pipeline.process_item({**ITEM, "book_by": "Book by December 31, 2030"})
    assert isinstance(offer, Offer)
    assert offer.book_by == date(2030, 12, 31)


def test_fast_only_refuses_what_only_dateparser_reads() -> None:
    with dates.fast_only(), pytest.raises(dates.SlowDate):
        dates.read_day("next friday")
    assert isinstance(dates.read_day("next friday"), date)


def test_a_date_only_dateparser_reads_is_read_on_a_thread() -> None:
    pipeline = OfferPipeline(get_crawler())
    pending = pipeline.process_item({**ITEM, "book_by": "tomorrow"})
    assert isinstance(pending, Deferred)  # fired by the reactor once the thread is done


def test_the_spider_hands_a_slow_date_to_the_pipeline_as_raw_fields() -> None:
    """A common date becomes an offer in the spider; one only dateparser reads goes on as
    raw fields, which the pipeline then reads on a worker thread."""
    crawler = get_crawler(FeedSpider)
    spider = FeedSpider.from_crawler(crawler, source=SourceConfig(name="t", kind="feed"))
    crawler.spider = spider
    rows = [{**ITEM, "book_by": "tomorrow"}, {**ITEM, "book_by": "December 31, 2030"}]
    spider.records = lambda body, response: iter(rows)  # type: ignore[method-assign]
    slow, common = spider.read(b"", None)  # type: ignore[arg-type]
    assert slow == rows[0]
    assert isinstance(common, Offer) and common.book_by == date(2030, 12, 31)
