"""``scrapy parse --spider NAME URL``: a configured source's parsing of one URL, fetched with
the source's settings; exit non-zero when it found no offers there."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from typing import Any

from scrapy import Spider
from scrapy.commands.parse import Command as ScrapyParse
from scrapy.exceptions import UsageError

from offers.model import Offer
from scrapers.commands import outcome, report, source_spider
from scrapers.spiders.base import SourceSpider


class Command(ScrapyParse):
    def short_desc(self) -> str:
        return "Parse a URL with a configured source (--spider NAME) and print its offers"

    def set_spidercls(self, url: str, opts: argparse.Namespace) -> None:
        if not opts.spider:
            raise UsageError("name the source: scrapy parse --spider NAME URL", print_help=False)
        assert self.crawler_process
        spidercls = source_spider(self.crawler_process.spider_loader, opts.spider, opts.spargs)
        if not issubclass(spidercls, SourceSpider):
            super().set_spidercls(url, opts)
            return
        command = self

        async def start(spider: Spider) -> AsyncIterator[Any]:
            # the source's own request: its meta (browser, proxy) and its errback, which
            # names a failed download in one line
            assert isinstance(spider, SourceSpider)
            yield command.prepare_request(spider, spider.request(url), opts)

        # a class of its own per load (scrapers/sources.py): the source's spider is untouched
        self.spidercls = type(spidercls.__name__, (spidercls,), {"start": start})

    def start_parsing(self, url: str, opts: argparse.Namespace) -> None:
        super().start_parsing(url, opts)
        if self.exitcode:
            return
        offers = [item for found in self.items.values() for item in found]
        self.exitcode = report(outcome(self.pcrawler, [o for o in offers if isinstance(o, Offer)]))
