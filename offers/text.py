"""Reading numbers, dates and cabins out of the loose text that pages and posts use."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache

from offers import dates
from offers.announcements.cabins import cabin_named
from offers.announcements.language import normalise
from offers.announcements.numbers import EAST_ASIAN, NotAFigure, east_asian, western

_MILES = re.compile(
    rf"(?P<sign>[-\u2212]\s*)?(?:(?P<east>{EAST_ASIAN})"
    r"|(?P<num>\d{1,3}(?:[,.\u00a0\u202f '’]\d{3})+|\d+(?:[.,]\d+)?)"
    r"\s*(?P<suffix>k|mil\b|thousand\b)?)",
    re.IGNORECASE,
)


#: A figure alone in plain digits, grouped by commas or not (``12,500``, ``7500``): read as
#: the full reading below reads it, without it. Up to 15 digits, which a float holds exactly.
_PLAIN_MILES = re.compile(r"[0-9]{1,3}(?:,[0-9]{3}){1,4}|[0-9]{1,15}")


def parse_miles(text: str | int | float | None) -> int | None:
    """The first miles figure in ``text``: ``12,500``, ``12.5K``, ``12,5 mil``, ``7500`` or
    ``1万5000``, read as the announcement reader reads them."""
    if type(text) is str and _PLAIN_MILES.fullmatch(text):
        return int(text.replace(",", ""))
    return _read_miles(text)


@lru_cache(maxsize=4096)
def _read_miles(text: str | int | float | None) -> int | None:
    if text is None:
        return None
    if isinstance(text, bool):
        raise ValueError("not a number of miles")
    if isinstance(text, int | float):
        return int(round(text))
    match = _MILES.search(normalise(text))
    if not match:
        return None
    sign = -1 if match.group("sign") else 1
    if match.group("east"):
        return sign * east_asian(match.group("east"))
    num = match.group("num")
    if re.fullmatch(r"\d+[.,]\d{3,}", num) and not match.group("suffix"):
        num = re.sub(r"\D", "", num)
    try:
        return sign * western(num, bool(match.group("suffix")))
    except NotAFigure:
        return sign * int(round(float(num.replace(",", "."))))


@lru_cache(maxsize=512)
def parse_cabin(text: str | None) -> str | None:
    """The cabin named by ``text`` (``Business Class``, ``Comfort+``, ``COACH``, ``Executiva``,
    ``ビジネスクラス``), from the one cabin vocabulary of the announcement reader, or None."""
    if not text:
        return None
    key = re.sub(r"\s+", " ", normalise(text).strip().lower().replace("-", " ").replace("_", " "))
    cabin = cabin_named(key)
    if cabin:
        return cabin
    raise ValueError(f"unknown cabin {text!r}")


def parse_day(
    text: str | date | None, *, relative_to: date | datetime | None = None, last: bool = False
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
    text: str | None, *, relative_to: date | datetime | None = None
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
