"""Delta SkyMiles: award searches captured from delta.com's search page, and the deals page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar
from urllib.parse import urljoin

from scrapy.http import Request

from scrapers.parsers import delta
from scrapers.spiders.capture import CaptureSpider


class DeltaSpider(CaptureSpider):
    name: ClassVar[str] = "delta"  # type: ignore[misc]
    capture_pattern: ClassVar[str] = r"/shop/ow/search"

    def requests(self) -> Iterator[Request]:
        yield from super().requests()
        options: delta.Options = self.source.opts
        if options.deals_page:
            # a rendered page read as a whole: no capture, the parser reads its listings
            yield self.request(urljoin(options.base_url, options.deals.path))
