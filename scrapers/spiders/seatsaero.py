"""Award space from the seats.aero Partner API: ``/search`` per watch entry, ``/availability``
per configured seats.aero source, following ``cursor`` pages while ``hasMore`` and never past
the key's daily call budget."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import urlencode

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Request, Response

from scrapers.parsers import seatsaero
from scrapers.spiders.base import SourceSpider
from scrapers.spiders.flyingblue import API_SETTINGS, iata_codes
from settings.config import RouteQuery, SourceConfig, secret

#: seats.aero's names of our cabins, for the ``cabin`` parameter.
CABIN_PARAM = {
    "economy": "economy",
    "premium_economy": "premium",
    "business": "business",
    "first": "first",
}
BUDGET_USED_UP = "awardwatch/budget_exhausted"
CALLS = "seatsaero/calls"
CALL = "seatsaero_call"


class CallBudget:
    """API calls per UTC day for one key (named by its environment variable), kept in a small
    JSON file so that every run of the day, cron or daemon, draws on the same count."""

    def __init__(self, path: Path, key_name: str, limit: int) -> None:
        self.path, self.key_name, self.limit = path, key_name, limit

    @staticmethod
    def today() -> str:
        return datetime.now(UTC).date().isoformat()

    def _counts(self) -> dict[str, Any]:
        try:
            counts = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return counts if isinstance(counts, dict) else {}

    def used(self) -> int:
        entry = self._counts().get(self.key_name) or {}
        return int(entry.get("calls", 0)) if entry.get("day") == self.today() else 0

    def take(self) -> bool:
        """Count one call, or return False when the day's budget is used up."""
        if self.used() >= self.limit:
            return False
        self.spend()
        return True

    def spend(self) -> None:
        """Count one call that is made whatever the budget says (a retry of a counted one)."""
        counts = self._counts()
        counts[self.key_name] = {"day": self.today(), "calls": self.used() + 1}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.path.with_suffix(".tmp")
        scratch.write_text(json.dumps(counts, indent=1), encoding="utf-8")
        os.replace(scratch, self.path)


def search_query(watch: RouteQuery, page_size: int) -> dict[str, str] | None:
    """The ``/search`` parameters of a watch entry; None when it names no airport codes."""
    origins, destinations = iata_codes(watch.origins), iata_codes(watch.destinations)
    if not origins or not destinations:
        return None
    query = {"origin_airport": ",".join(origins), "destination_airport": ",".join(destinations)}
    days = watch.days()
    if days:
        query.update(start_date=days[0].isoformat(), end_date=days[-1].isoformat())
    if len(watch.cabins) == 1:
        # one cabin narrows the answer; for several, the API is asked for all of them
        query["cabin"] = CABIN_PARAM[watch.cabins[0]]
    query["take"] = str(page_size)
    return query


class SeatsaeroSpider(SourceSpider):
    name: ClassVar[str] = "seatsaero"  # type: ignore[misc]
    custom_settings: ClassVar[dict[str, Any]] = API_SETTINGS  # type: ignore[misc]

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.sent, signal=signals.request_reached_downloader)
        return spider

    def __init__(self, source: SourceConfig | str | None = None, **kwargs: Any) -> None:
        super().__init__(source, **kwargs)
        self.options: seatsaero.Options = self.source.opts
        self.api_key = secret(self.options.api_key_env)
        self._budget: CallBudget | None = None

    @property
    def budget(self) -> CallBudget:
        if self._budget is None:
            self._budget = CallBudget(
                self.usage_path(), self.options.api_key_env, self.options.daily_calls
            )
        return self._budget

    def usage_path(self) -> Path:
        if self.options.usage_file:
            return Path(self.options.usage_file)
        settings = getattr(self, "settings", None)
        state = settings.get("AWARDWATCH_STATE_DIR") if settings is not None else None
        # without a state directory from the crawl, the default database's folder
        return Path(state or "data") / "seatsaero-calls.json"

    def first_urls(self) -> Iterator[str]:
        base = self.options.base_url.rstrip("/")
        for watch in self.source.watch:
            query = search_query(watch, self.options.page_size)
            if query is None:
                self.logger.warning("watch entry without IATA airport codes, not searched")
                continue
            yield f"{base}/search?{urlencode(query)}"
        for name in self.options.availability_sources:
            query = {"source": name, "take": str(self.options.page_size)}
            yield f"{base}/availability?{urlencode(query)}"

    def requests(self) -> Iterable[Request]:
        for url in self.first_urls():
            request = self.call(url)
            if request is None:
                return
            yield request

    def call(self, url: str) -> Request | None:
        """A request that spends one call of the budget, or None when none is left."""
        if not self.budget.take():
            self.budget_used_up()
            return None
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(CALLS)
        headers = {"Partner-Authorization": self.api_key, "Accept": "application/json"}
        # dont_cache: the HTTP cache would write the API key (a request header) to disk
        return self.request(url, headers=headers, meta={"dont_cache": True, CALL: True})

    def sent(self, request: Request, spider: Any) -> None:
        """A retry is one more call: the first send was counted when the request was made."""
        if request.meta.get(CALL) and request.meta.get("retry_times"):
            self.budget.spend()
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value(CALLS)

    def budget_used_up(self) -> None:
        message = (
            f"seats.aero daily call budget used up: {self.budget.limit} calls on "
            f"{self.budget.today()} (UTC); further pages wait for the next UTC day"
        )
        stats = self.crawler.stats
        assert stats is not None
        if not stats.get_value(BUDGET_USED_UP):
            self.logger.warning(message)
        stats.set_value(BUDGET_USED_UP, 1)
        stats.set_value("awardwatch/last_problem", message)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        yield from self.read(response.body, response)
        if response.status != 200:
            return
        url = seatsaero.next_page(response.body, response.url)
        if url is not None:
            request = self.call(url)
            if request is not None:
                yield request
