"""``scheduler.py parse``: a source's parser on a saved response, offline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from awardwatch.config import Config, SourceConfig
from awardwatch.errors import (
    AwardwatchError,
    BlockedResponse,
    ConfigError,
    InvalidOffer,
    MalformedResponse,
    UnknownSourceError,
)
from offers.model import make_offer
from scrapers.parsers import KINDS, ParseContext, Rejected, parser


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


def parse_file(
    name: str, path: Path, config: Config | None, *, show_rejected: bool = False
) -> Iterator[dict[str, Any]]:
    source = resolve_source(name, config)
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise AwardwatchError(f"cannot read {path}: {exc.strerror}") from None
    fetched = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    ctx = ParseContext(
        source=source.name,
        url=path.resolve().as_uri(),
        program=source.program,
        options=source.opts,
        fetched_at=fetched,
    )
    try:
        if source.kind == "feed":
            from scrapers.parsers.feed import announcements

            yield from announcements(body, fetched)
            return
        for result in parser(source.kind)(body, ctx):
            if isinstance(result, Rejected):
                if show_rejected:
                    yield {"rejected": result.reason}
                continue
            try:
                offer = make_offer({**result, "source": source.name, "seen_at": fetched})
            except InvalidOffer as exc:
                if show_rejected:
                    yield {"rejected": str(exc)}
                continue
            yield offer.record()
    except BlockedResponse as exc:
        raise AwardwatchError(f"{path}: the site blocked this request: {exc}") from None
    except MalformedResponse as exc:
        raise AwardwatchError(f"{path}: {exc}") from None
