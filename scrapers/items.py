"""Items are offers: plain dicts of :class:`offers.model.Offer` fields.

A spider yields the raw fields a parser read; ``scrapers.pipelines.OfferPipeline`` turns them
into a validated offer record (JSON-ready, so Scrapy's feed exports carry it as it is).
"""

from __future__ import annotations

from typing import Any

from offers.model import Offer


class OfferItem(dict[str, Any]):
    """A validated offer's record, carrying the Offer itself so the process that ran the crawl
    need not validate it twice (an exported item is a plain dict and is read back with
    ``Offer.model_validate``)."""

    offer: Offer

    @classmethod
    def of(cls, offer: Offer) -> OfferItem:
        item = cls(offer.record())
        item.offer = offer
        return item


def offer_of(item: dict[str, Any]) -> Offer:
    return item.offer if isinstance(item, OfferItem) else Offer.model_validate(item)
