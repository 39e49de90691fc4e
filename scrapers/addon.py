"""The bot's crawl settings as a Scrapy add-on (``ADDONS`` in scrapers/settings.py), so every
way of crawling gets them: the bot's passes and daemon (runner/crawl.py), Scrapyd jobs and the
``scrapy`` command line.

Values come at add-on priority: a source's own settings (spider priority) and ``-s`` on the
command line (what a Scrapyd job is sent) still win. The bot-wide ones (User-Agent, Chromium,
where the cache and the spiders' state live) come from config.toml: the ``AWARDWATCH_CONFIG``
setting, else the ``AWARDWATCH_CONFIG`` environment variable, else ``config.toml``; without
that file (a Scrapyd node) the config's defaults apply.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    ResponseDataLossError,
)
from scrapy.settings import BaseSettings
from scrapy.utils.misc import load_object

from offers.errors import ConfigError
from settings.config import Config, load

log = logging.getLogger(__name__)

#: Setting naming config.toml (a path), or holding one already read (a LoadedConfig).
CONFIG = "AWARDWATCH_CONFIG"
DEFAULT_CONFIG = "config.toml"

#: The HTTP cache of every crawl: conditional requests, an unchanged page costs a 304.
CACHE_POLICY = "scrapers.httpcache.RevalidatingPolicy"
#: One SQLite file; entries expire a week after a run last fetched or revalidated them.
CACHE_STORAGE = "scrapers.cachestore.SqliteCacheStorage"
CACHE_EXPIRY_SECONDS = 7 * 24 * 3600

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

PLAIN_HTTP = {
    "http": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler",
    "https": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler",
}

#: The settings that do not depend on config.toml.
CRAWL_SETTINGS: dict[str, Any] = {
    "ROBOTSTXT_OBEY": True,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
    "DOWNLOAD_DELAY": 0,
    "DOWNLOAD_TIMEOUT": 30,
    "RETRY_TIMES": 2,
    # a page that never answers fails its source after one DOWNLOAD_TIMEOUT, not three: a
    # timeout is not retried (Scrapy's list without DownloadTimeoutError)
    "RETRY_EXCEPTIONS": [
        "scrapy.exceptions.CannotResolveHostError",
        "scrapy.exceptions.DownloadConnectionRefusedError",
        "scrapy.exceptions.DownloadFailedError",
        "scrapy.exceptions.ResponseDataLossError",
        "twisted.internet.error.ConnectionDone",
        "twisted.internet.error.ConnectError",
        "twisted.internet.error.ConnectionLost",
        OSError,
        "scrapy.core.downloader.handlers.http11.TunnelError",
    ],
    # the fetch policy's default body limit (scrapers/middlewares.py); sources set their own
    "DOWNLOAD_MAXSIZE": 10 * 1024 * 1024,
    "DOWNLOAD_WARNSIZE": 5 * 1024 * 1024,
    "AWARDWATCH_ALLOWED_PRIVATE_HOSTS": [],
    "AUTOTHROTTLE_ENABLED": True,
    "AUTOTHROTTLE_START_DELAY": 1.0,
    "AUTOTHROTTLE_MAX_DELAY": 30.0,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
    "COOKIES_ENABLED": True,
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,
    # Scrapy re-reads and parses a generator callback's source on every response to warn
    # about `return value`; our callbacks are generators checked by tests, and the check costs
    # more than the parsing itself
    "WARN_ON_GENERATOR_RETURN_VALUE": False,
    "DOWNLOAD_HANDLERS": {
        "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
        "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    },
    "PLAYWRIGHT_BROWSER_TYPE": "chromium",
    "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 4,
    # Scrapy starts this many tasks for every response that yields anything; the item
    # pipeline is synchronous and a page holds a handful of offers, so a few are plenty
    "CONCURRENT_ITEMS": 4,
    "FEED_EXPORT_ENCODING": "utf-8",
    # items are Offer objects, exported as Offer.record() (dates as ISO text, zone kept)
    "FEED_EXPORTERS": {
        "json": "scrapers.items.OfferJsonExporter",
        "jsonlines": "scrapers.items.OfferJsonLinesExporter",
        "jsonl": "scrapers.items.OfferJsonLinesExporter",
        "jl": "scrapers.items.OfferJsonLinesExporter",
    },
    "HTTPCACHE_ENABLED": True,
    "HTTPCACHE_POLICY": CACHE_POLICY,
    "HTTPCACHE_STORAGE": CACHE_STORAGE,
    "HTTPCACHE_EXPIRATION_SECS": CACHE_EXPIRY_SECONDS,
    "HTTPCACHE_IGNORE_HTTP_CODES": [401, 403, 429, 500, 502, 503, 504],
}

#: Components (setting, path, order) the add-on switches on (an order of None: off).
COMPONENTS: list[tuple[str, str, int | None]] = [
    # http(s) only, no private addresses, no body over DOWNLOAD_MAXSIZE (decompressed too)
    ("DOWNLOADER_MIDDLEWARES", "scrapers.middlewares.FetchPolicy", 50),
    ("ITEM_PIPELINES", "scrapers.pipelines.OfferPipeline", 100),
    ("EXTENSIONS", "scrapers.extensions.JobStats", 500),
    # a 304 lowers the crawl delay as a 200 does (scrapers/httpcache.py)
    ("EXTENSIONS", "scrapy.extensions.throttle.AutoThrottle", None),
    ("EXTENSIONS", "scrapers.httpcache.RevalidatingAutoThrottle", 0),
]


@dataclass(frozen=True)
class LoadedConfig:
    """A config already read (the bot's own), handed to the add-on through the settings.
    Its repr shows no values: Scrapy logs the settings a crawl overrides."""

    config: Config

    def __repr__(self) -> str:
        return "<config.toml, already read>"

    def __deepcopy__(self, memo: dict[int, Any]) -> LoadedConfig:
        # read-only once loaded: every crawler copies its settings, and a copy of the whole
        # config (every source, every rule) cost more than a repeat run's requests
        return self


def config_path(settings: BaseSettings) -> Path:
    """config.toml's path: the setting, else the environment variable, else config.toml."""
    named = settings.get(CONFIG)
    if isinstance(named, str | Path) and str(named):
        return Path(named)
    return Path(os.environ.get(CONFIG) or DEFAULT_CONFIG)


_read: dict[tuple[str, float], Config] = {}


def project_config(settings: BaseSettings, *, required: bool = False) -> Config | None:
    """The config a crawl runs with; None when no file is there and none is ``required``.
    A config that does not load raises ConfigError."""
    held = settings.get(CONFIG)
    if isinstance(held, LoadedConfig):
        return held.config
    path = config_path(settings)
    if not path.exists() and not required:
        return None
    try:
        key = (str(path.resolve()), path.stat().st_mtime)
    except OSError:
        key = (str(path), 0.0)
    if key not in _read:  # read once per process: list, load and each crawler ask for it
        _read[key] = load(path, check_env=False)
    return _read[key]


def launch_options(config: Config) -> dict[str, Any]:
    """How scrapy-playwright starts Chromium."""
    options: dict[str, Any] = {"headless": config.browser.headless, "args": CHROMIUM_ARGS}
    # the configured Chromium; else Debian's when present; else the one Playwright fetched
    executable = config.browser.executable or shutil.which("chromium")
    if executable:
        options["executable_path"] = str(executable)
    return options


def config_settings(config: Config | None) -> dict[str, Any]:
    """The settings that come from config.toml (its defaults without one)."""
    values: dict[str, Any] = {
        "USER_AGENT": (config or Config()).bot.agent,
        "PLAYWRIGHT_LAUNCH_OPTIONS": launch_options(config or Config()),
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": int(
            (config or Config()).browser.timeout_seconds * 1000
        ),
    }
    if config is not None:  # beside the database; without a config, Scrapy's own .scrapy/
        data = config.bot.database.parent.resolve()
        values["HTTPCACHE_DIR"] = str(data / "httpcache")
        # where spiders keep small state of their own (API call budgets)
        values["AWARDWATCH_STATE_DIR"] = str(data)
    return values


#: Failures to reach a site: expected, and named in one line by the error itself.
DOWNLOAD_ERRORS: tuple[type[BaseException], ...] = (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    ResponseDataLossError,
    ConnectionError,
    TimeoutError,
)


class QuietDownloadErrors(logging.Filter):
    """Drops the traceback Scrapy's robots.txt middleware logs with a site it cannot reach:
    the log line names the error, the traceback adds only Scrapy's call stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, DOWNLOAD_ERRORS):
            record.exc_info, record.exc_text = None, None
        return True


def quiet_download_errors() -> None:
    robots = logging.getLogger("scrapy.downloadermiddlewares.robotstxt")
    if not any(isinstance(f, QuietDownloadErrors) for f in robots.filters):
        robots.addFilter(QuietDownloadErrors())


class CrawlSettings:
    """Scrapy add-on: the bot's crawl settings (see the module)."""

    def __init__(self) -> None:
        quiet_download_errors()

    def update_settings(self, settings: BaseSettings) -> None:
        try:
            config = project_config(settings)
        except ConfigError as exc:  # `scrapy shell` and the like still run, on the defaults
            log.error("%s; crawling with the default settings", exc)
            config = None
        for name, value in {**CRAWL_SETTINGS, **config_settings(config)}.items():
            settings.set(name, value, priority="addon")
        for name, component, order in COMPONENTS:
            # setdefault: a project that sets the component itself (or None, off) keeps its own
            settings.setdefault_in_component_priority_dict(name, load_object(component), order)
