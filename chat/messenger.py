"""The Messenger transport of the chat commands: the Page's webhook on the daemon's server.

- ``GET``: Meta's verification (``hub.mode=subscribe``, ``hub.verify_token`` compared in
  constant time with the one in ``verify_token_env``; the answer is ``hub.challenge``).
- ``POST``: the body's ``X-Hub-Signature-256`` (HMAC-SHA256 with the app secret) is checked
  in constant time; unsigned or wrongly signed posts get 403 and a log line. Each messaging
  event is written to the inbox (deduplicated on ``mid``, or sender and timestamp) and the
  post is acknowledged at once; a worker then handles the inbox in order.
- Messages, quick-reply taps and postbacks (Get started, the persistent menu) become the same
  commands as on Telegram; free text like "watch from Boston to Europe business max 60000"
  works. Every event records the person's last interaction, so the 24-hour window is known
  from facts, and releases the alerts held for them: they go out as one digest at once.
- A ``messaging_optins`` event of type ``notification_messages`` stores the person's token
  (or drops it when they stop notifications).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from chat import inbox
from chat.commands import (
    ADMIN_COMMANDS,
    COMMANDS,
    FAILED,
    HELP,
    MAX_PLACE,
    TOO_FAST,
    WATCH_EXAMPLE,
    Sender,
    command_of,
    known_place,
    run_command,
)
from chat.guard import CommandRate
from chat.server import WebAnswer, WebRequest
from chat.store import SqliteSubscribers, taking_subscribers
from notifiers.base import Notifier
from notifiers.messenger import MessengerNotifier
from offers.model import Event
from settings.config import ChatSettings, Config, secret
from storage.db import transaction

log = logging.getLogger("awardwatch.chat.messenger")

SERVICE = "messenger"
#: Postback and quick-reply payloads, and the command each stands for.
PAYLOADS = {"GET_STARTED": "start", "WATCH": "watch", "LIST": "list", "PAUSE": "pause",
            "RESUME": "resume", "STOP": "stop", "HELP": "help"}  # fmt: skip
MENU = [("Watch", "WATCH"), ("My watches", "LIST"), ("Pause", "PAUSE"), ("Stop", "STOP")]
GREETING = "Hello! I send award fare alerts. Write start to subscribe, then a watch.\n\n"
WATCH_HINT = f"Tell me what to watch, for example:\n{WATCH_EXAMPLE}"
#: Held alerts older than this are dropped when the person comes back, not sent.
HELD_AT_MOST = timedelta(days=7)
#: Tries of one reply when Graph asks to slow down, and the longest pause between them.
REPLY_TRIES = 3
MAX_RETRY_WAIT = 30.0

Wake = Callable[[], Awaitable[Any]]


class BadSignature(Exception):
    """The post is not signed with the app secret"""


def signature(secret_key: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with ``body``."""
    return "sha256=" + hmac.new(secret_key.encode(), body, hashlib.sha256).hexdigest()


def check_signature(secret_key: str, body: bytes, header: str) -> None:
    if not header or not hmac.compare_digest(signature(secret_key, body).encode(),
                                             header.strip().encode()):  # fmt: skip
        raise BadSignature


def event_key(event: dict[str, Any]) -> str | None:
    """What makes a messaging event unique across Meta's redeliveries (None: not ours)."""
    sender = str(event.get("sender", {}).get("id", ""))
    stamp = event.get("timestamp")
    if not sender:
        return None
    message = event.get("message")
    if isinstance(message, dict):
        if message.get("is_echo"):
            return None  # what the Page itself sent
        return f"mid:{message.get('mid') or f'{sender}:{stamp}'}"
    postback = event.get("postback")
    if isinstance(postback, dict):
        return f"postback:{postback.get('mid') or f'{sender}:{stamp}'}"
    if isinstance(event.get("optin"), dict):
        return f"optin:{sender}:{stamp}"
    return None


def words_of(event: dict[str, Any]) -> str | None:
    """The command words an event stands for: a tap's payload, else the message text."""
    message = event.get("message") or {}
    payload = (message.get("quick_reply") or {}).get("payload") or (
        event.get("postback") or {}).get("payload")  # fmt: skip
    if payload:
        head, _, rest = str(payload).partition(":")
        if head == "MORE" and rest.isascii() and rest.isdigit() and len(rest) <= 12:
            return f"more {rest}"
        return PAYLOADS.get(head, "help")
    text = message.get("text")
    return str(text) if text else None


def known_place_or_cabin(key: str, value: str) -> bool:
    if key == "cabin":
        return True
    return " " not in value.strip() and len(value) <= MAX_PLACE and known_place(value)


def _stamp(event: dict[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(int(event["timestamp"]) / 1000, UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


class MessengerChat:
    """The webhook and inbox worker of one Messenger notifier (one Page)."""

    def __init__(
        self, notifier: MessengerNotifier, db: sqlite_utils.Database, settings: ChatSettings,
        wake: Wake | None = None,
    ) -> None:  # fmt: skip
        options = notifier.options
        self.notifier = notifier
        self.db = db
        self.store = SqliteSubscribers(db, notifier.name, SERVICE, settings.max_subscribers)
        notifier.attach(self.store)
        self.rate = CommandRate(settings.commands_per_minute)
        self.app_secret = secret(options.app_secret_env)
        self.verify_token = secret(options.verify_token_env)
        self.admins = set(options.admin_psids)
        self.wake = wake  # runs a delivery pass (held alerts released)
        self._arrived = asyncio.Event()
        self._waking: asyncio.Task[None] | None = None
        self._wake_again = False

    @property
    def name(self) -> str:
        return self.notifier.name

    @property
    def webhook_path(self) -> str:
        return str(self.notifier.options.webhook_path)

    # -- the webhook --------------------------------------------------------------------------

    async def handle(self, request: WebRequest) -> WebAnswer:
        if request.method == "GET":
            return self.verify(request.query)
        if request.method != "POST":
            return WebAnswer(405, "GET or POST")
        try:
            check_signature(self.app_secret, request.body,
                            request.headers.get("x-hub-signature-256", ""))  # fmt: skip
        except BadSignature:
            log.warning("messenger %s: webhook post with a missing or wrong signature refused",
                        self.name)  # fmt: skip
            return WebAnswer(403, "bad signature")
        try:
            data = json.loads(request.body)
            events = [e for entry in data.get("entry", []) for e in entry.get("messaging", [])]
        except (ValueError, AttributeError, TypeError, RecursionError):
            log.warning("messenger %s: unreadable webhook post", self.name)
            return WebAnswer(400, "bad body")
        taken = self.take_in(events)
        if taken:
            self._arrived.set()
        return WebAnswer(200, "EVENT_RECEIVED")

    def verify(self, query: dict[str, str]) -> WebAnswer:
        token = query.get("hub.verify_token", "")
        if query.get("hub.mode") == "subscribe" and hmac.compare_digest(
            token.encode(), self.verify_token.encode()
        ):
            return WebAnswer(200, query.get("hub.challenge", ""))
        log.warning("messenger %s: webhook verification with a wrong token refused", self.name)
        return WebAnswer(403, "forbidden")

    def take_in(self, events: Sequence[Any]) -> int:
        """Write the events to the inbox; how many were new."""
        new = 0
        for event in events:
            if not isinstance(event, dict):
                continue
            key = event_key(event)
            if key is not None:
                sender = str(event["sender"]["id"])[:64]
                new += inbox.put(self.db, SERVICE, self.name, key[:200], sender, event)
        return new

    # -- the worker ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Handle the inbox (what a crash left first) until ``stop`` is set."""
        log.info("messenger %s: answering subscribers", self.name)
        if self.notifier.options.setup_profile:
            await self.set_up_profile()
        while not stop.is_set():
            self._arrived.clear()
            try:
                await self.handle_pending()
            except Exception:  # the database is busy or broken: log, wait, try again
                log.exception("messenger %s: handling the inbox failed", self.name)
            with contextlib.suppress(asyncio.TimeoutError):
                waiting = [asyncio.ensure_future(e.wait()) for e in (stop, self._arrived)]
                await asyncio.wait(waiting, timeout=5.0, return_when=asyncio.FIRST_COMPLETED)
                for task in waiting:
                    task.cancel()
        await self.handle_pending()
        if self._waking is not None:
            await self._waking

    async def handle_pending(self) -> int:
        done = 0
        while rows := inbox.pending(self.db, self.name):
            for row in rows:
                await self.handle_event(row)
                done += 1
        if done:
            inbox.prune(self.db, timedelta(days=2))
        return done

    async def handle_event(self, row: dict[str, Any]) -> None:
        event, psid = row["body"], row["sender"]
        when = _stamp(event)
        try:
            reply = self.apply(row["key"], psid, event, when)
        except Exception:
            log.exception("messenger %s: event from %s failed", self.name, psid)
            inbox.take(self.db, self.name, row["key"])
            reply = FAILED
        if self.store.release_held(psid, datetime.now(UTC), HELD_AT_MOST):
            self._deliver_soon()  # the held alerts go out now, as one digest
        if reply:
            await self.reply(psid, reply)

    def _deliver_soon(self) -> None:
        """Run a delivery pass without holding up the inbox; one more if rows were released
        while a pass was running (it may have read the outbox before)."""
        if self.wake is None:
            return
        self._wake_again = True
        if self._waking is None or self._waking.done():
            self._waking = asyncio.ensure_future(self._deliver())

    async def _deliver(self) -> None:
        assert self.wake is not None
        while self._wake_again:
            self._wake_again = False
            try:
                await self.wake()
            except Exception:
                log.exception("messenger %s: delivering released alerts failed", self.name)

    def apply(self, key: str, psid: str, event: dict[str, Any], when: datetime) -> str | None:
        """Act on one event in the transaction that marks it done; the reply (or None)."""
        with transaction(self.db):
            if not inbox.take(self.db, self.name, key):
                return None  # handled before
            self.store.touch(psid, when)
            if isinstance(event.get("optin"), dict):
                return self._opt_in(psid, event["optin"])
            words = words_of(event)
            if words is None:
                return None  # a sticker, a photo: an interaction, not a command
            verdict = self.rate.check(psid)
            if verdict != "ok":
                return TOO_FAST if verdict == "refuse" else None
            found = command_of(words[:600], slash=False)
            if found is None:
                return None
            name, args = found
            sender = Sender(self.store, psid, admin=psid in self.admins)
            if name == "watch" and not args:
                return WATCH_HINT
            if name not in (*COMMANDS, *ADMIN_COMMANDS, "more"):
                return GREETING + HELP  # "hi", or a question: say what the Page can do
            if name == "more":
                name, args = "watch", self._like(args)
            reply = run_command(sender, name, args)
            self.store.touch(psid, when)  # a new subscriber's first
            return reply

    def _like(self, event_id: str) -> str:
        """The watch words for offers like the one of event ``event_id``."""
        rows = list(self.db.query("SELECT * FROM events WHERE id = ?", [int(event_id)]))
        if not rows:
            return "all"
        offer = Event.from_row(rows[0]).offer
        parts = [f"{key} {value}" for key, value in (
            ("from", offer.origin), ("to", offer.destination), ("cabin", offer.cabin)
        ) if value and known_place_or_cabin(key, value)]  # fmt: skip
        return " ".join(parts) or "all"

    def _opt_in(self, psid: str, optin: dict[str, Any]) -> str | None:
        if optin.get("type") != "notification_messages":
            return None
        if optin.get("notification_messages_status") == "STOP_NOTIFICATIONS":
            self.store.drop_token(psid)
            return None
        token = str(optin.get("notification_messages_token") or "")[:512]
        expiry = optin.get("token_expiry_timestamp")
        expires = datetime.fromtimestamp(int(expiry) / 1000, UTC) if expiry else None
        if token and self.store.set_token(psid, token, expires):
            return "Thanks: you will get a digest of new offers now and then."
        return None

    async def reply(self, psid: str, text: str) -> None:
        for attempt in range(1, REPLY_TRIES + 1):
            delivery = await self.notifier.reply(psid, text)
            if delivery.status == "retry" and attempt < REPLY_TRIES:
                await asyncio.sleep(min(MAX_RETRY_WAIT, delivery.retry_after or 1.0))
                continue
            if delivery.status == "gone":
                self.store.block(psid)
            elif not delivery.ok:
                log.warning("messenger %s: reply to %s failed: %s", self.name, psid,
                            delivery.detail)  # fmt: skip
            return

    async def set_up_profile(self) -> None:
        """The Get started button and the persistent menu (Messenger Profile API)."""
        body = {
            "get_started": {"payload": "GET_STARTED"},
            "persistent_menu": [{"locale": "default", "composer_input_disabled": False,
                                 "call_to_actions": [{"type": "postback", "title": title,
                                                      "payload": payload}
                                                     for title, payload in MENU]}],
        }  # fmt: skip
        delivery = await self.notifier.post_profile(body)
        if not delivery.ok:
            log.warning("messenger %s: setting the menu failed: %s", self.name, delivery.detail)


def messenger_chats(
    config: Config, db: sqlite_utils.Database, notifiers: Sequence[Notifier] = (),
    wake: Wake | None = None,
) -> list[MessengerChat]:  # fmt: skip
    """A transport per Messenger notifier that takes subscribers, sharing the delivering
    notifier (its pacing) when given."""
    return [
        MessengerChat(notifier, db, config.chat, wake)
        for notifier in taking_subscribers(config, MessengerNotifier, notifiers)
    ]
