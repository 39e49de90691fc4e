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


API_BODY = b"""{"result": {"deals": [
  {"route": {"from": "JFK", "stops": ["LHR", "CDG"]}, "deal-info": {"miles": 30000},
   "fares": [{"cabin": "economy"}, {"cabin": "business"}]},
  {"route": {"from": "BOS", "stops": []}, "deal-info": {"miles": 90000}, "fares": []}
]}}"""

#: (items path, field path, the field's value in each offer): JMESPath, and the dotted paths
#: of earlier configs read the same way.
API_PATHS = [
    ("result.deals", "route.from", ["JFK", "BOS"]),
    ("result.deals", 'route."from"', ["JFK", "BOS"]),
    ("result.deals", "route.stops[0]", ["LHR", None]),
    ("result.deals", "route.stops.0", ["LHR", None]),
    ("result.deals", "fares[?cabin=='business'].cabin | [0]", ["business", None]),
    ("result.deals", '"deal-info".miles', [30000, 90000]),
    ("result.deals", "deal-info.miles", [30000, 90000]),
    ("result.deals", "route", [None, None]),  # an object is no field value
    ("result.deals", "nowhere", [None, None]),
    ("result.deals[?\"deal-info\".miles < `50000`]", "route.from", ["JFK"]),
]  # fmt: skip


@pytest.mark.parametrize(("items", "path", "expected"), API_PATHS)
def test_api_paths_are_jmespath(items: str, path: str, expected: list[object]) -> None:
    options = api.Options(items=items, fields={"origin": path})
    ctx = ParseContext(source="deals", url="http://x/", options=options)
    assert [row["origin"] for row in api.parse(API_BODY, ctx)] == expected  # type: ignore[index]


def test_the_whole_document_as_the_list_of_offers() -> None:
    ctx = ParseContext(source="d", url="http://x/", options=api.Options(fields={"miles": "m"}))
    assert [row["miles"] for row in api.parse(b'[{"m": 1}, {"m": 2}]', ctx)] == [1, 2]  # type: ignore[index]


@pytest.mark.parametrize(("path", "reason"), [
    ("route..from", "'route..from' is not a JMESPath expression (Expecting"),
    ("deals[", "'deals[' is not a JMESPath expression (Invalid jmespath expression at column 6)"),
    ("a | | b", "'a | | b' is not a JMESPath expression (invalid token at column 4)"),
    ("lenght(route)", "'lenght(route)': Unknown function: lenght()"),
    ("length(a, b)", "'length(a, b)': Expected 1 argument for function length(), received 2"),
])  # fmt: skip
def test_a_bad_api_path_is_refused_at_load_naming_it(path: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        api.Options(fields={"origin": path})
    assert reason in str(caught.value)


def test_a_function_given_the_wrong_type_is_a_missing_value() -> None:
    ctx = ParseContext(source="d", url="http://x/",
                       options=api.Options(fields={"miles": "length(m)"}))  # fmt: skip
    assert [row["miles"] for row in api.parse(b'[{"m": "abc"}, {"m": 5}]', ctx)] == [3, None]  # type: ignore[index]


def test_selectors_are_checked_at_load(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="bad selector"):
        page.Options(item="li[[", fields={"miles": ".m"})
