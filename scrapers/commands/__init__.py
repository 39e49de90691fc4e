"""The project's ``scrapy crawl`` and ``scrapy parse`` (``COMMANDS_MODULE``): Scrapy's own, run
on a configured source, with an exit status that says whether the source worked, judged as the
bot judges a run (scrapers/outcome.py), and a one-line reason on stderr."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError

from offers.model import Offer
from scrapers.outcome import OK, CrawlResult, result_from_stats
from scrapers.sources import SourceLoader
from scrapers.spiders.base import SourceSpider

#: Exit status of a run that found no offers (empty, blocked, failed).
FAILED = 1


def source_spider(loader: Any, name: str, spider_args: dict[str, Any]) -> type[Spider]:
    """The spider class of ``name``; a name that is no configured source, or a source kind run
    without its entry, is a usage error that says what to name instead."""
    try:
        spider: type[Spider] = loader.load(name)
    except KeyError:
        raise UsageError(f"no source named {name!r}{known(loader)}", print_help=False) from None
    if (
        issubclass(spider, SourceSpider)
        and spider.configured is None
        and "source" not in spider_args
    ):
        raise UsageError(
            f"{name!r} is a source kind, not a configured source{known(loader)}; "
            "or pass the [[sources]] entry as JSON with -a source=...",
            print_help=False,
        )
    return spider


def known(loader: Any) -> str:
    if not isinstance(loader, SourceLoader):
        return ""
    names = ", ".join(loader.list()) or "none"
    return f" in {loader.where()} (configured: {names})"


def outcome(crawler: Crawler, offers: list[Offer]) -> CrawlResult:
    """The run's result, as the bot records it."""
    name = crawler.spider.name if crawler.spider else "?"
    result = CrawlResult(name, started=datetime.now(UTC), offers=offers, items=len(offers))
    return result_from_stats(result, crawler.stats.get_stats() if crawler.stats else {})


def report(result: CrawlResult) -> int:
    """Print the run's one-line summary on stderr; its exit status."""
    found = f"{len(result.offers)} offer(s) from {result.responses} response(s)"
    if result.status == OK:
        print(f"{result.source}: {OK}: {found}", file=sys.stderr)
        return 0
    reason = result.reason()  # a block's reason already says "blocked: …"
    said = reason if reason.startswith(f"{result.status}:") else f"{result.status}: {reason}"
    print(f"{result.source}: {said}", file=sys.stderr)
    return FAILED
