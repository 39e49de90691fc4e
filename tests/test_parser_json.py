"""JSON loading shared by the parsers: a depth limit, and no RecursionError out of any parser
however deep a hostile body nests."""

from __future__ import annotations

import contextlib

import pytest

from offers.errors import BlockedResponse, MalformedResponse
from scrapers.parsers import KINDS, MAX_JSON_DEPTH, ParseContext, json_object, json_value, parser

DEEP = b"[" * 200_000 + b"]" * 200_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_deep_nesting_is_malformed_not_a_recursion_error(body: bytes) -> None:
    with pytest.raises(MalformedResponse, match="nested deeper"):
        json_value(body)


def test_nesting_just_past_the_limit_is_refused() -> None:
    depth = MAX_JSON_DEPTH + 1
    with pytest.raises(MalformedResponse, match=f"deeper than {MAX_JSON_DEPTH}"):
        json_value(b"[" * depth + b"]" * depth)
    assert json_value(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)


def test_brackets_inside_strings_do_not_count() -> None:
    assert json_object(b'{"title": "' + b"[" * 5000 + b'"}')["title"] == "[" * 5000


def test_not_json_says_so() -> None:
    with pytest.raises(MalformedResponse, match="not JSON"):
        json_value(b"<html>")


@pytest.mark.parametrize("kind", KINDS)
def test_no_parser_lets_a_recursion_error_out(kind: str) -> None:
    from scrapers.parsers import options_model

    try:
        options = options_model(kind).model_validate(
            {"items": "deals", "fields": {"miles": "miles"}, "item": "li", "base_url": "http://x"}
            if kind in ("api", "page")
            else {}
        )
    except ValueError:
        options = None
    ctx = ParseContext(source="hostile", url="https://example.com/", options=options)
    for body in (DEEP, DEEP_OBJECT):
        with contextlib.suppress(MalformedResponse, BlockedResponse):
            list(parser(kind)(body, ctx))
