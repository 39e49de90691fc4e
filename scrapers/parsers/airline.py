"""The shared base of the airline parsers: an airline's captured search JSON in, raw offers out.

An airline's parser module keeps only what is its own: the JSON paths of its answer, its field
names and its cabin and fare tables. The rest lives here once:

- :class:`Airline`: who the airline is (its default program, carrier code and search link),
  its block signs, and the one offer builder that turns a :class:`Flight` and a :class:`Fare`
  into a raw offer;
- :func:`records`, :func:`walk` and :func:`fares`: the answer's record list, and record walking
  in which a record of an unexpected shape costs that record only (a :class:`Rejected` with the
  reason) and a fare listed twice counts once (:func:`distinct`, :class:`Seen`);
- small readers of loose JSON: :func:`children`, :func:`objects`, :func:`dig`,
  :func:`carriers`, and :func:`cabins` for an airline's cabin table.

Everything here is pure and raises only what the parsers may raise (MalformedResponse,
BlockedResponse) or what :func:`scrapers.parsers.each` turns into a rejection.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel

from offers.model import CABINS
from scrapers.parsers import (
    BlockedResponse,
    MalformedResponse,
    ParseContext,
    Parsed,
    Rejected,
    each,
    json_object,
)

#: base URL, origin, destination, day -> the airline's own results page for a one-way search
SearchLink = Callable[[str, str, str, date], str]
#: What makes two fares of one flight the same offer: a fare the answer lists twice is one.
SAME_FARE = ("cabin", "miles", "promo", "title")


def cabins(**names: str | Sequence[str]) -> dict[str, str]:
    """An airline's cabin table, written ``our_cabin=its name or names``, as its name -> our
    cabin. The order of the names is kept: parsers that read cabins in turn read them in it."""
    unknown = set(names) - set(CABINS)
    if unknown:
        raise ValueError(f"unknown cabin {sorted(unknown)[0]!r}; use one of {', '.join(CABINS)}")
    table: dict[str, str] = {}
    for cabin, theirs in names.items():
        table.update(dict.fromkeys([theirs] if isinstance(theirs, str) else theirs, cabin))
    return table


def dig(node: Any, *path: str | int) -> Any:
    """The value at ``path`` in loose JSON, or None where a step is missing or of another type."""
    for step in path:
        if isinstance(step, int):
            node = node[step] if isinstance(node, list) and -len(node) <= step < len(node) else None
        else:
            node = node.get(step) if isinstance(node, dict) else None
    return node


def objects(value: Any) -> list[dict[str, Any]]:
    """The objects of a list (segments, connections), what else it holds left out."""
    return [item for item in value or [] if isinstance(item, dict)]


def records(data: dict[str, Any], path: Sequence[str], problem: str) -> list[Any]:
    """The record list at ``path`` of an answer, or MalformedResponse: ``no <path>: problem``."""
    found = dig(data, *path)
    if not isinstance(found, list):
        raise MalformedResponse(f"no {'.'.join(path)}: {problem}")
    return found


def children(record: dict[str, Any], name: str) -> list[Any]:
    """The list a record holds under ``name`` (none when it is missing or empty). A record that
    is not an object, or a value of another type, raises: it costs the record, not the body."""
    found = record.get(name) or []
    if not isinstance(found, list):
        raise TypeError(f"{name} is not a list")
    return found


def carriers(codes: Iterable[Any], sep: str = "/") -> str | None:
    """The carrier codes of a trip's legs, each once, in the order flown."""
    return sep.join(dict.fromkeys(c for c in codes if c and isinstance(c, str))) or None


def walk(
    records: Iterable[Any], lists: Sequence[str], read: Callable[[Any], Iterable[Parsed]]
) -> Iterator[Parsed]:
    """``read`` each record at the bottom of ``lists``: each record, each item of its list
    ``lists[0]``, each item of that item's ``lists[1]``... A record of an unexpected shape, at
    any level, becomes one Rejected row and costs that record only."""
    if not lists:
        return each(records, read)
    return each(records, lambda record: walk(children(record, lists[0]), lists[1:], read))


class Seen:
    """The offers a response already gave, by identity: a repeat adds nothing."""

    def __init__(self) -> None:
        self._seen: set[Hashable] = set()

    def first(self, identity: Hashable, result: Parsed) -> bool:
        """Whether to give this result: every rejection, an offer only the first time."""
        if isinstance(result, Rejected):
            return True
        if identity in self._seen:
            return False
        self._seen.add(identity)
        return True


def distinct(results: Iterable[Parsed], fields: Sequence[str] = SAME_FARE) -> Iterator[Parsed]:
    """The results but for offers equal in ``fields`` to an earlier one."""
    seen = Seen()
    for result in results:
        identity = tuple(result.get(f) for f in fields) if isinstance(result, dict) else ()
        if seen.first(identity, result):
            yield result


def fares(items: Iterable[Any], read: Callable[[Any], Parsed | None]) -> Iterator[Parsed]:
    """Each of a flight's fare items read into one offer, a rejection or None (a fare the site
    does not sell); an item of an unexpected shape costs that item only; a fare listed twice
    counts once."""
    return distinct(each(items, lambda item: found(read(item))))


def found(result: Parsed | None) -> list[Parsed]:
    """A reader's result as a list: none for None (a fare or offer the site does not sell)."""
    return [] if result is None else [result]


@dataclass(frozen=True)
class Flight:
    """A flight of a search answer as the airline's record gives it: where the whole trip goes,
    when it leaves (a timestamp whose first ten characters are the day) and its legs."""

    origin: Any
    destination: Any
    departs: Any
    carriers: Sequence[Any] = ()
    numbers: Sequence[Any] = ()
    #: where each leg leaves from, then where the last lands
    stops: Sequence[Any] = ()

    @property
    def day(self) -> str:
        return str(self.departs or "")[:10]

    def title(self, carrier: str) -> str:
        """The flight as people write it: ``DL/KL 72/1223 JFK-AMS-CDG``."""
        numbers = "/".join(str(n or "") for n in self.numbers)
        stops = "-".join(str(p) for p in self.stops if p)
        return f"{carriers(self.carriers) or carrier} {numbers} {stops}"


@dataclass(frozen=True)
class Fare:
    """One fare of a flight as the airline's record gives it."""

    cabin: str
    miles: Any
    taxes: Any = None
    currency: Any = None
    #: why the fare is a promotion; None when it is not one
    promo: str | None = None
    seats: Any = None
    #: what the title adds to the flight's: a fare family, a mixed cabin
    note: str = ""
    more: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Airline:
    """What an airline parser says about its airline, and the offer builder of all of them."""

    #: the program its offers count for unless the source names one
    program: str
    #: the marketing carrier of its flights, when a record names none
    carrier: str
    #: the host named in block messages
    site: str
    search: SearchLink
    options_model: type[BaseModel]
    #: text of its block pages (in the body's head), and of the URLs it sends a blocked visitor to
    block_text: tuple[str, ...] = ()
    block_urls: tuple[str, ...] = ()

    def options(self, ctx: ParseContext) -> Any:
        """The source's options, or the airline's defaults when the source gives none."""
        model = self.options_model
        return ctx.options if isinstance(ctx.options, model) else model()

    def blocked(self, body: bytes, url: str = "") -> str | None:
        """Why this body or URL is the airline's block page, or None."""
        for sign in self.block_urls:
            if sign in url:
                return f"redirected to {sign}"
        head = body[:100_000].decode("utf-8", errors="replace")
        for sign in self.block_text:
            if sign in head:
                return f"block page ({sign})"
        return None

    def refuse_blocks(self, body: bytes, url: str) -> None:
        """BlockedResponse when the body or URL is the airline's block page."""
        reason = self.blocked(body, url)
        if reason:
            raise BlockedResponse(f"{self.site}: {reason}")

    def answer(self, body: bytes, url: str) -> dict[str, Any]:
        """The body as a JSON object, once it is not the airline's block page."""
        self.refuse_blocks(body, url)
        return json_object(body)

    def link(self, ctx: ParseContext, flight: Flight) -> str | None:
        """The airline's results page of the flight's route and day, for a person to open."""
        base_url = str(self.options(ctx).base_url)
        try:
            day = date.fromisoformat(flight.day)
        except ValueError:
            return None
        return self.search(base_url, str(flight.origin), str(flight.destination), day)

    def offer(self, ctx: ParseContext, flight: Flight, fare: Fare) -> dict[str, Any]:
        """The raw offer of one fare of one flight, one way."""
        return {
            "program": ctx.program or self.program,
            "title": flight.title(self.carrier) + fare.note,
            "airline": carriers(flight.carriers),
            "origin": flight.origin,
            "destination": flight.destination,
            "depart_date": flight.day,
            "cabin": fare.cabin,
            "miles": int(fare.miles),
            "taxes": fare.taxes,
            "currency": fare.currency,
            "promo": fare.promo is not None,
            "promo_reason": fare.promo,
            "seats": fare.seats or None,
            "url": self.link(ctx, flight),
            "trip": "one-way",
            **fare.more,
        }
