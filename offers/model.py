"""The one normalized record for a promotional award fare, and how raw values become one."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from offers import programs, text
from offers.errors import InvalidOffer

#: Loyalty programs the bot knows: id -> display name, from offers/data/programs.toml.
PROGRAMS: dict[str, str] = {pid: p.name for pid, p in programs.programs().items()}

CABINS: tuple[str, ...] = ("economy", "premium_economy", "business", "first")

#: Longest text each field keeps, in characters; longer text is cut (with "…") when the offer
#: is made, so text of any length from a page costs the same as a normal one downstream.
MAX_LENGTHS: dict[str, int] = {
    "title": 300,
    "promo_reason": 300,
    "airline": 100,
    "origin": 100,
    "destination": 100,
    "url": 2048,
}
#: Most miles an offer may cost: beyond it a number is garbage (and too big for SQLite).
MAX_MILES = 10_000_000
#: Longest loose text of any other field ("from 12.5K miles", "Business Class", a date).
MAX_RAW_TEXT = 200


def bounded(value: str, limit: int) -> str:
    """``value`` with its whitespace collapsed, cut to ``limit`` characters."""
    if is_bounded(value, limit):
        return value
    value = " ".join(value[: limit * 4].split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


#: The sets of given field names offers share (``Offer._complete``), by their names.
_FIELD_SETS: dict[frozenset[str], set[str]] = {}


def is_bounded(value: str, limit: int) -> bool:
    """Whether ``bounded`` leaves ``value`` as it is: short enough, single spaces between
    words (the space is the only printable whitespace) and none at either end."""
    return (
        len(value) <= limit
        and value.isprintable()
        and "  " not in value
        and value[:1] != " "
        and value[-1:] != " "
    )


#: The validation context of values whose text ``make_offer`` already cut to its bounds.
_CUT: dict[str, bool] = {"cut": True}

Cabin = Literal["economy", "premium_economy", "business", "first"]
Trip = Literal["one-way", "round-trip"]


class Offer(BaseModel):
    """A promotional award fare, as every source reports it after normalization."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1)
    program: str
    title: str | None = None
    airline: str | None = None
    origin: str | None = None
    destination: str | None = None
    depart_date: date | None = None
    travel_start: date | None = None
    travel_end: date | None = None
    cabin: Cabin | None = None
    miles: int | None = Field(default=None, gt=0, le=MAX_MILES)
    trip: Trip = "one-way"
    taxes: float | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    discount_pct: float | None = Field(default=None, gt=0, le=100)
    promo: bool = False
    promo_reason: str | None = None
    book_by: date | None = None
    seats: int | None = Field(default=None, ge=0, le=MAX_MILES)
    url: str | None = None
    seen_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @field_validator("program")
    @classmethod
    def _known_program(cls, value: str) -> str:
        known = programs.program_id(value)
        if known is None:
            raise ValueError(f"unknown program {value!r}; known: {', '.join(sorted(PROGRAMS))}")
        return known

    @field_validator("origin", "destination", "airline", "title", "url", "promo_reason")
    @classmethod
    def _strip(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if info.context is _CUT:  # make_offer cut it already
            return value or None
        return bounded(value, MAX_LENGTHS[info.field_name or ""]) or None

    @model_validator(mode="after")
    def _complete(self) -> Offer:
        if self.miles is None and self.discount_pct is None:
            raise ValueError("no price: neither miles nor a discount")
        if self.travel_start and self.travel_end and self.travel_start > self.travel_end:
            raise ValueError("travel window ends before it starts")
        if self.depart_date and self.travel_start is None and self.travel_end is None:
            object.__setattr__(self, "travel_start", self.depart_date)
            object.__setattr__(self, "travel_end", self.depart_date)
        # a run holds every offer it found: one set of field names per shape, not per offer
        # (a set of a dozen names is 728 bytes, half of an offer); a frozen offer never
        # changes it, and a copy gets a set of its own
        shape = frozenset(self.__pydantic_fields_set__)
        object.__setattr__(
            self, "__pydantic_fields_set__", _FIELD_SETS.setdefault(shape, set(shape))
        )
        return self

    @property
    def region(self) -> str | None:
        """The continent (or the named region) of the destination, when the place is known."""
        from offers.places import region_of

        return region_of(self.destination)

    @property
    def route(self) -> str:
        return f"{self.origin or '?'}-{self.destination or '?'}"

    @cached_property
    def key(self) -> str:
        """The offer's identity: program, route, dates and cabin (not its price)."""
        parts = [
            self.program,
            (self.origin or "").upper(),
            (self.destination or "").upper(),
            str(self.depart_date or ""),
            str(self.travel_start or ""),
            str(self.travel_end or ""),
            self.cabin or "",
            self.trip,
        ]
        if not (self.origin or self.destination):
            parts.append(self.url or self.title or "")
        return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]

    def record(self) -> dict[str, Any]:
        """The offer as plain JSON-ready values (dates as ISO text)."""
        return self.model_dump(mode="json")


_DATE_FIELDS = ("depart_date", "travel_start", "travel_end", "book_by")


def _promo(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "y", "promo"}


#: How each field's loose text becomes a value (dates are read relative to the fetch time).
_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "miles": text.parse_miles,
    "taxes": text.parse_money,
    "discount_pct": text.parse_money,
    "seats": text.parse_miles,
    "cabin": text.parse_cabin,
    "trip": lambda value: _trip(value),
    "promo": _promo,
    "currency": lambda value: value.strip().upper(),
}


def _coerce(raw: dict[str, Any]) -> dict[str, Any]:
    """Turn the loose text a page shows into typed values; errors name the field."""
    seen_at = raw.get("seen_at")
    relative_to = seen_at if isinstance(seen_at, datetime) else None
    # dates are read on the day the offer was seen
    seen = relative_to.date() if relative_to is not None else date.today()
    values: dict[str, Any] = {}
    field = ""
    try:
        # one pass: each text cut to its bound, then read (this runs for every offer)
        for field, value in raw.items():
            if value is None or value == "":
                continue
            if isinstance(value, str):
                known = _READ.get((field, value, seen), _UNREAD)
                if known is _UNREAD:
                    known = _read(field, value, seen)
                    _remember((field, value, seen), known)
                value = known
            values[field] = value
        travel = values.pop("travel", None)
        if isinstance(travel, str):
            field = "travel"
            start, end = text.parse_day_range(travel, relative_to=seen)
            values.setdefault("travel_start", start)
            values.setdefault("travel_end", end)
    except ValueError as exc:
        raise InvalidOffer(f"{field}: {exc}") from None
    return values


_LAST_DAY_FIELDS = frozenset({"book_by", "travel_end"})
#: Texts read before, by (field, text, day seen): a source repeats the same programs, places,
#: cabins, taxes and dates over its offers.
_READ: dict[tuple[str, str, date], Any] = {}
_UNREAD = object()
#: Texts kept at most (then the memory starts over), and the longest text kept.
_READ_SIZE, _READ_LENGTH = 20_000, 500


def _cut(field: str, value: str) -> str:
    """Loose text of a field cut to its bound before anything reads it."""
    limit = MAX_LENGTHS.get(field, MAX_RAW_TEXT)
    return value if is_bounded(value, limit) else bounded(value, limit)


def _read(field: str, value: str, seen: date) -> Any:
    """The value of a field's loose text, cut to its bound, then read (on the day ``seen``)."""
    value = _cut(field, value)
    convert = _CONVERTERS.get(field)
    if convert is not None:
        return convert(value)
    if field in _DATE_FIELDS:
        # a month alone ("book by June 2031") runs to its last day for a deadline
        return text.parse_day(value, relative_to=seen, last=field in _LAST_DAY_FIELDS)
    return value


def _remember(key: tuple[str, str, date], known: Any) -> None:
    if len(key[1]) <= _READ_LENGTH:
        if len(_READ) >= _READ_SIZE:
            _READ.clear()
        _READ[key] = known


def _trip(value: str) -> str:
    key = value.strip().lower().replace("_", "-").replace(" ", "-")
    if key in {"one-way", "oneway", "ow", "one"}:
        return "one-way"
    if key in {"round-trip", "roundtrip", "rt", "return", "round"}:
        return "round-trip"
    raise ValueError(f"unknown trip {value!r}")


def make_offer(raw: dict[str, Any]) -> Offer:
    """Build a valid Offer from raw parser output, or raise InvalidOffer with the reason."""
    values = _coerce(raw)
    try:
        return Offer.model_validate(values, context=_CUT)
    except ValidationError as exc:
        raise InvalidOffer(_reason(exc)) from None


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    if not first["loc"]:
        return message  # a rule about the whole offer: its message says it all
    if first["type"] == "extra_forbidden":
        message = "not a field of an offer"
    if first["type"] == "missing":
        message = "missing"
    if "input" in first and first["type"] not in {"missing", "extra_forbidden", "value_error"}:
        shown = repr(first["input"])
        if len(shown) <= 40 and not isinstance(first["input"], dict):
            message = f"{message} (got {shown})"
    return f"{'.'.join(str(p) for p in first['loc'])}: {message}"


def rejection_code(reason: str) -> str:
    """A short, countable name for a rejection reason: ``miles``, ``cabin``, ``no price``."""
    head = reason.split(":", 1)[0].strip()
    return head or "invalid"


@dataclass
class Event:
    """Something worth telling: an offer that is new, cheaper, or back (storage/events.py
    decides which; notifiers tell it)."""

    id: int
    kind: str
    offer: Offer
    rules: list[str]
    previous_miles: int | None = None
    run_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Event:
        return cls(
            id=row["id"],
            kind=row["kind"],
            offer=Offer.model_validate_json(row["offer"]),
            rules=json.loads(row["rules"] or "[]"),
            previous_miles=row["previous_miles"],
            run_id=row["run_id"],
        )
