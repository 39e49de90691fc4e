"""Reading numbers, dates and cabins out of the loose text that pages and posts use."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache

from offers import dates

_MILES = re.compile(
    r"(?P<sign>[-\u2212]\s*)?"
    r"(?P<num>\d{1,3}(?:[,.\u00a0\u202f ]\d{3})+|\d+(?:[.,]\d+)?)"
    r"\s*(?P<suffix>k|mil\b|thousand\b)?",
    re.IGNORECASE,
)

CABIN_WORDS: dict[str, str] = {
    "economy": "economy",
    "coach": "economy",
    "main cabin": "economy",
    "main": "economy",
    "basic economy": "economy",
    "wanna get away": "economy",
    "wanna get away plus": "economy",
    "premium economy": "premium_economy",
    "premium_economy": "premium_economy",
    "premium": "premium_economy",
    "comfort+": "premium_economy",
    "delta comfort+": "premium_economy",
    "delta premium select": "premium_economy",
    "premium select": "premium_economy",
    "anytime": "economy",
    "business": "business",
    "business class": "business",
    "business select": "business",
    "delta one": "business",
    "polaris": "business",
    "upper class": "business",
    "first": "first",
    "first class": "first",
    "la premiere": "first",
}


@lru_cache(maxsize=4096)
def parse_miles(text: str | int | float | None) -> int | None:
    """The first miles figure in ``text``: ``12,500``, ``12.5K``, ``12,5 mil`` or ``7500``."""
    if text is None:
        return None
    if isinstance(text, bool):
        raise ValueError("not a number of miles")
    if isinstance(text, int | float):
        return int(round(text))
    match = _MILES.search(text)
    if not match:
        return None
    num, suffix = match.group("num"), (match.group("suffix") or "").lower()
    sign = -1 if match.group("sign") else 1
    if suffix:
        value = float(num.replace(",", ".").replace("\u00a0", "").replace(" ", ""))
        return sign * int(round(value * 1000))
    digits = re.sub(r"[,.\u00a0\u202f ]", "", num) if re.search(r"[,.\s]\d{3}$", num) else num
    return sign * int(round(float(digits.replace(",", "."))))


@lru_cache(maxsize=512)
def parse_cabin(text: str | None) -> str | None:
    """The cabin named by ``text`` (``Business Class``, ``Comfort+``, ``COACH``), or None."""
    if not text:
        return None
    key = re.sub(r"\s+", " ", text.strip().lower().replace("-", " ").replace("_", " "))
    if key in CABIN_WORDS:
        return CABIN_WORDS[key]
    key = key.removesuffix(" class").removesuffix(" cabin")
    if key in CABIN_WORDS:
        return CABIN_WORDS[key]
    for word in ("premium economy", "business", "first", "economy", "coach"):
        if word in key:
            return CABIN_WORDS[word]
    raise ValueError(f"unknown cabin {text!r}")


def parse_day(
    text: str | date | None, *, relative_to: datetime | None = None, last: bool = False
) -> date | None:
    """A calendar day from ISO text or words (``Jan 5``, ``5 mars 2026``), or None; read by
    offers.dates on the day ``relative_to`` (today when not given)."""
    if text is None or text == "":
        return None
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    return dates.read_day(text, seen=relative_to, last=last)


def parse_day_range(
    text: str | None, *, relative_to: datetime | None = None
) -> tuple[date | None, date | None]:
    """A travel window (``Jan 5 – Mar 15, 2026``, ``March 3 – 20, 2031``, a single day) as
    (start, end), read by offers.dates on the day ``relative_to`` (today when not given)."""
    if not text or not text.strip():
        return None, None
    return dates.read_window(text, seen=relative_to)


@lru_cache(maxsize=4096)
def parse_money(text: str | int | float | None) -> float | None:
    """An amount such as ``$5.60`` or ``5,60 EUR`` as a float, or None."""
    if text is None or text == "":
        return None
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    match = re.search(r"\d+(?:[.,]\d{3})*(?:[.,]\d{1,2})?", str(text))
    if not match:
        raise ValueError(f"unparseable amount {text!r}")
    num = match.group(0)
    decimal = re.search(r"[.,](\d{1,2})$", num)
    if decimal:
        whole = num[: decimal.start()]
        return float(re.sub(r"[.,]", "", whole) + "." + decimal.group(1))
    return float(re.sub(r"[.,]", "", num))
