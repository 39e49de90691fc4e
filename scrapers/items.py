"""Items are offers: spiders yield :class:`offers.model.Offer` objects (itemadapter reads
pydantic models), and feed exports write each as ``Offer.record()``, JSON-ready values with
dates as ISO text, read back with ``Offer.model_validate``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scrapy.exporters import JsonItemExporter, JsonLinesItemExporter

from offers.model import Offer

__all__ = ["Offer", "OfferJsonExporter", "OfferJsonLinesExporter", "UnchangedPage", "exported"]


@dataclass(frozen=True)
class UnchangedPage:
    """A page the server answered 304 (the cached body still current), as one item: the
    offers read from it go together, not one by one through the item pipelines. Only the
    bot's own crawls get these (``UNCHANGED_PAGES``); every other crawl gets its offers."""

    url: str
    offers: tuple[Offer, ...]


#: Setting: a page revalidated by a 304 is yielded as one ``UnchangedPage`` (runner/crawl.py).
UNCHANGED_PAGES = "AWARDWATCH_UNCHANGED_PAGES"


def exported(item: Any) -> Any:
    """An offer as its record (Scrapy's JSON encoder would drop datetimes' time zone)."""
    return item.record() if isinstance(item, Offer) else item


class OfferJsonLinesExporter(JsonLinesItemExporter):
    def export_item(self, item: Any) -> None:
        super().export_item(exported(item))


class OfferJsonExporter(JsonItemExporter):
    def export_item(self, item: Any) -> None:
        super().export_item(exported(item))
