"""``scrapy crawl NAME``: run a configured source; exit non-zero when it found no offers."""

from __future__ import annotations

import argparse
from typing import Any

from scrapy import signals
from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from offers.model import Offer
from scrapers.commands import outcome, report, source_spider


class Command(ScrapyCrawl):
    def short_desc(self) -> str:
        return "Run a configured source (a [[sources]] entry of config.toml), by name"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("name one source: scrapy crawl NAME", print_help=len(args) == 0)
        assert self.crawler_process
        loader = self.crawler_process.spider_loader
        crawler = self._create_crawler(source_spider(loader, args[0], opts.spargs))
        offers: list[Offer] = []

        def scraped(item: Any) -> None:
            if isinstance(item, Offer):
                offers.append(item)

        crawler.signals.connect(scraped, signal=signals.item_scraped, weak=False)
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
            return
        self.exitcode = report(outcome(crawler, offers))
