"""Alerts on Telegram: channels and groups from the config, each with its own rules, and the
people who subscribed through the bot (see ``notifiers.telegram_bot``), by their watches.

Messages go out in HTML parse mode with every scraped value escaped; one offer gets a "Book"
button, several share a message with inline links, many become a digest. Telegram's answers
become a ``Delivery``: flood control and outages are retried, a message Telegram cannot parse
is sent once more as plain text, and a chat that blocked the bot is gone for good.
"""

from __future__ import annotations

import asyncio
import html
import logging
import warnings
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import FloodLimit, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from notifiers.base import Delivery, Item, Notifier, describe, retry_after, with_subscribers
from offers.announcements.html import plain_text
from offers.model import Event
from settings.config import NotifierConfig, secret

log = logging.getLogger("awardwatch.telegram")

OFFICIAL_API = "https://api.telegram.org/bot"


def _chat_id(value: Any) -> Any:
    # TOML gives numeric ids as integers; Telegram takes either, the outbox stores text
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ChatTarget(BaseModel):
    """A channel or group that gets the events of its rules (no rules: every event)."""

    model_config = ConfigDict(extra="forbid")

    chat: str = Field(min_length=1, description="numeric chat id or @channelusername")
    rules: list[str] = Field(default_factory=list)

    _as_text = field_validator("chat", mode="before")(_chat_id)


class TelegramOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token_env: str
    base_url: str = OFFICIAL_API
    chats: list[ChatTarget] = Field(default_factory=list)
    subscribers: bool = False
    admin_chats: list[str] = Field(default_factory=list)
    timeout: float = Field(default=10.0, gt=0, description="seconds for one Bot API call")
    poll_seconds: int = Field(default=25, ge=0, le=50, description="getUpdates long poll")

    @field_validator("admin_chats", mode="before")
    @classmethod
    def _admin_ids(cls, value: Any) -> Any:
        return [_chat_id(v) for v in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _somewhere(self) -> TelegramOptions:
        if not (self.chats or self.subscribers or self.admin_chats):
            raise ValueError(
                "nowhere to send: list chats or admin_chats, or set subscribers = true"
            )
        return self


def client(token: str, base_url: str, timeout: float, connections: int = 8) -> Bot:
    """A python-telegram-bot client with the given per-call timeout, and ``connections`` to
    the Bot API for the messages in flight."""

    def request(pool: int) -> HTTPXRequest:
        return HTTPXRequest(
            connection_pool_size=pool,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=timeout,
            pool_timeout=timeout,
        )

    return Bot(
        token, base_url=base_url, request=request(connections), get_updates_request=request(1)
    )


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # int today, timedelta in a later release: take either
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return retry_after(exc.retry_after) or 0.0


def classify(exc: TelegramError) -> Delivery:
    """What a Bot API error means for the delivery (bad requests are handled by the caller)."""
    if isinstance(exc, RetryAfter):
        seconds = retry_seconds(exc)
        return Delivery("retry", f"Telegram flood control: retry after {seconds:g} s", seconds,
                        rate_limited=True)  # fmt: skip
    if isinstance(exc, Forbidden):
        return Delivery("gone", f"Telegram refused the chat: {exc.message}")
    if isinstance(exc, ChatMigrated):
        return Delivery(
            "failed", f"the group is now supergroup {exc.new_chat_id}: use that id in chats"
        )
    if isinstance(exc, InvalidToken):
        return Delivery("rejected", f"Telegram rejected the bot token: {exc.message}")
    if isinstance(exc, TimedOut):
        return Delivery("retry", "Telegram did not answer in time")
    if isinstance(exc, NetworkError):
        return Delivery("retry", f"Telegram unavailable: {exc.message}")
    return Delivery("retry", f"Telegram error: {exc.message}")


class TelegramNotifier(Notifier):
    type_name: ClassVar[str] = "telegram"
    max_length: ClassVar[int] = 4096
    # Telegram's published limits for bots, with a margin: Telegram counts messages when they
    # arrive, and a network hiccup can bunch two that left far enough apart
    rate_per_second: ClassVar[float | None] = FloodLimit.MESSAGES_PER_SECOND - 2  # 28
    rate_ceiling: ClassVar[float | None] = FloodLimit.MESSAGES_PER_SECOND  # 30, on arrival
    # counted from Telegram's answer, which comes after the message arrived: the next one
    # cannot arrive sooner than this after it, whatever the network does; 2% for timers
    chat_interval: ClassVar[float] = 1.02 / FloodLimit.MESSAGES_PER_SECOND_PER_CHAT  # 1.02 s
    group_rate: ClassVar[int | None] = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP - 1  # 19
    group_period: ClassVar[float] = 60.0
    #: Longest part of one scraped value shown (escaped): keeps every offer block well under
    #: ``max_length`` so messages only ever break between offers.
    field_length: ClassVar[int] = 400
    Options: ClassVar[type[BaseModel]] = TelegramOptions

    def __init__(self, config: NotifierConfig) -> None:
        super().__init__(config)
        self.token = secret(self.options.token_env)
        self._bot: Bot | None = None
        self._ready = False
        self._starting = asyncio.Lock()  # chats are served side by side: one getMe
        self._configured = {target.chat for target in self.options.chats}

    # -- where events go --------------------------------------------------------------------

    def recipients(self, event: Event) -> list[str]:
        """Configured chats whose rules the event matched, then matching subscribers."""
        chats = [
            target.chat
            for target in self.options.chats
            if not target.rules or set(target.rules) & set(event.rules)
        ]
        if self.options.subscribers and self.audience is not None:
            return with_subscribers(chats, self.audience.matching(event.offer))
        return list(dict.fromkeys(chats))

    def admin_chats(self) -> list[str]:
        return list(self.options.admin_chats) or [t.chat for t in self.options.chats]

    def is_group(self, chat: str) -> bool:
        # Groups and channels have negative ids or @usernames; people have positive ids.
        return chat.startswith(("-", "@")) or super().is_group(chat)

    def secrets(self) -> list[str]:
        return [self.token]

    # -- rendering ----------------------------------------------------------------------------

    def escape(self, text: str) -> str:
        return html.escape(text, quote=False)

    def link(self, label: str, url: str) -> str:
        return f'<a href="{html.escape(url, quote=True)}">{self.escape(label)}</a>'

    def field(self, text: str) -> str:
        """A scraped value escaped, cut to ``field_length`` without breaking an entity."""
        out: list[str] = []
        size = 0
        for char in text:
            piece = html.escape(char, quote=False)
            if size + len(piece) > self.field_length - 1:
                out.append("…")
                break
            out.append(piece)
            size += len(piece)
        return "".join(out)

    def offer_html(self, event: Event, *, with_link: bool) -> str:
        usable = with_link and _bookable(event.offer.url)
        text = describe(event, escape=self.field, link=self.link if usable else None)
        head, _, rest = text.partition("\n")
        return f"<b>{head}</b>\n{rest}" if rest else f"<b>{head}</b>"

    def render_offer(self, event: Event) -> str:
        return self.offer_html(event, with_link=True)

    def render_batches(self, events: Sequence[Item]) -> list[tuple[str, int]]:
        if _button_url(events):
            # the button carries the link; the text stays short
            return [(self.offer_html(events[0], with_link=False), 1)]  # type: ignore[arg-type]
        return super().render_batches(events)

    # -- sending ------------------------------------------------------------------------------

    @property
    def bot(self) -> Bot:
        if self._bot is None:
            self._bot = client(
                self.token, self.options.base_url, self.options.timeout, self.in_flight()
            )
        return self._bot

    async def close(self) -> None:
        if self._bot is not None and self._ready:
            try:
                await self._bot.shutdown()
            except TelegramError as exc:
                log.warning("telegram %s: closing: %s", self.name, self.mask(str(exc)))
        self._ready = False

    async def _start_bot(self) -> None:
        async with self._starting:
            if not self._ready:
                await self.bot.initialize()  # getMe: checks the token once
                self._ready = True

    async def send(self, chat: str, events: Sequence[Item]) -> Delivery:
        state = self._subscriber_state(chat)
        if state is not None:
            return Delivery("gone", f"subscriber {chat} has {state} the bot")
        try:
            await self._start_bot()
            url = _button_url(events)
            delivery = await self.send_messages(chat, events, partial(self._post, url=url))
        except TelegramError as exc:
            delivery = classify(exc)
        except Exception as exc:  # a bug or an unforeseen library error: try again later
            delivery = Delivery("retry", f"{type(exc).__name__}: {exc}")
        if delivery.status == "gone":
            self._mark_blocked(chat)
        return replace(delivery, detail=self.mask(delivery.detail))

    async def _post(self, chat: str, text: str, url: str | None = None) -> Delivery:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Book", url=url)]]) if url else None
        try:
            await self.bot.send_message(
                chat_id=chat,
                text=text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except BadRequest as exc:
            log.warning("telegram %s: %s refused HTML (%s); sending plain text",
                        self.name, chat, self.mask(exc.message))  # fmt: skip
            return await self._post_plain(chat, text, url, exc)
        except TelegramError as exc:
            return classify(exc)
        return Delivery("sent")

    async def _post_plain(
        self, chat: str, text: str, url: str | None, first: BadRequest
    ) -> Delivery:
        plain = plain_text(text)
        if url:
            plain += f"\nBook: {url}"  # the button may have been what Telegram refused
        slot = await self.pace(chat)
        try:
            await self.bot.send_message(chat_id=chat, text=plain[: self.max_length])
        except BadRequest as exc:
            return Delivery(
                "failed", f"Telegram refused the message: {first.message}; as plain text: "
                f"{exc.message}"
            )  # fmt: skip
        except TelegramError as exc:
            return classify(exc)
        finally:
            slot.arrived()
        return Delivery("sent", "sent as plain text")

    # -- subscribers --------------------------------------------------------------------------

    def _subscriber_state(self, chat: str) -> str | None:
        if self.audience is None or not self.options.subscribers or chat in self._configured:
            return None
        return self.audience.inactive(chat)

    def _mark_blocked(self, chat: str) -> None:
        if self.audience is None or chat in self._configured:
            return
        if self.audience.block(chat):
            log.info("telegram %s: subscriber %s blocked the bot; inactive now", self.name, chat)


def _bookable(url: str | None) -> bool:
    return url is not None and url.startswith(("https://", "http://")) and len(url) <= 2000


def _button_url(events: Sequence[Item]) -> str | None:
    """The booking link for a "Book" button: only when the message holds a single offer."""
    if len(events) == 1 and isinstance(events[0], Event) and _bookable(events[0].offer.url):
        return events[0].offer.url
    return None
