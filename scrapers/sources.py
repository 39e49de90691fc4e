"""Spiders of the configured sources: each [[sources]] entry of config.toml is a spider named
after it, its kind's spider class bound to the entry and carrying the entry's own settings.

``SourceLoader`` (``SPIDER_LOADER_CLASS``) makes ``scrapy list`` list the configured sources and
``scrapy crawl NAME`` run one. Without a config file (a Scrapyd node) it lists the source kinds,
which run with the entry as JSON: ``-a source='{...}'``.
"""

from __future__ import annotations

import builtins
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings
from scrapy.spiderloader import SpiderLoader

from offers.errors import ConfigError
from scrapers.addon import PLAIN_HTTP, config_path, project_config
from scrapers.middlewares import ALLOWED_PRIVATE_HOSTS, browser_policy
from scrapers.spiders.base import SourceSpider
from settings.config import Config, SourceConfig


def source_settings(source: SourceConfig) -> dict[str, Any]:
    """Per-source Scrapy settings, applied at spider priority."""
    values: dict[str, Any] = {
        "CONCURRENT_REQUESTS_PER_DOMAIN": source.concurrency,
        # the fetch policy's limits (scrapers/middlewares.py)
        "DOWNLOAD_TIMEOUT": source.download_timeout,
        "DOWNLOAD_MAXSIZE": source.max_bytes,
        "DOWNLOAD_WARNSIZE": source.max_bytes // 2,
        ALLOWED_PRIVATE_HOSTS: sorted(source.own_hosts) if source.allow_private else [],
    }
    if source.obey_robots is not None:
        values["ROBOTSTXT_OBEY"] = source.obey_robots
    if source.render == "static":
        # no browser for static sources: plain HTTP handlers, no Chromium start-up
        values["DOWNLOAD_HANDLERS"] = PLAIN_HTTP
    return values


def spider_settings(source: SourceConfig) -> dict[str, Any]:
    """A configured source's spider settings: ``source_settings`` and, for a rendered source,
    the fetch policy over what the page itself loads."""
    values = source_settings(source)
    if source.render == "browser":
        allowed = frozenset(values[ALLOWED_PRIVATE_HOSTS])
        values["PLAYWRIGHT_ABORT_REQUEST"] = browser_policy(allowed)
    return values


def bind(kind: type[SourceSpider], source: SourceConfig) -> type[SourceSpider]:
    """The spider class of one configured source: its kind's class, named after the source."""
    attributes = {
        "name": source.name,
        "configured": source,
        # the kind's own settings (an API's retry policy), then the source's
        "custom_settings": {**(kind.custom_settings or {}), **spider_settings(source)},
        "__module__": kind.__module__,
        "__doc__": f"The source {source.name!r} ({source.kind}).",
    }
    return type(f"{kind.__name__}_{source.name}", (kind,), attributes)


class SourceLoader:
    """Spider loader over config.toml's sources (see the module)."""

    def __init__(self, settings: BaseSettings) -> None:
        self.settings = settings
        self.kinds = SpiderLoader.from_settings(settings)
        # one class per source entry, not one per run of a daemon that runs for months
        self._bound: dict[str, tuple[SourceConfig, type[SourceSpider]]] = {}

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        return cls(settings)

    def config(self) -> Config | None:
        """The project's config; a config that does not load is a usage error of the command."""
        try:
            return project_config(self.settings)
        except ConfigError as exc:
            raise UsageError(str(exc), print_help=False) from None

    def spider(self, source: SourceConfig) -> type[SourceSpider]:
        """The spider class of a configured source."""
        held = self._bound.get(source.name)
        if held is not None and held[0] is source:
            return held[1]
        kind = self.kinds.load(source.kind)
        assert issubclass(kind, SourceSpider), kind
        spider = bind(kind, source)
        self._bound[source.name] = (source, spider)
        return spider

    def load(self, spider_name: str) -> type[Spider]:
        config = self.config()
        for source in config.sources if config else []:
            if source.name == spider_name:
                return self.spider(source)
        if spider_name in self.kinds.list():  # a Scrapyd job: the entry comes as `-a source=`
            return self.kinds.load(spider_name)
        raise KeyError(f"Spider not found: {spider_name}")

    def list(self) -> builtins.list[str]:
        config = self.config()
        if config is None:
            return self.kinds.list()
        return [source.name for source in config.sources]

    def find_by_request(self, request: Request) -> builtins.list[str]:
        """The configured sources whose URLs are on the request's host."""
        config = self.config()
        host = urlsplit(request.url).hostname
        return [
            source.name
            for source in (config.sources if config else [])
            if any(urlsplit(url).hostname == host for url in source.urls)
        ]

    def where(self) -> str:
        """Where the sources come from, for messages."""
        return str(config_path(self.settings))
