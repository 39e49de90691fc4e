"""RSS and Atom feeds: one offer per post that states a miles price."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
from bs4 import BeautifulSoup
from pydantic import BaseModel, ConfigDict

from offers import text
from scrapers.parsers import MalformedResponse, ParseContext, Parsed, Rejected

_MILES_PRICE = re.compile(
    r"(\d[\d,.\u00a0]*\s*(?:k\b|mil\b)?)\s*(?:miles|points|avios|pts)\b", re.IGNORECASE
)


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require_miles: bool = True


def entries(body: bytes) -> tuple[list[Any], str | None]:
    """The feed's entries and, for a feed that is not well-formed, what is wrong with it."""
    if not body.strip():
        raise MalformedResponse("empty feed")
    feed = feedparser.parse(body)
    problem = str(feed.get("bozo_exception")) if feed.get("bozo") else None
    if not feed.entries and (problem or not feed.get("feed")):
        raise MalformedResponse(f"not an RSS or Atom feed: {problem or 'no entries'}")
    return list(feed.entries), problem


def plain_text(html: str) -> str:
    return " ".join(BeautifulSoup(html or "", "html.parser").get_text(" ").split())


def published(entry: Any) -> datetime | None:
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime(*stamp[:6], tzinfo=UTC) if stamp else None


def lowest_miles(words: str) -> int | None:
    figures = [text.parse_miles(m.group(1)) for m in _MILES_PRICE.finditer(words)]
    figures = [f for f in figures if f and f >= 500]
    return min(figures) if figures else None


def parse(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    found, problem = entries(body)
    if problem:
        yield Rejected(f"malformed feed: {problem[:120]}")
    for entry in found:
        title = plain_text(entry.get("title", ""))
        summary = plain_text(entry.get("summary", "") or "")
        miles = lowest_miles(f"{title} {summary}")
        if miles is None:
            yield Rejected("no miles price in post")
            continue
        yield {
            "program": ctx.program,
            "title": title or None,
            "url": entry.get("link"),
            "miles": miles,
            "promo": True,
            "promo_reason": "announced in feed",
        }
