"""Alerts through Apprise: one notifier for any service Apprise has a URL for (Discord, Slack,
e-mail, Teams, ntfy, Signal through signal-cli, WhatsApp Cloud API, …).

Each URL is its own chat in the outbox, keyed by a digest of the URL rather than the URL
(which often holds a token), so one failing service retries alone and never repeats what the
others already got. URLs come from ``urls`` or, to keep tokens out of the config file, from
the environment variable named by ``urls_env`` (separated by whitespace or commas); they are
masked in every log line and error. Apprise sends synchronously: each send runs in a thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import apprise
from pydantic import BaseModel, ConfigDict, Field, model_validator

from notifiers.base import Delivery, Item, Notifier
from offers.errors import ConfigError
from offers.model import Event
from settings.config import NotifierConfig, secret


class AppriseOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(default_factory=list)
    urls_env: str | None = None
    title: str = "Award offers"
    #: Longest message handed to Apprise (Discord takes 2000 characters, Slack far more).
    max_length: int = Field(default=1900, ge=100)

    @model_validator(mode="after")
    def _some_url(self) -> AppriseOptions:
        if not self.urls and not self.urls_env:
            raise ValueError("set urls or urls_env")
        return self


def chat_key(url: str) -> str:
    """The outbox chat of one URL: stable while the URL stays the same, and no secret."""
    return "url-" + hashlib.sha256(url.encode()).hexdigest()[:12]


def secret_parts(url: str) -> list[str]:
    """The pieces of an Apprise URL that may be credentials: the whole URL, the password, the
    user, and every path segment or query value long enough to be a token."""
    parts = [url]
    split = urlsplit(url)
    parts += [p for p in (split.password, split.username) if p]
    parts += [seg for seg in split.path.split("/") if len(seg) >= 8]
    parts += [value for _, value in parse_qsl(split.query) if len(value) >= 8]
    return sorted(set(parts), key=len, reverse=True)  # longest first: mask whole before parts


class AppriseNotifier(Notifier):
    type_name: ClassVar[str] = "apprise"
    chat_interval: ClassVar[float] = 1.0
    Options = AppriseOptions

    def __init__(self, config: NotifierConfig) -> None:
        super().__init__(config)
        urls = list(self.options.urls)
        if self.options.urls_env:
            urls += [u for u in re.split(r"[\s,]+", secret(self.options.urls_env)) if u]
        self.max_length = self.options.max_length  # type: ignore[misc]
        self.services: dict[str, apprise.Apprise] = {}
        self._secrets: list[str] = []
        for url in urls:
            self._secrets += secret_parts(url)
            self.services[chat_key(url)] = self._service(url)

    def _service(self, url: str) -> apprise.Apprise:
        service = apprise.Apprise()
        if not service.add(url):
            raise ConfigError(
                f"notifier {self.name!r} (apprise): not an Apprise URL it can use: {self.mask(url)}"
            )
        return service

    def secrets(self) -> list[str]:
        return self._secrets

    def recipients(self, event: Event) -> list[str]:
        return list(self.services)

    def admin_chats(self) -> list[str]:
        return list(self.services)

    async def send(self, chat: str, events: Sequence[Item]) -> Delivery:
        if chat not in self.services:
            return Delivery("failed", "this URL is no longer in the notifier's configuration")
        return await self.send_messages(chat, events, self.post_text)

    async def post_text(self, chat: str, text: str) -> Delivery:
        return await asyncio.to_thread(self._notify, self.services[chat], text)

    def _notify(self, service: apprise.Apprise, text: str) -> Delivery:
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as log:
            ok = service.notify(body=text, title=self.options.title)
        if ok:
            return Delivery("sent")
        # Apprise says only yes or no; its log says why, and a later try may well work.
        return Delivery("retry", self.mask(_last_line(log.getvalue()) or "Apprise could not send"))


def _last_line(text: Any) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[-1] if lines else ""
