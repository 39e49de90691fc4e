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
- Otherwise the delivery fails with the reason; nothing is sent.

Each recipient's ``last_interaction`` (and token) lives in config; the Page's webhook is
where both come from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from awardwatch.config import NotifierConfig, secret
from notifiers.base import Delivery, Item, Notifier
from notifiers.webhook import retry_after
from storage import outbox
from storage.offers import Event

#: Graph error codes that mean "slow down": application, user, page and Send API limits.
RATE_LIMITED = {4, 17, 32, 613}
#: Codes Graph documents as temporary (unknown error, service unavailable, send failure).
TRANSIENT = {1, 2, 1200}
OUTSIDE_WINDOW = 2018278
NO_SUCH_USER = 2018001


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
    recipients: list[Recipient] = Field(min_length=1)
    base_url: str = "https://graph.facebook.com"
    version: str = "v23.0"
    window_hours: float = Field(default=24, gt=0)
    token_interval_hours: float = Field(default=48, ge=0)
    timeout_seconds: float = Field(default=15, gt=0)


class MessengerNotifier(Notifier):
    type_name: ClassVar[str] = "messenger"
    #: Text must be under 2000 characters.
    max_length: ClassVar[int] = 1999
    #: Send API: 300 calls a second per Page for text; Meta also throttles busy threads.
    rate_per_second: ClassVar[float | None] = 250.0
    chat_interval: ClassVar[float] = 1.0
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
        self.db: Any = None  # the bot's database, set by the bot: when each token was last used

    def secrets(self) -> list[str]:
        return [self.page_token, *self.tokens.values()]

    def recipients(self, event: Event) -> list[str]:
        return list(self.people)

    def admin_chats(self) -> list[str]:
        return list(self.people)

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
        person = self.people.get(chat)
        if person is None:
            return Delivery("failed", f"{chat} is not among this notifier's recipients")
        now = datetime.now(UTC)
        if self.in_window(person, now):
            return await self.send_messages(chat, events, self._post_update)
        if chat in self.tokens:
            return await self._send_marketing(chat, events, now)
        return Delivery(
            "failed",
            f"recipient {chat}: outside the {self.options.window_hours:g}-hour standard messaging "
            "window and no marketing-messages opt-in; Messenger allows no promotional message "
            "then (message tags may not carry promotional content)",
        )

    async def _post_update(self, chat: str, text: str) -> Delivery:
        body = {"recipient": {"id": chat}, "messaging_type": "UPDATE", "message": {"text": text}}
        return await self._post(body)

    async def _send_marketing(self, chat: str, events: Sequence[Item], now: datetime) -> Delivery:
        wait = self._token_wait(chat, now)
        if wait > 0:
            return Delivery("retry", "marketing-message allowance used; next one later", wait)
        await self.pace(chat)
        body = {"recipient": {"notification_messages_token": self.tokens[chat]},
                "message": {"text": self.digest(events)}}  # fmt: skip
        return await self._post(body)

    def _token_wait(self, chat: str, now: datetime) -> float:
        """Seconds until this recipient's next marketing message is allowed."""
        if self.db is None or not self.options.token_interval_hours:
            return 0.0
        last = outbox.last_sent(self.db, self.name, chat)
        if last is None:
            return 0.0
        due = last + timedelta(hours=self.options.token_interval_hours)
        return max(0.0, (due - now).total_seconds())

    def digest(self, events: Sequence[Item]) -> str:
        """Everything in one message, the allowance being one: what does not fit is counted."""
        messages = self.render(events)
        if len(messages) == 1:
            return messages[0]
        more = f"\n\n… and more offers ({len(events)} in all)"
        return messages[0][: self.max_length - len(more)] + more

    async def _post(self, body: dict[str, Any]) -> Delivery:
        await self.start()
        assert self.client is not None
        headers = {"Authorization": f"Bearer {self.page_token}"}
        try:
            response = await self.client.post(self.endpoint, json=body, headers=headers)
        except httpx.HTTPError as exc:
            return Delivery("retry", self.mask(f"{type(exc).__name__}: {exc}"))
        if response.status_code == 200:
            return Delivery("sent")
        return self.mask_delivery(graph_error(response))

    def mask_delivery(self, delivery: Delivery) -> Delivery:
        return replace(delivery, detail=self.mask(delivery.detail))


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
            return Delivery("retry", detail, retry_after(response))
        return Delivery("failed", detail)
    return _classify(code, subcode, detail, response)


def _classify(code: int, subcode: int, detail: str, response: httpx.Response) -> Delivery:
    if code in RATE_LIMITED:
        return Delivery("retry", detail, retry_after(response) or 60.0)
    if code == 10 and subcode == OUTSIDE_WINDOW:
        return Delivery("failed", f"outside the messaging window: {detail}")
    if code == 551 or (code == 100 and subcode == NO_SUCH_USER):
        return Delivery("gone", f"this person is not available: {detail}")
    if code == 190:
        return Delivery("failed", f"the page access token is invalid or expired; set a new "
                                  f"one in page_token_env: {detail}")  # fmt: skip
    if code in TRANSIENT or response.status_code >= 500:
        return Delivery("retry", detail)
    return Delivery("failed", detail)
