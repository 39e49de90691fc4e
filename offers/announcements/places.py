"""The places a post names and the routes they make, in the post's language.

A place is a capitalised phrase (Latin script) or a name from the locale's data (other
scripts) that :func:`offers.announcements.names.canonical` knows. Its role comes from the words
around it: "from X", "X to Y", "X発", "ke Y"; a place joined to another by "and", "," or "e"
takes the other's role, so "to Madrid from Boston, Chicago and New York" is three routes.
Every pattern here starts at a word's first letter and reads a bounded number of characters,
so a post of any length is read in linear time.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace
from itertools import product

from offers.announcements.names import canonical, place_of, script_mentions
from offers.announcements.vocabulary import Vocabulary

_WORD = r"[A-ZÀ-Þ][\wà-ÿ'’-]{0,24}"
_PHRASE = re.compile(
    rf"(?<![\w'’-])(?:{_WORD}(?:\s(?:(?:de|del|do|da|am|los|las|la|di)\s)?{_WORD}){{0,2}}|[A-Z]{{3}}|US|UK|USA)(?![\w-])"
)
_SHORT_OK = {"US", "UK"}
#: At most this many routes from one list of origins and one of destinations.
MAX_ROUTES = 24
#: Places are read up to this many per post: a sale names its routes, not a gazetteer.
MAX_PLACES = 300


@dataclass(frozen=True)
class PlaceMention:
    name: str
    start: int
    end: int
    origin: bool


def places(words: str, vocab: Vocabulary, skip: list[tuple[int, int]]) -> list[PlaceMention]:
    """Places named in ``words`` in reading order, each an origin or a destination."""
    known, unknown = _latin(words, vocab, skip)
    known += _scripted(words, vocab, sorted(skip)) + _region_words(words, vocab)
    found = _merge_airports(sorted(known, key=lambda p: p.start), words)
    found = sorted(found + _route_ends(found, unknown, words, vocab), key=lambda p: p.start)
    return _roles(found, words, vocab)


def _route_ends(
    found: list[PlaceMention], unknown: list[PlaceMention], words: str, vocab: Vocabulary
) -> list[PlaceMention]:
    """Names the place data does not know ("Frankfurt", "Montréal"), taken as written when a
    route joiner ties them to a known place: "Frankfurt nach New York"."""
    ends: list[PlaceMention] = []
    starts = [m.start for m in found]
    for phrase in unknown:
        index = bisect.bisect(starts, phrase.start)
        after = found[index] if index < len(found) else None
        before = found[index - 1] if index else None
        if after and _joined(words, phrase, after, vocab):
            name = phrase.name.split()[-1]
            ends.append(PlaceMention(name, phrase.end - len(name), phrase.end, False))
        elif before and _joined(words, before, phrase, vocab):
            name = phrase.name.split()[0]
            ends.append(PlaceMention(name, phrase.start, phrase.start + len(name), False))
    return ends


def _latin(
    words: str, vocab: Vocabulary, skip: list[tuple[int, int]]
) -> tuple[list[PlaceMention], list[PlaceMention]]:
    """Known places in capitalised phrases, and the phrases that name no known place."""
    found: list[PlaceMention] = []
    unknown: list[PlaceMention] = []
    blocked = sorted(skip)
    for match in _PHRASE.finditer(words):
        if len(found) >= MAX_PLACES:
            break
        if _inside(match.start(), blocked):
            continue
        parts = match.group(0).split()
        count = len(found)
        # the longest leading part that names a place, then what is left of the phrase
        index = 0
        while index < len(parts):
            start = match.start() + len(" ".join(parts[:index])) + (1 if index else 0)
            if _inside(start, blocked):  # a program's or airline's name
                index += 1
                continue
            for size in range(len(parts) - index, 0, -1):
                name = " ".join(parts[index : index + size])
                if _not_place(name, vocab):
                    continue
                known = canonical(name, vocab.locales)
                if known:
                    found.append(PlaceMention(known, start, start + len(name), False))
                    index += size
                    break
            else:
                index += 1
        if len(found) == count and not _not_place(match.group(0), vocab):
            unknown.append(PlaceMention(match.group(0), match.start(), match.end(), False))
    return found, unknown


def _not_place(name: str, vocab: Vocabulary) -> bool:
    bare = name.rstrip(".'’")
    return bare.lower() in vocab.not_places or (len(bare) <= 2 and bare not in _SHORT_OK)


def _scripted(words: str, vocab: Vocabulary, blocked: list[tuple[int, int]]) -> list[PlaceMention]:
    if vocab.script is None:
        return []
    found: list[PlaceMention] = []
    found_in = script_mentions(words, vocab.locales, vocab.script, vocab.names_start_words)
    for start, end in found_in:
        if len(found) >= MAX_PLACES:
            break
        if _inside(start, blocked):
            continue
        known = canonical(words[start:end], vocab.locales)
        if known:
            found.append(PlaceMention(known, start, end, False))
    return found


def _region_words(words: str, vocab: Vocabulary) -> list[PlaceMention]:
    """Destinations written as common words ("domestic"), kept as written."""
    found: list[PlaceMention] = []
    for match in vocab.region_words.finditer(words):
        if len(found) >= MAX_PLACES:
            break
        name = match.group(0)
        found.append(PlaceMention(name[:1].upper() + name[1:], match.start(), match.end(), False))
    return found


def _inside(position: int, spans: list[tuple[int, int]]) -> bool:
    """True when ``position`` lies in one of ``spans`` (sorted by start)."""
    index = bisect.bisect_right(spans, (position, float("inf"))) - 1
    return any(s <= position < e for s, e in spans[max(0, index - 3) : index + 1])


def _merge_airports(found: list[PlaceMention], words: str) -> list[PlaceMention]:
    """ "New York JFK", "London (Heathrow)": one place, the airport."""
    merged: list[PlaceMention] = []
    for mention in found:
        if merged and re.fullmatch(r"\s*\(?\s*", words[merged[-1].end : mention.start]):
            previous = merged[-1]
            if _is_airport(mention.name) and _airport_city(mention.name, previous.name):
                end = mention.end + (1 if words[mention.end : mention.end + 1] == ")" else 0)
                merged[-1] = PlaceMention(mention.name, previous.start, end, False)
                continue
        merged.append(mention)
    return merged


def _is_airport(name: str) -> bool:
    return len(name) == 3 and name.isupper()


def _airport_city(code: str, city: str) -> bool:
    airport, place = place_of(code), place_of(city)
    return bool(airport and place and place.kind == "city" and airport.overlaps(place))


def _roles(found: list[PlaceMention], words: str, vocab: Vocabulary) -> list[PlaceMention]:
    """Each place's role: an origin after "from" or before "to"; a destination otherwise. A place
    listed after another ("Boston, Chicago and New York") shares its role."""
    roles: list[bool | None] = []
    pairs: set[int] = set()  # the second place of "between X and Y"
    for index, mention in enumerate(found):
        before = words[max(0, mention.start - 25) : mention.start]
        after = words[mention.end : mention.end + 12]
        role: bool | None = None
        if vocab.between_lead.search(before):
            role = True
            pairs.add(index + 1)
        elif vocab.origin_lead.search(before) or vocab.origin_after.match(after):
            role = True
        elif vocab.destination_after.match(after):
            role = False
        elif index + 1 < len(found) and _joined(words, mention, found[index + 1], vocab):
            role = True
        elif index and _joined(words, found[index - 1], mention, vocab):
            role = False
        roles.append(role)
    for index in range(1, len(found)):  # a list shares the role of its first named member
        if index in pairs and roles[index] is None:
            roles[index] = False
        elif roles[index] is None and _listed(words, found[index - 1], found[index], vocab):
            roles[index] = roles[index - 1]
    for index in range(len(found) - 2, -1, -1):  # "Boston, Chicago and New York to Madrid"
        if roles[index] is None and _listed(words, found[index], found[index + 1], vocab):
            roles[index] = roles[index + 1]
    return [replace(m, origin=bool(r)) for m, r in zip(found, roles, strict=True)]


def _between(words: str, first: PlaceMention, second: PlaceMention) -> str:
    return words[first.end : second.start] if second.start - first.end <= 30 else "\n"


def _joined(words: str, first: PlaceMention, second: PlaceMention, vocab: Vocabulary) -> bool:
    between = _between(words, first, second)
    return bool(vocab.route_joined.fullmatch(between))


def _listed(words: str, first: PlaceMention, second: PlaceMention, vocab: Vocabulary) -> bool:
    return bool(vocab.list_joiner.match(_between(words, first, second)))


def routes(mentions: list[PlaceMention]) -> list[tuple[str | None, str]]:
    """(origin, destination) pairs of a run of places: each origin with each destination;
    destinations alone when no origin is named."""
    origins = list(dict.fromkeys(m.name for m in mentions if m.origin))
    destinations = [d for d in dict.fromkeys(m.name for m in mentions if not m.origin)]
    destinations = [d for d in destinations if d not in origins]
    if not destinations:
        return []
    starts: list[str | None] = list(origins) or [None]
    return list(product(starts, destinations))[:MAX_ROUTES]
