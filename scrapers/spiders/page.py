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
        for url in self.next_pages(response):
            yield self.request(url, meta={"page_number": depth + 1})

    def next_pages(self, response: Response) -> list[str]:
        """The following pages' URLs; those of a body read before, from the parse memo."""
        options: page.Options = self.source.opts
        ctx, memo = self.context(response), self.memo()
        if memo is None or not options.next_page:
            return page.next_pages(response.body, ctx)
        key = self.memo_key(memo, ctx, response.body, part=" next pages")
        remembered = memo.get(key)
        if remembered is not None:
            return [str(row["url"]) for row in remembered]
        urls = page.next_pages(response.body, ctx)
        memo.put(key, [{"url": url} for url in urls])
        return urls
