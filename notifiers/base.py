"""What every notifier shares: options checked at start, messages split at offer boundaries,
secrets masked, and a ``send`` that reports how it went instead of raising."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from awardwatch.config import NotifierConfig
from awardwatch.errors import ConfigError
from offers.model import PROGRAMS
from storage.offers import Event

CABIN_NAMES = {
    "economy": "Economy",
    "premium_economy": "Premium Economy",
    "business": "Business",
    "first": "First",
}
KIND_NAMES = {"new": "New", "cheaper": "Cheaper", "back": "Back"}


@dataclass(frozen=True)
class Delivery:
    """How one send went. ``retry``: try again later (after ``retry_after`` seconds if set);
    ``failed``: this message will never go through; ``gone``: the recipient is gone for good."""

    status: Literal["sent", "retry", "failed", "gone"]
    detail: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "sent"


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Notifier:
    """Base class of notifier plugins. Subclasses set the class attributes and ``send``."""

    #: The plugin's type name, as written in ``[[notifiers]] type = ...``.
    type_name: ClassVar[str] = ""
    #: Longest message the service takes, in characters.
    max_length: ClassVar[int] = 4000
    #: Most messages a second to the service overall, and the least seconds between two
    #: messages to one chat; None where the service sets no limit.
    rate_per_second: ClassVar[float | None] = None
    chat_interval: ClassVar[float] = 0.0
    #: Offers in one message before they are folded into a digest.
    digest_after: ClassVar[int] = 5
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, config: NotifierConfig) -> None:
        self.name = config.name
        self.config = config
        extra = dict(config.model_extra or {})
        try:
            self.options: Any = self.Options.model_validate(extra)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(
                f"notifier {config.name!r} ({self.type_name}): {where}: "
                f"{first['msg'].removeprefix('Value error, ')}"
            ) from None

    def recipients(self, event: Event) -> list[str]:
        """The chats this notifier sends ``event`` to ("" for a single fixed destination)."""
        return [""]

    async def start(self) -> None:
        """Open connections; called once before the first send."""

    async def close(self) -> None:
        """Release connections."""

    async def send(self, chat: str, events: Sequence[Event]) -> Delivery:
        """Deliver ``events`` to ``chat`` as one or more messages. Never raises."""
        raise NotImplementedError

    def secrets(self) -> list[str]:
        """Values that must never appear in a log line or an error."""
        return []

    def mask(self, text: str) -> str:
        for value in self.secrets():
            if value:
                text = text.replace(value, "***")
        return text

    # -- rendering shared by the text-based notifiers --------------------------------------

    def escape(self, text: str) -> str:
        """Make scraped text safe for the service's markup (plain text: unchanged)."""
        return text

    def link(self, label: str, url: str) -> str:
        return f"{label}: {url}"

    def render_offer(self, event: Event) -> str:
        return describe(event, escape=self.escape, link=self.link)

    def render(self, events: Sequence[Event]) -> list[str]:
        """The messages for ``events``: one block per offer, a digest heading when there are
        many, split at offer boundaries so no message exceeds ``max_length``."""
        blocks = [self.render_offer(e) for e in events]
        if len(events) > self.digest_after:
            blocks.insert(0, self.escape(f"{len(events)} award offers"))
        return split_messages(blocks, self.max_length)


def describe(event: Event, *, escape: Any = lambda s: s, link: Any = None) -> str:
    """One offer in a few lines of text."""
    offer = event.offer
    head = f"{KIND_NAMES.get(event.kind, event.kind)}: {PROGRAMS.get(offer.program, offer.program)}"
    route = f"{offer.origin or '?'} → {offer.destination or '?'}"
    price = f"{offer.miles:,} miles" if offer.miles else f"{offer.discount_pct:g}% off"
    if offer.trip == "round-trip" and offer.miles:
        price += " round-trip"
    if event.kind == "cheaper" and event.previous_miles:
        price += f" (was {event.previous_miles:,})"
    details = [CABIN_NAMES.get(offer.cabin or "", "")]
    if offer.depart_date:
        details.append(offer.depart_date.isoformat())
    elif offer.travel_start or offer.travel_end:
        details.append(f"{offer.travel_start or '…'} – {offer.travel_end or '…'}")
    if offer.taxes is not None:
        details.append(f"+{offer.taxes:.2f} {offer.currency or ''}".strip())
    lines = [escape(head), escape(f"{route} · {price}")]
    line = " · ".join(d for d in details if d)
    if line:
        lines.append(escape(line))
    if offer.title:
        lines.append(escape(offer.title))
    if offer.promo_reason:
        lines.append(escape(f"Why: {offer.promo_reason}"))
    if offer.book_by:
        lines.append(escape(f"Book by {offer.book_by.isoformat()}"))
    if offer.url and link:
        lines.append(link("Book", offer.url))
    return "\n".join(lines)


def split_messages(blocks: Sequence[str], limit: int, separator: str = "\n\n") -> list[str]:
    """Join blocks into messages of at most ``limit`` characters, breaking between blocks;
    a block longer than the limit on its own is cut at line, then word, boundaries."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in _cut(block, limit):
            candidate = f"{current}{separator}{piece}" if current else piece
            if len(candidate) <= limit:
                current = candidate
            else:
                messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return messages


def _cut(block: str, limit: int) -> list[str]:
    if len(block) <= limit:
        return [block]
    pieces: list[str] = []
    rest = block
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n"), window.rfind(" "))
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def strip_tags(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)
