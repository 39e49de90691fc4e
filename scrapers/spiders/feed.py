"""RSS and Atom feeds of points blogs and airline news, revalidated rather than refetched
(see scrapers/httpcache.py)."""

from __future__ import annotations

from typing import ClassVar

from scrapers.spiders.base import SourceSpider


class FeedSpider(SourceSpider):
    name: ClassVar[str] = "feed"  # type: ignore[misc]
