"""RSS and Atom feeds of points blogs and airline news: one offer per award sale announced.

Each post's title and content go through :func:`offers.announcements.read`; a post that is not
an award sale is rejected with the reason (a cash fare sale, a buy-miles bonus ...). A feed that
is not well-formed still gives the posts feedparser could read, and a rejection naming the
problem.

Links are made absolute as a browser would: against the post's and the feed's ``xml:base``, then
the feed's own link (the site), then the URL the feed was fetched from. A post cut short ("…",
"[…]", "Read more") loses the number the cut went through, so half a number is never read as a
price; that such a post is the sale already known is decided where offers are stored
(storage/identity.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

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
    """A parsed feed: its title, its entries and, when it is not well-formed, the problem.
    ``url`` is where it was fetched from, the last resort for relative links."""

    def __init__(self, body: bytes, url: str = "") -> None:
        if not body.strip():
            raise MalformedResponse("empty feed")
        # no base given to feedparser: it resolves against xml:base only, and the feed's own
        # link comes before the fetch URL (see link())
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
        site = parsed.feed.get("link")
        self.base = urljoin(url, site) if site else url

    def link(self, entry: Any) -> str | None:
        """The post's link, absolute whenever the feed or its URL allows."""
        link = entry.get("link")
        return urljoin(self.base, link) if link else None


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

def published(entry: Any) -> datetime | None:
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime(*stamp[:6]).replace(tzinfo=UTC) if stamp else None


#: How feeds end a post they cut short, after the cut: an ellipsis, "[…]", "Read more" …
_CUT = re.compile(
    r"(?:\s*(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.|\((?:…|\.\.\.)\))"
    r"|\s+(?:read more|continue reading|read the full (?:post|story|article))\b\W*)+\s*$",
    re.IGNORECASE,
)


def uncut(text: str) -> str:
    """``text`` without the mark of a cut, and without the number the cut went through ("from
    50,0…" loses "50,0"); a text that was not cut is returned as it is."""
    found = _CUT.search(text)
    if not found:
        return text
    kept = text[: found.start()]
    last = kept.rsplit(None, 1)[-1] if kept.strip() else ""
    if not found.group(0)[0].isspace() and any(c.isdigit() for c in last):
        kept = kept[: len(kept) - len(last)]  # a number cut short would be read as a price
    return kept.rstrip()


def content(entry: Any) -> str:
    """The post's fullest text: its content when the feed carries it, else its summary."""
    bodies = [c.get("value", "") for c in entry.get("content", [])]
    return uncut(plain_text(max(bodies, key=len) if bodies else entry.get("summary", "")))


def announcement(entry: Any, fetched_at: datetime, link: str | None) -> tuple[str, Announcement]:
    title = uncut(plain_text(entry.get("title", "")))
    day = (published(entry) or fetched_at).date()
    return title, read(title, content(entry), day, link)


def parse(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    feed = Feed(body, ctx.url)
    if feed.problem:
        yield Rejected(f"malformed feed: {feed.problem[:120]}")
    options: Options = ctx.options or Options()
    for entry in feed.entries:
        link = feed.link(entry)
        title, found = announcement(entry, ctx.fetched_at, link)
        which = title or link or ""
        if not found.is_award_sale:
            yield Rejected(f"not an award sale: {found.reason}", which)
            continue
        program = found.program or ctx.program
        if program is None:
            yield Rejected("no program: the post names none and the source sets none", which)
            continue
        if options.require_miles and found.miles_min is None:
            yield Rejected("no miles price in post", which)
            continue
        for sale in found.sales or (Sale(),):
            yield offer(found, sale, program, title, link, feed.title)


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
