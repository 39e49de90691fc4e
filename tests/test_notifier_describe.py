"""The text of one alert: only what is known, in words a reader trusts."""

from __future__ import annotations

from typing import Any

import pytest

from notifiers.base import describe
from offers.model import Event, make_offer


def text(kind: str = "new", previous: int | None = None, **fields: Any) -> str:
    raw = {"source": "s", "program": "united", "miles": 30000, **fields}
    raw = {k: v for k, v in raw.items() if v is not None}
    return describe(
        Event(id=1, kind=kind, offer=make_offer(raw), rules=[], previous_miles=previous)
    )


def test_a_full_offer() -> None:
    message = text(origin="JFK", destination="LHR", cabin="business", miles=45000,
                   travel="March 3 – 20, 2031", book_by="2031-02-28", airline="United",
                   url="https://united.com/deal")  # fmt: skip
    assert message.splitlines() == [
        "New: United MileagePlus",
        "JFK → LHR · 45,000 miles",
        "United · Business · 2031-03-03 – 2031-03-20",
        "Book by 2031-02-28",
    ]


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ({"origin": "Boston", "destination": "Madrid"}, "Boston → Madrid · 30,000 miles"),
        ({"destination": "Rome"}, "To Rome from anywhere · 30,000 miles"),
        ({"origin": "Atlanta"}, "From Atlanta to anywhere · 30,000 miles"),
        ({"title": "A sale"}, "30,000 miles"),
        (
            {"destination": "Rome", "discount_pct": 30, "miles": None},
            "To Rome from anywhere · 30% off",
        ),
        (
            {"destination": "Rome", "discount_pct": 30},
            "To Rome from anywhere · 30,000 miles · 30% off",
        ),
        (
            {"destination": "Rome", "trip": "round-trip"},
            "To Rome from anywhere · 30,000 miles round-trip",
        ),
    ],
)
def test_routes_and_prices_without_placeholders(fields: dict[str, Any], line: str) -> None:
    message = text(**fields)
    assert message.splitlines()[1] == line
    assert "?" not in message and "…" not in message


@pytest.mark.parametrize(
    ("travel", "shown"),
    [
        ("March 3 – 20, 2031", "2031-03-03 – 2031-03-20"),
        ("May 5 – June 19, 2031", "2031-05-05 – 2031-06-19"),
        ("Dec 15 – Jan 10, 2031", "2030-12-15 – 2031-01-10"),
        ("2031-05-05", "2031-05-05"),
    ],
)
def test_travel_windows_as_read(travel: str, shown: str) -> None:
    assert shown in text(destination="Rome", travel=travel).splitlines()[2]


def test_an_open_window_says_until_or_from() -> None:
    assert "until 2031-05-31" in text(destination="Rome", travel_end="2031-05-31")
    assert "from 2031-06-01" in text(destination="Rome", travel_start="2031-06-01")


def test_the_airline_comes_from_the_program_when_the_source_does_not_say() -> None:
    assert text(program="AAdvantage", destination="Rome").splitlines()[2] == "American Airlines"
    assert text(program="krisflyer", airline="Scoot").splitlines()[2] == "Scoot"


def test_cheaper_shows_the_old_price() -> None:
    line = text("cheaper", 45000, origin="JFK", destination="LHR", miles=39000).splitlines()[1]
    assert line == "JFK → LHR · 39,000 miles (was 45,000)"
    line = text("cheaper", 45000, destination="LHR", miles=39000, discount_pct=30).splitlines()[1]
    assert line == "To LHR from anywhere · 39,000 miles (was 45,000) · 30% off"


def test_only_absolute_links_are_offered() -> None:
    def link(label: str, url: str) -> str:
        return f"{label}: {url}"

    absolute = make_offer(
        {"source": "s", "program": "united", "miles": 1, "url": "https://x.test/a"}
    )
    relative = make_offer({"source": "s", "program": "united", "miles": 1, "url": "/posts/a"})
    assert "Book: https://x.test/a" in describe(Event(1, "new", absolute, []), link=link)
    assert "Book" not in describe(Event(1, "new", relative, []), link=link)
