"""The words of award-sale posts, one data file per language, compiled into patterns.

Each ``languages/<code>.toml`` lists, as regular-expression fragments matched without regard to
case, the words a post in that language uses: sale cues, miles units, trip types, cabins,
booking and travel words, route joiners and the negatives (upgrades, earning bonuses, reminders
of past promotions ...). A post is read with its own language's words and English's, since
blogs in every language quote English brand and sale names ("Promo Rewards", "miles").
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

#: read through importlib.resources: the package may run zipped (a Scrapyd egg)
FOLDER = resources.files("offers.announcements").joinpath("languages")
#: Latin letters: the edges of a word. CJK letters and digits next to a word do not end it,
#: so "ANA特典" holds the word "ANA".
_EDGE = r"A-Za-z\u00c0-\u024f"
CABINS = ("economy", "premium_economy", "business", "first")
NEGATIVES = ("reminder", "upgrade", "earn", "transfer_bonus", "status_match", "buy_miles",
             "credit_card", "cash_fare", "guide", "terms")  # fmt: skip


class UnknownLanguage(ValueError):
    """No vocabulary file for that language"""


def languages() -> tuple[str, ...]:
    """The languages with a vocabulary file, English first."""
    names = [p.name for p in FOLDER.iterdir()]
    codes = sorted(n.removesuffix(".toml") for n in names if n.endswith(".toml"))
    return ("en", *(c for c in codes if c != "en"))


@lru_cache(maxsize=32)
def raw(code: str) -> dict[str, Any]:
    path = FOLDER.joinpath(f"{code}.toml")
    if not path.is_file():
        raise UnknownLanguage(f"no vocabulary for language {code!r}")
    return tomllib.loads(path.read_text(encoding="utf-8"))


def words(text_or_list: list[str]) -> str:
    """One alternation of the fragments, each bounded as a word on its Latin edges; an empty
    list matches nothing."""
    if not text_or_list:
        return r"(?!x)x"
    return rf"(?<![{_EDGE}])(?:{'|'.join(text_or_list)})(?![{_EDGE}])"


def pattern(fragments: list[str]) -> re.Pattern[str]:
    return re.compile(words(fragments), re.IGNORECASE)


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """The compiled words of one language, merged with English's."""

    language: str
    locales: tuple[str, ...]
    date_order: str
    script: str | None
    names_start_words: bool
    sale: re.Pattern[str]
    award: re.Pattern[str]
    time_limited: re.Pattern[str]
    discount: tuple[re.Pattern[str], ...]
    negatives: dict[str, re.Pattern[str]]
    units: str
    thousand: str
    price_lead: re.Pattern[str]
    not_price_before: re.Pattern[str]
    not_price_after: re.Pattern[str]
    trip: re.Pattern[str]
    cabin: re.Pattern[str]
    cabin_names: tuple[tuple[re.Pattern[str], str], ...]
    cabin_class: re.Pattern[str]
    cabin_lead: re.Pattern[str]
    ambiguous_cabins: frozenset[str]
    book: re.Pattern[str]
    travel: re.Pattern[str]
    until: re.Pattern[str]
    range_joiner: str
    range_lead: str
    origin_lead: re.Pattern[str]
    between_lead: re.Pattern[str]
    region_words: re.Pattern[str]
    route_joiner: str
    route_joined: re.Pattern[str]
    list_joiner: re.Pattern[str]
    origin_after: re.Pattern[str]
    destination_after: re.Pattern[str]
    destination_lead: re.Pattern[str]
    not_places: frozenset[str]


def _merged(code: str, *path: str) -> list[str]:
    """The fragments at ``path`` in the language's file, then in English's."""
    found: list[str] = []
    for source in dict.fromkeys((code, "en")):
        node: Any = raw(source)
        for key in path:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        found += [w for w in (node or []) if w not in found]
    return found


@lru_cache(maxsize=32)
def vocabulary(code: str) -> Vocabulary:
    """The compiled vocabulary of a language (English's for an unknown one)."""
    if not FOLDER.joinpath(f"{code}.toml").is_file():
        code = "en"
    own = raw(code)

    def get(*path: str) -> list[str]:
        return _merged(code, *path)

    cabin_words = [w for cabin in CABINS for w in get("cabins", cabin)]
    trip = (
        f"(?P<one_way>{words(get('miles', 'one_way'))})"
        f"|(?P<round_trip>{words(get('miles', 'round_trip'))})"
    )
    return Vocabulary(
        language=code,
        locales=tuple(own.get("locales", [code])),
        date_order=own.get("date_order", "DMY"),
        script=own.get("script"),
        names_start_words=bool(own.get("names_start_words", False)),
        sale=pattern(get("sale", "cues")),
        award=pattern(get("sale", "award")),
        time_limited=pattern(get("sale", "time_limited")),
        discount=tuple(re.compile(d, re.IGNORECASE) for d in get("sale", "discount")),
        negatives={kind: pattern(get("negative", kind)) for kind in NEGATIVES},
        units=words(get("miles", "units")),
        thousand=words(get("miles", "thousand")),
        price_lead=re.compile(rf"(?:{words(get('miles', 'price_lead'))}|:)\s*$", re.IGNORECASE),
        not_price_before=re.compile(
            rf"(?:{words(get('miles', 'not_price_before'))})\s*(?:the\s+)?$", re.IGNORECASE
        ),
        not_price_after=re.compile(
            rf"^\s*(?:{words(get('miles', 'not_price_after'))})", re.IGNORECASE
        ),
        trip=re.compile(trip, re.IGNORECASE),
        cabin=pattern(cabin_words),
        cabin_names=tuple(
            (re.compile(rf"^(?:{w})$", re.IGNORECASE), cabin)
            for cabin in CABINS
            for w in get("cabins", cabin)
        ),
        cabin_class=re.compile(rf"^\s*(?:{words(get('cabins', 'class_words'))})", re.I),
        cabin_lead=re.compile(rf"(?:{words(get('cabins', 'lead'))})\s*$", re.IGNORECASE),
        ambiguous_cabins=frozenset(w.lower() for w in get("cabins", "ambiguous")),
        book=pattern(get("dates", "book")),
        travel=pattern(get("dates", "travel")),
        until=re.compile(rf"(?:{words(get('dates', 'until'))})\s*$", re.IGNORECASE),
        range_joiner=words(get("dates", "range_joiners")),
        range_lead=words(get("dates", "range_leads")),
        origin_lead=re.compile(rf"(?:{words(get('places', 'from'))})\s*$", re.IGNORECASE),
        between_lead=re.compile(rf"(?:{words(get('places', 'between'))})\s*$", re.IGNORECASE),
        region_words=pattern(get("places", "words")),
        route_joiner=words(get("places", "to")),
        route_joined=re.compile(rf"\s*(?:{words(get('places', 'to'))})\s*", re.IGNORECASE),
        list_joiner=re.compile(rf"^\s*(?:,|{words(get('places', 'list'))})\s*$", re.IGNORECASE),
        origin_after=re.compile(rf"^\s*(?:{words(get('places', 'origin_after'))})", re.I),
        destination_after=re.compile(
            rf"^\s*(?:{words(get('places', 'destination_after'))})", re.IGNORECASE
        ),
        destination_lead=re.compile(rf"(?:{words(get('places', 'to'))})\s*$", re.IGNORECASE),
        not_places=frozenset(w.lower() for w in get("places", "not_places")),
    )
