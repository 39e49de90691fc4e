"""United MileagePlus: award searches captured from united.com's results page."""

from __future__ import annotations

import re
from typing import ClassVar

from scrapers.parsers import united
from scrapers.spiders.capture import CaptureSpider


class UnitedSpider(CaptureSpider):
    name: ClassVar[str] = "united"  # type: ignore[misc]
    capture_pattern: ClassVar[str] = re.escape(united.SEARCH_PATH)
