"""A JSON API described in config.toml: a dotted path to the list of offers, one per field.

Paths are dotted keys with list indexes as numbers (``data.deals``, ``route.0.from``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

from pydantic import BaseModel, ConfigDict, Field, field_validator

from scrapers.parsers import MalformedResponse, ParseContext, Parsed, Rejected, json_value
from scrapers.parsers.page import known_fields


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: str = Field(default="", description="dotted path to the list of offers ('' = top)")
    fields: dict[str, str] = Field(description="offer field -> dotted path within an item")
    constants: dict[str, Any] = Field(default_factory=dict)
    sold_out: str | None = Field(default=None, description="path of a flag true when sold out")

    @field_validator("fields", "constants")
    @classmethod
    def _known(cls, value: dict[str, Any]) -> dict[str, Any]:
        return known_fields(value)


def dig(data: Any, path: str) -> Any:
    """The value at a dotted path, or None where the path does not exist."""
    for part in [p for p in path.split(".") if p]:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def parse(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
    options: Options = ctx.options
    try:
        document = json_value(body)
    except ValueError as exc:
        raise MalformedResponse(f"not JSON: {exc}") from None
    items = dig(document, options.items)
    if not isinstance(items, list):
        raise MalformedResponse(f"no list of offers at {options.items or 'the top level'!r}")
    for item in items:
        if not isinstance(item, dict):
            yield Rejected("not an object")
            continue
        if options.sold_out and dig(item, options.sold_out):
            yield Rejected("sold out")
            continue
        raw = {"program": ctx.program, **options.constants}
        for field, path in options.fields.items():
            value = dig(item, path)
            raw[field] = value if not isinstance(value, dict | list) else None
        if isinstance(raw.get("url"), str):
            raw["url"] = urljoin(ctx.url, raw["url"])
        yield raw
