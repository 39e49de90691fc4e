"""offers.announcements: which posts are award sales, and the terms read from them."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from offers.announcements import figures, read

CASES = yaml.safe_load(
    (Path(__file__).parent / "data" / "announcements.yaml").read_text(encoding="utf-8")
)


def value(found: Any) -> Any:
    if isinstance(found, tuple):
        return sorted(v.lower() for v in found)
    return found


def wanted(expected: Any) -> Any:
    if isinstance(expected, list):
        return sorted(str(v).lower() for v in expected)
    return expected


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_reads_post(case: dict[str, Any]) -> None:
    found = read(case["title"], case["text"], case.get("published"), case.get("link"))
    for name, expected in case["expect"].items():
        assert value(getattr(found, name)) == wanted(expected), name


@pytest.mark.parametrize(
    ("words", "miles"),
    [
        ("from 12,500 miles", 12500),
        ("from 12.5K miles", 12500),
        ("dès 12 500 miles", 12500),
        ("a partir de 12,5 mil milhas", 12500),
        ("ab 20.000 Meilen", 20000),
        ("from 7,500 Avios", 7500),
        ("5,000-mile awards", 5000),
        ("17,500 AAdvantage miles", 17500),
    ],
)
def test_miles_figures(words: str, miles: int) -> None:
    assert [f.miles for f in figures(words, award_context=True)] == [miles]


def test_bare_figures_count_only_in_award_posts() -> None:
    assert [
        f.miles for f in figures("Europe for 30,000, Caribbean for 16,000", award_context=True)
    ] == [30000, 16000]
    assert figures("Europe for 30,000, Caribbean for 16,000", award_context=False) == []


def test_several_sales_in_one_post() -> None:
    found = read(
        "American Airlines award sale",
        "Dallas to Honolulu for 22,500 miles\nChicago to Paris for 30,000 miles\n"
        "Miami to Lima for 17,500 miles\nAll one-way in economy.",
        date(2025, 11, 20),
    )
    routes = {(s.origins, s.destinations, s.miles, s.trip) for s in found.sales}
    assert routes == {
        (("Dallas",), ("Honolulu",), 22500, "one-way"),
        (("Chicago",), ("Paris",), 30000, "one-way"),
        (("Miami",), ("Lima",), 17500, "one-way"),
    }
    assert found.miles_min == 17500


def test_one_sale_per_route_at_its_lowest_price() -> None:
    found = read(
        "Delta award sale",
        "Europe for 30,000 miles round-trip, Caribbean for 16,000 miles. "
        "Europe from 28,000 miles in July.",
        date(2026, 3, 1),
    )
    assert sorted((s.destinations, s.miles) for s in found.sales) == [
        (("Caribbean",), 16000),
        (("Europe",), 28000),
    ]
