"""The fetch policy: what a crawl may download, checked on every request a spider makes, every
link it follows and every redirect.

- only ``http`` and ``https`` (no ``file:``, ``ftp:``, ``data:`` …);
- no private, loopback, link-local or otherwise non-public address, by IP or by what a name
  resolves to, except the hosts a source names itself when it sets ``allow_private``;
- a response no larger than the source's ``max_bytes``, decompressed (Scrapy's
  ``DOWNLOAD_MAXSIZE``, which its HTTP handler and decompression middleware both honour).

Every refusal is counted in the crawl's stats under ``awardwatch/refused/<reason>`` and named
in the run record.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadCancelledError, DownloadTimeoutError, IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.python.failure import Failure

log = logging.getLogger(__name__)

REFUSED = "awardwatch/refused"
SCHEMES = frozenset({"http", "https"})
#: Setting: hosts that may be private addresses (the source's own, with ``allow_private``).
ALLOWED_PRIVATE_HOSTS = "AWARDWATCH_ALLOWED_PRIVATE_HOSTS"
NOT_HTTP, PRIVATE, TOO_LARGE = "not http(s)", "private address", "over max_bytes"


class Refused(IgnoreRequest):
    """A request the fetch policy refused; ``reason`` is the countable name."""

    def __init__(self, reason: str, url: str) -> None:
        super().__init__(f"refused ({reason}): {url}")
        self.reason = reason


def non_public(address: str) -> bool:
    """Whether an IP address is private, loopback, link-local, reserved or multicast."""
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def static_refusal(url: str, allowed: frozenset[str]) -> str | None:
    """The reason ``url`` is refused without looking its host up, or None."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        return NOT_HTTP
    host = (parts.hostname or "").lower()
    if not host:
        return NOT_HTTP
    if host in allowed:
        return None
    if host == "localhost" or host.endswith(".localhost") or (is_ip(host) and non_public(host)):
        return PRIVATE
    return None


class FetchPolicy:
    """Downloader middleware that refuses what the fetch policy forbids (see the module)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        hosts = crawler.settings.getlist(ALLOWED_PRIVATE_HOSTS)
        self.allowed = frozenset(h.strip().lower() for h in hosts if h.strip())

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FetchPolicy:
        return cls(crawler)

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if request.meta.get("proxy") and self._static(request.url) is None:
            return  # the proxy resolves the name: what it reaches is its own policy's business
        reason = self._static(request.url) or await self._resolved(request.url)
        if reason:
            self.refuse(reason, request.url)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        # a rendered page follows redirects inside Chromium; where it ended is checked here
        if response.url != request.url:
            reason = self._static(response.url)
            if reason:
                self.refuse(reason, response.url)
        return response

    def _static(self, url: str) -> str | None:
        return static_refusal(url, self.allowed)

    async def _resolved(self, url: str) -> str | None:
        """PRIVATE when the URL's host name resolves to a non-public address. The lookup goes
        through the reactor's resolver, the one the download then uses (Scrapy's DNS cache
        when it is installed); a name that answers differently a moment later (DNS
        rebinding) is for a firewall rule to stop."""
        host = (urlsplit(url).hostname or "").lower()
        if host in self.allowed or is_ip(host):
            return None
        from twisted.internet import reactor

        try:
            address = await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[arg-type]
        except Exception:  # the download reports the failed lookup itself
            return None
        return PRIVATE if non_public(str(address)) else None

    def refuse(self, reason: str, url: str) -> None:
        count(self.crawler, reason)
        log.warning("refused (%s): %s", reason, url)
        raise Refused(reason, url)


#: What a rendered page may load besides http(s): inline and in-page resources.
_IN_PAGE_SCHEMES = ("data", "blob", "about")


def browser_policy(allowed: frozenset[str]) -> Callable[[Any], bool]:
    """scrapy-playwright's ``PLAYWRIGHT_ABORT_REQUEST`` for one source: every request a
    rendered page makes (scripts, images, fetches) under the same policy, by scheme and by
    address (an address written as an IP or ``localhost``; names are not looked up here)."""

    def abort(request: Any) -> bool:
        url = str(request.url)
        if url.split(":", 1)[0].lower() in _IN_PAGE_SCHEMES:
            return False
        reason = static_refusal(url, allowed)
        if reason:
            log.warning("refused in the browser (%s): %s", reason, url)
        return reason is not None

    return abort


def count(crawler: Crawler, reason: str) -> None:
    if crawler.stats is not None:
        crawler.stats.inc_value(f"{REFUSED}/{reason}")


def failure_reason(failure: Failure, settings: Any) -> tuple[str | None, str]:
    """A failed request's refusal name (None when it was not refused) and a message a user
    understands: a timeout or an oversized body says which limit it hit."""
    error = failure.value
    if isinstance(error, Refused):
        return None, str(error)  # counted where it was refused
    text = failure.getErrorMessage()
    if isinstance(error, DownloadCancelledError | IgnoreRequest) and "max" in text.lower():
        limit = settings.getint("DOWNLOAD_MAXSIZE")
        return TOO_LARGE, f"response larger than max_bytes ({limit} bytes); download stopped"
    if isinstance(error, DownloadTimeoutError):
        timeout = settings.getfloat("DOWNLOAD_TIMEOUT")
        return None, f"no answer within download_timeout ({timeout:g} s)"
    return None, text
