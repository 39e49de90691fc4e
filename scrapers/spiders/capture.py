"""Shared base of the airline sources that open the airline's own search page in Chromium and
read the JSON that page requests, caught from the page's response events, instead of scraping
the rendered HTML. The parser of the kind reads the captured bodies.

Each watchlist entry becomes one page load per route and day. A page that requests no matching
JSON within the source's ``capture_timeout`` is counted and its own HTML goes through the block
checks, so a block page is reported as a block, not as an empty result.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import Response as PageResponse
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from scrapers.parsers import module
from scrapers.spiders.base import SourceSpider
from settings.config import RouteQuery

CAPTURE_TIMEOUT = "awardwatch/capture_timeout"
CAPTURED = "awardwatch/captured"
OUTSIDE_WATCH = "awardwatch/outside_watch"


@dataclass(frozen=True)
class Search:
    """One page load: a one-way search of one route on one day."""

    origin: str
    destination: str
    day: date
    passengers: int = 1
    cabins: tuple[str, ...] = ()


def searches(watch: RouteQuery) -> Iterator[Search]:
    """The page loads of a watchlist entry. A round trip is searched one way in each direction,
    as these airlines price awards per direction."""
    routes = [(o, d) for o in watch.origins for d in watch.destinations if o != d]
    if watch.trip == "round-trip":
        routes += [(d, o) for o, d in routes]
    for origin, destination in dict.fromkeys(routes):
        for day in watch.days():
            yield Search(
                origin.upper(), destination.upper(), day, watch.passengers, tuple(watch.cabins)
            )


@dataclass(frozen=True)
class Captured:
    """A body the page received from a URL worth keeping."""

    url: str
    status: int
    body: bytes


@dataclass
class Capture:
    """The page's ``response`` event handler: keeps the bodies whose URL matches ``pattern``."""

    pattern: re.Pattern[str]
    bodies: list[Captured] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_response(self, response: PageResponse) -> None:
        if not self.pattern.search(response.url):
            return
        try:
            body = await response.body()
        except PlaywrightError:
            return  # a redirect, or a response the page dropped: no body to read
        self.bodies.append(Captured(response.url, response.status, body))
        self.arrived.set()

    async def wait(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.arrived.wait(), timeout)
        except TimeoutError:
            return False
        return True


class CaptureSpider(SourceSpider):
    """Base of the browser-captured airline sources; a subclass names its parser's URL builder
    and the pattern of the JSON URL to keep."""

    #: Regular expression of the URLs whose bodies the parser reads.
    capture_pattern: ClassVar[str] = ""

    async def start(self) -> AsyncIterator[Request]:
        if self.source.render != "browser":
            self.misconfigured(f'source kind {self.name!r} needs render = "browser"')
            return
        for request in self.requests():
            yield request

    def requests(self) -> Iterator[Request]:
        for watch in self.source.watch:
            for search in searches(watch):
                yield self.page_request(search)

    def search_url(self, search: Search) -> str:
        """The airline's page that runs ``search``."""
        parser = module(self.name)
        return str(
            parser.search_url(
                self.source.opts.base_url,
                search.origin,
                search.destination,
                search.day,
                search.passengers,
            )
        )

    def page_request(self, search: Search) -> Request:
        capture = Capture(re.compile(self.capture_pattern))
        meta: dict[str, Any] = {
            **self.browser_meta(),
            "playwright_include_page": True,
            "playwright_page_event_handlers": {"response": capture.on_response},
            "capture": capture,
            "search": search,
        }
        if self.source.proxy_url:
            meta.setdefault("proxy", self.source.proxy_url)
        return Request(
            self.search_url(search),
            callback=self.captured,
            errback=self.page_failed,
            meta=meta,
            dont_filter=True,
        )

    # -- responses ------------------------------------------------------------------------

    async def captured(self, response: Response) -> AsyncIterator[dict[str, Any]]:
        page: Page = response.meta["playwright_page"]
        search: Search = response.meta["search"]
        try:
            bodies = await self.collect(page, response)
            html = b"" if bodies else (await page.content()).encode()
            where = page.url
        finally:
            await page.close()
        if not bodies:
            self.no_capture(response, html, where)
            return
        for captured in bodies:
            self.crawler.stats.inc_value(CAPTURED)  # type: ignore[union-attr]
            for item in self.read(captured.body, self.as_response(captured, response)):
                if search.cabins and item.get("cabin") not in search.cabins:
                    self.crawler.stats.inc_value(OUTSIDE_WATCH)  # type: ignore[union-attr]
                    continue
                yield item

    async def collect(self, page: Page, response: Response) -> list[Captured]:
        """The bodies the page received, once the first one arrived or the wait timed out."""
        capture: Capture = response.meta["capture"]
        await capture.wait(self.source.opts.capture_timeout)
        return list(capture.bodies)

    @staticmethod
    def as_response(captured: Captured, page_response: Response) -> Response:
        return TextResponse(
            captured.url,
            status=captured.status,
            body=captured.body,
            encoding="utf-8",
            request=page_response.request,
        )

    def no_capture(self, response: Response, html: bytes, url: str) -> None:
        """No search JSON in time: report the page's block, if it shows one, else the wait."""
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value(CAPTURE_TIMEOUT)
        page = response.replace(url=url, body=html) if html else response
        if self.blocked(page, html or response.body):
            return
        check = getattr(module(self.name), "blocked", None)
        reason = check(html or response.body, url) if check else None
        if reason:
            self.record_block(reason, url)
            return
        timeout = self.source.opts.capture_timeout
        stats.set_value(
            "awardwatch/last_problem", f"no search response within {timeout:g}s at {url}"
        )
        self.logger.warning("no search response within %gs at %s", timeout, url)

    async def page_failed(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        page = request.meta.get("playwright_page") if request is not None else None
        if page is not None and not page.is_closed():
            await page.close()
        self.failed(failure)

    def misconfigured(self, problem: str) -> None:
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("awardwatch/request_failed")
        stats.set_value("awardwatch/last_problem", problem)
        self.logger.error(problem)
