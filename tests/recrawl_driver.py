"""One run of the bot's road for the repeat-run tests: crawl every source of a config through
``runner.crawl.Crawls``, record the run (``runner.pipeline.record``) as of a given time, and
print what the crawl and the record saw as one JSON line. A process of its own: the Twisted
reactor runs once per process.

    python tests/recrawl_driver.py CONFIG NOW [NOW ...]

Several times: one run for each, one after the other in this process (as the daemon runs).
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
    crawls = CountingCrawls(config)
    db = connect(config.bot.database)

    async def runs() -> None:
        for now in sys.argv[2:]:
            crawls.scraped = crawls.reused = 0
            for source in config.sources:
                result = await crawls.run(source)
                at = datetime.fromisoformat(now)
                summary = record(db, config, result, lambda event: [("console", "")], at)
                print(json.dumps({
                    "status": result.status, "items": result.items,
                    "offers": len(result.offers), "unchanged_pages": result.unchanged_pages,
                    "scraped": crawls.scraped, "parse_reused": crawls.reused,
                    "passed": summary.offers, "events": [event.kind for event in summary.events],
                    "rejected": summary.rejected,
                    "seen_at": sorted({o.seen_at.isoformat() for o in result.offers}),
                }), flush=True)  # fmt: skip

    _run_on_reactor(runs)


if __name__ == "__main__":
    main()
