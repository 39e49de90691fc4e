"""Place names in the language of a post, mapped to the names the place data knows.

Country names come from babel's territory names (CLDR) and city names from CLDR's exemplar
cities of time zones (``Lisboa``, ``Nova Iorque``, ``東京``, ``パリ``, ``뉴욕``), both mapped to
their English form, which :mod:`offers.places` resolves. Airport names (``Heathrow``,
``Narita``, ``Charles de Gaulle``) come from airportsdata and map to their IATA codes.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from offers.places import try_resolve

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
    return {name: english_name for name, english_name in found.items() if len(name) >= 2}


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

    from offers.places import REGION_ALIASES, _countries, _regions

    airports = airportsdata.load("IATA")
    names = {a["city"].lower() for a in airports.values() if a["city"]}
    names |= {a["subd"].lower() for a in airports.values() if a["subd"]}
    names |= {code.lower() for code in airports}
    names |= {n.lower() for n in Locale.parse("en").territories.values()}
    data = _countries()
    for column in ("name_short", "name_official", "ISO2", "ISO3"):
        names |= {str(n).lower() for n in data[column] if isinstance(n, str)}
    names |= set(_regions()) | set(REGION_ALIASES) | {"uk"}
    return frozenset(names | {plain(n) for n in names})


@lru_cache(maxsize=8192)
def canonical(name: str, locales: tuple[str, ...] = ("en",)) -> str | None:
    """The name of a place as the place data knows it, or None when ``name`` is no place."""
    stripped = name.strip(" .,'’")
    if not stripped:
        return None
    lower = stripped.lower()
    known = _known_names()
    for candidate in (localized(locales).get(lower), stripped, plain(stripped)):
        if candidate and candidate.lower() in known and try_resolve(candidate) is not None:
            return candidate
    airport = airport_names().get(plain(lower))
    return airport


@lru_cache(maxsize=16)
def script_names(locales: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern (a trie) of the localized names written without Latin letters (東京, 뉴욕)."""
    names = [n for n in localized(locales) if not re.search(r"[A-Za-z]", n)]
    if not names:
        return None
    return re.compile(_trie_pattern(names))


def _trie_pattern(names: list[str]) -> str:
    """A regular expression matching any of ``names``, longest first, built as a trie so that
    matching costs the same for one name or a thousand."""
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for name in names:
        node = trie
        for char in name:
            node = node.setdefault(char, {})
        node[""] = {}
    return _node_pattern(trie)


def _node_pattern(node: dict) -> str:  # type: ignore[type-arg]
    branches = [re.escape(char) + _node_pattern(child) for char, child in node.items() if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body
