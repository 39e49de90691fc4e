"""A page described in config.toml: one selector for each offer, one per field.

Selectors are CSS by default (``.miles::text``, ``a::attr(href)``) or XPath when written
``xpath:...``. A selector without ``::text``/``::attr`` takes the element's whole text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

from parsel import Selector, SelectorList
from pydantic import BaseModel, ConfigDict, Field, field_validator

from offers.model import Offer
from scrapers.parsers import MalformedResponse, ParseContext, Parsed, Rejected

#: Field names a selector may fill: the offer's own, plus ``travel`` (a date range in words).
FIELDS = frozenset(Offer.model_fields) - {"source", "seen_at"} | {"travel"}


def known_fields(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` when every key is an offer field a source may fill, else a ValueError."""
    unknown = sorted(set(value) - FIELDS)
    if unknown:
        raise ValueError(f"unknown offer field {unknown[0]!r}; fields: {', '.join(sorted(FIELDS))}")
    return value


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(description="selector matching each offer on the page")
    fields: dict[str, str] = Field(description="offer field -> selector, relative to the item")
    constants: dict[str, Any] = Field(default_factory=dict, description="fixed field values")
    sold_out: str | None = Field(default=None, description="selector present in sold-out items")
    next_page: str | None = Field(default=None, description="selector of the next page's link")
    max_pages: int = Field(default=10, ge=1)
    wait_for: str | None = Field(default=None, description="browser: selector to wait for")

    @field_validator("fields", "constants")
    @classmethod
    def _known(cls, value: dict[str, Any]) -> dict[str, Any]:
        return known_fields(value)

    @field_validator("item", "next_page", "sold_out", "wait_for")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        if value:
            select(Selector(text="<html></html>"), value)
        return value


def select(node: Selector, query: str) -> SelectorList[Selector]:
    """Apply a ``css:``/``xpath:`` (default css) selector; a bad selector raises ValueError."""
    kind, sep, expression = query.partition(":")
    try:
        if sep and kind == "xpath":
            return node.xpath(expression)
        if sep and kind == "css":
            return node.css(expression)
        return node.css(query)
    except Exception as exc:  # parsel raises several types for a bad expression
        raise ValueError(f"bad selector {query!r}: {exc}") from None


def _value(item: Selector, query: str) -> str | None:
    found = select(item, query)
    if not found:
        return None
    if "::text" in query or "::attr" in query or "/@" in query or "text()" in query:
        parts = [v.strip() for v in found.getall() if v and v.strip()]
        return " ".join(parts) or None
    text = " ".join(" ".join(found[0].xpath("string(.)").getall()).split())
    return text or None


def _document(body: bytes, ctx: ParseContext) -> Selector:
    if not body.strip():
        raise MalformedResponse("empty page")
    try:
        # always HTML: parsel would read a JSON body as JSON, where CSS selectors do not apply
        return Selector(text=body.decode("utf-8", errors="replace"), type="html", base_url=ctx.url)
    except Exception as exc:
        raise MalformedResponse(f"not an HTML page: {exc}") from None


def _shown(item: Selector) -> str:
    """The start of an item's text, to say which row was rejected."""
    text = " ".join(" ".join(item.xpath("string(.)").getall()).split())
    return text[:80]


def parse(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    options: Options = ctx.options
    document = _document(body, ctx)
    items = select(document, options.item)
    if not items:
        # a changed layout, a login or error page, or not a page at all: never "no offers"
        raise MalformedResponse(f"the item selector {options.item!r} matches nothing on the page")
    for item in items:
        if options.sold_out and select(item, options.sold_out):
            yield Rejected("sold out", _shown(item))
            continue
        raw: dict[str, Any] = {"program": ctx.program, **options.constants}
        for field, query in options.fields.items():
            raw[field] = _value(item, query)
        if raw.get("url"):
            raw["url"] = urljoin(ctx.url, raw["url"])
        if not any(raw.get(f) for f in options.fields):
            yield Rejected("empty row", _shown(item))
            continue
        yield raw


def next_pages(body: bytes, ctx: ParseContext) -> list[str]:
    """Absolute URLs of the following pages, from the ``next_page`` selector."""
    options: Options = ctx.options
    if not options.next_page:
        return []
    document = _document(body, ctx)
    links = [v for v in select(document, options.next_page).getall() if v and v.strip()]
    return [urljoin(ctx.url, link.strip()) for link in links]
