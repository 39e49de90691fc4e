"""RSS and Atom feeds of points blogs and airline news: one offer per award sale announced.

Each post's title and content go through :func:`offers.announcements.read`; a post that is not
an award sale is rejected with the reason (a cash fare sale, a buy-miles bonus ...). A feed that
is not well-formed still gives the posts feedparser could read, and a rejection naming the
problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import feedparser
from pydantic import BaseModel, ConfigDict

from offers.announcements import Announcement, Sale, read
from offers.announcements.html import plain_text
from offers.places import try_resolve
from scrapers.parsers import MalformedResponse, ParseContext, Parsed, Rejected


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: only posts that state a miles price; otherwise a discount alone ("25% off") will do
    require_miles: bool = False


class Feed:
    """A parsed feed: its title, its entries and, when it is not well-formed, the problem."""

    def __init__(self, body: bytes) -> None:
        if not body.strip():
            raise MalformedResponse("empty feed")
        parsed = feedparser.parse(body)
        self.problem = str(parsed.get("bozo_exception")) if parsed.get("bozo") else None
        if not parsed.entries and (self.problem or not parsed.get("version")):
            raise MalformedResponse(f"not an RSS or Atom feed: {self.problem or 'no entries'}")
        self.title: str = plain_text(parsed.feed.get("title", "")) or "a feed"
        self.entries: list[Any] = list(parsed.entries)


def published(entry: Any) -> datetime | None:
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime(*stamp[:6]).replace(tzinfo=UTC) if stamp else None


def content(entry: Any) -> str:
    """The post's fullest text: its content when the feed carries it, else its summary."""
    bodies = [c.get("value", "") for c in entry.get("content", [])]
    return plain_text(max(bodies, key=len) if bodies else entry.get("summary", ""))


def announcement(entry: Any, fetched_at: datetime) -> tuple[str, Announcement]:
    title = plain_text(entry.get("title", ""))
    day = (published(entry) or fetched_at).date()
    return title, read(title, content(entry), day, entry.get("link"))


def parse(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    feed = Feed(body)
    if feed.problem:
        yield Rejected(f"malformed feed: {feed.problem[:120]}")
    options: Options = ctx.options or Options()
    for entry in feed.entries:
        title, found = announcement(entry, ctx.fetched_at)
        if not found.is_award_sale:
            yield Rejected(f"not an award sale: {found.reason}")
            continue
        program = found.program or ctx.program
        if program is None:
            yield Rejected("no program: the post names none and the source sets none")
            continue
        if options.require_miles and found.miles_min is None:
            yield Rejected("no miles price in post")
            continue
        for sale in found.sales or (Sale(),):
            yield offer(found, sale, program, title, entry.get("link"), feed.title)


def offer(
    found: Announcement, sale: Sale, program: str, title: str, link: str | None, source: str
) -> dict[str, Any]:
    """The raw offer of one sale; the post's places, cabin and trip when the sale has none."""
    origins = sale.origins or (found.origins if not sale.destinations else ())
    destinations = sale.destinations or (found.destinations if not sale.origins else ())
    single_cabin = found.cabin if found.cabin and "/" not in found.cabin else None
    return {
        "program": program,
        "airline": found.airline,
        "title": title or None,
        "url": link,
        "miles": sale.miles,
        "trip": sale.trip or (found.trip if sale.miles is None else None),
        "cabin": sale.cabin or single_cabin,
        "origin": place_code(origins),
        "destination": place_code(destinations),
        "travel_start": found.travel_start,
        "travel_end": found.travel_end,
        "book_by": found.book_by,
        "discount_pct": found.discount_pct,
        "promo": True,
        "promo_reason": f"award sale announced by {source}",
    }


def place_code(names: tuple[str, ...]) -> str | None:
    """The first place that resolves, as its IATA code when written as one, else as written."""
    for name in names:
        place = try_resolve(name)
        if place is not None:
            return place.name
    return names[0] if names else None


def announcements(body: bytes, fetched_at: datetime) -> Iterator[dict[str, Any]]:
    """One JSON-ready record per award-sale post, for ``scheduler.py parse feed FILE``."""
    for entry in Feed(body).entries:
        title, found = announcement(entry, fetched_at)
        if not found.is_award_sale:
            continue
        yield {
            "link": entry.get("link"),
            "title": title,
            "program": found.program,
            "miles": found.miles_min,
            "trip": found.trip,
            "cabin": found.cabin,
            "origins": list(found.origins),
            "destinations": list(found.destinations),
            "travel_start": _iso(found.travel_start),
            "travel_end": _iso(found.travel_end),
            "book_by": _iso(found.book_by),
            "is_award_sale": True,
        }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
