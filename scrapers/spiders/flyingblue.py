"""Flying Blue reward fares from the Air France-KLM Offers API: one ``best-fare-offers`` search
per watched route and cabin, authenticated with the developer portal's API key."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from scrapy.http import Request

from offers.model import CABINS
from offers.places import airport_location
from scrapers.parsers import flyingblue
from scrapers.spiders.base import SourceSpider
from settings.config import RouteQuery, SourceConfig, secret

#: Scrapy settings of the API spiders: a 429 is a quota answer that an immediate retry only
#: spends again, so it is recorded as a block instead (other transient errors are retried).
API_SETTINGS: dict[str, Any] = {"RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408]}


def location(code: str) -> dict[str, str]:
    return {"code": code, "type": "AIRPORT" if airport_location(code) else "CITY"}


def iata_codes(places: list[str]) -> list[str]:
    """The places the API can search: IATA airport or city codes, as written."""
    return [p for p in places if len(p) == 3 and p.isalpha() and p.isupper()]


def date_interval(watch: RouteQuery, options: flyingblue.Options, today: date) -> str:
    days = watch.days()
    if not days:
        days = [today, today + timedelta(days=options.window_days)]
    return f"{days[0].isoformat()}/{days[-1].isoformat()}"


def search_body(
    watch: RouteQuery, origin: str, destination: str, cabin: str, interval: str
) -> dict[str, Any]:
    """The JSON body of one reward search (both bounds for a round trip)."""
    bounds = [{"origin": location(origin), "destination": location(destination)}]
    if watch.trip == "round-trip":
        bounds.append({"origin": location(destination), "destination": location(origin)})
    return {
        "bookingFlow": "REWARD",
        "commercialCabin": flyingblue.COMMERCIAL_CABIN[cabin],
        "passengers": [{"id": n, "type": "ADT"} for n in range(1, watch.passengers + 1)],
        "requestedConnections": bounds,
        "dateInterval": interval,
    }


def search_bodies(
    watch: RouteQuery, options: flyingblue.Options, today: date
) -> Iterable[dict[str, Any]]:
    interval = date_interval(watch, options, today)
    for origin in iata_codes(watch.origins):
        for destination in iata_codes(watch.destinations):
            for cabin in watch.cabins or CABINS:
                yield search_body(watch, origin, destination, cabin, interval)


class FlyingblueSpider(SourceSpider):
    name: ClassVar[str] = "flyingblue"  # type: ignore[misc]
    custom_settings: ClassVar[dict[str, Any]] = API_SETTINGS  # type: ignore[misc]

    def __init__(self, source: SourceConfig | str | None = None, **kwargs: Any) -> None:
        super().__init__(source, **kwargs)
        self.options: flyingblue.Options = self.source.opts
        self.api_key = secret(self.options.api_key_env)

    def requests(self) -> Iterable[Request]:
        url = self.options.base_url.rstrip("/") + flyingblue.SEARCH_PATH
        today = datetime.now(UTC).date()
        for watch in self.source.watch:
            places = watch.origins + watch.destinations
            skipped = sorted(set(places) - set(iata_codes(places)))
            if skipped:
                self.logger.warning("not IATA codes, not searched: %s", ", ".join(skipped))
            for body in search_bodies(watch, self.options, today):
                yield self.search(url, body)

    def search(self, url: str, body: dict[str, Any]) -> Request:
        headers = {
            "API-Key": self.api_key,
            "AFKL-TRAVEL-Host": self.options.host,
            "Accept": "application/hal+json",
            "Content-Type": "application/hal+json",
        }
        # dont_cache: the HTTP cache would write the API key (a request header) to disk
        return self.request(
            url, method="POST", body=json.dumps(body), headers=headers, meta={"dont_cache": True}
        )
