"""A JSON API described by paths in config.toml."""

from __future__ import annotations

from typing import ClassVar

from scrapers.spiders.base import SourceSpider


class ApiSpider(SourceSpider):
    name: ClassVar[str] = "api"  # type: ignore[misc]
