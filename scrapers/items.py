"""Items are offers: plain dicts of :class:`offers.model.Offer` fields.

A spider yields the raw fields a parser read; ``scrapers.pipelines.OfferPipeline`` turns them
into a validated offer record (JSON-ready, so Scrapy's feed exports carry it as it is).
"""

from __future__ import annotations

from typing import Any

OfferItem = dict[str, Any]
