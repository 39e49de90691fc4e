"""Loose text to values: miles, money, cabins and dates as pages and posts write them."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from offers.text import parse_cabin, parse_day, parse_day_range, parse_miles, parse_money


@pytest.mark.parametrize(
    ("text", "miles"),
    [
        ("12,500", 12500),
        ("1,234,567", 1234567),
        ("007", 7),
        ("123456789012345", 123456789012345),
        ("12,34", 12),
        ("from 12.5K miles", 12500),
        ("12,5 mil", 12500),
        ("7500", 7500),
        ("from 7,500 Avios", 7500),
        ("22.5K miles", 22500),
        ("1.234.567", 1234567),
        ("-5,000 miles", -5000),
        ("call for price", None),
        (45000, 45000),
    ],
)
def test_miles(text: str | int, miles: int | None) -> None:
    assert parse_miles(text) == miles


@pytest.mark.parametrize(
    ("text", "amount"), [("$5.60", 5.6), ("5,60 EUR", 5.6), ("1,234.50", 1234.5), ("45", 45.0)]
)
def test_money(text: str, amount: float) -> None:
    assert parse_money(text) == amount


@pytest.mark.parametrize(
    ("text", "cabin"),
    [("Business Class", "business"), ("COACH", "economy"), ("Main Cabin", "economy"),
     ("Delta One", "business"), ("PREMIUM_ECONOMY", "premium_economy"), ("First", "first")],
)  # fmt: skip
def test_cabin(text: str, cabin: str) -> None:
    assert parse_cabin(text) == cabin


def test_unknown_cabin_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown cabin"):
        parse_cabin("Steerage")


def test_dates_in_words() -> None:
    assert parse_day("Book by December 31, 2030") == date(2030, 12, 31)
    assert parse_day("5 mars 2031") == date(2031, 3, 5)
    assert parse_day_range("Jan 10 – Mar 15, 2031") == (date(2031, 1, 10), date(2031, 3, 15))
    assert parse_day_range("February 1 to April 30 2031") == (date(2031, 2, 1), date(2031, 4, 30))


def test_relative_dates_use_the_fetch_date() -> None:
    fetched = datetime(2030, 11, 20)
    assert parse_day("Dec 31", relative_to=fetched) == date(2030, 12, 31)


def test_unparseable_date_is_an_error() -> None:
    with pytest.raises(ValueError, match="unparseable date"):
        parse_day("soonish")
