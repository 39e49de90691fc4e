"""RSS and Atom feeds of points blogs and airline news: one offer per award sale announced.

Each post's title and content go through :func:`offers.announcements.read`; a post that is not
an award sale is rejected with the reason (a cash fare sale, a buy-miles bonus ...). A feed that
is not well-formed still gives the posts feedparser could read, and a rejection naming the
problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import feedparser
from bs4 import BeautifulSoup
from pydantic import BaseModel, ConfigDict

from offers.announcements import Announcement, Sale, read
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
        try:
            parsed = feedparser.parse(sanitised(body))
        except MalformedResponse:
            raise
        except Exception as exc:  # the feed library's own failure fails the source, with why
            raise MalformedResponse(f"feed unreadable: {type(exc).__name__}: {exc}") from None
        self.problem = str(parsed.get("bozo_exception")) if parsed.get("bozo") else None
        if not parsed.entries and (self.problem or not parsed.get("version")):
            raise MalformedResponse(f"not an RSS or Atom feed: {self.problem or 'no entries'}")
        self.title: str = plain_text(parsed.feed.get("title", "")) or "a feed"
        self.entries: list[Any] = list(parsed.entries)


# -- what feedparser gets ---------------------------------------------------------------------

#: Most characters the entities a feed declares in its DOCTYPE may expand to, all uses counted.
MAX_ENTITY_EXPANSION = 1_000_000
#: Most entity declarations a feed may make.
MAX_ENTITIES = 50
_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9A-Fa-f]{1,8})|([0-9]{1,10}));")
_ENTITY = re.compile(rb"<!ENTITY\s+(?:%\s*)?([\w.:-]+)\s+(?:\"([^\"]*)\"|'([^']*)')")
_ENTITY_USE = re.compile(rb"[&%]([\w.:-]+);")
_REPLACEMENT = b"&#65533;"


def sanitised(body: bytes) -> bytes:
    """The feed as feedparser may read it: character references written as UTF-16 surrogate
    pairs joined into one character (``&#55357;&#56832;`` is one emoji), lone surrogates and
    impossible code points replaced, and entity expansion capped."""
    check_entities(body)
    return mend_references(body)


def _code(ref: re.Match[bytes]) -> int:
    return int(ref[1], 16) if ref[1] else int(ref[2])


def mend_references(body: bytes) -> bytes:
    """Surrogate character references joined in pairs or replaced; other text unchanged."""
    refs = [
        r
        for r in _CHAR_REF.finditer(body)
        if not 0 < _code(r) <= 0x10FFFF or 0xD800 <= _code(r) <= 0xDFFF
    ]
    if not refs:
        return body
    out: list[bytes] = []
    last, index = 0, 0
    while index < len(refs):
        ref, code = refs[index], _code(refs[index])
        out.append(body[last : ref.start()])
        after = refs[index + 1] if index + 1 < len(refs) else None
        if 0xD800 <= code <= 0xDBFF and after is not None and after.start() == ref.end():
            low = _code(after)
            if 0xDC00 <= low <= 0xDFFF:
                out.append(b"&#%d;" % (0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                last, index = after.end(), index + 2
                continue
        out.append(_REPLACEMENT)
        last, index = ref.end(), index + 1
    out.append(body[last:])
    return b"".join(out)


def check_entities(body: bytes) -> None:
    """MalformedResponse when the entities a feed declares would expand past the cap."""
    if b"<!ENTITY" not in body:
        return
    declared = {m[1]: m[2] if m[2] is not None else m[3] for m in _ENTITY.finditer(body)}
    if len(declared) > MAX_ENTITIES:
        raise MalformedResponse(f"feed declares more than {MAX_ENTITIES} entities")
    sizes: dict[bytes, int] = {}

    def size(name: bytes, path: frozenset[bytes]) -> int:
        if name not in sizes:
            value = declared[name]
            inner = [u for u in _ENTITY_USE.findall(value) if u in declared and u not in path]
            sizes[name] = len(value) + sum(size(u, path | {name}) for u in inner)
        return sizes[name]

    # uses inside the declarations count too: an upper bound is all the cap needs
    total = sum(size(name, frozenset()) * body.count(b"&" + name + b";") for name in declared)
    if total > MAX_ENTITY_EXPANSION:
        raise MalformedResponse(
            f"feed entities would expand to {total:,} characters (limit {MAX_ENTITY_EXPANSION:,})"
        )


# -- what a post says ------------------------------------------------------------------------

_BLOCKS = ["p", "li", "br", "div", "tr", "blockquote", "dd", "dt", "h1", "h2", "h3", "h4", "h5"]


def plain_text(html: str) -> str:
    """The text of an HTML fragment, one line per paragraph or list item: a list of routes
    keeps each route with its own price."""
    soup = BeautifulSoup(html or "", "html.parser")
    for block in soup.find_all(_BLOCKS):
        block.append("\n")
    lines = (" ".join(line.split()) for line in soup.get_text().splitlines())
    return "\n".join(line for line in lines if line)


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
