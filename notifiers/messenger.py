"""Alerts to Facebook Messenger users through the Graph API Send API, as a Page.

Messenger lets a Page message a person only on that person's terms, and award offers are
promotional content, so:

- Inside the standard messaging window (24 hours after the person's last message or other
  interaction with the Page) anything may be sent: ``messaging_type`` ``UPDATE``.
- Outside it, message tags are the only free path, and tags may not carry promotional
  content: this notifier never uses them.
- A person who opted in to marketing messages (formerly "recurring notifications") gave the
  Page a ``notification_messages_token``; with it one message may go out per rolling
  ``token_interval_hours`` (48 since September 2025), as a single message (a digest).
  Meta is retiring these tokens in favour of its paid Marketing Messages API.
- Otherwise nothing is sent: a subscriber's alerts are held in the outbox and go out as one
  digest, newest first, the moment the person next writes or taps (``chat.messenger``
  releases them); for a recipient listed only in config the delivery fails with the reason.

People subscribe through the Page's webhook (``subscribers = true``, see ``chat.messenger``),
which records every interaction and opt-in token; recipients may also be listed in config
with their PSID, ``last_interaction`` and token. Every alert carries quick replies ("More
like this", "Pause", "My watches"): a tap is an interaction, and renews the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from notifiers.base import Delivery, Item, Notifier, retry_after, with_subscribers
from offers.model import Event
from settings.config import NotifierConfig, secret

#: Graph error codes that mean "slow down": application, user, page and Send API limits.
RATE_LIMITED = {4, 17, 32, 613}
#: Codes Graph documents as temporary (unknown error, service unavailable, send failure).
TRANSIENT = {1, 2, 1200}
OUTSIDE_WINDOW = 2018278
NO_SUCH_USER = 2018001
WINDOW_CLOSED = "outside the messaging window"


class Recipient(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="page-scoped id (PSID)")
    last_interaction: datetime | None = None
    notification_token_env: str | None = None

    @field_validator("last_interaction")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value


class MessengerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page_token_env: str
    recipients: list[Recipient] = Field(default_factory=list)
    subscribers: bool = False
    app_secret_env: str | None = Field(default=None, description="env var: the app secret")
    verify_token_env: str | None = Field(default=None, description="env var: webhook token")
    webhook_path: str = Field(default="/messenger", pattern=r"^/[A-Za-z0-9/_.-]*$")
    admin_psids: list[str] = Field(default_factory=list)
    setup_profile: bool = Field(default=True, description="set Get started and the menu")
    base_url: str = "https://graph.facebook.com"
    version: str = "v23.0"
    window_hours: float = Field(default=24, gt=0)
    token_interval_hours: float = Field(default=48, ge=0)
    timeout_seconds: float = Field(default=15, gt=0)

    @model_validator(mode="after")
    def _somewhere(self) -> MessengerOptions:
        if not (self.recipients or self.subscribers):
            raise ValueError("nowhere to send: list recipients or set subscribers = true")
        if self.subscribers and not (self.app_secret_env and self.verify_token_env):
            raise ValueError("subscribers = true needs app_secret_env and verify_token_env")
        return self


#: The quick replies every alert carries (a tap renews the messaging window).
def quick_replies(event_id: int | None) -> list[dict[str, str]]:
    more = [{"content_type": "text", "title": "More like this", "payload": f"MORE:{event_id}"}]
    return [*(more if event_id else []),
            {"content_type": "text", "title": "Pause", "payload": "PAUSE"},
            {"content_type": "text", "title": "My watches", "payload": "LIST"}]  # fmt: skip


class MessengerNotifier(Notifier):
    type_name: ClassVar[str] = "messenger"
    #: Text must be under 2000 characters.
    max_length: ClassVar[int] = 1999
    #: Send API: 300 calls a second per Page for text; Meta also throttles busy threads.
    rate_per_second: ClassVar[float | None] = 250.0
    chat_interval: ClassVar[float] = 1.0
    #: Held alerts go out as one digest: take them in one send.
    batch_size: ClassVar[int] = 100
    Options = MessengerOptions

    def __init__(self, config: NotifierConfig) -> None:
        super().__init__(config)
        self.page_token = secret(self.options.page_token_env)
        self.people: dict[str, Recipient] = {r.id: r for r in self.options.recipients}
        self.tokens = {
            r.id: secret(r.notification_token_env)
            for r in self.options.recipients
            if r.notification_token_env
        }
        self.client: httpx.AsyncClient | None = None

    def secrets(self) -> list[str]:
        return [self.page_token, *self.tokens.values()]

    def recipients(self, event: Event) -> list[str]:
        chats = list(self.people)
        if self.options.subscribers and self.audience is not None:
            return with_subscribers(chats, self.audience.matching(event.offer))
        return list(dict.fromkeys(chats))

    def admin_chats(self) -> list[str]:
        return list(self.options.admin_psids) or list(self.people)

    def person(self, chat: str) -> Recipient | None:
        """What is known of ``chat``: from config, and from what the webhook recorded."""
        configured = self.people.get(chat)
        if self.audience is None or not self.audience.subscribed(chat):
            return configured
        last = self.audience.last_interaction(chat)
        if (
            configured
            and configured.last_interaction
            and (last is None or configured.last_interaction > last)
        ):
            last = configured.last_interaction
        return Recipient(id=chat, last_interaction=last)

    def subscriber_token(self, chat: str, now: datetime) -> str | None:
        return self.audience.token(chat, now) if self.audience is not None else None

    @property
    def endpoint(self) -> str:
        return f"{self.options.base_url.rstrip('/')}/{self.options.version}/me/messages"

    async def start(self) -> None:
        if self.client is None:
            self.client = httpx.AsyncClient(timeout=self.options.timeout_seconds)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    def in_window(self, person: Recipient, now: datetime) -> bool:
        last = person.last_interaction
        return last is not None and now - last < timedelta(hours=self.options.window_hours)

    async def send(self, chat: str, events: Sequence[Item]) -> Delivery:
        person = self.person(chat)
        if person is None:
            return Delivery("failed", f"{chat} is not among this notifier's recipients")
        audience = self.audience
        subscriber = audience is not None and audience.subscribed(chat)
        state = None
        if audience is not None and subscriber and chat not in self.people:
            state = audience.inactive(chat)
        if state is not None:
            return Delivery("gone", f"subscriber {chat} has {state} the Page")
        now = datetime.now(UTC)
        if self.in_window(person, now):
            if audience is not None and audience.held(chat):
                await self.pace(chat)
                delivery = await self._post_update(chat, self.digest(events), _last_id(events))
            else:
                delivery = await self.send_messages(chat, events, self._post_each(events))
        elif token := self.tokens.get(chat) or self.subscriber_token(chat, now):
            delivery = await self._send_marketing(chat, token, events, now)
        elif subscriber:
            return Delivery("held", f"outside the {self.options.window_hours:g}-hour window: "
                            "held until the person writes to the Page")  # fmt: skip
        else:
            return Delivery(
                "failed",
                f"recipient {chat}: outside the {self.options.window_hours:g}-hour standard "
                "messaging window and no marketing-messages opt-in; Messenger allows no "
                "promotional message then (message tags may not carry promotional content)",
            )
        if audience is None or not subscriber or chat in self.people:
            return delivery
        if delivery.status == "gone":
            audience.block(chat)
        elif delivery.status == "failed" and not self.in_window(person, now):
            # the opt-in token no longer works (Meta retired the path for most regions)
            audience.drop_token(chat)
            return Delivery("held", f"marketing message refused ({delivery.detail}): held "
                            "until the person writes to the Page")  # fmt: skip
        elif delivery.detail.startswith(WINDOW_CLOSED):
            return Delivery("held", f"{delivery.detail}: held until the person writes")
        return delivery

    def _post_each(self, events: Sequence[Item]) -> Any:
        async def post(chat: str, text: str) -> Delivery:
            return await self._post_update(chat, text, _last_id(events))

        return post

    async def _post_update(self, chat: str, text: str, event_id: int | None = None) -> Delivery:
        body = {"recipient": {"id": chat}, "messaging_type": "UPDATE",
                "message": {"text": text, "quick_replies": quick_replies(event_id)}}  # fmt: skip
        return await self._post(body)

    async def reply(self, chat: str, text: str) -> Delivery:
        """Answer a person's message (``RESPONSE``), with the menu as quick replies."""
        await self.pace(chat)
        body = {
            "recipient": {"id": chat},
            "messaging_type": "RESPONSE",
            "message": {"text": text[: self.max_length], "quick_replies": quick_replies(None)},
        }
        return await self._post(body)

    async def _send_marketing(
        self, chat: str, token: str, events: Sequence[Item], now: datetime
    ) -> Delivery:
        wait = self._token_wait(chat, now)
        if wait > 0:
            return Delivery("held", "marketing-message allowance used; next one later", wait)
        await self.pace(chat)
        body = {"recipient": {"notification_messages_token": token},
                "message": {"text": self.digest(events)}}  # fmt: skip
        return await self._post(body)

    def _token_wait(self, chat: str, now: datetime) -> float:
        """Seconds until this recipient's next marketing message is allowed."""
        if self.audience is None or not self.options.token_interval_hours:
            return 0.0
        last = self.audience.last_sent(chat)
        if last is None:
            return 0.0
        due = last + timedelta(hours=self.options.token_interval_hours)
        return max(0.0, (due - now).total_seconds())

    def digest(self, events: Sequence[Item]) -> str:
        """Everything in one message, newest first (the allowance being one, or the person
        back after a while): what does not fit is counted."""
        newest_first = list(reversed(events))
        blocks = [self.render_item(e) for e in newest_first]
        if len(events) > 1:
            blocks.insert(0, f"{len(events)} award offers while you were away, newest first:")
        text = "\n\n".join(blocks)
        if len(text) <= self.max_length:
            return text
        shown, size = [], 0
        for block in blocks:
            if size + len(block) + 2 > self.max_length - 40:
                break
            shown.append(block)
            size += len(block) + 2
        rest = len(blocks) - len(shown)
        return "\n\n".join(shown) + f"\n\n… and {rest} more offers"

    async def post_profile(self, body: dict[str, Any]) -> Delivery:
        """Set the Page's Messenger profile (Get started button, persistent menu)."""
        profile = self.endpoint.removesuffix("/messages") + "/messenger_profile"
        return await self._post(body, profile)

    async def _post(self, body: dict[str, Any], endpoint: str | None = None) -> Delivery:
        await self.start()
        assert self.client is not None
        headers = {"Authorization": f"Bearer {self.page_token}"}
        try:
            response = await self.client.post(endpoint or self.endpoint, json=body,
                                              headers=headers)  # fmt: skip
        except httpx.HTTPError as exc:
            return Delivery("retry", self.mask(f"{type(exc).__name__}: {exc}"))
        if response.status_code == 200:
            return Delivery("sent")
        return self.mask_delivery(graph_error(response))

    def mask_delivery(self, delivery: Delivery) -> Delivery:
        return replace(delivery, detail=self.mask(delivery.detail))


def _last_id(events: Sequence[Item]) -> int | None:
    ids = [e.id for e in events if isinstance(e, Event)]
    return ids[-1] if ids else None


def graph_error(response: httpx.Response) -> Delivery:
    """What a Graph API error means for the delivery."""
    try:
        error = response.json()["error"]
        code, subcode = int(error.get("code", 0)), int(error.get("error_subcode") or 0)
        detail = (f"Graph error {code}/{subcode}: {error.get('message', '')} "
                  f"(fbtrace_id {error.get('fbtrace_id', '-')})")  # fmt: skip
    except (ValueError, KeyError, TypeError, AttributeError):
        status = response.status_code
        detail = f"HTTP {status}: {response.text[:200]}"
        if status >= 500 or status == 429:
            return Delivery("retry", detail, retry_after(response.headers.get("Retry-After")))
        return Delivery("failed", detail)
    return _classify(code, subcode, detail, response)


def _classify(code: int, subcode: int, detail: str, response: httpx.Response) -> Delivery:
    if code in RATE_LIMITED:
        return Delivery("retry", detail, retry_after(response.headers.get("Retry-After")) or 60.0)
    if code == 10 and subcode == OUTSIDE_WINDOW:
        return Delivery("failed", f"{WINDOW_CLOSED}: {detail}")
    if code == 551 or (code == 100 and subcode == NO_SUCH_USER):
        return Delivery("gone", f"this person is not available: {detail}")
    if code == 190:
        return Delivery("failed", f"the page access token is invalid or expired; set a new "
                                  f"one in page_token_env: {detail}")  # fmt: skip
    if code in TRANSIENT or response.status_code >= 500:
        return Delivery("retry", detail)
    return Delivery("failed", detail)
