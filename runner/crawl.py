"""Running sources: one Scrapy crawl per source on the running reactor, its offers and stats
collected into a CrawlResult. Nothing here touches the database."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from scrapy import signals
from scrapy.crawler import AsyncCrawlerRunner, Crawler
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from offers.model import Offer
from runner.browser import BrowserError, SharedBrowser
from scrapers.addon import CONFIG, LoadedConfig
from scrapers.items import UNCHANGED_PAGES, UnchangedPage
from scrapers.outcome import BLOCKED_STATUS, EMPTY, ERROR, OK, CrawlResult, result_from_stats
from scrapers.sources import SourceLoader, source_settings
from settings.config import Config, SourceConfig

__all__ = [
    "BLOCKED_STATUS", "EMPTY", "ERROR", "OK", "CrawlResult", "Crawls", "project_settings",
    "result_from_stats", "source_settings",
]  # fmt: skip

log = logging.getLogger("runner.crawl")


def project_settings(config: Config) -> Settings:
    """Scrapy settings of the project; its add-on (scrapers/addon.py) reads the bot-wide
    values from ``config``."""
    settings = get_project_settings()
    if not settings.get("BOT_NAME") or settings.get("BOT_NAME") == "scrapybot":
        settings.setmodule("scrapers.settings", priority="project")
    settings.set(CONFIG, LoadedConfig(config), priority="project")
    # an unchanged page's offers come as one item; ``Crawls.run`` counts them one by one
    settings.set(UNCHANGED_PAGES, True, priority="project")
    return settings


class Crawls:
    """Starts crawls on the running reactor with one AsyncCrawlerRunner."""

    def __init__(self, config: Config, browser: SharedBrowser | None = None) -> None:
        self.config = config
        self.settings = project_settings(config)
        self.runner = AsyncCrawlerRunner(Settings())
        self.loader = SourceLoader.from_settings(self.settings)
        self.browser = browser

    def crawler(self, source: SourceConfig, budget: int | None = None) -> Crawler:
        """A crawler of the source's spider, which carries the source's own settings."""
        settings = self.settings.copy()
        if budget is not None:
            settings.set("CLOSESPIDER_PAGECOUNT", budget, priority="spider")
        if self.browser is not None and source.render == "browser":
            settings.set("PLAYWRIGHT_CDP_URL", self.browser.for_run(), priority="spider")
            settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", {}, priority="spider")
        return Crawler(self.loader.spider(source), settings)

    async def run(self, source: SourceConfig, budget: int | None = None) -> CrawlResult:
        """Crawl one source to the end (or ``budget`` pages) and return what it found."""
        result = CrawlResult(source.name, started=datetime.now(UTC))
        try:
            crawler = self.crawler(source, budget)
        except BrowserError as exc:  # this source fails; the others of the pass still run
            result.errors, result.message, result.finished = 1, str(exc), datetime.now(UTC)
            return result

        def scraped(item: Offer | UnchangedPage) -> None:
            if isinstance(item, UnchangedPage):
                result.unchanged_pages += 1
                result.items += len(item.offers)
                result.offers += item.offers
                return
            result.items += 1
            result.offers.append(item)

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
