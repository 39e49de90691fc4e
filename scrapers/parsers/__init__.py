"""Pure parsers: a response body in, raw offers out. No engine, no network.

Each source kind is one module here, named after the kind, with:

- ``Options``: a pydantic model of the kind's own settings (``[sources.options]``);
- ``parse(body: bytes, ctx: ParseContext) -> Iterator[dict | Rejected]``: raw offers (keys are
  :class:`offers.model.Offer` fields; values may still be loose text) and, for rows that
  cannot be read, :class:`Rejected` with the reason. A body that is not the expected format
  raises :class:`MalformedResponse`; a block or challenge page raises :class:`BlockedResponse`.

The same function runs in a crawl, in ``scheduler.py parse`` and in unit tests.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from offers.errors import BlockedResponse, MalformedResponse

__all__ = [
    "KINDS",
    "BlockedResponse",
    "MalformedResponse",
    "NoOptions",
    "ParseContext",
    "Parsed",
    "Rejected",
    "SiteOptions",
    "each",
    "json_object",
    "json_value",
    "options_model",
    "parser",
]


@dataclass(frozen=True)
class Rejected:
    """A row the parser found but could not read, with the reason; ``item`` says which row
    (a post's title or link, the start of a row's text) for ``scheduler.py parse --rejected``.
    Crawls count rejections by reason alone."""

    reason: str
    item: str = field(default="", compare=False)


Parsed = dict[str, Any] | Rejected


@dataclass(frozen=True)
class ParseContext:
    """What a parser may know besides the body: where it came from and the source's settings."""

    source: str
    url: str = ""
    program: str | None = None
    options: Any = None
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: int = 200


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SiteOptions(BaseModel):
    """What every source reading an airline's own site takes: where the site is (the real one
    by default; tests point it at 127.0.0.1) and how long to wait for the page's data."""

    model_config = ConfigDict(extra="forbid")

    base_url: str
    capture_timeout: float = Field(default=30, gt=0, description="seconds to wait for the search")


#: Deepest nesting of arrays and objects a JSON body may have. Real answers nest a dozen
#: levels; a hostile ``[[[…]]]`` would otherwise end in RecursionError.
MAX_JSON_DEPTH = 100


class NotJSON(MalformedResponse, ValueError):
    """The body is not JSON"""


def json_value(body: bytes) -> Any:
    """The body as JSON nested at most MAX_JSON_DEPTH deep, or MalformedResponse saying why it
    is not. Python's parser stops at its recursion limit; the depth is then checked without
    recursion."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise NotJSON(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (UnicodeDecodeError, ValueError):
        raise NotJSON("not JSON") from None
    if json_depth(data) > MAX_JSON_DEPTH:
        raise NotJSON(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return data


def json_depth(data: Any) -> int:
    """How deep arrays and objects nest in a parsed JSON value (a scalar is 0)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or MalformedResponse saying why it is not one."""
    data = json_value(body)
    if not isinstance(data, dict):
        raise MalformedResponse("not a JSON object")
    return data


Parser = Callable[[bytes, ParseContext], Iterator[Parsed]]


def _kinds() -> tuple[str, ...]:
    package = importlib.import_module(__name__)
    names = (m.name for m in pkgutil.iter_modules(package.__path__))
    return tuple(sorted(name for name in names if not name.startswith("_")))


KINDS: tuple[str, ...] = _kinds()


@cache
def module(kind: str) -> ModuleType:
    if kind not in KINDS:
        raise KeyError(kind)
    return importlib.import_module(f"{__name__}.{kind}")


def options_model(kind: str) -> type[BaseModel]:
    return getattr(module(kind), "Options", NoOptions)


#: What reading a record of an unexpected shape raises: a value of another type than the
#: format promises, a key or index that is not there.
#: RecursionError: a structure nested past what a recursive reader can follow.
SHAPE_ERRORS = (
    AttributeError, TypeError, KeyError, IndexError, ValueError, OverflowError, RecursionError,
)  # fmt: skip


def each(records: Iterable[Any], read: Callable[[Any], Iterable[Parsed]]) -> Iterator[Parsed]:
    """``read`` every record; a record of an unexpected shape becomes a Rejected row with the
    reason, and the records after it are still read."""
    for record in records:
        try:
            yield from list(read(record))
        except (MalformedResponse, BlockedResponse):
            raise
        except SHAPE_ERRORS as exc:
            yield Rejected(f"unreadable record: {type(exc).__name__}")


def guarded(parse: Parser) -> Parser:
    """The parser, with any error of an unexpected body shape turned into MalformedResponse:
    a parser never lets a traceback out, and the offers it read before the error are kept."""

    def run(body: bytes, ctx: ParseContext) -> Iterator[Parsed]:
        try:
            yield from parse(body, ctx)
        except (MalformedResponse, BlockedResponse):
            raise
        except SHAPE_ERRORS as exc:
            raise MalformedResponse(f"unreadable response: {type(exc).__name__}: {exc}") from None

    return run


def parser(kind: str) -> Parser:
    return guarded(module(kind).parse)
