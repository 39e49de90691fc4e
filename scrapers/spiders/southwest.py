"""Southwest Rapid Rewards: points searches captured from southwest.com's booking page."""

from __future__ import annotations

import re
from typing import ClassVar

from scrapers.parsers import southwest
from scrapers.spiders.capture import CaptureSpider


class SouthwestSpider(CaptureSpider):
    name: ClassVar[str] = "southwest"  # type: ignore[misc]
    capture_pattern: ClassVar[str] = re.escape(southwest.SEARCH_PATH)
