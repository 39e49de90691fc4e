"""A JSON API described in config.toml: a JMESPath expression for the list of offers, and one
for each field within an offer, evaluated by parsel's JSON selectors.

The dotted paths of earlier configs are still read: ``route.0.from`` means ``route[0].from``,
and a key that is not a JMESPath identifier (``deal-info.miles``) is quoted for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import jmespath
from jmespath.exceptions import ArityError, JMESPathError, ParseError, UnknownFunctionError
from parsel import Selector
from pydantic import BaseModel, ConfigDict, Field, field_validator

from scrapers.parsers import MalformedResponse, ParseContext, Parsed, Rejected, json_value
from scrapers.parsers.page import known_fields

#: A path of the dotted syntax before JMESPath: keys and list indexes joined by dots.
_DOTTED = re.compile(r"[^.\[\]{}()|&!@*`'\",:?<>=\s]+(\.[^.\[\]{}()|&!@*`'\",:?<>=\s]+)*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def jmespath_expression(path: str) -> str:
    """``path`` as a JMESPath expression ('' is the whole document), dotted paths translated;
    ValueError naming the path when it is neither."""
    path = path.strip() or "@"
    try:
        _check(path)
        return path
    except ParseError as exc:
        if not _DOTTED.fullmatch(path):
            raise ValueError(
                f"{path!r} is not a JMESPath expression ({exc.msg} at column {exc.lex_position})"
            ) from None
    return "".join(_dotted_part(part, first=not i) for i, part in enumerate(path.split(".")))


def _check(expression: str) -> None:
    """ParseError for bad syntax; ValueError for an unknown function or a wrong number of
    arguments, which JMESPath finds only when it evaluates the expression."""
    compiled = jmespath.compile(expression)
    try:
        compiled.search({})
    except (UnknownFunctionError, ArityError) as exc:
        raise ValueError(f"{expression!r}: {exc}") from None
    except JMESPathError:
        pass  # a type error on an empty document says nothing of a real one


def _dotted_part(part: str, *, first: bool) -> str:
    if part.isdigit():
        return f"[{part}]"
    name = part if _IDENTIFIER.fullmatch(part) else json.dumps(part)
    return name if first else f".{name}"


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: str = Field(default="@", description="JMESPath of the list of offers ('' = top)")
    fields: dict[str, str] = Field(description="offer field -> JMESPath within an item")
    constants: dict[str, Any] = Field(default_factory=dict)
    sold_out: str | None = Field(default=None, description="JMESPath of a flag true when sold out")

    @field_validator("fields", "constants")
    @classmethod
    def _known(cls, value: dict[str, Any]) -> dict[str, Any]:
        return known_fields(value)

    @field_validator("items", "sold_out")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else jmespath_expression(value)

    @field_validator("fields")
    @classmethod
    def _paths(cls, value: dict[str, str]) -> dict[str, str]:
        return {field: jmespath_expression(path) for field, path in value.items()}


def value(item: Selector, path: str) -> Any:
    """The one plain value (text, number, flag) at ``path`` in an item, else None."""
    try:
        found = item.jmespath(path)
    except JMESPathError:  # a function given a value of the wrong type, in this item
        return None
    if len(found) != 1 or isinstance(found[0].root, dict | list):
        return None
    return found[0].root


def parse(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    options: Options = ctx.options
    try:
        document = Selector(root=json_value(body), type="json")
    except ValueError as exc:
        raise MalformedResponse(f"not JSON: {exc}") from None
    try:
        if document.jmespath(f"type({options.items})").get() != "array":
            raise MalformedResponse(f"no list of offers at {options.items!r}")
        items = document.jmespath(options.items)
    except JMESPathError as exc:
        raise MalformedResponse(f"no list of offers at {options.items!r}: {exc}") from None
    for item in items:
        if not isinstance(item.root, dict):
            yield Rejected("not an object")
            continue
        if options.sold_out and value(item, options.sold_out):
            yield Rejected("sold out")
            continue
        raw = {"program": ctx.program, **options.constants}
        for field, path in options.fields.items():
            raw[field] = value(item, path)
        if isinstance(raw.get("url"), str):
            raw["url"] = urljoin(ctx.url, raw["url"])
        yield raw
