"""Pages per second of the ``page`` source (real Scrapy through ``runner.crawl.Crawls``)
over generated promotions pages on 127.0.0.1, beside a bare Scrapy spider that only fetches
the same pages, with the same concurrency, no HTTP cache and no AutoThrottle for both.

    .venv/bin/python bench/static_crawl.py [--pages 2000] [--concurrency 8] [--rounds 2]

Target: our overhead under 20% (our rate at least 1/1.2 of the bare spider's). Rounds
alternate the two crawls; the best round of each counts, so a busy neighbour on the machine
costs the figure less.
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
    Figure,
    quiet_logs,
    report,
    run_on_reactor,
    serve_apart,
    write_pages,
)
from scrapy.crawler import AsyncCrawlerRunner, Crawler  # noqa: E402
from scrapy.settings import Settings  # noqa: E402

from runner.crawl import Crawls  # noqa: E402
from settings.config import Config, SourceConfig  # noqa: E402


class BareSpider(scrapy.Spider):
    """Fetches the URLs it is given and does nothing with them."""

    name: ClassVar[str] = "bare"  # type: ignore[misc]

    def __init__(self, urls: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = urls

    async def start(self) -> Any:
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Any, **kwargs: Any) -> Any:
        return None


def common_settings(concurrency: int) -> dict[str, Any]:
    """What both crawls share, whatever the project's defaults say."""
    return {
        "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "AUTOTHROTTLE_ENABLED": False, "HTTPCACHE_ENABLED": False, "DOWNLOAD_DELAY": 0,
        "ROBOTSTXT_OBEY": False, "LOG_LEVEL": "ERROR", "TELNETCONSOLE_ENABLED": False,
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    }  # fmt: skip


async def bare(urls: list[str], concurrency: int) -> tuple[float, int]:
    crawler = Crawler(BareSpider, Settings(common_settings(concurrency)))
    began = time.perf_counter()
    await AsyncCrawlerRunner(Settings()).crawl(crawler, urls=urls)
    seconds = time.perf_counter() - began
    assert crawler.stats is not None
    return seconds, int(crawler.stats.get_value("response_received_count", 0))


async def ours(crawls: Crawls, source: SourceConfig) -> tuple[float, int, int]:
    began = time.perf_counter()
    result = await crawls.run(source)
    return time.perf_counter() - began, result.responses, len(result.offers)


def make_crawls(folder: Path, concurrency: int) -> Crawls:
    crawls = Crawls(Config(bot={"database": folder / "bench.db"}))
    # The project turns the revalidating cache and AutoThrottle on for every source and has
    # no per-source switch for either: set them off here, as for the bare spider.
    for key, value in common_settings(concurrency).items():
        if key not in ("CONCURRENT_REQUESTS_PER_DOMAIN", "ROBOTSTXT_OBEY"):
            crawls.settings.set(key, value, priority="cmdline")
    return crawls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8, choices=range(1, 17))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    quiet_logs()
    with tempfile.TemporaryDirectory(prefix="bench-static-") as folder:
        root = Path(folder) / "site"
        names = write_pages(root, args.pages)
        site = serve_apart(root)
        base = site.__enter__()
        urls = [base + name for name in names]
        source = SourceConfig(name="bench-pages", kind="page", urls=urls, obey_robots=False,
                              allow_private=True, concurrency=args.concurrency,
                              options=PAGE_OPTIONS)  # fmt: skip
        crawls = make_crawls(Path(folder), args.concurrency)

        async def rounds() -> tuple[list[float], list[float]]:
            bare_rates, our_rates = [], []
            for number in range(args.rounds):
                seconds, fetched = await bare(urls, args.concurrency)
                bare_rates.append(fetched / seconds)
                seconds, fetched, offers = await ours(crawls, source)
                our_rates.append(fetched / seconds)
                print(f"   round {number + 1}: bare {bare_rates[-1]:,.0f} pages/s, ours "
                      f"{our_rates[-1]:,.0f} pages/s ({fetched:,} pages, {offers:,} offers)",
                      flush=True)  # fmt: skip
            return bare_rates, our_rates

        bare_rates, our_rates = run_on_reactor(rounds)
        site.__exit__(None, None, None)
    rate, baseline = max(our_rates), max(bare_rates)
    overhead = baseline / rate - 1
    report(
        f"static crawl, {args.pages:,} pages, concurrency {args.concurrency}",
        Figure("page source (Crawls)", rate, "pages/s"),
        Figure("bare Scrapy spider", baseline, "pages/s"),
        target=f"overhead under 20% (ours {overhead:+.0%})",
        ratio=rate / baseline,
        met=overhead < 0.20,
    )


if __name__ == "__main__":
    main()
