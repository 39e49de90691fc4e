"""American AAdvantage: the award search posted from within a loaded aa.com page, so it carries
the page's own cookies and headers, and its JSON answer read by the parser."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, ClassVar

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from scrapy.http import Response

from scrapers.parsers import american
from scrapers.spiders.capture import Captured, CaptureSpider, Search

#: Runs in the page: the search as aa.com's own script sends it.
FETCH = """async ({url, method, headers, body}) => {
  const answer = await fetch(url, {method, headers, body, credentials: "include"});
  return {url: answer.url, status: answer.status, text: await answer.text()};
}"""


@dataclass(frozen=True)
class SearchFetch:
    """The award search request the page sends."""

    url: str
    method: str
    headers: dict[str, str]
    body: str

    def args(self) -> dict[str, Any]:
        return {"url": self.url, "method": self.method, "headers": self.headers, "body": self.body}


class AmericanSpider(CaptureSpider):
    name: ClassVar[str] = "american"  # type: ignore[misc]

    def search_url(self, search: Search) -> str:
        options: american.Options = self.source.opts
        return options.base_url.rstrip("/") + options.page_path

    def search_fetch(self, search: Search) -> SearchFetch:
        options: american.Options = self.source.opts
        body = american.search_body(
            search.origin, search.destination, search.day, search.passengers
        )
        return SearchFetch(
            url=options.base_url.rstrip("/") + american.SEARCH_PATH,
            method="POST",
            headers=dict(american.SEARCH_HEADERS),
            body=json.dumps(body, separators=(",", ":")),
        )

    async def collect(self, page: Page, response: Response) -> list[Captured]:
        fetch = self.search_fetch(response.meta["search"])
        timeout = self.source.opts.capture_timeout
        try:
            answer = await asyncio.wait_for(page.evaluate(FETCH, fetch.args()), timeout)
        except (TimeoutError, PlaywrightError) as exc:
            self.logger.warning("award search from %s failed: %s", page.url, exc)
            return []
        return [Captured(str(answer["url"]), int(answer["status"]), str(answer["text"]).encode())]
