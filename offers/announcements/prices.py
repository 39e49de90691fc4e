"""The miles prices a post states, with their trip type, in the post's own words."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from offers.announcements.numbers import EAST_ASIAN, NotAFigure, east_asian, separators, western
from offers.announcements.vocabulary import Vocabulary

#: A program name may stand between a figure and its unit: "17,500 AAdvantage miles".
_PROGRAM_WORD = r"(?:[A-Z][\w&+-]{0,30}\s+){0,2}"
_WESTERN = r"\d{{1,3}}(?:[{groups}]\d{{3}})+|\d{{1,7}}(?:[.,]\d{{1,2}})?"
MILES_RANGE = (500, 1_000_000)
#: A post states its prices in its first figures; a table of thousands adds none.
MAX_FIGURES = 200
#: And its numbers are read up to this many: a post of bare numbers costs no more than this.
MAX_CANDIDATES = 2000


@dataclass(frozen=True)
class Figure:
    """A miles price: its value, where it is written, its trip type and its unit's words."""

    miles: int
    start: int
    end: int
    trip: str | None
    unit: str = ""


@lru_cache(maxsize=32)
def _figure_pattern(vocab: Vocabulary) -> re.Pattern[str]:
    thousand = vocab.thousand
    western_figure = _WESTERN.format(groups=separators(vocab.locales))
    return re.compile(
        rf"(?<![\d,.])(?:(?P<east>{EAST_ASIAN})|(?P<num>{western_figure})(?:\s?(?P<k>{thousand}))?)(?![\d])"
        rf"(?:\s*(?P<unit>{_PROGRAM_WORD}(?:{vocab.units}))"
        r"|(?P<award>-(?:mile|point|avios)\s+award))?",
        re.IGNORECASE,
    )


def value(match: re.Match[str]) -> int | None:
    try:
        if match.group("east"):
            return east_asian(match.group("east"))
        return western(match.group("num"), bool(match.group("k")))
    except NotAFigure:
        return None


def figures(words: str, vocab: Vocabulary, award_context: bool) -> list[Figure]:
    """The miles prices in ``words``: a figure with a miles unit, an ``N-mile award``, or, in a
    post about awards, a bare thousands figure priced with "for" or a trip type."""
    found: list[Figure] = []
    for seen, match in enumerate(_figure_pattern(vocab).finditer(words)):
        if seen >= MAX_CANDIDATES:
            break
        unit = match.group("unit") or match.group("award") or ""
        number = match.group("east") or match.group("num")
        grouped = bool(
            match.group("east") or match.group("k") or re.search(r"\d[,. '’]\d{3}", number)
        )
        if not unit and not (award_context and grouped):
            continue
        before, after = (
            words[max(0, match.start() - 40) : match.start()],
            words[match.end() : match.end() + 100],
        )
        if re.search(r"[$€£¥₩]\s?$|[\d/.-]$", before) or re.match(
            r"\s?(?:%|[$€£]|-\d|円|원|元)", after
        ):
            continue
        trip = _trip_after(after[:80], vocab) or _trip_before(before, vocab)
        if not (unit or trip or vocab.price_lead.search(before)):
            continue
        if vocab.not_price_before.search(before) or vocab.not_price_after.match(after[:60]):
            continue
        miles = value(match)
        if miles is None or not MILES_RANGE[0] <= miles <= MILES_RANGE[1]:
            continue
        if not unit and re.fullmatch(r"(?:19|20)\d{2}", number.strip()):
            continue
        found.append(Figure(miles, match.start(), match.end(), trip, unit))
        if len(found) >= MAX_FIGURES:
            break
    return found


def _trip_after(after: str, vocab: Vocabulary) -> str | None:
    # the trip type follows its figure closely, before any other figure
    window = re.sub(r"\([^)]*\)", " ", after)
    window = re.split(
        r"\d{1,3}(?:[,.]\d{3})+|\d+(?:[.,]\d+)?\s?[kK]\b|[.;!?。！](?:\s|$)|\n",
        window[:60],
        maxsplit=1,
    )[0]
    match = vocab.trip.search(window)
    return _trip_kind(match) if match else None


def _trip_before(before: str, vocab: Vocabulary) -> str | None:
    matches = list(vocab.trip.finditer(before[-35:]))
    return _trip_kind(matches[-1]) if matches else None


def _trip_kind(match: re.Match[str]) -> str:
    return "one-way" if match.group("one_way") else "round-trip"


def with_post_trip(found: list[Figure], words: str, vocab: Vocabulary) -> list[Figure]:
    """When a post states one trip type ("all one-way"), it holds for its figures without one."""
    trips = {f.trip for f in found if f.trip} or {_trip_kind(m) for m in vocab.trip.finditer(words)}
    if len(trips) != 1:
        return found
    return [replace(f, trip=f.trip or next(iter(trips))) for f in found]


def discount(words: str, vocab: Vocabulary) -> float | None:
    """The largest discount a post states, in percent."""
    values: list[float] = []
    for pattern in vocab.discount:
        for match in pattern.finditer(words):
            groups = match.groupdict()
            if groups.get("pct"):
                values.append(float(groups["pct"]))
            elif groups.get("tenths"):
                values.append(float(groups["tenths"]) * 10)
            elif groups.get("zhe"):
                values.append(round(100 - float(groups["zhe"]) * 10, 1))
    values = [v for v in values if 0 < v < 100]
    return max(values) if values else None
