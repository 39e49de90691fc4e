"""What a crawl of one source brought back, read from its offers and its stats: the same
verdict for the bot's runs, Scrapyd jobs and ``scrapy crawl`` / ``scrapy parse``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from offers.model import Offer
from scrapers.middlewares import REFUSED
from scrapers.pipelines import REJECTED
from scrapers.spiders.base import BLOCKED

OK, EMPTY, BLOCKED_STATUS, ERROR = "ok", "empty", "blocked", "error"
LAST_PROBLEM = "awardwatch/last_problem"


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
    #: Pages the server answered 304, whose offers came as one item each
    unchanged_pages: int = 0
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

    def reason(self) -> str:
        """One line on why a run that found no offers failed."""
        if self.message:
            return self.message
        if self.status == ERROR:
            return "nothing fetched" if self.responses == 0 else f"{self.errors} error(s)"
        rejected = ", ".join(f"{why}: {n}" for why, n in self.rejected.most_common())
        return f"no offers in {self.responses} response(s)" + (
            f"; rejected {rejected}" if rejected else ""
        )


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
    result.message = str(stats.get(LAST_PROBLEM, "")) or result.message
    result.complete = stats.get("finish_reason", "finished") == "finished"
    return result
