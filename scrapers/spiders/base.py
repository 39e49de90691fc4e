"""The shared shell of every source spider: requests from the source's config, bodies
through the kind's pure parser, rejected rows and blocks counted in the crawl's stats."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

import scrapy
from scrapy.http import Request, Response
from scrapy.statscollectors import StatsCollector
from twisted.python.failure import Failure

from offers.dates import SlowDate, fast_only
from offers.errors import BlockedResponse, MalformedResponse
from offers.model import Offer
from scrapers.cachestore import ParseMemo, memo_for
from scrapers.httpcache import REVALIDATED, VALIDATORS
from scrapers.items import UNCHANGED_PAGES, UnchangedPage
from scrapers.middlewares import count, failure_reason
from scrapers.parsers import ParseContext, Rejected, parser
from scrapers.pipelines import REJECTED, validated
from settings.config import SourceConfig

BLOCKED = "awardwatch/blocked"
#: How a parser's rejected row is remembered among its offers (see ``SourceSpider.rows``).
REJECTED_ROW = "__rejected__"
BLOCK_STATUSES = [401, 403, 429, 503]
#: Words of challenge and bot-wall pages served with a 200.
CHALLENGE_MARKERS = (
    b"cf-challenge", b"challenge-platform", b"captcha-delivery", b"px-captcha",
    b"_incapsula_resource", b"Access Denied</title>", b"Attention Required! | Cloudflare",
)  # fmt: skip


class SourceSpider(scrapy.Spider):
    """Base of the source spiders. ``source`` is the SourceConfig (or its JSON, from Scrapyd)."""

    name: ClassVar[str] = ""  # type: ignore[misc]
    handle_httpstatus_list = BLOCK_STATUSES

    #: The [[sources]] entry a spider class was built for (scrapers/sources.py), if any.
    configured: ClassVar[SourceConfig | None] = None

    def __init__(self, source: SourceConfig | str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        source = source if source is not None else self.configured
        if source is None:
            raise ValueError(f"spider {self.name!r} needs a source (its [[sources]] entry)")
        if isinstance(source, str):
            source = SourceConfig.model_validate_json(source)
        self.source = source
        self.started_at = datetime.now(UTC)
        self._memo: ParseMemo | None = None
        self._memo_opened = False
        self._settings: str | None = None

    def memo(self) -> ParseMemo | None:
        """Rows parsed from bodies seen before, when the crawl keeps the project's cache."""
        if not self._memo_opened:
            self._memo, self._memo_opened = memo_for(self.crawler.settings), True
        return self._memo

    def closed(self, reason: str) -> None:
        if self._memo is not None:
            self._memo.close()

    # -- requests -------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Request]:
        for request in self.requests():
            yield request

    def requests(self) -> Iterable[Request]:
        """The first requests of a run; by default one GET per configured URL."""
        for url in self.source.urls:
            yield self.request(url)

    def request(self, url: str, **kwargs: Any) -> Request:
        meta = kwargs.pop("meta", {})
        if self.source.render == "browser":
            meta = {**self.browser_meta(), **meta}
        proxy = self.source.proxy_url
        if proxy:
            # dont_cache: the cache would store the Proxy-Authorization header with the page
            meta = {"dont_cache": True, **meta}
            meta.setdefault("proxy", proxy)
        return Request(url, callback=self.parse, errback=self.failed, meta=meta, **kwargs)

    def browser_meta(self) -> dict[str, Any]:
        """Meta that sends a request through Chromium, in this run's own browser context."""
        context = f"{self.source.name}-{int(self.started_at.timestamp())}"
        # a rendered page is never served from the HTTP cache: its content comes from scripts
        meta: dict[str, Any] = {
            "playwright": True,
            "playwright_context": context,
            "dont_cache": True,
        }
        proxy = self.source.proxy_url
        if proxy:
            meta["playwright_context_kwargs"] = {"proxy": playwright_proxy(proxy)}
        return meta

    # -- responses ------------------------------------------------------------------------

    def context(self, response: Response) -> ParseContext:
        return ParseContext(
            source=self.source.name,
            url=response.url,
            program=self.source.program,
            options=self.source.opts,
            fetched_at=datetime.now(UTC),
            status=response.status,
        )

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        yield from self.read(response.body, response)

    def read(
        self, body: bytes, response: Response
    ) -> Iterator[Offer | UnchangedPage | dict[str, Any]]:
        """The offers in ``body``; rejected rows and blocks counted (see ``records``). A row
        with a date only dateparser reads goes on as raw fields: the item pipeline reads it on
        a worker thread, so the crawl's event loop never waits tens of milliseconds for it."""
        keep = self.crawler.settings.getbool(UNCHANGED_PAGES)
        if keep and REVALIDATED in response.flags:
            yield from self.unchanged(body, response)
            return
        stats = self.crawler.stats
        assert stats is not None
        rejected, offers, clean = _rejections(stats), [], True
        for raw in self.records(body, response):
            try:
                with fast_only():
                    offer = validated(raw, stats)
            except SlowDate:
                clean = False
                yield raw
                continue
            if offer is not None:
                offers.append(offer)
                yield offer
        memo = self.memo()
        clean = clean and _rejections(stats) == rejected
        if keep and clean and memo is not None and revalidatable(response):
            # for the next run, should the server answer 304
            SEEN_PAGES.put(self.memo_key(memo, self.context(response), body), tuple(offers))

    def unchanged(
        self, body: bytes, response: Response
    ) -> Iterator[UnchangedPage | dict[str, Any]]:
        """The offers of a page the server answered 304, as one item: Scrapy's item path costs
        more per offer than reading it. Its rows come from the parse memo (or a fresh parse when
        the source's settings changed); its offers, when this process read the same rows today
        without a rejection, from ``SEEN_PAGES``, stamped with this run's time. A row with a
        slow date goes on alone, as in ``read``."""
        stats = self.crawler.stats
        assert stats is not None
        memo, ctx = self.memo(), self.context(response)
        key = self.memo_key(memo, ctx, body) if memo is not None else ""
        known = SEEN_PAGES.get(key) if key else None
        if self.blocked(response, body):
            return
        if known is not None:
            stats.inc_value("awardwatch/parse_reused")
            stamp = {"seen_at": ctx.fetched_at}
            yield UnchangedPage(response.url, tuple(o.model_copy(update=stamp) for o in known))
            return
        rejected = _rejections(stats)
        offers: list[Offer] = []
        slow: list[dict[str, Any]] = []
        for raw in self.unblocked_records(body, response):
            try:
                with fast_only():
                    offer = validated(raw, stats)
            except SlowDate:
                slow.append(raw)
                continue
            if offer is not None:
                offers.append(offer)
        if key and not slow and _rejections(stats) == rejected:
            SEEN_PAGES.put(key, tuple(offers))
        yield UnchangedPage(response.url, tuple(offers))
        yield from slow

    def records(self, body: bytes, response: Response) -> Iterator[dict[str, Any]]:
        """Run the kind's parser on ``body``; count what it rejects and what blocks it."""
        stats = self.crawler.stats
        assert stats is not None
        if self.blocked(response, body):
            return
        yield from self.unblocked_records(body, response)

    def unblocked_records(self, body: bytes, response: Response) -> Iterator[dict[str, Any]]:
        """``records`` of a body already checked for blocks."""
        stats = self.crawler.stats
        assert stats is not None
        ctx = self.context(response)
        memo, key = self.memo(), ""
        if memo is not None:
            key = self.memo_key(memo, ctx, body)
            remembered = memo.get(key)
            if remembered is not None:  # the same body as before: its rows, not a new parse
                stats.inc_value("awardwatch/parse_reused")
                yield from self.rows(remembered, ctx)
                return
        rows: list[dict[str, Any]] = []
        try:
            for result in parser(self.source.kind)(body, ctx):
                rows.append({REJECTED_ROW: result.reason} if isinstance(result, Rejected)
                            else dict(result))  # fmt: skip
                yield from self.rows(rows[-1:], ctx)
        except BlockedResponse as exc:
            self.record_block(str(exc), response.url)
        except MalformedResponse as exc:
            stats.inc_value(f"{REJECTED}/malformed response")
            stats.set_value("awardwatch/last_problem", f"{response.url}: {exc}")
            self.logger.warning("%s: %s", response.url, exc)
        else:
            if memo is not None:
                memo.put(key, rows)

    def memo_key(self, memo: ParseMemo, ctx: ParseContext, body: bytes, part: str = "") -> str:
        """Where the memo keeps what was read (``part``: which reading) of ``body``."""
        if self._settings is None:
            self._settings = self.source.model_dump_json()
        # the day is part of the key: a parser may read "Friday" against the day it runs
        settings = f"{self._settings}{ctx.fetched_at.date()}{part}"
        return memo.key(self.source.name, settings, ctx.url, body)

    def rows(self, rows: list[dict[str, Any]], ctx: ParseContext) -> Iterator[dict[str, Any]]:
        """Parsed rows as raw offers of this run; a rejected row is counted, not yielded."""
        stats = self.crawler.stats
        assert stats is not None
        for row in rows:
            if REJECTED_ROW in row:
                stats.inc_value(f"{REJECTED}/{row[REJECTED_ROW]}")
                continue
            yield {**row, "source": self.source.name, "seen_at": ctx.fetched_at}

    def blocked(self, response: Response, body: bytes) -> bool:
        if response.status in BLOCK_STATUSES:
            self.record_block(f"HTTP {response.status}", response.url)
            return True
        head = body[:20_000]
        if any(marker in head for marker in CHALLENGE_MARKERS):
            self.record_block("challenge page", response.url)
            return True
        return False

    def record_block(self, reason: str, url: str) -> None:
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value(BLOCKED)
        stats.set_value("awardwatch/last_problem", f"blocked: {reason} at {url}")
        self.logger.warning("blocked: %s at %s", reason, url)

    def failed(self, failure: Failure) -> None:
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("awardwatch/request_failed")
        refused, message = failure_reason(failure, self.crawler.settings)
        if refused:
            count(self.crawler, refused)
        request = getattr(failure, "request", None)
        where = request.url if request is not None else "request"
        stats.set_value("awardwatch/last_problem", f"{where}: {message}")
        self.logger.warning("%s failed: %s", where, message)


def playwright_proxy(url: str) -> dict[str, str]:
    """A proxy URL as Playwright takes it: credentials apart from the server."""
    parts = urlsplit(url)
    server = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    proxy = {"server": server}
    if parts.username:
        proxy["username"] = unquote(parts.username)
        proxy["password"] = unquote(parts.password or "")
    return proxy


def revalidatable(response: Response) -> bool:
    """Whether the next run may get a 304 for this page: a 200 with a validator."""
    return response.status == 200 and any(h in response.headers for h in VALIDATORS)


def _rejections(stats: StatsCollector) -> int:
    """Rows rejected and blocks met so far in a crawl."""
    counted = stats.get_stats().items()
    return sum(int(v) for k, v in counted if k.startswith(f"{REJECTED}/") or k == BLOCKED)


class SeenPages:
    """The offers read from bodies this process saw, by parse-memo key (body, source settings,
    day, release), those of the most recently used pages up to ``limit`` offers in all: a page
    answered 304 gives the same offers again, so they need not be validated again. Only pages
    read without a rejection, a block or a slow date are kept, so nothing counted on the first
    reading goes uncounted on the next."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self.pages: OrderedDict[str, tuple[Offer, ...]] = OrderedDict()

    def get(self, key: str) -> tuple[Offer, ...] | None:
        offers = self.pages.get(key)
        if offers is not None:
            self.pages.move_to_end(key)
        return offers

    def put(self, key: str, offers: tuple[Offer, ...]) -> None:
        if len(offers) > self.limit:
            return
        self.held += len(offers) - len(self.pages.pop(key, ()))
        self.pages[key] = offers
        while self.held > self.limit:
            self.held -= len(self.pages.popitem(last=False)[1])


#: The pages this process read (the daemon's runs, a bench's passes), bounded in offers.
SEEN_PAGES = SeenPages(10_000)
