"""Reading days and travel windows out of the words pages and posts write.

One reader for every source: ``March 3 – 20, 2031``, ``5–19 May 2031``, ``Dec 15 – Jan 10,
2031``, ``2031-05-05/2031-05-19``, ``March 2031`` (the whole month), ``through June 30`` (from
the day seen), ``from 15 January to 31 March 2027``, ``du 5 au 19 mai 2031``,
``2031年5月5日～19日``. The text becomes a row of typed pieces (year, month, day, a whole date,
a separator); each end of a range takes the pieces next to its separator and borrows what it
lacks from the other end. A missing year is the next occurrence on or after the day the text
was seen, never a guess from the current month.

Month names in English are built in; other languages' names come from dateparser's language
data, loaded on first need. dateparser itself reads only what has no day, month or year in it
(``tomorrow``, ``next Friday``).
"""

from __future__ import annotations

import calendar
import re
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import NamedTuple


class UnreadableDate(ValueError):
    """The text holds no date that can be read"""


class Window(NamedTuple):
    start: date | None
    end: date | None


@dataclass(frozen=True)
class _Piece:
    kind: str  # "y", "m", "d", "full", "sep", "until", "from", "between", "and"
    value: int | date | str = 0


_ENGLISH_MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}  # fmt: skip

#: Words between the two ends of a range, in the languages awardwatch's sources use. Before
#: any date they mean "until" ("through June 30", "bis 30. Juni").
_SEPARATOR_WORDS = frozenset([
    "to", "till", "til", "until", "through", "thru", "au", "à", "bis", "al", "a", "ao", "até",
    "ate", "hasta", "fino", "tot", "tom", "do", "до", "по", "至", "到", "から", "~", "부터", "ile"
])  # fmt: skip
#: Words after a date that make it the last day ("5月19日まで").
_UNTIL_AFTER = frozenset([
    "まで", "까지", "迄"
])  # fmt: skip
_FROM_WORDS = frozenset([
    "from", "starting", "beginning", "since", "du", "dès", "des", "vom", "von", "ab", "desde",
    "del", "dal", "dalla", "od", "от", "с", "van"
])  # fmt: skip
_BETWEEN_WORDS = frozenset([
    "between", "entre", "zwischen", "tra", "fra", "mellan", "tussen", "между"
])  # fmt: skip
_AND_WORDS = frozenset([
    "and", "et", "und", "y", "e", "och", "en", "и"
])  # fmt: skip
#: English words common around dates: never looked up as another language's month names.
_ENGLISH_WORDS = frozenset([
    "the", "of", "on", "in", "for", "travel", "travelling", "traveling", "dates", "date",
    "valid", "book", "booking", "by", "departures", "departing", "depart", "flights", "flight",
    "fly", "flying", "outbound", "return", "returning", "sale", "ends", "offer", "between",
    "and", "st", "nd", "rd", "th", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "monday",
    "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "tues", "thur", "thurs",
    "noon", "midnight", "am", "pm", "utc", "gmt", "est", "pst", "et", "pt"
])  # fmt: skip

_TOKENS = re.compile(
    r"(?P<iso>(?<!\d)(?P<iy>\d{4})[-/.](?P<im>\d{1,2})[-/.](?P<id>\d{1,2})(?!\d)"
    r"(?:[t ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?)"
    r"|(?P<num>(?<!\d)(?P<na>\d{1,2})(?P<ns>[./-])(?P<nb>\d{1,2})(?P=ns)(?P<ny>\d{4})(?!\d))"
    r"|(?P<dm>(?<!\d)(?P<dmd>\d{1,2})\.(?P<dmm>\d{1,2})\.(?!\d))"
    r"|(?P<time>(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\b\.?)?)"
    r"|(?P<cy>(?<!\d)\d{4})\s*[年년]"
    r"|(?P<cm>(?<!\d)\d{1,2})\s*[月월]"
    r"|(?P<cd>(?<!\d)\d{1,2})\s*[日일号號]"
    r"|(?P<year>(?<!\d)(?:19|20)\d{2}(?!\d))"
    r"|(?P<day>(?<!\d)\d{1,2})(?!\d)(?:st|nd|rd|th|er|e|º|°|\.)?"
    r"|(?P<word>[^\W\d_]+)"
    r"|(?P<sep>\.\.|[-–—‒−~～〜/…])"
)


def _normal(text: str) -> str:
    """Case folded, odd spaces made plain."""
    return text.casefold().replace("\u00a0", " ").replace("\u202f", " ")


def _pieces(text: str) -> list[_Piece]:
    pieces: list[_Piece] = []
    unknown: list[tuple[int, str]] = []
    english: list[str] = []
    for match in _TOKENS.finditer(_normal(text)):
        piece = _piece(match)
        if piece is None:
            continue
        if piece.kind == "word":
            unknown.append((len(pieces), str(piece.value)))
        elif piece.kind == "m" and match.lastgroup == "word":
            english.append(match[0])
        pieces.append(piece)
    if unknown:
        months = _foreign_months(sorted({w for _, w in unknown}), english)
        for index, word in unknown:
            if word in months:
                pieces[index] = _Piece("m", months[word])
    for index, piece in enumerate(pieces):
        # "May 32" is no day; a number far from any month name ("50% off") is no date at all
        beside = pieces[max(index - 1, 0) : index + 2]
        if piece.kind == "bad" and any(p.kind == "m" for p in beside):
            raise UnreadableDate(f"no such day: {piece.value} in {_shown(text)}")
    return [p for p in pieces if p.kind not in ("word", "bad")]


def _shown(text: str) -> str:
    """The text for an error message, cut short."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _piece(match: re.Match[str]) -> _Piece | None:
    group = match.lastgroup
    if group == "iso":
        return _Piece("full", _day(int(match["iy"]), int(match["im"]), int(match["id"])))
    if group == "num":
        return _Piece("full", _numeric(match))
    if group == "dm":
        return _Piece("dm", f"{match['dmd']}.{match['dmm']}")
    if group in ("cy", "year"):
        return _Piece("y", int(match[group]))
    if group == "cm":
        return _Piece("m", int(match["cm"]))
    if group in ("cd", "day"):
        day = int(match[group])
        return _Piece("d", day) if 1 <= day <= 31 else _Piece("bad", day)
    if group == "sep":
        return _Piece("sep", match[group])
    if group == "word":
        return _word(match[group])
    return None  # a time of day


def _word(word: str) -> _Piece | None:
    if word in _ENGLISH_MONTHS:
        return _Piece("m", _ENGLISH_MONTHS[word])
    if word in _SEPARATOR_WORDS:
        return _Piece("sep", word)
    if word in _UNTIL_AFTER:
        return _Piece("until", word)
    if word in _FROM_WORDS:
        return _Piece("from", word)
    if word in _BETWEEN_WORDS:
        return _Piece("between", word)
    if word in _AND_WORDS:
        return _Piece("and", word)
    if word in _ENGLISH_WORDS or len(word) < 3 and word.isascii():
        return None
    return _Piece("word", word)


def _numeric(match: re.Match[str]) -> date:
    """``19.05.2031`` is day first; ``05/19/2031`` month first unless the first is no month."""
    first, second, year = int(match["na"]), int(match["nb"]), int(match["ny"])
    day_first = match["ns"] == "." or first > 12
    if day_first:
        return _day(year, second, first)
    return _day(year, first, second)


def _day(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise UnreadableDate(f"no such day: {year}-{month:02d}-{day:02d}") from None


# -- other languages ---------------------------------------------------------------------------

_MONTH_KEYS = ("january", "february", "march", "april", "may", "june", "july", "august",
               "september", "october", "november", "december")  # fmt: skip
#: Languages whose short month names are trusted; others count only with names of 5 letters or
#: more, so an everyday word of one language is not read as a month of another.
_MAIN_LANGUAGES = frozenset([
    "en", "fr", "es", "pt", "de", "it", "nl", "pl", "ru", "uk", "tr", "cs", "sk", "sv", "da",
    "nb", "nn", "fi", "ro", "hu", "ca", "id", "ms", "vi", "ja", "zh", "ko", "el", "ar", "he",
    "th", "hr", "sl", "sr", "bg", "lt", "lv", "et", "is", "ga"
])  # fmt: skip


@lru_cache(maxsize=1)
def _month_names() -> tuple[tuple[str, dict[str, int]], ...]:
    """Each language dateparser knows, with its month names, in dateparser's order of use."""
    import importlib

    from dateparser.data.languages_info import language_order

    languages: list[tuple[str, dict[str, int]]] = []
    for language in language_order:
        try:
            info = importlib.import_module(f"dateparser.data.date_translation_data.{language}")
        except ImportError:
            continue
        names: dict[str, int] = {}
        for number, key in enumerate(_MONTH_KEYS, start=1):
            for name in info.info.get(key, []):
                word = name.casefold().rstrip(".")
                trusted = language in _MAIN_LANGUAGES or len(word) >= 5 or not word.isascii()
                roman = re.fullmatch(r"[ivxlc]+", word)
                if word and trusted and not roman and re.fullmatch(r"[^\W\d_]+", word):
                    names.setdefault(word, number)
        languages.append((language, names))
    return tuple(languages)


def _foreign_months(unknown: list[str], english: list[str]) -> dict[str, int]:
    """The month names among the ``unknown`` words, in the language that names most of the
    month-like words of the text; English when no other language names more than it does."""
    best: dict[str, int] = {}
    best_count = len(english)
    for _, names in _month_names():
        found = {w: names[w] for w in unknown if w in names}
        count = len(found) + sum(1 for w in english if w in names)
        if found and count > best_count:
            best, best_count = found, count
    return best


# -- from pieces to a window -------------------------------------------------------------------


@dataclass
class _End:
    year: int | None = None
    month: int | None = None
    day: int | None = None

    def empty(self) -> bool:
        return self.year is None and self.month is None and self.day is None


_DATE_KINDS = frozenset({"y", "m", "d", "full", "dm"})


def _end(pieces: list[_Piece]) -> _End:
    """One end of a range from the pieces nearest its separator: a kind seen twice stops it."""
    end = _End()
    for piece in pieces:
        if piece.kind == "full":
            assert isinstance(piece.value, date)
            if not end.empty():
                break
            return _End(piece.value.year, piece.value.month, piece.value.day)
        if piece.kind == "dm":
            if end.day is not None or end.month is not None:
                break
            day, month = str(piece.value).split(".")
            end.day, end.month = int(day), int(month)
            continue
        field = {"y": "year", "m": "month", "d": "day"}.get(piece.kind)
        if field is None:
            if not end.empty():
                break
            continue
        if getattr(end, field) is not None:
            break
        setattr(end, field, piece.value)
    return end


def _is_date(piece: _Piece) -> bool:
    return piece.kind in _DATE_KINDS


def _split(pieces: list[_Piece]) -> tuple[list[_Piece], list[_Piece]] | None:
    """The pieces before and after the separator of a range, or None for a single date."""
    between = any(p.kind == "between" for p in pieces)
    for index, piece in enumerate(pieces):
        is_sep = piece.kind == "sep" or (between and piece.kind == "and")
        if not is_sep:
            continue
        before, after = pieces[:index], pieces[index + 1 :]
        if any(map(_is_date, before)) and any(map(_is_date, after)):
            rest = next((i for i, p in enumerate(after) if p.kind in ("sep", "and")), len(after))
            return before, after[:rest]
    return None


def read_window(text: str, *, seen: date | datetime | None = None) -> Window:
    """The (start, end) of the window ``text`` states, read on the day ``seen`` (today when
    not given). A single day is a window of one day; a month is all its days; ``through D`` runs
    from the day seen; ``from D`` has no end. Raises UnreadableDate."""
    return _read(text, _as_day(seen))[0]


def read_day(text: str, *, seen: date | datetime | None = None, last: bool = False) -> date:
    """The one day ``text`` names: the day of ``through D`` or ``from D``; the first day of a
    month written alone (its last with ``last``). Raises UnreadableDate for a range."""
    (start, end), kind = _read(text, _as_day(seen))
    if kind == "range":
        raise UnreadableDate(f"a range, not one day: {_shown(text)}")
    if kind == "from" or (kind == "span" and not last):
        assert start is not None
        return start
    assert end is not None
    return end


#: A day written as ISO ``2031-05-19``, the way most structured sources give it.
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _read(text: str, seen: date) -> tuple[Window, str]:
    """The window and how it was written: "range", "span" (a day, month or year alone),
    "until" or "from"."""
    found = _read_written(text, seen)
    if found is None:
        day = _natural(text, seen)
        return Window(day, day), "span"
    return found


@lru_cache(maxsize=4096)
def _read_written(text: str, seen: date) -> tuple[Window, str] | None:
    """``_read`` of text with a day, month or year in it; None for words only dateparser
    reads. Cached: a source repeats the same few dates over its offers."""
    if _ISO_DAY.fullmatch(text):  # what the reading below makes of it, without the reading
        day = _day(int(text[:4]), int(text[5:7]), int(text[8:]))
        return Window(day, day), "span"
    pieces = _pieces(text)
    if not any(map(_is_date, pieces)):
        return None
    split = _split(pieces)
    if split is not None:
        before, after = split
        return _range(_end(list(reversed(before))), _end(after), seen, text), "range"
    first = next(i for i, p in enumerate(pieces) if _is_date(p))
    single = _end(pieces[first:])
    lead, trail = pieces[:first], pieces[first:]
    start = _resolve(single, seen, text)
    end = _last_day(start, single)
    if (lead and lead[-1].kind == "sep") or any(p.kind == "until" for p in trail):
        return Window(min(seen, end), end), "until"
    if (lead and lead[-1].kind == "from") or trail[-1].kind == "sep":
        return Window(start, None), "from"
    return Window(start, end), "span"


def _as_day(seen: date | datetime | None) -> date:
    if seen is None:
        return date.today()
    return seen.date() if isinstance(seen, datetime) else seen


def _range(first: _End, last: _End, seen: date, text: str) -> Window:
    """Each end borrows the month and year it lacks from the other; a start after its end is
    in the year before (``Dec 15 – Jan 10, 2031``)."""
    if first.month is None and first.day is not None:
        first.month = last.month
    if last.month is None and last.day is not None:
        last.month = first.month
    if last.year is None and first.year is not None:
        last.year = first.year
        if (last.month or 12, last.day or 31) < (first.month or 1, first.day or 1):
            last.year += 1
    end = _last_day(_resolve(last, seen, text), last)
    if first.year is None:
        first.year = end.year
        if (first.month or 1, first.day or 1) > (end.month, end.day):
            first.year -= 1
    start = _resolve(first, seen, text)
    if start > end:
        raise UnreadableDate(f"window ends before it starts: {_shown(text)}")
    return Window(start, end)


def _resolve(end: _End, seen: date, text: str) -> date:
    """An end as a day, its first day when the text named none. A missing year is the first
    year from ``seen``'s in which the day (or the whole month) is not over by ``seen``."""
    if end.month is None:
        if end.year is not None and end.day is None:
            return date(end.year, 1, 1)
        raise UnreadableDate(f"no month in {_shown(text)}")
    if end.year is not None:
        return _day(end.year, end.month, end.day or 1)
    for year in range(seen.year, seen.year + 9):
        days = calendar.monthrange(year, end.month)[1]
        if (end.day or 1) <= days and date(year, end.month, end.day or days) >= seen:
            return date(year, end.month, end.day or 1)
    raise UnreadableDate(f"no such day: {_shown(text)}")


def _last_day(day: date, end: _End) -> date:
    """``day`` itself, or the last day of its month (or year) when the text named no day."""
    if end.day is not None:
        return day
    if end.month is None:
        return date(day.year, 12, 31)
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


#: Longer text without a day, month or year in it is not a date written in words.
_NATURAL_LENGTH = 100


class SlowDate(Exception):  # noqa: N818 - a signal to the caller, not a failure
    """The date needs the slow reader (dateparser): read it where waiting is harmless"""


_FAST_ONLY: ContextVar[bool] = ContextVar("fast_only", default=False)


class fast_only:  # noqa: N801 - used as a function: ``with fast_only():``
    """Within, text only dateparser could read raises SlowDate instead: an event loop reads
    the common forms itself and hands the rest to a worker thread. (A class, not a generator:
    a spider enters it for every row.)"""

    def __enter__(self) -> None:
        self._token = _FAST_ONLY.set(True)

    def __exit__(self, *exc: object) -> None:
        _FAST_ONLY.reset(self._token)


def _natural(text: str, seen: date) -> date:
    """Words with no day, month or year in them ("tomorrow", "next Friday"), via dateparser."""
    if _FAST_ONLY.get():
        raise SlowDate(text)
    import dateparser
    from dateparser.search import search_dates

    settings = {
        "RELATIVE_BASE": datetime(seen.year, seen.month, seen.day),
        "PREFER_DATES_FROM": "future",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    stripped = text.strip()
    if not stripped or len(stripped) > _NATURAL_LENGTH:
        raise UnreadableDate(f"unparseable date {_shown(text)}")
    parsed = dateparser.parse(stripped, settings=settings)  # type: ignore[arg-type]
    if parsed is None:
        found = search_dates(stripped, settings=settings)  # type: ignore[arg-type]
        parsed = found[0][1] if found else None
    if parsed is None:
        raise UnreadableDate(f"unparseable date {_shown(text)}")
    return parsed.date()
