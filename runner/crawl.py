"""Running sources: one Scrapy crawl per source on the running reactor, its offers and stats
collected into a CrawlResult. Nothing here touches the database."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scrapy import signals
from scrapy.crawler import AsyncCrawlerRunner, Crawler
from scrapy.settings import Settings
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.project import get_project_settings

from offers.model import Offer
from runner.browser import BrowserError, SharedBrowser
from scrapers.items import offer_of
from scrapers.middlewares import ALLOWED_PRIVATE_HOSTS, REFUSED, browser_policy
from scrapers.pipelines import REJECTED
from scrapers.spiders.base import BLOCKED
from settings.config import Config, SourceConfig

log = logging.getLogger("runner.crawl")

OK, EMPTY, BLOCKED_STATUS, ERROR = "ok", "empty", "blocked", "error"
#: How long the HTTP cache keeps an entry no run has fetched or revalidated.
CACHE_EXPIRY_SECONDS = 7 * 24 * 3600


@dataclass
class CrawlResult:
    """What one run of one source brought back."""

    source: str
    started: datetime
    finished: datetime | None = None
    offers: list[Offer] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    blocked: int = 0
    responses: int = 0
    items: int = 0
    requests: int = 0
    message: str = ""
    #: False when the crawl stopped early (a page budget, a close condition): it saw part only
    complete: bool = True

    @property
    def status(self) -> str:
        """ok: offers found; empty: fetched, nothing found; blocked; error: nothing fetched."""
        if self.offers:
            return OK
        if self.blocked:
            return BLOCKED_STATUS
        if self.errors or self.responses == 0:
            return ERROR
        return EMPTY

    @property
    def duration(self) -> float:
        end = self.finished or datetime.now(UTC)
        return (end - self.started).total_seconds()


def project_settings(config: Config) -> Settings:
    """Scrapy settings of the project, with the bot-wide values from config.toml."""
    settings = get_project_settings()
    if not settings.get("BOT_NAME") or settings.get("BOT_NAME") == "scrapybot":
        settings.setmodule("scrapers.settings", priority="project")
    settings.set("USER_AGENT", config.bot.agent, priority="project")
    # where spiders keep small state of their own (API call budgets), next to the database
    settings.set(
        "AWARDWATCH_STATE_DIR", str(config.bot.database.parent.resolve()), priority="project"
    )
    launch = dict(settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS"))
    launch["headless"] = config.browser.headless
    if config.browser.executable:
        launch["executable_path"] = str(config.browser.executable)
    settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", launch, priority="project")
    # conditional requests (ETag / Last-Modified): an unchanged page costs a 304
    settings.set("HTTPCACHE_ENABLED", True, priority="project")
    settings.set("HTTPCACHE_POLICY", "scrapers.httpcache.RevalidatingPolicy", priority="project")
    cache_dir = (config.bot.database.parent / "httpcache").resolve()
    settings.set("HTTPCACHE_DIR", str(cache_dir), priority="project")
    # one SQLite file, entries kept a week past their last use, and what each body parsed to
    settings.set("HTTPCACHE_STORAGE", "scrapers.cachestore.SqliteCacheStorage", priority="project")
    settings.set("HTTPCACHE_EXPIRATION_SECS", CACHE_EXPIRY_SECONDS, priority="project")
    settings.set(
        "HTTPCACHE_IGNORE_HTTP_CODES", [401, 403, 429, 500, 502, 503, 504], priority="project"
    )
    timeout_ms = int(config.browser.timeout_seconds * 1000)
    settings.set("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", timeout_ms, priority="project")
    return settings


def source_settings(source: SourceConfig) -> dict[str, Any]:
    """Per-source Scrapy settings, applied at spider priority."""
    values: dict[str, Any] = {
        "CONCURRENT_REQUESTS_PER_DOMAIN": source.concurrency,
        # the fetch policy's limits (scrapers/middlewares.py)
        "DOWNLOAD_TIMEOUT": source.download_timeout,
        "DOWNLOAD_MAXSIZE": source.max_bytes,
        "DOWNLOAD_WARNSIZE": source.max_bytes // 2,
        ALLOWED_PRIVATE_HOSTS: sorted(source.own_hosts) if source.allow_private else [],
    }
    if source.obey_robots is not None:
        values["ROBOTSTXT_OBEY"] = source.obey_robots
    if source.render == "static":
        # no browser for static sources: plain HTTP handlers, no Chromium start-up
        values["DOWNLOAD_HANDLERS"] = {
            "http": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler",
            "https": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler",
        }
    return values


def result_from_stats(result: CrawlResult, stats: dict[str, Any]) -> CrawlResult:
    for key, value in stats.items():
        if key.startswith(f"{REJECTED}/"):
            result.rejected[key.removeprefix(f"{REJECTED}/")] += int(value)
        elif key.startswith(f"{REFUSED}/"):  # the fetch policy's refusals, named in the record
            result.rejected[f"refused: {key.removeprefix(f'{REFUSED}/')}"] += int(value)
    result.blocked = int(stats.get(BLOCKED, 0))
    result.responses = int(stats.get("response_received_count", 0))
    result.requests = int(stats.get("downloader/request_count", 0))
    result.errors += int(stats.get("awardwatch/request_failed", 0))
    result.errors += int(stats.get("spider_exceptions/count", 0))
    # a browser page that never requested the data it should have, and was not a block page
    result.errors += int(stats.get("awardwatch/capture_timeout", 0))
    result.message = str(stats.get("awardwatch/last_problem", "")) or result.message
    result.complete = stats.get("finish_reason", "finished") == "finished"
    return result


class Crawls:
    """Starts crawls on the running reactor with one AsyncCrawlerRunner."""

    def __init__(self, config: Config, browser: SharedBrowser | None = None) -> None:
        self.config = config
        self.settings = project_settings(config)
        self.runner = AsyncCrawlerRunner(Settings())
        self.loader = SpiderLoader.from_settings(self.settings)
        self.browser = browser

    def crawler(self, source: SourceConfig, budget: int | None = None) -> Crawler:
        settings = self.settings.copy()
        settings.setdict(source_settings(source), priority="spider")
        if budget is not None:
            settings.set("CLOSESPIDER_PAGECOUNT", budget, priority="spider")
        if source.render == "browser":  # what the page itself loads, under the same policy
            allowed = frozenset(settings.getlist(ALLOWED_PRIVATE_HOSTS))
            settings.set("PLAYWRIGHT_ABORT_REQUEST", browser_policy(allowed), priority="spider")
        if self.browser is not None and source.render == "browser":
            settings.set("PLAYWRIGHT_CDP_URL", self.browser.for_run(), priority="spider")
            settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", {}, priority="spider")
        return Crawler(self.loader.load(source.kind), settings)

    async def run(self, source: SourceConfig, budget: int | None = None) -> CrawlResult:
        """Crawl one source to the end (or ``budget`` pages) and return what it found."""
        result = CrawlResult(source.name, started=datetime.now(UTC))
        try:
            crawler = self.crawler(source, budget)
        except BrowserError as exc:  # this source fails; the others of the pass still run
            result.errors, result.message, result.finished = 1, str(exc), datetime.now(UTC)
            return result

        def scraped(item: dict[str, Any]) -> None:
            result.items += 1
            result.offers.append(offer_of(item))

        crawler.signals.connect(scraped, signal=signals.item_scraped, weak=False)
        began = time.monotonic()
        try:
            await self.runner.crawl(crawler, source=source)
        except Exception as exc:  # a crawl that cannot start is an error run, not a crash
            log.exception("source %s: crawl failed", source.name)
            result.errors += 1
            result.message = f"{type(exc).__name__}: {exc}"
        stats = crawler.stats.get_stats() if crawler.stats else {}
        result_from_stats(result, stats)
        result.finished = datetime.now(UTC)
        log.debug("source %s crawled in %.1fs", source.name, time.monotonic() - began)
        return result

    async def stop(self) -> None:
        await self.runner.stop()
