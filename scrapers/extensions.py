"""The crawl's stats as JSON beside its items: a Scrapyd job's ``<job>.jl`` gets
``<job>.stats.json`` in the node's items_dir, which the central process reads back
(runner/scaleout.py) instead of parsing the job's log."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings
from w3lib.url import file_uri_to_path

log = logging.getLogger(__name__)

#: Setting: where to write the stats; by default beside the first local feed file.
STATS_FILE = "AWARDWATCH_STATS_FILE"
SUFFIX = ".stats.json"


def stats_file(settings: BaseSettings) -> Path | None:
    """Where the stats go: the setting, else beside the first feed export to a local file."""
    if settings.get(STATS_FILE):
        return Path(settings[STATS_FILE])
    for uri in settings.getdict("FEEDS"):
        text = str(uri)
        if text.startswith("file://"):
            return Path(file_uri_to_path(text)).with_suffix(SUFFIX)
        if "://" not in text and "%(" not in text and text != "-":
            return Path(text).with_suffix(SUFFIX)
    return None


def stats_json(stats: dict[str, Any]) -> str:
    """Stats as JSON; times and other values JSON lacks as their text."""
    return json.dumps(stats, default=str, sort_keys=True)


class JobStats:
    """Extension that writes the stats when the spider closes (see the module)."""

    def __init__(self, crawler: Crawler, path: Path) -> None:
        self.crawler = crawler
        self.path = path

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        path = stats_file(crawler.settings)
        if path is None:
            raise NotConfigured
        extension = cls(crawler, path)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = dict(self.crawler.stats.get_stats()) if self.crawler.stats else {}
        stats.setdefault("finish_reason", reason)
        partial = self.path.with_name(self.path.name + ".part")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(stats_json(stats), encoding="utf-8")
            os.replace(partial, self.path)
        except OSError as exc:
            log.error("cannot write the crawl's stats to %s: %s", self.path, exc)
