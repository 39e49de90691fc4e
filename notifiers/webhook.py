"""Alerts as a signed JSON POST to any HTTP endpoint.

The body is one JSON document per send: the events (each offer in full, plus its text) or an
admin message. With ``secret_env`` set, the header ``X-Awardwatch-Timestamp`` carries the
time of sending (Unix seconds) and ``X-Awardwatch-Signature: sha256=<hex>`` the HMAC-SHA256,
under that secret, of the timestamp, a dot and the raw body. The receiver checks both: the
message came from this bot, and it is fresh (a captured request replayed later is refused).
``X-Awardwatch-Delivery`` carries the outbox row id of each event in the body (comma-separated,
in order; each event's ``delivery`` field holds its own): the same alert to the same chat keeps
its id on every redelivery, so receivers deduplicate on it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from notifiers.base import AdminMessage, Delivery, Item, Notifier, delivery_ids
from settings.config import NotifierConfig, secret

SIGNATURE_HEADER = "X-Awardwatch-Signature"
TIMESTAMP_HEADER = "X-Awardwatch-Timestamp"
#: How old (or how far ahead) a signed delivery may be when the receiver checks it, in seconds.
TOLERANCE = 300
DELIVERY_HEADER = "X-Awardwatch-Delivery"


class WebhookOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    secret_env: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=15, gt=0)


def sign(body: bytes, key: str, timestamp: str) -> str:
    """The signature header's value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    body: bytes,
    key: str,
    signature: str,
    timestamp: str,
    *,
    now: float | None = None,
    tolerance: float = TOLERANCE,
) -> bool:
    """What a receiver does: the timestamp within ``tolerance`` of now, and the signature over
    timestamp and body compared in constant time."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(body, key, timestamp), signature)


class WebhookNotifier(Notifier):
    type_name: ClassVar[str] = "webhook"
    max_length: ClassVar[int] = 1_000_000
    batch_size: ClassVar[int] = 50
    Options = WebhookOptions

    def __init__(self, config: NotifierConfig) -> None:
        super().__init__(config)
        self.key = secret(self.options.secret_env) if self.options.secret_env else None
        self.client: httpx.AsyncClient | None = None

    def secrets(self) -> list[str]:
        return [self.key] if self.key else []

    async def start(self) -> None:
        if self.client is None:
            self.client = httpx.AsyncClient(timeout=self.options.timeout_seconds)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    def payload(self, chat: str, events: Sequence[Item]) -> bytes:
        ids = dict(zip(range(len(events)), delivery_ids(), strict=False))
        document = {
            "target": self.name,
            "chat": chat or None,
            "sent_at": datetime.now(UTC).isoformat(),
            "events": [{**self._event(e), "delivery": ids.get(n)}
                       for n, e in enumerate(events) if not isinstance(e, AdminMessage)],
            "admin": [
                {"subject": e.subject, "text": e.text}
                for e in events
                if isinstance(e, AdminMessage)
            ],
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()

    def _event(self, event: Any) -> dict[str, Any]:
        return {
            "id": event.id,
            "kind": event.kind,
            "rules": event.rules,
            "previous_miles": event.previous_miles,
            "offer": event.offer.model_dump(mode="json"),
            "text": self.render_offer(event),
        }

    async def send(self, chat: str, events: Sequence[Item]) -> Delivery:
        body = self.payload(chat, events)
        headers = {"Content-Type": "application/json", **self.options.headers}
        if delivery_ids():
            headers[DELIVERY_HEADER] = ",".join(str(i) for i in delivery_ids())
        if self.key:
            timestamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(body, self.key, timestamp)
        await self.start()
        assert self.client is not None
        slot = await self.pace(chat)
        try:
            response = await self.client.post(str(self.options.url), content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Delivery("retry", self.mask(f"{type(exc).__name__}: {exc}"))
        finally:
            slot.arrived()
        return classify(response)


def classify(response: httpx.Response) -> Delivery:
    """What an HTTP answer means for the delivery."""
    status = response.status_code
    if 200 <= status < 300:
        return Delivery("sent")
    detail = f"HTTP {status}: {response.text[:200]}"
    if status == 429:
        return Delivery("retry", detail, retry_after=retry_after(response), rate_limited=True)
    if status in (408, 425) or status >= 500:
        return Delivery("retry", detail, retry_after=retry_after(response))
    if status in (401, 403):
        return Delivery("rejected", f"the endpoint refused the webhook: {detail}")
    if status == 410:
        return Delivery("gone", detail)
    return Delivery("failed", detail)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds form; dates are rare in APIs)."""
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
