"""What every notifier shares: options checked at start, messages split at offer boundaries,
secrets masked, pacing within the service's rate limits, and a ``send`` that reports how it
went instead of raising."""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from offers.errors import ConfigError
from offers.model import Event, Offer
from offers.programs import airline_of, display_name
from settings.config import NotifierConfig

CABIN_NAMES = {
    "economy": "Economy",
    "premium_economy": "Premium Economy",
    "business": "Business",
    "first": "First",
}
KIND_NAMES = {"new": "New", "cheaper": "Cheaper", "back": "Back"}


def with_subscribers(configured: list[str], matched: list[str]) -> list[str]:
    """The ``configured`` chats, once each, then the ``matched`` subscribers not among them.
    ``matched`` holds each chat once already and may hold thousands: only the few configured
    chats are looked for in it, rather than hashing every subscriber again."""
    configured = list(dict.fromkeys(configured))
    if not configured:
        return matched
    both = set(configured).intersection(matched)
    if not both:
        return configured + matched
    return configured + [chat for chat in matched if chat not in both]


class Audience(Protocol):
    """The people a notifier's bot serves, as the notifier sees them. The chat package keeps
    them (chat/store.py over storage/); the runner hands them over with ``attach``."""

    def matching(self, offer: Offer) -> list[str]:
        """Chats of active subscribers whose watches the offer matches, each once."""
        ...

    def inactive(self, chat: str) -> str | None:
        """The state of a subscriber who is no longer active ("blocked", "stopped"), or None
        for an active subscriber and for a chat that is not a subscriber."""
        ...

    def subscribed(self, chat: str) -> bool: ...

    def last_interaction(self, chat: str) -> datetime | None: ...

    def token(self, chat: str, now: datetime) -> str | None:
        """The subscriber's notification-messages token while it is valid."""
        ...

    def drop_token(self, chat: str) -> None: ...

    def block(self, chat: str) -> bool:
        """Mark the subscriber as having blocked the bot; True when that changed anything."""
        ...

    def held(self, chat: str) -> bool:
        """Whether alerts wait for this chat (outside Messenger's window)."""
        ...

    def last_sent(self, chat: str) -> datetime | None: ...


@dataclass(frozen=True)
class Delivery:
    """How one send went. ``retry``: try again later (after ``retry_after`` seconds if set);
    ``failed``: this message will never go through; ``gone``: the recipient is gone for good;
    ``rejected``: the service refused the bot itself (a wrong token or address), so nothing
    goes through until the configuration is fixed; ``held``: not sent and not tried: wait
    (``retry_after`` seconds, or until released). ``rate_limited``: the service asked to slow
    down (HTTP 429): not a failure of the message, only a wait."""

    status: Literal["sent", "retry", "failed", "gone", "rejected", "held"]
    detail: str = ""
    retry_after: float | None = None
    #: When a send that went out as several messages stopped part-way: how many of the
    #: leading events the service had already accepted (None: all or nothing).
    done: int | None = None
    rate_limited: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "sent"


@dataclass(frozen=True)
class AdminMessage:
    """A plain-text message for the bot's operators (dead letters, failing sources), sent
    through an admin notifier's ordinary ``send`` in place of an event."""

    text: str
    subject: str = "awardwatch"
    id: int = 0

    @property
    def kind(self) -> str:
        return "admin"


#: What ``send`` takes: offer events, or an admin message.
Item = Event | AdminMessage


class Limits(BaseModel):
    """Pacing keys every notifier accepts in its config table, over the plugin's defaults."""

    model_config = ConfigDict(extra="forbid")

    rate_per_second: float | None = Field(default=None, gt=0)
    chat_interval: float | None = Field(default=None, ge=0)
    group_rate: int | None = Field(default=None, ge=1, description="messages per group_period")
    group_period: float | None = Field(default=None, gt=0)
    group_chats: list[str] = Field(default_factory=list)
    max_attempts: int | None = Field(default=None, ge=1)
    batch_size: int | None = Field(default=None, ge=1)
    concurrency: int | None = Field(default=None, ge=1)


LIMIT_KEYS = frozenset(Limits.model_fields)


class Window:
    """At most ``limit`` messages in any ``period`` seconds: a sliding window over the moments
    each message counts from, so the bound holds for every window, not only on average."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._stamps: list[list[float]] = []
        self._lock = asyncio.Lock()

    async def acquire(self) -> list[float]:
        """Wait for room; return the new message's stamp (a cell ``restamp`` can move)."""
        async with self._lock:
            while True:
                now = time.monotonic()
                self._stamps = [s for s in self._stamps if s[0] + self.period > now]
                if len(self._stamps) < self.limit:
                    break
                await asyncio.sleep(min(s[0] for s in self._stamps) + self.period - now)
            stamp = [now]
            self._stamps.append(stamp)
            return stamp


class Spacing:
    """Messages evenly spaced at ``rate`` a second: each slot is one interval after the one
    before it was due (not after it was taken), so the late wake-ups of a busy event loop
    do not add up, and an idle spell earns no burst."""

    def __init__(self, rate: float) -> None:
        self.interval = 1 / rate
        self._due = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._due > now:
                await asyncio.sleep(self._due - now)
            self._due = max(self._due, now) + self.interval


def _per_second(rate: float) -> Window:
    """``rate`` messages a second as a window: whole messages per second, or one per
    ``1/rate`` seconds for slower rates."""
    return Window(int(rate), 1.0) if rate >= 1 else Window(1, 1 / rate)


def restamp(stamps: Sequence[list[float]], moment: float) -> None:
    """Count the messages behind ``stamps`` from ``moment`` (when they left, or arrived)."""
    for stamp in stamps:
        stamp[0] = max(stamp[0], moment)


class Slot:
    """One message's place within the limits, from ``Throttle.wait``. Call ``arrived`` when the
    service answered: the chat's and the group's limits then count from that moment, the
    latest the message can have reached the service, so their gaps hold where the service
    measures them (on arrival), whatever the network did on the way."""

    def __init__(self, at_arrival: Sequence[list[float]]) -> None:
        self._at_arrival = at_arrival

    def arrived(self) -> None:
        restamp(self._at_arrival, time.monotonic())


class Throttle:
    """A notifier's rate limits: overall messages a second, least seconds between two messages
    to one chat, and a cap per group chat. Shared by every chat the notifier sends to (and by
    anything else that talks to the service, such as a chat bot's replies).

    Messages leave evenly spaced at ``rate_per_second`` (the service's limit less a margin).
    The per-chat and per-group limits, and the service's own overall ``ceiling``, are sliding
    windows counted from when the service answered (``Slot.arrived``), the latest moment the
    message can have reached it: a network that delays one message and bunches the next
    cannot push any window past its limit where the service counts. ``hold``
    keeps one chat waiting (the service said "retry after") without slowing the others."""

    def __init__(
        self,
        rate_per_second: float | None,
        chat_interval: float,
        group: tuple[int, float] | None,
        ceiling: float | None = None,
    ) -> None:
        self.overall = Spacing(rate_per_second) if rate_per_second else None
        top = ceiling or rate_per_second
        self.arriving = _per_second(top) if top else None
        self.chat_interval = chat_interval
        self.group = group
        self._chats: dict[str, Window] = {}
        self._groups: dict[str, Window] = {}
        self._held: dict[str, float] = {}

    def hold(self, chat: str, seconds: float) -> None:
        """Send nothing to ``chat`` for ``seconds`` from now."""
        until = time.monotonic() + seconds
        self._held[chat] = max(self._held.get(chat, 0.0), until)

    async def wait(self, chat: str, is_group: bool) -> Slot:
        """Return when one more message to ``chat`` stays within every limit."""
        held = self._held.get(chat, 0.0) - time.monotonic()
        if held > 0:
            await asyncio.sleep(held)
        at_arrival: list[list[float]] = []
        if self.chat_interval > 0:
            window = self._chats.setdefault(chat, Window(1, self.chat_interval))
            at_arrival.append(await window.acquire())
        if is_group and self.group:
            at_arrival.append(await self._groups.setdefault(chat, Window(*self.group)).acquire())
        if self.arriving:
            at_arrival.append(await self.arriving.acquire())
        if self.overall:
            await self.overall.acquire()
        # Waiting for a later window delays the message: count it from when it leaves.
        restamp(at_arrival, time.monotonic())
        return Slot(at_arrival)


@dataclass(frozen=True)
class Sending:
    """What the outbox tells a ``send`` in progress: the outbox row of each event (the
    delivery ids a receiver can deduplicate on), and whom to tell as soon as the service has
    accepted the first ``n`` events (so they are marked sent at once, not after the batch)."""

    ids: tuple[int, ...] = ()
    accepted: Callable[[int], None] | None = None


#: The send in progress in this task (set by the outbox drain).
sending: ContextVar[Sending | None] = ContextVar("awardwatch_sending", default=None)


def delivery_ids() -> tuple[int, ...]:
    """The outbox row ids of the events being sent, in their order (empty outside a drain)."""
    current = sending.get()
    return current.ids if current else ()


def accepted(count: int) -> None:
    """Report that the service accepted the first ``count`` events of the current send."""
    current = sending.get()
    if current is not None and current.accepted is not None:
        current.accepted(count)


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: Slowest answer, in seconds, at which a notifier still keeps its overall rate; and the
#: bounds of the chats it serves at once to do so.
ROUND_TRIP = 2.0
MIN_IN_FLIGHT, MAX_IN_FLIGHT = 4, 128


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
    #: The service's own overall limit (messages a second), never passed on arrival; None:
    #: ``rate_per_second`` is the limit.
    rate_ceiling: ClassVar[float | None] = None
    #: Messages to one group chat per ``group_period`` seconds (Telegram: 20 a minute).
    group_rate: ClassVar[int | None] = None
    group_period: ClassVar[float] = 60.0
    #: Offers in one message before they are folded into a digest.
    digest_after: ClassVar[int] = 5
    #: Most events handed to one ``send``.
    batch_size: ClassVar[int] = 20
    #: Chats served at the same time; None: as many as the rate needs (``in_flight``).
    concurrency: ClassVar[int | None] = None
    #: Failed tries after which a delivery becomes a dead letter.
    max_attempts: ClassVar[int] = 8
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, config: NotifierConfig) -> None:
        self.name = config.name
        self.config = config
        extra = dict(config.model_extra or {})
        limits = {key: extra.pop(key) for key in list(extra) if key in LIMIT_KEYS}
        self.limits = self._validate(Limits, limits)
        self.options: Any = self._validate(self.Options, extra)
        self._apply(self.limits)
        self.audience: Audience | None = None
        self.throttle = Throttle(
            self.rate_per_second,
            self.chat_interval,
            (self.group_rate, self.group_period) if self.group_rate else None,
            self.rate_ceiling,
        )

    def in_flight(self) -> int:
        """Chats served at the same time: the configured ``concurrency``, or enough to keep
        the overall rate while each message takes up to ``ROUND_TRIP`` seconds to answer (a
        fixed few would cap the rate by latency: 4 at 200 ms allow 20 a second); the rate
        limits pace them, not this."""
        if self.concurrency is not None:
            return self.concurrency
        rate = self.rate_ceiling or self.rate_per_second
        if rate is None:
            return MIN_IN_FLIGHT
        return max(MIN_IN_FLIGHT, min(MAX_IN_FLIGHT, math.ceil(rate * ROUND_TRIP)))

    def attach(self, audience: Audience) -> None:
        """The subscribers this notifier's bot takes, to send to and keep up to date."""
        self.audience = audience

    def _validate(self, model: type[BaseModel], values: dict[str, Any]) -> Any:
        try:
            return model.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(
                f"notifier {self.config.name!r} ({self.type_name}): {where}: "
                f"{first['msg'].removeprefix('Value error, ')}"
            ) from None

    def _apply(self, limits: Limits) -> None:
        # Config values shadow the plugin's class defaults on this instance only.
        for key in LIMIT_KEYS - {"group_chats"}:
            value = getattr(limits, key)
            if value is not None:
                setattr(self, key, value)

    def recipients(self, event: Event) -> list[str]:
        """The chats this notifier sends ``event`` to ("" for a single fixed destination)."""
        return [""]

    def admin_chats(self) -> list[str]:
        """The chats an admin alert goes to (by default: where events would go)."""
        return [""]

    def is_group(self, chat: str) -> bool:
        """Whether ``chat`` is a group chat, paced by ``group_rate``; plugins that can tell
        from the chat id override this, others list groups under ``group_chats``."""
        return chat in self.limits.group_chats

    async def pace(self, chat: str) -> Slot:
        """Wait until one more message to ``chat`` keeps within the rate limits. Call it
        before every message that goes to the service (alerts and chat-bot replies alike),
        and ``arrived()`` on the returned slot when the service answered."""
        return await self.throttle.wait(chat, self.is_group(chat))

    def hold(self, chat: str, seconds: float) -> None:
        """The service asked to wait ``seconds`` before the next message to ``chat``."""
        self.throttle.hold(chat, seconds)

    async def start(self) -> None:
        """Open connections; called once before the first send."""

    async def close(self) -> None:
        """Release connections."""

    async def send(self, chat: str, events: Sequence[Item]) -> Delivery:
        """Deliver ``events`` to ``chat`` as one or more messages. Never raises."""
        return await self.send_messages(chat, events, self.post_text)

    async def post_text(self, chat: str, text: str) -> Delivery:
        """Send one rendered message; text-based plugins implement this and inherit ``send``."""
        return Delivery("failed", f"notifier type {self.type_name!r} cannot send text")

    async def send_messages(
        self,
        chat: str,
        events: Sequence[Item],
        post: Callable[[str, str], Awaitable[Delivery]],
    ) -> Delivery:
        """Render ``events``, pace and ``post`` each message in order, and stop at the first
        that does not go through, saying how many leading events were already delivered."""
        done = 0
        for text, covered in self.render_batches(events):
            slot = await self.pace(chat)
            delivery = await post(chat, text)
            slot.arrived()
            if not delivery.ok:
                return replace(delivery, detail=self.mask(delivery.detail), done=done)
            done = covered
            accepted(done)
        return Delivery("sent")

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

    def render_admin(self, message: AdminMessage) -> str:
        return self.escape(f"[{message.subject}] {message.text}")

    def render_item(self, item: Item) -> str:
        if isinstance(item, AdminMessage):
            return self.render_admin(item)
        return self.render_offer(item)

    def render(self, events: Sequence[Item]) -> list[str]:
        """The messages for ``events``: one block per offer, a digest heading when there are
        many, split at offer boundaries so no message exceeds ``max_length``."""
        return [text for text, _ in self.render_batches(events)]

    def render_batches(self, events: Sequence[Item]) -> list[tuple[str, int]]:
        """Like ``render``, each message paired with how many events are complete once it and
        the messages before it are delivered."""
        blocks = [(self.render_item(e), i + 1) for i, e in enumerate(events)]
        offers = sum(1 for e in events if isinstance(e, Event))
        if offers > self.digest_after:
            blocks.insert(0, (self.escape(f"{offers} award offers"), 0))
        return split_counted(blocks, self.max_length)


def describe(event: Event, *, escape: Any = lambda s: s, link: Any = None) -> str:
    """One offer in a few lines of text: only what is known, never a placeholder; days in ISO
    form, which no reader takes for another day."""
    offer = event.offer
    head = f"{KIND_NAMES.get(event.kind, event.kind)}: {display_name(offer.program)}"
    route = _route(offer.origin, offer.destination)
    previous = event.previous_miles if event.kind == "cheaper" else None
    details = [
        offer.airline or airline_of(offer.program) or "",
        CABIN_NAMES.get(offer.cabin or "", ""),
        _when(offer.depart_date, offer.travel_start, offer.travel_end),
    ]
    if offer.taxes is not None:
        details.append(f"+{offer.taxes:.2f} {offer.currency or ''}".strip())
    lines = [escape(head), escape(" · ".join(p for p in (route, *_price(offer, previous)) if p))]
    line = " · ".join(d for d in details if d)
    if line:
        lines.append(escape(line))
    if offer.title:
        lines.append(escape(offer.title))
    if offer.promo_reason:
        lines.append(escape(f"Why: {offer.promo_reason}"))
    if offer.book_by:
        lines.append(escape(f"Book by {offer.book_by.isoformat()}"))
    if offer.url and link and re.match(r"(?i)https?://", offer.url):
        lines.append(link("Book", offer.url))
    return "\n".join(lines)


def _route(origin: str | None, destination: str | None) -> str:
    if origin and destination:
        return f"{origin} → {destination}"
    if destination:
        return f"To {destination} from anywhere"
    if origin:
        return f"From {origin} to anywhere"
    return ""


def _price(offer: Any, previous: int | None) -> list[str]:
    """``45,000 miles round-trip (was 50,000)`` and ``30% off``, each when known."""
    discount = f"{offer.discount_pct:g}% off" if offer.discount_pct else ""
    if not offer.miles:
        return [discount]
    miles = f"{offer.miles:,} miles"
    if offer.trip == "round-trip":
        miles += " round-trip"
    if previous:
        miles += f" (was {previous:,})"
    return [miles, discount]


def _when(depart: date | None, start: date | None, end: date | None) -> str:
    """A day or a travel window: ``2031-03-03 – 2031-03-20``, ``until 2031-05-31``."""
    one = depart or (start if start == end else None)
    if one:
        return one.isoformat()
    if start and end:
        return f"{start.isoformat()} – {end.isoformat()}"
    if end:
        return f"until {end.isoformat()}"
    if start:
        return f"from {start.isoformat()}"
    return ""


def split_counted(
    blocks: Sequence[tuple[str, int]], limit: int, separator: str = "\n\n"
) -> list[tuple[str, int]]:
    """Join blocks, each tagged with a running count, into messages of at most ``limit``
    characters, breaking between blocks (a block longer than the limit on its own is cut at
    line, then word, boundaries); each message carries the count of the last block that ends
    in it (a block cut in pieces counts at its last)."""
    messages: list[tuple[str, int]] = []
    current, count, before = "", 0, 0
    for block, tag in blocks:
        pieces = _cut(block, limit)
        for number, piece in enumerate(pieces, start=1):
            candidate = f"{current}{separator}{piece}" if current else piece
            if len(candidate) > limit and current:
                messages.append((current, count))
                candidate = piece
            current = candidate
            count = tag if number == len(pieces) else before
        before = tag
    if current:
        messages.append((current, count))
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


def retry_after(value: str | float | timedelta | None) -> float | None:
    """Seconds a service asked to wait, from its ``Retry-After``: a header's delta-seconds or
    HTTP date, or a client library's number or timedelta (python-telegram-bot's
    ``RetryAfter.retry_after``); None when there is none or it cannot be read."""
    if isinstance(value, timedelta):
        return max(0.0, value.total_seconds())
    if isinstance(value, int | float):
        return max(0.0, float(value))
    return header_seconds(value)


def header_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds, read by urllib3 (the reader the Google Sheets
    client uses too): whole seconds or an HTTP date; None when absent or unreadable."""
    if not value or not value.strip():
        return None
    try:
        return Retry().parse_retry_after(value)
    except InvalidHeader:
        return None
