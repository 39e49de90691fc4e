"""HTTP caching that always revalidates: an unchanged page costs a 304, not a full download."""

from __future__ import annotations

from scrapy.extensions.httpcache import RFC2616Policy
from scrapy.http import Request, Response

#: Request headers that carry a credential: a request with one is never written to the cache,
#: whose files keep every request header in plain text.
SECRET_HEADERS = (
    b"Authorization", b"Proxy-Authorization", b"API-Key", b"X-API-Key", b"Partner-Authorization",
)  # fmt: skip


class RevalidatingPolicy(RFC2616Policy):
    """RFC 2616 caching that revalidates a ``Cache-Control: no-cache`` response with its ETag
    and Last-Modified. Scrapy's policy refetches such a response in full, and blogs' feeds and
    many deal pages are served with no-cache: every poll would download the whole page again."""

    def should_cache_request(self, request: Request) -> bool:
        if request.meta.get("proxy") or any(h in request.headers for h in SECRET_HEADERS):
            return False
        return bool(super().should_cache_request(request))

    def is_cached_response_fresh(self, cachedresponse: Response, request: Request) -> bool:
        if super().is_cached_response_fresh(cachedresponse, request):
            return True
        self._set_conditional_validators(request, cachedresponse)
        return False
