"""A page described by selectors in config.toml, static or rendered in Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from scrapy.http import Response
from scrapy_playwright.page import PageMethod

from scrapers.parsers import page
from scrapers.spiders.base import SourceSpider


class PageSpider(SourceSpider):
    name: ClassVar[str] = "page"  # type: ignore[misc]

    def browser_meta(self) -> dict[str, Any]:
        meta = super().browser_meta()
        options: page.Options = self.source.opts
        if options.wait_for:
            meta["playwright_page_methods"] = [
                PageMethod("wait_for_selector", options.wait_for, state="attached")
            ]
        return meta

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        yield from self.read(response.body, response)
        options: page.Options = self.source.opts
        depth = response.meta.get("page_number", 1)
        if depth >= options.max_pages:
            return
        for url in page.next_pages(response.body, self.context(response)):
            yield self.request(url, meta={"page_number": depth + 1})
