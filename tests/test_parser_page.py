"""The selector-described page and JSON API parsers, on saved responses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from scrapy.http import HtmlResponse

from offers.errors import MalformedResponse
from scrapers.parsers import ParseContext, Rejected, api, page
from settings.config import load

SITES = ROOT / "fixtures" / "sites"
DEMO = load(ROOT / "fixtures" / "demo.toml", check_env=False)


def context(name: str, url: str) -> ParseContext:
    source = DEMO.source(name)
    return ParseContext(source=name, url=url, program=source.program, options=source.opts)


def saved(name: str) -> HtmlResponse:
    url = f"http://127.0.0.1:8765/{name}"
    return HtmlResponse(url=url, body=(SITES / name).read_bytes(), encoding="utf-8")


def test_page_rows_and_rejections() -> None:
    response = saved("promotions.html")
    results = list(page.parse(response.body, context("skydeals", response.url)))
    rows = [r for r in results if not isinstance(r, Rejected)]
    assert [r["origin"] for r in rows] == ["JFK", "BOS"]
    assert [r.reason for r in results if isinstance(r, Rejected)] == ["sold out"]
    first: dict[str, Any] = rows[0]
    assert first["miles"] == "from 45,000 miles" and first["cabin"] == "Business Class"
    assert first["book_by"] == "Book by December 31, 2030"
    assert first["url"] == "http://127.0.0.1:8765/book/jfk-lhr"
    assert first["promo"] is True and first["currency"] == "USD"


def test_next_page_links_are_absolute() -> None:
    response = saved("promotions.html")
    assert page.next_pages(response.body, context("skydeals", response.url)) == [
        "http://127.0.0.1:8765/promotions-2.html"
    ]


def test_empty_page_is_malformed() -> None:
    with pytest.raises(MalformedResponse, match="empty page"):
        list(page.parse(b"  ", context("skydeals", "http://x/")))


def test_api_rows_and_rejections() -> None:
    body = (SITES / "api" / "deals.json").read_bytes()
    results = list(api.parse(body, context("aa-deals-api", "http://127.0.0.1:8765/api/deals.json")))
    assert [r.reason for r in results if isinstance(r, Rejected)] == ["sold out", "not an object"]
    rows = [r for r in results if not isinstance(r, Rejected)]
    assert [(r["origin"], r["miles"], r["promo"]) for r in rows] == [
        ("DFW", "57,500", True),
        ("MIA", "15,000", False),
        ("CLT", "not available", None),
    ]


@pytest.mark.parametrize("body", [b"{not json", b'{"data": {}}'])
def test_api_malformed_body(body: bytes) -> None:
    with pytest.raises(MalformedResponse):
        list(api.parse(body, context("aa-deals-api", "http://x/")))


def test_selectors_are_checked_at_load(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="bad selector"):
        page.Options(item="li[[", fields={"miles": ".m"})
