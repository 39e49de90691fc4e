"""One run of the bot's road for the repeat-run tests: crawl every source of a config through
``runner.crawl.Crawls``, record the run (``runner.pipeline.record``) as of a given time, and
print what the crawl and the record saw as one JSON line. A process of its own: the Twisted
reactor runs once per process.

    python tests/recrawl_driver.py CONFIG NOW
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scrapy import signals  # noqa: E402
from scrapy.crawler import Crawler  # noqa: E402

from runner.crawl import Crawls  # noqa: E402
from runner.pipeline import record  # noqa: E402
from scheduler import _run_on_reactor  # noqa: E402
from settings.config import SourceConfig, load  # noqa: E402
from storage.db import connect  # noqa: E402


class CountingCrawls(Crawls):
    """Crawls that count the items Scrapy itself carried, and keep each crawl's stats."""

    scraped = 0
    reused = 0

    def crawler(self, source: SourceConfig, budget: int | None = None) -> Crawler:
        crawler = super().crawler(source, budget)
        crawler.signals.connect(self.count, signal=signals.item_scraped, weak=False)
        crawler.signals.connect(self.closed, signal=signals.spider_closed, weak=False)
        self._last = crawler
        return crawler

    def count(self, item: Any) -> None:
        self.scraped += 1

    def closed(self) -> None:
        stats = self._last.stats
        self.reused += int(stats.get_value("awardwatch/parse_reused", 0)) if stats else 0


def main() -> None:
    config = load(sys.argv[1], check_env=False)
    now = datetime.fromisoformat(sys.argv[2])
    crawls = CountingCrawls(config)

    async def crawl_all() -> list[Any]:
        return [await crawls.run(source) for source in config.sources]

    results = _run_on_reactor(crawl_all)
    db = connect(config.bot.database)
    for result in results:
        summary = record(db, config, result, lambda event: [("console", "")], now)
        print(json.dumps({
            "status": result.status, "items": result.items, "offers": len(result.offers),
            "unchanged_pages": result.unchanged_pages, "scraped": crawls.scraped,
            "parse_reused": crawls.reused, "passed": summary.offers,
            "events": [event.kind for event in summary.events], "rejected": summary.rejected,
        }))  # fmt: skip


if __name__ == "__main__":
    main()
