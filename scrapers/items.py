"""Items are offers: spiders yield :class:`offers.model.Offer` objects (itemadapter reads
pydantic models), and feed exports write each as ``Offer.record()``, JSON-ready values with
dates as ISO text, read back with ``Offer.model_validate``."""

from __future__ import annotations

from typing import Any

from scrapy.exporters import JsonItemExporter, JsonLinesItemExporter

from offers.model import Offer

__all__ = ["Offer", "OfferJsonExporter", "OfferJsonLinesExporter", "exported"]


def exported(item: Any) -> Any:
    """An offer as its record (Scrapy's JSON encoder would drop datetimes' time zone)."""
    return item.record() if isinstance(item, Offer) else item


class OfferJsonLinesExporter(JsonLinesItemExporter):
    def export_item(self, item: Any) -> None:
        super().export_item(exported(item))


class OfferJsonExporter(JsonItemExporter):
    def export_item(self, item: Any) -> None:
        super().export_item(exported(item))
