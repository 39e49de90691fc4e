"""Where an airport, city, country or region is, from maintained data packages.

Airports, their cities and countries come from ``airportsdata``; country names, codes and
regions (continents and UN sub-regions) from ``country_converter``. A place is written as
an IATA code (``JFK``), a city (``New York``), a country (``FR``, ``Japan``) or a region
(``Europe``, ``Caribbean``, ``South America``); a ``kind:`` prefix (``airport:``, ``city:``,
``country:``, ``region:``) removes any doubt.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import airportsdata

#: Region names in common use in award-sale posts that the UN scheme names differently.
REGION_ALIASES: dict[str, tuple[str, ...]] = {
    "middle east": ("Western Asia",),
    "latin america": ("South America", "Central America", "Caribbean"),
    "north america": ("Northern America", "Central America", "Caribbean"),
    "south pacific": ("Australia and New Zealand", "Melanesia", "Micronesia", "Polynesia"),
    "asia pacific": ("Asia", "Oceania"),
    "scandinavia": ("Northern Europe",),
}
#: US states that posts name as destinations of their own.
_SUBDIVISIONS = {"hawaii", "alaska", "florida", "california", "puerto rico"}


@dataclass(frozen=True)
class Place:
    """A resolved place: the countries it lies in and, for airports and cities, which airports."""

    name: str
    kind: str
    countries: frozenset[str]
    airports: frozenset[str] | None = None

    def overlaps(self, other: Place) -> bool:
        """True when the places share ground (an airport in a country, a country in a region)."""
        if not self.countries & other.countries:
            return False
        if self.airports is None or other.airports is None:
            return True
        return bool(self.airports & other.airports)


class UnknownPlace(ValueError):
    """No airport, city, country or region has that name"""


@lru_cache(maxsize=1)
def _airports() -> dict[str, Any]:
    return airportsdata.load("IATA")


@lru_cache(maxsize=1)
def _cities() -> dict[str, frozenset[str]]:
    index: dict[str, set[str]] = {}
    for code, airport in _airports().items():
        for name in (
            {airport["city"], airport["subd"]}
            if airport["subd"].lower() in _SUBDIVISIONS
            else {airport["city"]}
        ):
            if name:
                index.setdefault(name.lower(), set()).add(code)
    return {name: frozenset(codes) for name, codes in index.items()}


@lru_cache(maxsize=1)
def _countries() -> Any:
    logging.getLogger("country_converter").setLevel(logging.ERROR)
    import country_converter

    data = country_converter.CountryConverter().data
    data = data[data["ISO2"].notna()].copy()
    # a few rows hold a pattern such as ``^GB$|^UK$``: the first code is the ISO one
    data["ISO2"] = data["ISO2"].str.extract(r"([A-Z]{2})", expand=False)
    return data


@lru_cache(maxsize=1)
def _regions() -> dict[str, frozenset[str]]:
    data = _countries()
    regions: dict[str, set[str]] = {}
    for column in ("continent", "Continent_7", "UNregion"):
        for name, iso2 in zip(data[column], data["ISO2"], strict=True):
            if isinstance(name, str):
                regions.setdefault(name.lower(), set()).add(iso2)
    for alias, parts in REGION_ALIASES.items():
        regions[alias] = set().union(*(regions[p.lower()] for p in parts))
    regions["americas"] = regions["america"]
    return {name: frozenset(codes) for name, codes in regions.items()}


def _country(name: str) -> str | None:
    data = _countries()
    upper = name.upper()
    if len(name) == 2 and upper in set(data["ISO2"]):
        return upper
    if len(name) == 3 and upper in set(data["ISO3"]) and upper not in _airports():
        return str(data[data["ISO3"] == upper]["ISO2"].iloc[0])
    for regex, iso2 in zip(data["regex"], data["ISO2"], strict=True):
        if (
            re.fullmatch(f"(?:{regex})", name, re.IGNORECASE)
            or re.fullmatch(f".*(?:{regex}).*", name, re.IGNORECASE)
            and len(name) > 3
        ):
            return str(iso2)
    return None


def _airport_place(code: str) -> Place:
    airport = _airports()[code]
    return Place(code, "airport", frozenset({airport["country"]}), frozenset({code}))


@lru_cache(maxsize=4096)
def resolve(text: str) -> Place:
    """Resolve a written place to a Place, or raise UnknownPlace."""
    raw = text.strip()
    kind, sep, name = raw.partition(":")
    if not sep:
        kind, name = "", raw
    kind, key = kind.lower().strip(), name.strip()
    if not key:
        raise UnknownPlace(f"empty place {text!r}")
    lower = key.lower()
    if kind in ("", "airport") and len(key) == 3 and key.upper() == key and key in _airports():
        return _airport_place(key)
    if kind in ("", "region") and lower in _regions():
        return Place(key, "region", _regions()[lower])
    if kind in ("", "country"):
        iso2 = _country(key)
        if iso2:
            return Place(key, "country", frozenset({iso2}))
    if kind in ("", "city") and lower in _cities():
        codes = _cities()[lower]
        countries = frozenset(_airports()[c]["country"] for c in codes)
        return Place(key, "city", countries, codes)
    if kind == "airport" and key.upper() in _airports():
        return _airport_place(key.upper())
    raise UnknownPlace(
        f"unknown place {text!r}: not an IATA airport code, a city with an airport, "
        "a country or a region"
    )


@lru_cache(maxsize=8192)
def try_resolve(text: str | None) -> Place | None:
    """Like resolve(), but None for an empty or unknown place (a failure is remembered too: it
    tried every country's pattern)."""
    if not text:
        return None
    try:
        return resolve(text)
    except UnknownPlace:
        return None


@lru_cache(maxsize=1)
def _continents() -> dict[str, str]:
    data = _countries()
    return dict(zip(data["ISO2"], data["Continent_7"], strict=True))


@lru_cache(maxsize=8192)
def region_of(text: str | None) -> str | None:
    """The continent (seven-continent scheme) of an airport, city or country, or None."""
    place = try_resolve(text)
    if place is None:
        return None
    if place.kind == "region":
        return place.name
    names = {_continents().get(country) for country in place.countries}
    return names.pop() if len(names) == 1 else None


def airport_location(code: str | None) -> tuple[float, float] | None:
    """Latitude and longitude of an airport, for maps."""
    if not code or code.upper() not in _airports():
        return None
    airport = _airports()[code.upper()]
    return float(airport["lat"]), float(airport["lon"])
