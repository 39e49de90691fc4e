"""The announcement reader and its HTML-to-text step stay linear on hostile posts: a megabyte
of text, pathological words and numbers, HTML nested thousands deep. The bounds are generous
(the machine may be loaded); the work they guard against took tens of seconds."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from offers.announcements import MAX_CHARS, read
from offers.announcements.html import plain_text

SLOW = 5.0  # seconds; a quadratic reader took 20 s and more on these


@pytest.fixture(scope="module", autouse=True)
def loaded() -> None:
    """Start-up (language model, place data) is not what these measure."""
    for words in ("Award sale: Paris to New York from 15,000 miles one-way.",
                  "Promoção de resgate: Lisboa para Nova Iorque a partir de 25 mil milhas.",
                  "東京発パリ行き特典航空券が片道1万5000マイルから。"):  # fmt: skip
        read("Award sale", words)


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


@pytest.mark.parametrize(
    "body",
    [
        "Award sale Paris to New York from 15,000 miles one-way, book by May 1 2027. " * 14000,
        ("A" + "a" * 20_000 + " ") * 50,
        "1" * 20_000 + " 2," * 300_000,
        "Lisboa Nova Iorque Tóquio para " * 35_000,
        "東京発パリ行き特典航空券1万5000マイル" * 50_000,
        "New York to " * 90_000,
    ],
    ids=["1MB of sale text", "20k-letter words", "bare numbers", "place names", "CJK", "routes"],
)
def test_a_megabyte_post_is_read_in_bounded_time(body: str) -> None:
    assert len(body) >= 600_000
    assert timed(lambda: read("Award sale", body)) < SLOW


def test_a_post_is_read_up_to_its_documented_length() -> None:
    head = "Award sale: Paris to New York from 15,000 miles one-way."
    found = read("Award sale", head + " filler" * MAX_CHARS + " Rome from 5,000 miles.")
    assert found.miles_min == 15000


def test_html_nested_thousands_deep_becomes_text_quickly() -> None:
    html = "<div>" * 8000 + "<p>Award sale</p>" + "</div>" * 8000
    elapsed = timed(lambda: plain_text(html))
    assert elapsed < SLOW
    assert plain_text(html) == "Award sale"


def test_html_to_text_keeps_one_line_per_block_and_drops_scripts() -> None:
    html = "<p>Dallas to Honolulu for 22,500 miles</p><ul><li>A &amp; B</li><li>C<br>D</li></ul>"
    assert plain_text(html + "tail<script>x()</script><!-- note -->") == (
        "Dallas to Honolulu for 22,500 miles\nA & B\nC\nD\ntail"
    )
