"""Scrapy settings shared by every source. Per-source values (robots.txt, concurrency,
proxy, browser) are layered on top by runner.crawl when a crawl starts."""

from __future__ import annotations

import shutil

BOT_NAME = "awardwatch"
SPIDER_MODULES = ["scrapers.spiders"]
NEWSPIDER_MODULE = "scrapers.spiders"

USER_AGENT = "awardwatch/0.1 (+https://github.com/awardwatch/awardwatch)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 2
# a page that never answers fails its source after one DOWNLOAD_TIMEOUT, not three: a timeout
# is not retried (Scrapy's list without DownloadTimeoutError)
RETRY_EXCEPTIONS = [
    "scrapy.exceptions.CannotResolveHostError",
    "scrapy.exceptions.DownloadConnectionRefusedError",
    "scrapy.exceptions.DownloadFailedError",
    "scrapy.exceptions.ResponseDataLossError",
    "twisted.internet.error.ConnectionDone",
    "twisted.internet.error.ConnectError",
    "twisted.internet.error.ConnectionLost",
    OSError,
    "scrapy.core.downloader.handlers.http11.TunnelError",
]
# The fetch policy (scrapers/middlewares.py): http(s) only, no private addresses, and no body
# over DOWNLOAD_MAXSIZE, counted after decompression too (a gzip bomb stops at the limit).
# Sources set their own limit (max_bytes); this is the default.
DOWNLOADER_MIDDLEWARES = {"scrapers.middlewares.FetchPolicy": 50}
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
AWARDWATCH_ALLOWED_PRIVATE_HOSTS: list[str] = []
AUTOTHROTTLE_ENABLED = True
# a 304 may lower the delay as a 200 does (scrapers/httpcache.py)
EXTENSIONS = {
    "scrapy.extensions.throttle.AutoThrottle": None,
    "scrapers.httpcache.RevalidatingAutoThrottle": 0,
}
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
COOKIES_ENABLED = True

TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "WARNING"
# Scrapy re-reads and parses a generator callback's source on every response to warn about
# `return value`; our callbacks are generators checked by tests, and the check costs more
# than the parsing itself
WARN_ON_GENERATOR_RETURN_VALUE = False

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
DOWNLOAD_HANDLERS = {
    "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
}
PLAYWRIGHT_BROWSER_TYPE = "chromium"
#: Chromium flags for a server: no sandbox as root, and no calls home on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "headless": True,
    "args": CHROMIUM_ARGS,
    # Debian's Chromium when present; otherwise the one `playwright install chromium` fetched
    **({"executable_path": shutil.which("chromium")} if shutil.which("chromium") else {}),
}
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4

# Scrapy starts this many tasks for every response that yields anything; our item pipeline
# is synchronous and a page holds a handful of offers, so a few are plenty
CONCURRENT_ITEMS = 4
ITEM_PIPELINES = {"scrapers.pipelines.OfferPipeline": 100}
FEED_EXPORT_ENCODING = "utf-8"
