"""RSS and Atom feeds."""

from __future__ import annotations

from typing import ClassVar

from scrapers.spiders.base import SourceSpider


class FeedSpider(SourceSpider):
    name: ClassVar[str] = "feed"  # type: ignore[misc]
