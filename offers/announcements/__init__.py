"""Award sales in blog posts and airline news, in the languages points blogs write.

A post is read in four steps: its language is detected (py3langid, limited to the languages
with a vocabulary file in ``languages/``), its text is NFKC-normalised, the decision is taken
with that language's words and English's (:mod:`.decision`), and the terms are read: the
program on sale, the lowest miles price and its trip type, the cabins, the routes (one per
origin and destination), the travel window and the book-by date. Adding a language is one
vocabulary file; see the README.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from offers.announcements.attribution import program_of
from offers.announcements.cabins import cabins
from offers.announcements.dates import windows
from offers.announcements.decision import decide
from offers.announcements.language import detect, normalise
from offers.announcements.names import place_of
from offers.announcements.places import PlaceMention, places, routes
from offers.announcements.prices import Figure, discount, with_post_trip
from offers.announcements.prices import figures as _figures
from offers.announcements.vocabulary import Vocabulary, vocabulary
from offers.programs import airline_of, find_programs

#: A post is read up to this many characters: the terms of a sale are stated at its top, and
#: the bound keeps a hostile post from costing more than a normal one.
MAX_CHARS = 100_000
#: Programs are named near the top of a post: the rest is not searched for their names.
PROGRAM_CHARS = 20_000


@dataclass(frozen=True)
class Sale:
    """One route (or none) of a post's award sale, with its own lowest price."""

    miles: int | None = None
    trip: str | None = None
    cabin: str | None = None
    origins: tuple[str, ...] = ()
    destinations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Announcement:
    """What a post says about an award sale; ``reason`` says why it is not one."""

    is_award_sale: bool
    reason: str = ""
    language: str = "en"
    program: str | None = None
    airline: str | None = None
    miles_min: int | None = None
    trip: str | None = None
    cabin: str | None = None
    discount_pct: float | None = None
    origins: tuple[str, ...] = ()
    destinations: tuple[str, ...] = ()
    travel_start: date | None = None
    travel_end: date | None = None
    book_by: date | None = None
    sales: tuple[Sale, ...] = field(default=())


def figures(words: str, award_context: bool, language: str | None = None) -> list[Figure]:
    """The miles prices stated in ``words`` (see :func:`.prices.figures`), in ``language`` or
    the one detected."""
    words = normalise(words)
    return _figures(words, vocabulary(language or detect(words)), award_context)


def read(
    title: str, body: str, published: date | datetime | None = None, link: str | None = None
) -> Announcement:
    """What a post (title and plain-text body) says about an award sale."""
    title, body = normalise(title[:1000]), normalise(body[:MAX_CHARS])
    post_day = published.date() if isinstance(published, datetime) else published
    language = detect(f"{title}\n{body}")
    vocab = vocabulary(language)
    whole = f"{title}.\n{body}"
    about_awards = bool(vocab.sale.search(whole) or vocab.award.search(whole))
    found = with_post_trip(_figures(whole, vocab, about_awards), whole, vocab)
    off = discount(whole, vocab)
    reason = decide(title, body, vocab, bool(found), off, link)
    lowest = min(found, key=lambda f: (f.miles, f.trip is None, f.start)) if found else None
    cue = vocab.sale.search(whole)
    named = find_programs(whole[:PROGRAM_CHARS])
    unit = lowest.unit if lowest else ""
    program = program_of(named, len(title), whole, link, unit, cue.start() if cue else None)
    if reason:
        return Announcement(False, reason=reason, language=language, program=program)
    mentions = places(whole, vocab, _named_spans(whole, named))
    travel_start, travel_end, book_by = windows(whole, post_day, vocab)
    post_cabins = cabins(whole, vocab)
    sales = tuple(_sales(whole, found, mentions, post_cabins, vocab))
    return Announcement(
        True,
        language=language,
        program=program,
        airline=airline_of(program) if program else None,
        miles_min=lowest.miles if lowest else None,
        trip=lowest.trip if lowest else None,
        cabin="/".join(post_cabins) or None,
        discount_pct=off,
        origins=tuple(dict.fromkeys(m.name for m in mentions if m.origin)),
        destinations=tuple(dict.fromkeys(m.name for m in mentions if not m.origin)),
        travel_start=travel_start,
        travel_end=travel_end,
        book_by=book_by,
        sales=sales,
    )


def _named_spans(words: str, named: list[tuple[int, str]]) -> list[tuple[int, int]]:
    """Where programs and airlines are named: their words are not places."""
    spans = []
    for start, _ in named:
        # the name and the capitalised words that continue it on its line ("Flying Blue Promo")
        match = re.match(
            r"[\w&+.-]*\w(?:[ \t]+(?:&[ \t]+)?[A-Z][\w&+-]*){0,2}", words[start : start + 60]
        )
        spans.append((start, start + (match.end() if match else 1)))
    airline = r"\b[Aa]ir\s+[A-Z]\w{0,20}|\b[A-Z]\w{0,20}\s+[Aa]ir(?:ways|lines)?\b"
    spans += [m.span() for m in re.finditer(airline, words[:PROGRAM_CHARS])]
    return sorted(spans)


def _sales(
    words: str,
    found: list[Figure],
    mentions: list[PlaceMention],
    post_cabins: list[str],
    vocab: Vocabulary,
) -> Iterator[Sale]:
    """One sale per route and cabin at its lowest price; without prices, one per route. A
    figure's route is the places named between the previous figure and it in its sentence,
    else those after it in its sentence; a route naming one end only keeps the other end of
    the previous figure's route in that sentence (see :func:`_continued`)."""
    stops = [m.start() for m in re.finditer(r"[.;!?。！](?:\s|$)|\n|[。；]", words)]
    best: dict[tuple[str | None, str | None, str | None], Sale] = {}
    groups: list[tuple[Figure | None, list[PlaceMention]]] = []
    starts = [m.start for m in mentions]
    if found:
        for index, price in enumerate(found):
            previous = found[index - 1] if index else None
            route = _route_of(words, stops, price, previous, mentions, starts)
            at = bisect.bisect(stops, price.start)
            if previous and bisect.bisect(stops, previous.start) == at:
                route = _continued(route, groups[-1][1])
            groups.append((price, route))
    else:
        for sentence in _by_sentence(mentions, stops):
            groups.append((None, sentence))
    for figure, route in groups:
        cabin = _sale_cabin(words, figure, post_cabins, vocab) if figure else _only(post_cabins)
        pairs: list[tuple[str | None, str | None]] = list(routes(route)) or [(None, None)]
        for origin, destination in pairs:
            key = (origin, destination, cabin)
            sale = Sale(
                figure.miles if figure else None,
                figure.trip if figure else None,
                cabin,
                (origin,) if origin else (),
                (destination,) if destination else (),
            )
            kept = best.get(key)
            if (
                kept is None
                or (kept.miles or 0) > (sale.miles or 0)
                or (kept.miles == sale.miles and not kept.trip)
            ):
                best[key] = sale
    sales = list(best.values())
    if any(s.origins or s.destinations for s in sales):
        sales = [s for s in sales if s.origins or s.destinations or s.miles]
    yield from (s for s in sales if not any(_covers(other, s) for other in sales))


def _by_sentence(mentions: list[PlaceMention], stops: list[int]) -> list[list[PlaceMention]]:
    sentences: dict[int, list[PlaceMention]] = {}
    for mention in mentions:
        sentences.setdefault(bisect.bisect(stops, mention.start), []).append(mention)
    return list(sentences.values())


def _only(post_cabins: list[str]) -> str | None:
    return post_cabins[0] if len(post_cabins) == 1 else None


def _covers(wider: Sale, sale: Sale) -> bool:
    """True when ``sale`` says less than ``wider`` about the same sale: "? → Rome" beside
    "Atlanta → Rome", or the headline's "Paris from 15,000" beside "New York to Paris"."""
    if wider is sale or wider.cabin != sale.cabin and sale.cabin is not None:
        return False
    if sale.miles is not None and (wider.miles is None or wider.miles > sale.miles):
        return False
    if sale.origins and set(sale.origins) != set(wider.origins):
        return False
    if not sale.destinations:
        return bool(wider.destinations or wider.origins)
    if not sale.origins and wider.origins:
        # an origin-less twin of a full route, without a price of its own
        same_price = sale.miles is None or sale.miles == wider.miles
        return same_price and _overlap(sale.destinations[0], wider.destinations)
    return False


def _overlap(name: str, others: tuple[str, ...]) -> bool:
    place = place_of(name)
    if place is None:
        return name in others
    for other in others:
        resolved = place_of(other)
        if other == name or (resolved is not None and resolved.overlaps(place)):
            return True
    return False


def _route_of(
    words: str,
    stops: list[int],
    figure: Figure,
    previous: Figure | None,
    mentions: list[PlaceMention],
    starts: list[int],
) -> list[PlaceMention]:
    at = bisect.bisect(stops, figure.start)
    sentence_start = stops[at - 1] + 1 if at else 0
    sentence_end = stops[at] if at < len(stops) else len(words)
    floor = max(sentence_start, previous.end if previous else 0)
    before = mentions[bisect.bisect_left(starts, floor) : bisect.bisect_left(starts, figure.start)]
    if before:
        return before
    sentence_end = min(sentence_end, figure.end + 300)
    stop = re.search(r"\d{1,3}(?:,\d{3})+", words[figure.end : sentence_end])
    ceiling = figure.end + stop.start() if stop else sentence_end
    return mentions[bisect.bisect_left(starts, figure.end) : bisect.bisect_left(starts, ceiling)]


def _continued(route: list[PlaceMention], earlier: list[PlaceMention]) -> list[PlaceMention]:
    """A clause with its own price that names only origins flies to the destinations of the
    route before it ("from Boston to Madrid from 30,000 miles, and from Chicago for 35,000");
    one that names only destinations flies from its origins ("and to Rome for 35,000")."""
    ends = {m.origin for m in route}
    if len(ends) != 1:
        return route
    named = {m.name for m in route}
    other: dict[str, PlaceMention] = {}
    for mention in earlier:  # one mention per name, so a chain of clauses does not grow
        if mention.origin not in ends and mention.name not in named:
            other.setdefault(mention.name, mention)
    return [*other.values(), *route]


def _sale_cabin(
    words: str, figure: Figure, post_cabins: list[str], vocab: Vocabulary
) -> str | None:
    near = cabins(words[max(0, figure.start - 60) : figure.end + 60], vocab)
    if len(near) == 1:
        return near[0]
    return _only(post_cabins)
