"""HTTP caching that always revalidates: every run asks the server, and an unchanged page costs
a 304, not a full download."""

from __future__ import annotations

from typing import cast

from scrapy.core.downloader import Slot
from scrapy.extensions.httpcache import RFC2616Policy
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Request, Response

VALIDATORS = (b"ETag", b"Last-Modified")
#: The flag of a cached response the server has just confirmed with a 304.
REVALIDATED = "revalidated"

#: Request headers that carry a credential: a request with one is never written to the cache,
#: whose files keep every request header in plain text.
SECRET_HEADERS = (
    b"Authorization", b"Proxy-Authorization", b"API-Key", b"X-API-Key", b"Partner-Authorization",
)  # fmt: skip


class RevalidatingPolicy(RFC2616Policy):
    """RFC 2616 caching in which a stored response is never fresh: it only supplies the ETag and
    Last-Modified of a conditional request, and is used again only when the server answers 304.

    Scrapy's own policy treats a response as fresh for a while without asking: for max-age, and
    by heuristic for a tenth of its Last-Modified age when there is no Cache-Control (a page last
    changed ten days ago would not be fetched again for a day). A price cut on such a page would
    go unseen; an award sale lasts days, so every run must see what the server shows now."""

    def should_cache_response(self, response: Response, request: Request) -> bool:
        # without a validator a stored copy could never be used again: every run fetches in full
        if not any(name in response.headers for name in VALIDATORS):
            return False
        return super().should_cache_response(response, request)

    def should_cache_request(self, request: Request) -> bool:
        if request.meta.get("proxy") or any(h in request.headers for h in SECRET_HEADERS):
            return False
        return bool(super().should_cache_request(request))

    def is_cached_response_fresh(self, cachedresponse: Response, request: Request) -> bool:
        self._set_conditional_validators(request, cachedresponse)
        return False

    def is_cached_response_valid(
        self, cachedresponse: Response, response: Response, request: Request
    ) -> bool:
        # only the server's own "not modified"; a 5xx is a failed run, not yesterday's page
        if response.status != 304:
            return False
        # told apart from a stale copy served when the download failed, also flagged "cached"
        cachedresponse.flags.append(REVALIDATED)
        return True


class RevalidatingAutoThrottle(AutoThrottle):
    """AutoThrottle that lets a 304 lower the delay as a 200 does. Scrapy's never lowers it on a
    status other than 200 (error pages are small and fast, and would speed the crawl up against
    a struggling site); but a 304 is the server's full answer to a revalidation, so without this
    a repeat run over unchanged pages keeps the start delay (a second a page) to the end."""

    def _adjust_delay(self, slot: Slot, latency: float, response: Response) -> None:
        # AutoThrottle reads only the status: no copy of the response (its body, its headers)
        super()._adjust_delay(slot, latency, cast(Response, _ANSWERED) if response.status == 304
                              else response)  # fmt: skip


class _Answered:
    """A response's status as AutoThrottle reads it, for a 304: a full answer."""

    status = 200


_ANSWERED = _Answered()
