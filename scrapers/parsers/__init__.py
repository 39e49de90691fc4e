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
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict

from awardwatch.errors import BlockedResponse, MalformedResponse

__all__ = [
    "KINDS",
    "BlockedResponse",
    "MalformedResponse",
    "NoOptions",
    "ParseContext",
    "Parsed",
    "Rejected",
    "options_model",
    "parser",
]


@dataclass(frozen=True)
class Rejected:
    """A row the parser found but could not read, with the reason."""

    reason: str


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


Parser = Callable[[bytes, ParseContext], Iterator[Parsed]]


def _kinds() -> tuple[str, ...]:
    package = importlib.import_module(__name__)
    return tuple(sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")))


KINDS: tuple[str, ...] = _kinds()


@lru_cache(maxsize=None)
def module(kind: str) -> ModuleType:
    if kind not in KINDS:
        raise KeyError(kind)
    return importlib.import_module(f"{__name__}.{kind}")


def options_model(kind: str) -> type[BaseModel]:
    return getattr(module(kind), "Options", NoOptions)


def parser(kind: str) -> Parser:
    return module(kind).parse  # type: ignore[no-any-return]
