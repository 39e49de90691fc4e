"""Wall time of the ``page`` source as a user runs it (real Scrapy through
``runner.crawl.Crawls`` with the shipped settings: the revalidating HTTP cache, AutoThrottle,
robots.txt, the source's default concurrency) over generated promotions pages served from a
process of its own, beside plain Scrapy doing the same work with the same politeness: a spider
that parses the same fields with the same selectors and writes them as JSON lines.

    .venv/bin/python bench/static_crawl.py [--pages 1000] [--rounds 5]

Each round crawls with an empty cache, as a first run does (a repeat run over unchanged pages is
``recrawl.py``'s). Rounds alternate which crawl goes first; the figure is the median of the
per-round time ratios. Target: at most 1.25x plain Scrapy's time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

import scrapy  # noqa: E402
from _common import (
    PAGE_OPTIONS,
    Row,
    emit,
    paired_async,
    quiet_logs,
    run_on_reactor,
    serve_apart,
    write_pages,
)
from scrapy.crawler import AsyncCrawlerRunner, Crawler  # noqa: E402
from scrapy.settings import Settings  # noqa: E402

from runner.crawl import Crawls  # noqa: E402
from scrapers import settings as shipped  # noqa: E402
from scrapers.addon import CRAWL_SETTINGS, config_settings  # noqa: E402
from settings.config import Config, SourceConfig  # noqa: E402

GOAL = 1.25


class PlainSpider(scrapy.Spider):
    """Fetches the pages it is given and yields each deal's fields, read with the same CSS
    selectors the ``page`` source is configured with."""

    name: ClassVar[str] = "plain"  # type: ignore[misc]

    def __init__(self, urls: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = urls

    async def start(self) -> Any:
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Any, **kwargs: Any) -> Any:
        for deal in response.css(PAGE_OPTIONS["item"]):
            item = {key: deal.css(query + ("" if "::" in query else "::text")).get()
                    for key, query in PAGE_OPTIONS["fields"].items()}  # fmt: skip
            yield {**item, **PAGE_OPTIONS["constants"], "url": response.urljoin(item["url"])}


def politeness() -> dict[str, Any]:
    """The politeness a user's crawl gets, from the project's add-on and a source's
    defaults, given to the plain crawl too."""
    names = ["ROBOTSTXT_OBEY", "CONCURRENT_REQUESTS", "DOWNLOAD_DELAY", "AUTOTHROTTLE_ENABLED",
             "AUTOTHROTTLE_START_DELAY", "AUTOTHROTTLE_MAX_DELAY",
             "AUTOTHROTTLE_TARGET_CONCURRENCY", "RETRY_TIMES", "DOWNLOAD_TIMEOUT",
             "COOKIES_ENABLED"]  # fmt: skip
    values = {name: CRAWL_SETTINGS[name] for name in names}
    values["USER_AGENT"] = config_settings(None)["USER_AGENT"]
    values["CONCURRENT_REQUESTS_PER_DOMAIN"] = SourceConfig.model_fields["concurrency"].default
    return values


async def plain(urls: list[str], output: Path) -> float:
    settings = {**politeness(), "LOG_LEVEL": "ERROR", "TELNETCONSOLE_ENABLED": False,
                "TWISTED_REACTOR": shipped.TWISTED_REACTOR,
                "FEEDS": {str(output): {"format": "jsonlines", "overwrite": True}}}  # fmt: skip
    crawler = Crawler(PlainSpider, Settings(settings))
    began = time.perf_counter()
    await AsyncCrawlerRunner(Settings()).crawl(crawler, urls=urls)
    seconds = time.perf_counter() - began
    assert crawler.stats is not None
    scraped = int(crawler.stats.get_value("item_scraped_count", 0))
    assert scraped == 3 * len(urls), f"plain Scrapy scraped {scraped} items"
    return seconds


async def ours(folder: Path, source: SourceConfig) -> float:
    """One crawl as shipped, with an empty cache (a fresh data folder) as on a first run."""
    data = Path(tempfile.mkdtemp(dir=folder))
    crawls = Crawls(Config(bot={"database": data / "awardwatch.db"}))
    began = time.perf_counter()
    result = await crawls.run(source)
    seconds = time.perf_counter() - began
    assert len(result.offers) == 3 * len(source.urls), f"ours found {len(result.offers)} offers"
    return seconds


def measure(pages: int, rounds: int) -> Row:
    with tempfile.TemporaryDirectory(prefix="bench-static-") as name:
        folder = Path(name)
        names = write_pages(folder / "site", pages)
        with serve_apart(folder / "site") as base:
            urls = [base + page for page in names]
            source = SourceConfig(name="bench-pages", kind="page", urls=urls, allow_private=True,
                                  options=PAGE_OPTIONS)  # fmt: skip
            ratios = run_on_reactor(
                lambda: paired_async(
                    lambda: ours(folder, source), lambda: plain(urls, folder / "out.jl"), rounds
                )
            )
    return Row(f"static crawl as shipped, {pages:,} pages, vs plain Scrapy + JSON lines",
               f"{ratios} the time", f"<= {GOAL}x", ratios.median <= GOAL)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    quiet_logs()
    emit(measure(args.pages, args.rounds))


if __name__ == "__main__":
    main()
