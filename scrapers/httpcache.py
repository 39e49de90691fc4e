"""HTTP caching that always revalidates: an unchanged page costs a 304, not a full download."""

from __future__ import annotations

from scrapy.extensions.httpcache import RFC2616Policy
from scrapy.http import Request, Response


class RevalidatingPolicy(RFC2616Policy):
    """RFC 2616 caching that revalidates a ``Cache-Control: no-cache`` response with its ETag
    and Last-Modified. Scrapy's policy refetches such a response in full, and blogs' feeds and
    many deal pages are served with no-cache: every poll would download the whole page again."""

    def is_cached_response_fresh(self, cachedresponse: Response, request: Request) -> bool:
        if super().is_cached_response_fresh(cachedresponse, request):
            return True
        self._set_conditional_validators(request, cachedresponse)
        return False
