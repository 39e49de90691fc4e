"""Travel windows and book-by dates as posts write them, in the post's language.

Month and weekday names come from dateparser's data for the post's language and English;
East Asian dates (``2027年1月15日``, ``1월 15일``) and numeric ones (``15/01/2027``,
``15.01.2027``) are read by their digits. Each written day goes through :func:`read_day`, the
one place that turns words into a calendar day (what it cannot take apart goes to
:mod:`offers.dates`); a date without a year is placed after the post's own date.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache

from offers.announcements.vocabulary import Vocabulary

_MONTH_KEYS = ("january", "february", "march", "april", "may", "june", "july", "august",
               "september", "october", "november", "december")  # fmt: skip
_WEEKDAY_KEYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: Month names that are also everyday words: only capitalised.
_AMBIGUOUS = {"may", "mar", "march", "jun", "sept", "dec", "mai", "mag", "ago", "set", "out",
              "jan", "mei", "juni", "juli", "agu", "des", "nov"}  # fmt: skip
_EAST_ASIAN = (
    r"(?:(?P<y>\d{4})\s*[年년]\s*)?(?P<m>\d{1,2})\s*[月월]\s*(?:(?P<d>\d{1,2})\s*[日일号號]?)?"
)
_NUMERIC = r"\d{1,2}[./]\d{1,2}[./](?:19|20)\d{2}|(?:19|20)\d{2}[/.-]\d{1,2}[/.-]\d{1,2}"
_EDGE = r"A-Za-z0-9\u00c0-\u024f"
#: How far back a date without a year may lie before the post and still be this year's.
_GRACE = timedelta(days=45)


@lru_cache(maxsize=16)
def calendar_words(language: str) -> tuple[dict[str, int], dict[str, int]]:
    """Month and weekday names of a language and English, from dateparser's language data."""
    from dateparser.languages import default_loader

    months: dict[str, int] = {}
    weekdays: dict[str, int] = {}
    for code in dict.fromkeys((language, "en")):
        try:
            info = default_loader.get_locale(code).info
        except (KeyError, ValueError):
            continue
        for number, key in enumerate(_MONTH_KEYS, start=1):
            for name in info.get(key, []):
                if len(name) >= 3 and not re.search(r"\d|[月월]", name):
                    months.setdefault(name.lower().rstrip("."), number)
        for number, key in enumerate(_WEEKDAY_KEYS):
            for name in info.get(key, []):
                if len(name) >= 5:
                    weekdays.setdefault(name.lower(), number)
    months["sept"] = 9
    return months, weekdays


@lru_cache(maxsize=16)
def _patterns(
    language: str, joiner: str, lead: str
) -> tuple[re.Pattern[str], tuple[re.Pattern[str], ...]]:
    months, weekdays = calendar_words(language)
    names = sorted(months, key=len, reverse=True)
    safe = "|".join(re.escape(n) for n in names if n not in _AMBIGUOUS)
    capital = "|".join(re.escape(n.capitalize()) for n in names if n in _AMBIGUOUS)
    month = rf"(?:(?i:{safe})|{capital})\.?"
    day = r"\d{1,2}(?:st|nd|rd|th|er|º|°|\.)?"
    year = r"(?:19|20)\d{2}"
    weekday = "|".join(re.escape(n) for n in sorted(weekdays, key=len, reverse=True))
    east_asian = re.sub(r"\?P<\w>", "", _EAST_ASIAN)
    one = (
        rf"(?:{_NUMERIC}|{east_asian}"
        rf"|{day}\s*(?:de\s+|of\s+)?{month}(?:\s*(?:de\s+|,\s*)?{year})?"
        rf"|{month}\s+{day}(?!\d)(?:,?\s*{year})?"
        rf"|{month}(?:\s+(?:de\s+|of\s+)?{year})?"
        rf"|(?i:{weekday})|(?i:tomorrow|tonight|today))"
    )
    # word edges are Latin letters and digits: "は2016年9月1日から" holds a date
    # a day alone, one end of a range whose other end names the month: "May 5 – 19, 2031",
    # "5–19 May 2031", "12月12日から18日まで"
    bare = rf"\d{{1,2}}(?:st|nd|rd|th|er|\.)?(?:\s*[日일])?(?!\d)(?:,?\s*{year})?"
    single = re.compile(rf"(?<![{_EDGE}-])(?P<d>{one})(?![{_EDGE}])")
    head = rf"(?<![{_EDGE}-])(?i:(?:{lead})\s+(?:the\s+|le\s+|el\s+|o\s+|dia\s+)?)?"
    middle = rf"\s*(?i:{joiner})\s*(?:le\s+|el\s+|o\s+|dia\s+)?"
    pairs = tuple(
        re.compile(rf"{head}(?P<a>{a}){middle}(?P<b>{b})(?![{_EDGE}])")
        for a, b in ((one, one), (one, bare), (bare, one))
    )
    return single, pairs


@dataclass(frozen=True)
class Stated:
    """A date or a date range as written, with the words of its sentence just before it."""

    start: str | None
    end: str
    where: int
    lead: str
    is_range: bool


def stated_dates(words: str, vocab: Vocabulary) -> list[Stated]:
    single, pairs = _patterns(vocab.language, vocab.range_joiner, vocab.range_lead)
    found: list[Stated] = []
    taken: list[tuple[int, int]] = []
    for pair in pairs:
        for match in pair.finditer(words):
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            found.append(Stated(match.group("a"), match.group("b"), match.start(), "", True))
            taken.append(match.span())
    taken.sort()
    taken_index = 0
    for match in single.finditer(words):
        while taken_index < len(taken) and taken[taken_index][1] <= match.start():
            taken_index += 1
        if taken_index < len(taken) and taken[taken_index][0] <= match.start():
            continue
        found.append(Stated(None, match.group("d"), match.start(), "", False))
    found.sort(key=lambda s: s.where)
    with_lead: list[Stated] = []
    previous_end = 0
    for item in found:
        lead = words[max(previous_end, item.where - 60) : item.where]
        lead = re.split(r"[.!?。！]\s|\n|[.。]", lead)[-1]
        with_lead.append(replace(item, lead=lead))
        previous_end = item.where + len(item.end) + len(item.start or "")
    return with_lead


def windows(
    words: str, published: date | None, vocab: Vocabulary
) -> tuple[date | None, date | None, date | None]:
    """(travel_start, travel_end, book_by) from the dates a text states."""
    travel_start = travel_end = book_by = None
    for item in stated_dates(words, vocab):
        kind = _date_kind(item, words, vocab)
        if kind is None:
            continue
        start, end = _resolve_range(item, published, vocab.language)
        if end is None:
            continue
        if kind == "book" and book_by is None:
            book_by = end
        elif kind == "travel" and travel_end is None:
            if start is None and _whole_month(item, vocab):
                start = read_day(item.end, vocab.language, published, last=False)
            travel_start, travel_end = start, end
    return travel_start, travel_end, book_by


def _whole_month(item: Stated, vocab: Vocabulary) -> bool:
    """A month named alone, not as the end of "through March": the whole month."""
    parts = _parts(item.end.lower().strip(), vocab.language)
    return parts is not None and parts[2] is None and not vocab.until.search(item.lead)


def _date_kind(item: Stated, words: str, vocab: Vocabulary) -> str | None:
    """ "book" or "travel", from the nearest keyword before the date; a bare range is a travel
    window, a bare single date says nothing."""
    book = [m.end() for m in vocab.book.finditer(item.lead)]
    travel = [m.end() for m in vocab.travel.finditer(item.lead)]
    if book or travel:
        return "book" if max(book, default=-1) > max(travel, default=-1) else "travel"
    if item.is_range:
        return "travel"
    if vocab.until.search(item.lead):
        return "travel" if vocab.travel.search(item.lead) else None
    return None


def _resolve_range(
    item: Stated, published: date | None, language: str
) -> tuple[date | None, date | None]:
    end_text = item.end
    if item.start and not _has_month(end_text, language):
        end_text = _with_month_of(item.start, end_text, language)
    item = replace(item, end=end_text)
    end = read_day(item.end, language, published, last=True)
    if item.start is None:
        return None, end
    year = _year(item.end)
    start_text = item.start if _year(item.start) or year is None else f"{item.start} {year}"
    if year and not _year(item.start) and re.search(r"[月월]", item.start):
        start_text = f"{year}年{item.start}"
    if not _has_month(start_text, language) and _month_of(item.end, language):
        start_text = f"{start_text} {_month_of(item.end, language)}"
    base = published if year is None and end is None else (end or published)
    start = read_day(start_text, language, base, last=False, before=end)
    if start and end and start > end:
        start = start.replace(year=start.year - 1)
    return start, end


def _with_month_of(start: str, end: str, language: str) -> str:
    """``end``, a day alone, with the month (and year) of ``start``."""
    east = re.search(r"(?:\d{4}\s*[年년]\s*)?\d{1,2}\s*[月월]", start)
    if east:
        return f"{east.group(0)}{end}"
    month = _month_of(start, language)
    return f"{end} {month}" if month else end


def _year(written: str) -> int | None:
    match = re.search(r"(?<!\d)(?:19|20)\d{2}(?!\d)", written)
    return int(match.group(0)) if match else None


def _has_month(written: str, language: str) -> bool:
    return _month_number(written, language) is not None or bool(re.search(r"[月월/.]", written))


def _month_of(written: str, language: str) -> str | None:
    months, _ = calendar_words(language)
    number = _month_number(written, language)
    if number is None:
        return None
    return next(name for name, n in months.items() if n == number)


def _month_number(written: str, language: str) -> int | None:
    months, _ = calendar_words(language)
    for word in re.findall(r"[^\W\d_]+", written.lower()):
        if word.rstrip(".") in months:
            return months[word.rstrip(".")]
    return None


def read_day(
    written: str, language: str, base: date | None, *, last: bool, before: date | None = None
) -> date | None:
    """A written date as a day: the month's last (or first) day when no day is given; without a
    year, the first such day not long before ``base``; None when there is nothing to place it by.
    The one reader of written days: dates of every kind and language go through it."""
    lower = written.lower().strip()
    parts = _parts(lower, language)
    if parts is None:
        return _relative_day(lower, language, base) or _other_day(written, base)
    year, month, day = parts
    if year is None:
        if base is None:
            return None
        year = base.year
        candidate = _make_day(year, month, day, last)
        if candidate is not None and candidate < base - _GRACE and before is None:
            year += 1
    return _make_day(year, month, day, last)


def _parts(lower: str, language: str) -> tuple[int | None, int, int | None] | None:
    """(year, month, day) of a written date, by its digits and month name."""
    iso = re.fullmatch(r"((?:19|20)\d{2})[/.-](\d{1,2})[/.-](\d{1,2})", lower)
    if iso:
        return int(iso.group(1)), int(iso.group(2)), int(iso.group(3))
    numeric = re.fullmatch(r"(\d{1,2})[./](\d{1,2})[./]((?:19|20)\d{2})", lower)
    if numeric:
        first, second = int(numeric.group(1)), int(numeric.group(2))
        day, month = (second, first) if language == "en" and first <= 12 else (first, second)
        return int(numeric.group(3)), month, day
    east = re.search(_EAST_ASIAN, lower)
    if east and re.search(r"[月월]", lower):
        y, d = east.group("y"), east.group("d")
        return (int(y) if y else None), int(east.group("m")), (int(d) if d else None)
    named = _month_number(lower, language)
    if named is None:
        return None
    day_match = re.search(r"(?<!\d)(\d{1,2})(?!\d)", re.sub(r"(?:19|20)\d{2}", "", lower))
    return _year(lower), named, (int(day_match.group(1)) if day_match else None)


def _make_day(year: int, month: int, day: int | None, last: bool) -> date | None:
    try:
        if day is not None:
            return date(year, month, day)
        return date(year, month, calendar.monthrange(year, month)[1] if last else 1)
    except ValueError:
        return None


def _relative_day(word: str, language: str, base: date | None) -> date | None:
    _, weekdays = calendar_words(language)
    if base is None:
        return None
    if word == "tomorrow":
        return base + timedelta(days=1)
    if word in ("today", "tonight"):
        return base
    if word in weekdays:
        return base + timedelta(days=(weekdays[word] - base.weekday()) % 7)
    return None


def _other_day(written: str, base: date | None) -> date | None:
    """A day the patterns here do not take apart, read by the project's date reader."""
    from offers.dates import UnreadableDate
    from offers.dates import read_day as read_written_day

    try:
        return read_written_day(written, seen=base)
    except (UnreadableDate, ValueError):
        return None
