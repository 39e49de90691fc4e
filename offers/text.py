"""Reading numbers, dates and cabins out of the loose text that pages and posts use."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache

from offers.announcements.cabins import cabin_named
from offers.announcements.language import normalise
from offers.announcements.numbers import EAST_ASIAN, NotAFigure, east_asian, western

_MILES = re.compile(
    rf"(?P<sign>[-\u2212]\s*)?(?:(?P<east>{EAST_ASIAN})"
    r"|(?P<num>\d{1,3}(?:[,.\u00a0\u202f '’]\d{3})+|\d+(?:[.,]\d+)?)"
    r"\s*(?P<suffix>k|mil\b|thousand\b)?)",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def parse_miles(text: str | int | float | None) -> int | None:
    """The first miles figure in ``text``: ``12,500``, ``12.5K``, ``12,5 mil``, ``7500`` or
    ``1万5000``, read as the announcement reader reads them."""
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


def parse_day(text: str | date | None, *, relative_to: datetime | None = None) -> date | None:
    """A calendar day from ISO text or words (``Jan 5``, ``5 mars 2026``), or None."""
    if text is None or text == "":
        return None
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    stripped = text.strip()
    try:
        return date.fromisoformat(stripped[:10])
    except ValueError:
        pass
    settings: dict[str, object] = {
        "PREFER_DAY_OF_MONTH": "first",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    if relative_to is not None:
        settings["RELATIVE_BASE"] = relative_to
        settings["PREFER_DATES_FROM"] = "future"
    # dateparser loads its language data on import: only when a date is read
    import dateparser
    from dateparser.search import search_dates

    parsed = dateparser.parse(stripped, settings=settings)  # type: ignore[arg-type]
    if parsed is None:
        # "Book by December 31, 2030": find the date within the words
        found = search_dates(stripped, settings=settings)  # type: ignore[arg-type]
        if not found:
            raise ValueError(f"unparseable date {text!r}")
        parsed = found[0][1]
    return parsed.date()


_RANGE_SPLIT = re.compile(r"\s*(?:–|—|-|\bto\b|\buntil\b|\bthrough\b|\bthru\b|\bau\b|\bbis\b)\s*")


def parse_day_range(
    text: str | None, *, relative_to: datetime | None = None
) -> tuple[date | None, date | None]:
    """A travel window from ``Jan 5 – Mar 15, 2026`` or a single day, as (start, end)."""
    if not text or not text.strip():
        return None, None
    parts = [p for p in _RANGE_SPLIT.split(text.strip(), maxsplit=1) if p]
    if len(parts) == 1:
        day = parse_day(parts[0], relative_to=relative_to)
        return day, day
    end = parse_day(parts[1], relative_to=relative_to)
    year_hint = re.search(r"\b(19|20)\d{2}\b", parts[1])
    start_text = parts[0]
    if year_hint and not re.search(r"\b(19|20)\d{2}\b", start_text):
        start_text = f"{start_text} {year_hint.group(0)}"
    start = parse_day(start_text, relative_to=relative_to)
    if start and end and start > end:
        start = start.replace(year=start.year - 1)
    return start, end


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
