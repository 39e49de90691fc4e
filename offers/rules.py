"""The filter stage: named rules from config.toml, and the date checks every offer faces.

An offer passes when any rule matches it (or when there are no rules); the names of the
matching rules travel with it. A rejected offer carries a short reason that runs count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from offers.model import CABINS, PROGRAMS, Offer
from offers.places import Place, resolve, try_resolve
from offers.programs import program_id


def check_cabins(value: list[str]) -> list[str]:
    """The cabins, each one of ``CABINS``; a ValueError names the first that is not."""
    for cabin in value:
        if cabin not in CABINS:
            raise ValueError(f"unknown cabin {cabin!r}; use one of {', '.join(CABINS)}")
    return value


def check_program(value: str) -> str:
    """The program's id for any of its names; a ValueError lists the known ones."""
    known = program_id(value)
    if known is None:
        raise ValueError(f"unknown program {value!r}; known: {', '.join(sorted(PROGRAMS))}")
    return known


class Rule(BaseModel):
    """A named filter rule from config.toml. An offer passes when any rule matches it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    origins: list[str] = Field(default_factory=list)
    destinations: list[str] = Field(default_factory=list)
    programs: list[str] = Field(default_factory=list)
    cabins: list[str] = Field(default_factory=list)
    max_miles: int | None = Field(default=None, gt=0)
    max_miles_by_cabin: dict[str, int] = Field(default_factory=dict)
    min_discount: float | None = Field(default=None, gt=0, le=100)
    promo_only: bool = False
    travel_from: date | None = None
    travel_to: date | None = None

    @field_validator("cabins")
    @classmethod
    def _cabins(cls, value: list[str]) -> list[str]:
        return check_cabins(value)

    @field_validator("max_miles_by_cabin")
    @classmethod
    def _cabin_keys(cls, value: dict[str, int]) -> dict[str, int]:
        check_cabins(list(value))
        return value

    @field_validator("programs")
    @classmethod
    def _programs(cls, value: list[str]) -> list[str]:
        return [check_program(program) for program in value]

    @field_validator("origins", "destinations")
    @classmethod
    def _places(cls, value: list[str]) -> list[str]:
        for place in value:
            resolve(place)
        return value


@dataclass(frozen=True)
class Verdict:
    passed: bool
    rules: list[str] = field(default_factory=list)
    reason: str | None = None


def expired(offer: Offer, today: date) -> str | None:
    """Why the offer can no longer be booked or flown, or None."""
    if offer.book_by and offer.book_by < today:
        return "book-by date passed"
    last_day = offer.travel_end or offer.depart_date
    if last_day and last_day < today:
        return "travel window over"
    return None


def _overlaps(written: str | None, wanted: Sequence[str]) -> bool:
    place = try_resolve(written)
    if place is None:
        return False
    targets: list[Place] = [resolve(w) for w in wanted]
    return any(place.overlaps(t) for t in targets)


def _window_overlaps(offer: Offer, start: date | None, end: date | None) -> bool:
    first = offer.travel_start or offer.depart_date
    last = offer.travel_end or offer.depart_date
    if first is None and last is None:
        return False
    if end and first and first > end:
        return False
    return not (start and last and last < start)


Check = Callable[[Rule, Offer], bool]

#: Each criterion of a rule, in the order they are tried; the first failing one is the reason.
CRITERIA: list[tuple[str, Callable[[Rule], bool], Check]] = [
    ("program", lambda r: bool(r.programs), lambda r, o: o.program in r.programs),
    ("cabin", lambda r: bool(r.cabins), lambda r, o: o.cabin in r.cabins),
    ("promo only", lambda r: r.promo_only, lambda r, o: o.promo),
    ("max miles", lambda r: r.max_miles is not None,
     lambda r, o: o.miles is not None and o.miles <= (r.max_miles or 0)),
    ("max miles for cabin", lambda r: bool(r.max_miles_by_cabin),
     lambda r, o: o.cabin not in r.max_miles_by_cabin
     or (o.miles is not None and o.miles <= r.max_miles_by_cabin[o.cabin])),
    ("min discount", lambda r: r.min_discount is not None,
     lambda r, o: o.discount_pct is not None and o.discount_pct >= (r.min_discount or 0)),
    ("travel dates", lambda r: bool(r.travel_from or r.travel_to),
     lambda r, o: _window_overlaps(o, r.travel_from, r.travel_to)),
    ("origin", lambda r: bool(r.origins), lambda r, o: _overlaps(o.origin, r.origins)),
    ("destination", lambda r: bool(r.destinations),
     lambda r, o: _overlaps(o.destination, r.destinations)),
]  # fmt: skip


def failing(rule: Rule, offer: Offer) -> str | None:
    """The first criterion of ``rule`` that ``offer`` fails, or None when it matches."""
    for name, check in _checks(rule):
        if not check(rule, offer):
            return name
    return None


_CHECKS: dict[int, tuple[Rule, list[tuple[str, Check]]]] = {}


def _checks(rule: Rule) -> list[tuple[str, Check]]:
    """The criteria that apply to ``rule``, worked out once per rule."""
    cached = _CHECKS.get(id(rule))
    if cached is None or cached[0] is not rule:
        cached = (rule, [(name, check) for name, applies, check in CRITERIA if applies(rule)])
        _CHECKS[id(rule)] = cached
    return cached[1]


def evaluate(rules: Sequence[Rule], offer: Offer, today: date) -> Verdict:
    """Whether ``offer`` passes the filter, which rules it matched, or why it was rejected."""
    reason = expired(offer, today)
    if reason:
        return Verdict(False, reason=reason)
    if not rules:
        return Verdict(True)
    failures: dict[str, str | None] = {rule.name: failing(rule, offer) for rule in rules}
    matched = [name for name, failure in failures.items() if failure is None]
    if matched:
        return Verdict(True, matched)
    kinds = set(failures.values())
    detail = kinds.pop() if len(kinds) == 1 else "several criteria"
    return Verdict(False, reason=f"no rule matched ({detail})")
