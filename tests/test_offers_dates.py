"""The date reader: every written form of a day or window reads back as exactly that window,
whatever the day it is read on."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offers.dates import UnreadableDate, read_day, read_window

SEEN = date(2030, 12, 1)

TABLE = [
    ("March 3 – 20, 2031", (date(2031, 3, 3), date(2031, 3, 20))),
    ("May 5 – 19, 2031", (date(2031, 5, 5), date(2031, 5, 19))),
    ("May 5-19, 2031", (date(2031, 5, 5), date(2031, 5, 19))),
    ("Apr 1 to 15 2031", (date(2031, 4, 1), date(2031, 4, 15))),
    ("5–19 May 2031", (date(2031, 5, 5), date(2031, 5, 19))),
    ("March 2031", (date(2031, 3, 1), date(2031, 3, 31))),
    ("February 2032", (date(2032, 2, 1), date(2032, 2, 29))),
    ("through June 30, 2031", (SEEN, date(2031, 6, 30))),
    ("until 31 May 2031", (SEEN, date(2031, 5, 31))),
    ("2031-05-05 – 2031-05-19", (date(2031, 5, 5), date(2031, 5, 19))),
    ("2031-05-05/2031-05-19", (date(2031, 5, 5), date(2031, 5, 19))),
    ("2031-05-05 to 2031-05-19", (date(2031, 5, 5), date(2031, 5, 19))),
    ("Dec 15 – Jan 10, 2031", (date(2030, 12, 15), date(2031, 1, 10))),
    ("15 Dec – 10 Jan 2031", (date(2030, 12, 15), date(2031, 1, 10))),
    ("from January 15 to March 31, 2027", (date(2027, 1, 15), date(2027, 3, 31))),
    ("travel from 15 January to 31 March 2027", (date(2027, 1, 15), date(2027, 3, 31))),
    ("May 5, 2031 – May 19, 2031", (date(2031, 5, 5), date(2031, 5, 19))),
    ("May 5 – June 19, 2031", (date(2031, 5, 5), date(2031, 6, 19))),
    ("March – May 2031", (date(2031, 3, 1), date(2031, 5, 31))),
    ("between May 5 and May 19, 2031", (date(2031, 5, 5), date(2031, 5, 19))),
    ("Tue, May 5th – Thu, May 19th, 2031", (date(2031, 5, 5), date(2031, 5, 19))),
    ("15.05.2031 - 19.05.2031", (date(2031, 5, 15), date(2031, 5, 19))),
    ("Travel dates may vary: June 1 – 10, 2031", (date(2031, 6, 1), date(2031, 6, 10))),
    ("2031-05-05T10:00:00Z", (date(2031, 5, 5), date(2031, 5, 5))),
    ("Jan 5", (date(2031, 1, 5), date(2031, 1, 5))),
    ("Dec 1", (date(2030, 12, 1), date(2030, 12, 1))),
    ("Nov 30", (date(2031, 11, 30), date(2031, 11, 30))),
    ("Nov 20 – Dec 10", (date(2030, 11, 20), date(2030, 12, 10))),
    ("Feb 29", (date(2032, 2, 29), date(2032, 2, 29))),
    ("from June 1, 2031", (date(2031, 6, 1), None)),
    ("du 5 au 19 mai 2031", (date(2031, 5, 5), date(2031, 5, 19))),
    ("du 1er au 15 juin 2031", (date(2031, 6, 1), date(2031, 6, 15))),
    ("jusqu'au 30 juin 2031", (SEEN, date(2031, 6, 30))),
    ("vom 5. bis 19. Mai 2031", (date(2031, 5, 5), date(2031, 5, 19))),
    ("15. Januar bis 31. März 2027", (date(2027, 1, 15), date(2027, 3, 31))),
    ("del 5 al 19 de mayo de 2031", (date(2031, 5, 5), date(2031, 5, 19))),
    ("de 5 a 19 de maio de 2031", (date(2031, 5, 5), date(2031, 5, 19))),
    ("dal 5 al 19 maggio 2031", (date(2031, 5, 5), date(2031, 5, 19))),
    ("5 t/m 19 mei 2031", (date(2031, 5, 5), date(2031, 5, 19))),
    ("od 5 do 19 maja 2031", (date(2031, 5, 5), date(2031, 5, 19))),
    ("с 5 по 19 мая 2031", (date(2031, 5, 5), date(2031, 5, 19))),
    ("2031年5月5日～5月19日", (date(2031, 5, 5), date(2031, 5, 19))),
    ("2031年5月5日至19日", (date(2031, 5, 5), date(2031, 5, 19))),
    ("2031년 5월 5일 ~ 5월 19일", (date(2031, 5, 5), date(2031, 5, 19))),
    ("5月19日まで", (SEEN, date(2031, 5, 19))),
]


@pytest.mark.parametrize(("text", "window"), TABLE)
def test_written_windows(text: str, window: tuple[date, date | None]) -> None:
    assert read_window(text, seen=SEEN) == window


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("soonish", "unparseable date"),
        ("5 – 19", "no month"),
        ("Feb 30, 2031", "no such day"),
        ("May 32, 2031", "no such day"),
        ("0 May 2031", "no such day"),
        ("2031-02-30", "no such day"),
        ("0000-05-19", "no such day"),
        ("x" * 5000, "unparseable date 'xxx"),
        ("2031-05-19 – 2031-05-05", "ends before it starts"),
    ],
)
def test_unreadable_dates_say_why(text: str, reason: str) -> None:
    with pytest.raises(UnreadableDate, match=reason):
        read_window(text, seen=SEEN)


def test_one_day() -> None:
    assert read_day("2031-05-19", seen=SEEN) == date(2031, 5, 19)
    assert read_day("Book by December 31, 2030", seen=SEEN) == date(2030, 12, 31)
    assert read_day("June 2031", seen=SEEN) == date(2031, 6, 1)
    assert read_day("June 2031", seen=SEEN, last=True) == date(2031, 6, 30)
    assert read_day("through June 30", seen=SEEN) == date(2031, 6, 30)
    with pytest.raises(UnreadableDate, match="a range"):
        read_day("May 5 – 19, 2031", seen=SEEN)


def test_words_without_a_date_go_to_dateparser() -> None:
    assert read_day("tomorrow", seen=SEEN) == date(2030, 12, 2)


def test_loading_the_config_does_not_load_dateparser() -> None:
    code = "import sys, settings.config, offers.model; print('dateparser' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


# -- property tests: render a window in each form, read it back on many days -------------------

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
SHORT = [m[:3] for m in MONTHS]
FRENCH = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre"]  # fmt: skip
GERMAN = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
          "Oktober", "November", "Dezember"]  # fmt: skip
SPANISH = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"]  # fmt: skip

Render = Callable[[date, date, list[str]], str]


def _m(day: date, names: list[str]) -> str:
    return names[day.month - 1]


#: Forms for any window within one year's span; each gets the month names to use.
CROSS_MONTH: dict[str, Render] = {
    "Mon D – Mon D, YYYY": lambda a, b, n: f"{_m(a, n)} {a.day} – {_m(b, n)} {b.day}, {b.year}",
    "Mon D, YYYY – Mon D, YYYY": lambda a, b, n: (
        f"{_m(a, n)} {a.day}, {a.year} – {_m(b, n)} {b.day}, {b.year}"
    ),
    "D Mon – D Mon YYYY": lambda a, b, n: f"{a.day} {_m(a, n)} – {b.day} {_m(b, n)} {b.year}",
    "from D Mon to D Mon YYYY": lambda a, b, n: (
        f"from {a.day} {_m(a, n)} to {b.day} {_m(b, n)} {b.year}"
    ),
    "from Mon D to Mon D, YYYY": lambda a, b, n: (
        f"from {_m(a, n)} {a.day} to {_m(b, n)} {b.day}, {b.year}"
    ),
    "ISO – ISO": lambda a, b, n: f"{a.isoformat()} – {b.isoformat()}",
    "ISO/ISO": lambda a, b, n: f"{a.isoformat()}/{b.isoformat()}",
    "ISO to ISO": lambda a, b, n: f"{a.isoformat()} to {b.isoformat()}",
}
#: Forms for a window inside one month.
SAME_MONTH: dict[str, Render] = {
    "Mon D – D, YYYY": lambda a, b, n: f"{_m(a, n)} {a.day} – {b.day}, {b.year}",
    "Mon D-D YYYY": lambda a, b, n: f"{_m(a, n)} {a.day}-{b.day} {b.year}",
    "Mon D to D YYYY": lambda a, b, n: f"{_m(a, n)} {a.day} to {b.day} {b.year}",
    "D–D Mon YYYY": lambda a, b, n: f"{a.day}–{b.day} {_m(a, n)} {b.year}",
}
#: The same in other languages, each with its month names.
FOREIGN: dict[str, tuple[Render, list[str]]] = {
    "fr": (lambda a, b, n: f"du {a.day} {_m(a, n)} au {b.day} {_m(b, n)} {b.year}", FRENCH),
    "de": (lambda a, b, n: f"{a.day}. {_m(a, n)} bis {b.day}. {_m(b, n)} {b.year}", GERMAN),
    "es": (lambda a, b, n: f"del {a.day} de {_m(a, n)} al {b.day} de {_m(b, n)} de {b.year}",
           SPANISH),
    "ja": (lambda a, b, n: f"{a.year}年{a.month}月{a.day}日～"
           + (f"{b.year}年" if b.year != a.year else "") + f"{b.month}月{b.day}日", MONTHS),
}  # fmt: skip

#: Days of the year to read on: "today" frozen at each (results must not depend on it).
seen_days = st.builds(
    date,
    st.integers(2028, 2033),
    st.sampled_from([1, 2, 3, 5, 6, 8, 11, 12]),
    st.sampled_from([1, 15, 28]),
)


@st.composite
def windows(draw: st.DrawFn, same_month: bool = False) -> tuple[date, date]:
    start = draw(st.dates(date(2026, 1, 1), date(2036, 12, 31)))
    if same_month:
        month_end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return start, start + timedelta(days=draw(st.integers(0, (month_end - start).days - 1)))
    return start, start + timedelta(days=draw(st.integers(0, 330)))


names = st.sampled_from([MONTHS, SHORT])


@settings(max_examples=300, deadline=None)
@given(windows(), seen_days, st.sampled_from(sorted(CROSS_MONTH)), names)
def test_any_window_reads_back_in_every_form(
    window: tuple[date, date], seen: date, form: str, months: list[str]
) -> None:
    text = CROSS_MONTH[form](*window, months)
    assert read_window(text, seen=seen) == window, text


@settings(max_examples=200, deadline=None)
@given(windows(same_month=True), seen_days, st.sampled_from(sorted(SAME_MONTH)), names)
def test_windows_in_one_month_read_back(
    window: tuple[date, date], seen: date, form: str, months: list[str]
) -> None:
    text = SAME_MONTH[form](*window, months)
    assert read_window(text, seen=seen) == window, text


@settings(max_examples=200, deadline=None)
@given(windows(), seen_days, st.sampled_from(sorted(FOREIGN)))
def test_windows_in_other_languages_read_back(
    window: tuple[date, date], seen: date, language: str
) -> None:
    render, months = FOREIGN[language]
    text = render(*window, months)
    assert read_window(text, seen=seen) == window, text


@settings(max_examples=200, deadline=None)
@given(seen_days, st.integers(0, 364), st.integers(0, 200), names)
def test_a_missing_year_is_the_next_occurrence(
    seen: date, ahead: int, length: int, months: list[str]
) -> None:
    end = seen + timedelta(days=ahead)
    start = end - timedelta(days=min(length, 330))
    text = f"{_m(start, months)} {start.day} – {_m(end, months)} {end.day}"
    assert read_window(text, seen=seen) == (start, end), text
    assert read_day(f"{_m(end, months)} {end.day}", seen=seen) == end


@settings(max_examples=100, deadline=None)
@given(st.dates(date(2026, 1, 1), date(2036, 12, 1)), seen_days)
def test_a_whole_month_is_all_its_days(day: date, seen: date) -> None:
    first = day.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    assert read_window(f"{MONTHS[day.month - 1]} {day.year}", seen=seen) == (first, last)


@settings(max_examples=100, deadline=None)
@given(seen_days, st.integers(0, 700), st.sampled_from(["through", "until", "thru"]))
def test_through_a_day_starts_on_the_day_seen(seen: date, ahead: int, word: str) -> None:
    end = seen + timedelta(days=ahead)
    text = f"{word} {MONTHS[end.month - 1]} {end.day}, {end.year}"
    assert read_window(text, seen=seen) == (seen, end)


def test_the_readme_table_of_dates_holds() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    rows = re.findall(r"^\| `([^`]+)` \| (\d{4}-\d\d-\d\d) – (\d{4}-\d\d-\d\d) \|$", readme, re.M)
    assert len(rows) >= 10
    for written, start, end in rows:
        window = read_window(written, seen=SEEN)
        assert (str(window.start), str(window.end)) == (start, end), written


@settings(max_examples=100, deadline=None)
@given(seen_days, st.integers(0, 364), st.integers(0, 60))
def test_offers_read_windows_on_the_day_they_were_seen(seen: date, ahead: int, length: int) -> None:
    from datetime import datetime

    from offers.model import make_offer

    end = seen + timedelta(days=ahead)
    start = end - timedelta(days=length)
    travel = f"{MONTHS[start.month - 1]} {start.day} – {MONTHS[end.month - 1]} {end.day}"
    raw = {"source": "s", "program": "delta", "miles": 1, "travel": travel,
           "seen_at": datetime(seen.year, seen.month, seen.day, 12)}  # fmt: skip
    offer = make_offer(raw)
    assert (offer.travel_start, offer.travel_end) == (start, end), travel
