"""``scheduler.py parse``: one source run on a saved response, offline.

The body takes the road of a crawl up to the database: the kind's parser, the offer pipeline
(normalized, validated offers), the filter of config.toml and one offer per identity. Links are
made absolute against ``--base-url``, by default the source's first URL, as a crawl makes them
absolute against the response's URL. What prints is what a run would store; with
``--rejected`` each rejected row or post is printed too, with its reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from offers.errors import (
    AwardwatchError,
    BlockedResponse,
    ConfigError,
    InvalidOffer,
    MalformedResponse,
    UnknownSourceError,
)
from offers.model import Offer, make_offer
from offers.rules import evaluate
from scrapers.parsers import KINDS, ParseContext, Rejected, parser
from settings.config import Config, SourceConfig


def resolve_source(name: str, config: Config | None) -> SourceConfig:
    """A configured source by name, or a bare source kind with default options."""
    if config is not None:
        for source in config.sources:
            if source.name == name:
                return source
    if name in KINDS:
        try:
            return SourceConfig(name=name, kind=name)
        except ValidationError as exc:
            raise ConfigError(
                f"source kind {name!r} needs settings from a [[sources]] entry in the config: "
                f"{exc.errors()[0]['msg']}"
            ) from None
    configured = ", ".join(s.name for s in config.sources) if config else "no config file"
    raise UnknownSourceError(
        f"{name!r} is neither a configured source ({configured}) nor a source kind "
        f"({', '.join(KINDS)})"
    )


@dataclass
class Tally:
    """What a parse found, for the closing line on stderr."""

    offers: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        reasons = ", ".join(f"{reason}: {n}" for reason, n in self.rejected.most_common())
        return f"{self.offers} offers, {self.rejected.total()} rejected" + (
            f" ({reasons})" if reasons else ""
        )


def _which(raw: dict[str, Any]) -> str:
    """A few words that say which row a raw offer was."""
    for name in ("title", "url"):
        if raw.get(name):
            return str(raw[name])[:80]
    route = f"{raw.get('origin') or '?'} → {raw.get('destination') or '?'}"
    return route if route != "? → ?" else ""


def _rejection(reason: str, item: str) -> dict[str, Any]:
    return {"rejected": reason, "item": item} if item else {"rejected": reason}


def _read(path: Path) -> tuple[bytes, datetime]:
    try:
        return path.read_bytes(), datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError as exc:
        raise AwardwatchError(f"cannot read {path}: {exc.strerror}") from None


def _offers(
    source: SourceConfig, body: bytes, ctx: ParseContext, tally: Tally
) -> Iterator[Offer | dict[str, Any]]:
    """The parser and the offer pipeline, as in a crawl: offers and rejections in page order."""
    for result in parser(source.kind)(body, ctx):
        if isinstance(result, Rejected):
            tally.rejected[result.reason] += 1
            yield _rejection(result.reason, result.item)
            continue
        raw = {**result, "source": source.name, "seen_at": ctx.fetched_at}
        try:
            yield make_offer(raw)
        except InvalidOffer as exc:
            tally.rejected[str(exc)] += 1
            yield _rejection(str(exc), _which(raw))


def _price(offer: Offer) -> tuple[bool, int]:
    return (offer.miles is None, offer.miles or 0)


def parse_file(
    name: str,
    path: Path,
    config: Config | None,
    *,
    show_rejected: bool = False,
    base_url: str | None = None,
    tally: Tally | None = None,
) -> Iterator[dict[str, Any]]:
    """The records a run of source ``name`` would store from the saved body at ``path``
    (and, with ``show_rejected``, one record per rejected row)."""
    source = resolve_source(name, config)
    body, fetched = _read(path)
    tally = tally if tally is not None else Tally()
    ctx = ParseContext(
        source=source.name,
        url=base_url or (source.urls[0] if source.urls else ""),
        program=source.program,
        options=source.opts,
        fetched_at=fetched,
    )
    rules = config.rules if config is not None else []
    found: list[Offer | dict[str, Any]] = []
    try:
        found = list(_offers(source, body, ctx, tally))
    except BlockedResponse as exc:
        raise AwardwatchError(f"{path}: the site blocked this request: {exc}") from None
    except MalformedResponse as exc:
        raise AwardwatchError(f"{path}: {exc}") from None
    # one offer per identity, the cheapest, as a run keeps
    cheapest: dict[str, Offer] = {}
    for offer in found:
        if isinstance(offer, Offer):
            held = cheapest.get(offer.key)
            if held is None or _price(offer) < _price(held):
                cheapest[offer.key] = offer
    for offer in found:
        if not isinstance(offer, Offer):
            if show_rejected:
                yield offer
            continue
        if cheapest.get(offer.key) is not offer:
            continue
        verdict = evaluate(rules, offer, fetched.date())
        if verdict.passed:
            tally.offers += 1
            yield offer.record()
            continue
        reason = f"filter: {verdict.reason or 'rejected'}"
        tally.rejected[reason] += 1
        if show_rejected:
            yield _rejection(reason, _which(offer.record()))
