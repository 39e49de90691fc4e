"""Award space of many programs from the seats.aero Partner API (``/search`` and
``/availability``), read one offer per record and cabin.

The API reports availability, not sales: an offer counts as a promotion when its miles are at
or under the level configured for the destination's region (``promo_max_miles``).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from offers.model import CABINS, PROGRAMS
from offers.places import Place, region_of, resolve, try_resolve
from scrapers.parsers import MalformedResponse, ParseContext, Parsed, Rejected, each, json_value

API_BASE = "https://seats.aero/partnerapi"

#: seats.aero's cabin letters, in the order records list them.
CABIN_LETTERS: dict[str, str] = {
    "Y": "economy",
    "W": "premium_economy",
    "J": "business",
    "F": "first",
}
#: seats.aero source names that differ from our program ids; the rest are spelled alike.
SOURCE_ALIASES: dict[str, str] = {
    "eurobonus": "sas",
    "singapore": "krisflyer",
    "virgin_atlantic": "virginatlantic",
    "asiamiles": "cathay",
}

Levels = dict[str, int | dict[str, int]]


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key_env: str = Field(
        default="SEATSAERO_API_KEY", description="environment variable holding the Partner API key"
    )
    base_url: str = Field(default=API_BASE, description="API root (a local stand-in in tests)")
    daily_calls: int = Field(default=1000, ge=1, description="API calls allowed per UTC day")
    page_size: int = Field(default=500, ge=1, le=1000, description="records asked for per call")
    promo_max_miles: Levels = Field(
        default_factory=dict,
        description="region -> miles (or cabin -> miles) at or under which an offer is a promotion",
    )
    programs: dict[str, str] = Field(
        default_factory=dict, description="extra seats.aero source name -> program id"
    )
    availability_sources: list[str] = Field(
        default_factory=list, description="seats.aero sources to read whole with /availability"
    )
    usage_file: str | None = Field(
        default=None, description="where calls per day are counted (default: next to the database)"
    )

    @field_validator("promo_max_miles")
    @classmethod
    def _levels(cls, value: Levels) -> Levels:
        for region, level in value.items():
            if resolve(region).kind not in ("region", "country"):
                raise ValueError(f"{region!r} is not a region or a country")
            for cabin, miles in level.items() if isinstance(level, dict) else [("", level)]:
                if cabin and cabin not in CABINS:
                    raise ValueError(f"unknown cabin {cabin!r}; use one of {', '.join(CABINS)}")
                if miles <= 0:
                    raise ValueError(f"{region}: miles must be positive")
        return value

    @field_validator("programs")
    @classmethod
    def _programs(cls, value: dict[str, str]) -> dict[str, str]:
        for program in value.values():
            if program not in PROGRAMS:
                raise ValueError(
                    f"unknown program {program!r}; known: {', '.join(sorted(PROGRAMS))}"
                )
        return value


def page(body: bytes) -> dict[str, Any]:
    """A decoded page of records, or the reason the body is not one."""
    if not body.strip():
        raise MalformedResponse("empty response")
    try:
        data = json_value(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedResponse("not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise MalformedResponse("not a seats.aero availability page: no data list")
    return data


def next_page(body: bytes, url: str) -> str | None:
    """The URL of the following page (same query, the page's ``cursor``, ``skip`` moved on)."""
    try:
        data = page(body)
    except MalformedResponse:
        return None
    if not data.get("hasMore") or data.get("cursor") in (None, ""):
        return None
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    skip = _whole(query.get("skip")) + (_whole(data.get("count")) or len(data["data"]))
    query.update(cursor=str(data["cursor"]), skip=str(skip))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _whole(value: Any) -> int:
    """A count the API or the URL gives, 0 when it is not a whole number."""
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError, OverflowError):
        return 0


def program_of(source: Any, options: Options) -> str | None:
    if not isinstance(source, str):
        return None
    name = source.strip().lower()
    program = options.programs.get(name) or SOURCE_ALIASES.get(name) or name
    return program if program in PROGRAMS else None


@lru_cache(maxsize=64)
def _region(name: str) -> Place:
    return resolve(name)


def level_for(
    destination: str | None, fallback_region: Any, cabin: str, options: Options
) -> tuple[str, int] | None:
    """The promotion level for a destination and cabin, from the most specific configured
    place that holds it (``Japan`` before ``Asia``), then its continent as ``region_of`` names
    it, then the region seats.aero gives (for airports the place data does not know)."""
    levels = {name.lower(): (name, level) for name, level in options.promo_max_miles.items()}
    place = try_resolve(destination)
    holding = [v for v in levels.values() if place is not None and _region(v[0]).overlaps(place)]
    candidates = sorted(holding, key=lambda v: len(_region(v[0]).countries))
    for name in (region_of(destination), fallback_region):
        if isinstance(name, str) and name.lower() in levels:
            candidates.append(levels[name.lower()])
    for region, level in candidates:
        miles = level.get(cabin) if isinstance(level, dict) else level
        if miles:
            return region, miles
    return None


def _miles(value: Any) -> int | None:
    """``{X}MileageCost``: a string of digits; "0" or empty when the cabin has no price."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) or None
    if not isinstance(value, str) or not value.strip():
        return None
    if not value.strip().isdigit():
        raise ValueError(f"unreadable mileage cost {value!r}")
    return int(value) or None


def site_link(origin: str, destination: str, day: str) -> str:
    query = {"origins": origin, "destinations": destination, "date": day}
    return f"https://seats.aero/search?{urlencode(query)}"


def cabin_offer(
    record: dict[str, Any], letter: str, program: str, options: Options
) -> Parsed | None:
    """The offer of one cabin of a record; None when the cabin is not available or unpriced."""
    if record.get(f"{letter}Available") is not True:
        return None
    try:
        miles = _miles(record.get(f"{letter}MileageCost"))
    except ValueError as exc:
        return Rejected(f"miles: {exc}")
    if miles is None:
        return None
    route = record["Route"]
    origin, destination = route.get("OriginAirport"), route.get("DestinationAirport")
    cabin = CABIN_LETTERS[letter]
    level = level_for(destination, route.get("DestinationRegion"), cabin, options)
    promo = level is not None and miles <= level[1]
    seats = record.get(f"{letter}RemainingSeats")
    day = str(record.get("Date") or "")[:10]
    return {
        "program": program,
        "airline": record.get(f"{letter}Airlines") or None,
        "origin": origin,
        "destination": destination,
        "depart_date": day or None,
        "cabin": cabin,
        "miles": miles,
        "promo": promo,
        "promo_reason": _reason(miles, level, cabin) if promo else None,
        # 0 remaining seats on an available cabin means the count is unknown
        "seats": seats if isinstance(seats, int) and seats > 0 else None,
        "url": site_link(origin, destination, day) if origin and destination and day else None,
        "trip": "one-way",
    }


def _reason(miles: int, level: tuple[str, int] | None, cabin: str) -> str:
    assert level is not None
    region, limit = level
    return f"{miles:,} miles, at or under {limit:,} for {cabin.replace('_', ' ')} to {region}"


def record_offers(record: Any, options: Options) -> Iterator[tuple[tuple[str, ...], Parsed]]:
    """Each cabin offer of a record, with what identifies it within the response."""
    if not isinstance(record, dict) or not isinstance(record.get("Route"), dict):
        yield ("",), Rejected("record without a route")
        return
    route = record["Route"]
    source = route.get("Source") or record.get("Source")
    program = program_of(source, options)
    if program is None:
        yield ("",), Rejected(f"program: unknown seats.aero source {source!r}")
        return
    fallback = (
        route.get("OriginAirport"),
        route.get("DestinationAirport"),
        record.get("Date"),
        source,
    )
    ident = record.get("ID") or "|".join(str(x) for x in fallback)
    for letter in CABIN_LETTERS:
        result = cabin_offer(record, letter, program, options)
        if result is not None:
            yield (str(ident), letter), result


def parse(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    options: Options = ctx.options if isinstance(ctx.options, Options) else Options()
    seen: set[tuple[str, ...]] = set()

    def read(record: Any) -> list[Parsed]:
        # the whole record is read before any of it counts as seen: a record that turns out
        # unreadable halfway must not hide a later repeat of its offers
        found = list(record_offers(record, options))
        return [result for ident, result in found if _first(ident, result, seen)]

    # a record of an unexpected shape costs that record only
    yield from each(page(body)["data"], read)


def _first(ident: tuple[str, ...], result: Parsed, seen: set[tuple[str, ...]]) -> bool:
    """Whether to yield this result: every rejection, an offer only the first time."""
    if isinstance(result, Rejected):
        return True
    if ident in seen:
        return False
    seen.add(ident)
    return True
