"""Item pipeline: what reaches it is an offer. Spiders on the shared base validate what their
parser read themselves (scrapers/spiders/base.py); a spider that yields raw offer fields gets
them validated here, the same way, or counted as rejected."""

from __future__ import annotations

import logging
from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from offers.dates import SlowDate, fast_only
from offers.errors import InvalidOffer
from offers.model import Offer, make_offer, rejection_code
from scrapers.items import UnchangedPage

REJECTED = "awardwatch/rejected"

log = logging.getLogger(__name__)


def validated(raw: dict[str, Any], stats: StatsCollector | None) -> Offer | None:
    """The offer of raw fields, or None with the rejection counted under its reason."""
    try:
        return make_offer(raw)
    except InvalidOffer as exc:
        if stats is not None:
            stats.inc_value(f"{REJECTED}/{rejection_code(str(exc))}")
        log.debug("rejected offer: %s", exc)
        return None


class OfferPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OfferPipeline:
        return cls(crawler)

    def process_item(
        self, item: Any, spider: Spider | None = None
    ) -> Offer | UnchangedPage | Deferred[Offer]:
        """The offer of ``item``; a date only dateparser reads (tens of milliseconds) is read
        on a worker thread, so the crawl's event loop never waits for it. An unchanged page's
        offers were validated by the spider."""
        if isinstance(item, Offer | UnchangedPage):
            return item
        raw = ItemAdapter(item).asdict()
        try:
            with fast_only():
                return self._offer(raw)
        except SlowDate:
            return deferToThread(self._offer, raw)

    def _offer(self, raw: dict[str, Any]) -> Offer:
        offer = validated(raw, self.stats)
        if offer is None:
            raise DropItem("rejected offer", log_level="DEBUG")
        return offer
