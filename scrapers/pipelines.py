"""Item pipeline: raw parser output becomes a validated offer, or is counted as rejected."""

from __future__ import annotations

from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from offers.dates import SlowDate, fast_only
from offers.errors import InvalidOffer
from offers.model import make_offer, rejection_code
from scrapers.items import OfferItem

REJECTED = "awardwatch/rejected"


class OfferPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OfferPipeline:
        return cls(crawler)

    def process_item(
        self, item: dict[str, Any], spider: Spider | None = None
    ) -> dict[str, Any] | Deferred[dict[str, Any]]:
        """The offer of ``item``; a date only dateparser reads (tens of milliseconds) is read
        on a worker thread, so the crawl's event loop never waits for it."""
        try:
            with fast_only():
                return self._offer(item)
        except SlowDate:
            return deferToThread(self._offer, item)

    def _offer(self, item: dict[str, Any]) -> dict[str, Any]:
        try:
            offer = make_offer(item)
        except InvalidOffer as exc:
            assert self.stats is not None
            self.stats.inc_value(f"{REJECTED}/{rejection_code(str(exc))}")
            raise DropItem(f"rejected offer: {exc}", log_level="DEBUG") from None
        return OfferItem.of(offer)
