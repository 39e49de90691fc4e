"""The Telegram transport of the chat commands, on python-telegram-bot's ``Application``: a
``CommandHandler`` per command (which also drops ``/command@OtherBot``), updates fetched by
the ``Updater``'s long polling or, when ``[chat] telegram_webhook_url`` is set, posted to the
daemon's webhook server. Replies go through the notifier's rate limiter and are retried when
Telegram asks to slow down.

Each update is recorded in the inbox in the transaction that applies its command, so a
crash never applies a command twice; a command that fails gets a reply and a log line, and
the next update is answered as usual. In groups only administrators change the watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import sqlite_utils
from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from chat import inbox
from chat.commands import (
    ADMIN_COMMANDS,
    CHANGING,
    COMMANDS,
    FAILED,
    ONLY_ADMINS,
    TOO_FAST,
    Sender,
    command_of,
    run_command,
)
from chat.guard import CommandRate
from chat.server import WebAnswer, WebRequest
from chat.store import SqliteSubscribers, taking_subscribers
from notifiers.base import Notifier, Slot
from notifiers.telegram import TelegramNotifier, client, retry_seconds
from settings.config import ChatSettings, Config, secret
from storage.db import transaction

log = logging.getLogger("awardwatch.chat.telegram")

SERVICE = "telegram"
#: Tries of one reply, and the longest flood-control pause honoured between them.
REPLY_TRIES = 3
MAX_RETRY_WAIT = 60.0
#: Longest wait at stop for the updates fetched and the replies under way.
STOP_WAIT = 30.0
#: Updates between two clean-ups of the inbox.
PRUNE_EVERY = 500
ADMIN_STATUSES = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}


class TelegramChat:
    """Answers the commands sent to one Telegram notifier's bot."""

    def __init__(
        self, notifier: TelegramNotifier, db: sqlite_utils.Database, settings: ChatSettings
    ) -> None:
        self.notifier = notifier
        self.db = db
        self.settings = settings
        options = notifier.options
        self.store = SqliteSubscribers(db, notifier.name, SERVICE, settings.max_subscribers)
        self.rate = CommandRate(settings.commands_per_minute)
        self.admins = set(options.admin_chats)
        self.webhook_secret = (secret(settings.telegram_secret_env)
                               if settings.telegram_secret_env else "")  # fmt: skip
        self.app = (
            Application.builder()
            .bot(client(notifier.token, options.base_url, options.timeout))
            .build()
        )
        names = sorted({*COMMANDS, *ADMIN_COMMANDS})
        self.app.add_handler(CommandHandler(names, self.on_command))
        self.app.add_handler(MessageHandler(filters.COMMAND, self.on_command))
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}  # per chat: lock, users
        self._taken = 0
        self._replies: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        return self.notifier.name

    # -- running ----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.app.initialize()  # getMe: the bot's username, for /command@bot
        await self.app.start()
        url = self.settings.telegram_webhook_url
        if url:
            await self.app.bot.set_webhook(
                f"{url.rstrip('/')}{self.webhook_path}", allowed_updates=["message"],
                secret_token=self.webhook_secret or None,
            )  # fmt: skip
        else:
            assert self.app.updater is not None
            await self.app.updater.start_polling(
                timeout=self.notifier.options.poll_seconds, allowed_updates=["message"],
                error_callback=self._polling_failed,
            )  # fmt: skip
        log.info("telegram bot %s: answering subscribers", self.name)

    async def stop(self) -> None:
        """Stop fetching (the Updater confirms what it fetched), answer what is queued."""
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        with contextlib.suppress(asyncio.TimeoutError):  # fetched and confirmed: answer them
            await asyncio.wait_for(self.app.update_queue.join(), STOP_WAIT)
        if self.app.running:
            await self.app.stop()
        if self._replies:
            await asyncio.wait(self._replies, timeout=STOP_WAIT)
        await self.app.shutdown()

    def _polling_failed(self, error: TelegramError) -> None:
        log.warning("telegram bot %s: getUpdates failed: %s", self.name,
                    self.notifier.mask(f"{type(error).__name__}: {error}"))  # fmt: skip

    @property
    def webhook_path(self) -> str:
        return f"/telegram/{self.name}"

    async def handle(self, request: WebRequest) -> WebAnswer:
        """A webhook delivery: 403 without the right secret, else queued for the handlers."""
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if request.method != "POST":
            return WebAnswer(405, "POST only")
        if self.webhook_secret and not hmac.compare_digest(
            given.encode(), self.webhook_secret.encode()
        ):
            log.warning("telegram bot %s: webhook post without the secret token refused",
                        self.name)  # fmt: skip
            return WebAnswer(403, "forbidden")
        try:
            update = Update.de_json(json.loads(request.body), self.app.bot)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            log.warning("telegram bot %s: unreadable webhook post: %s", self.name, exc)
            return WebAnswer(400, "bad update")
        await self.app.update_queue.put(update)
        return WebAnswer(200, "ok")

    # -- one update -------------------------------------------------------------------------

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None or not message.text:
            return
        found = command_of(message.text, bot=self.app.bot.username)
        if found is None:
            return  # addressed to another bot
        chat = str(message.chat.id)
        user = str(message.from_user.id) if message.from_user else chat
        key = str(update.update_id)
        verdict = self.rate.check(user)
        reply: str | None
        try:
            if verdict != "ok":
                reply = self._take(key, chat, lambda: TOO_FAST if verdict == "refuse" else None)
            elif found[0] in CHANGING and not await self._may_change(update):
                reply = self._take(key, chat, lambda: ONLY_ADMINS)
            else:
                sender = Sender(self.store, chat, _name(update), admin=chat in self.admins)
                reply = self._take(key, chat, lambda: run_command(sender, *found))
        except Exception:
            log.exception("telegram bot %s: command from %s failed", self.name, chat)
            self._mark_failed(key, chat)
            reply = FAILED
        if reply is not None:
            task = asyncio.ensure_future(self.reply(chat, reply))
            self._replies.add(task)
            task.add_done_callback(self._replies.discard)

    def _take(self, key: str, chat: str, act: Any) -> str | None:
        """Record the update and act on it in one transaction; None when it was taken before
        (a replay after a crash) or needs no reply."""
        self._taken += 1
        if self._taken % PRUNE_EVERY == 1:
            # update ids restart at random after a week without updates: forget them sooner
            inbox.prune(self.db, timedelta(days=2))
        with transaction(self.db):
            if not inbox.put(self.db, SERVICE, self.name, key, chat, {}):
                return None
            inbox.take(self.db, self.name, key)
            reply: str | None = act()
            return reply

    def _mark_failed(self, key: str, chat: str) -> None:
        inbox.put(self.db, SERVICE, self.name, key, chat, {"failed": True})
        inbox.take(self.db, self.name, key)

    async def _may_change(self, update: Update) -> bool:
        message = update.message
        assert message is not None
        if message.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
            return True
        if message.sender_chat is not None and message.sender_chat.id == message.chat.id:
            return True  # an anonymous administrator writes as the group itself
        if message.from_user is None:
            return False
        member = await self.app.bot.get_chat_member(message.chat.id, message.from_user.id)
        return member.status in ADMIN_STATUSES

    async def reply(self, chat: str, text: str) -> None:
        """Send ``text`` within the notifier's limits, in order per chat, retrying flood
        control; a chat that blocked the bot is marked so."""
        lock, users = self._locks.get(chat, (asyncio.Lock(), 0))
        self._locks[chat] = (lock, users + 1)
        try:
            async with lock:
                await self._send_reply(chat, text)
        finally:
            lock, users = self._locks[chat]
            if users == 1:
                del self._locks[chat]
            else:
                self._locks[chat] = (lock, users - 1)

    async def _send_reply(self, chat: str, text: str) -> None:
        for attempt in range(1, REPLY_TRIES + 1):
            slot = await pace(self.notifier, chat)
            try:
                await self.app.bot.send_message(chat_id=chat, text=text)
                return
            except RetryAfter as exc:
                if attempt == REPLY_TRIES:
                    break
                # the chat alone waits, exactly as long as Telegram said (alerts included)
                self.notifier.hold(chat, min(MAX_RETRY_WAIT, retry_seconds(exc)))
            except Forbidden:
                self.store.block(chat)
                return
            except TelegramError as exc:
                log.warning("telegram bot %s: reply to %s failed: %s",
                            self.name, chat, self.notifier.mask(str(exc)))  # fmt: skip
                return
            finally:
                slot.arrived()
        log.warning("telegram bot %s: reply to %s given up after flood control",
                    self.name, chat)  # fmt: skip


async def pace(notifier: Notifier, chat: str) -> Slot:
    """The one place chat replies wait for the notifier's rate limits (shared with alerts)."""
    return await notifier.pace(chat)


def _name(update: Update) -> str:
    message = update.message
    assert message is not None
    sender = message.from_user
    return (message.chat.title or (sender.full_name if sender else "") or "")[:100]


def telegram_chats(
    config: Config, db: sqlite_utils.Database, notifiers: Sequence[Notifier] = ()
) -> list[TelegramChat]:
    """A transport per Telegram notifier that takes subscribers, sharing the delivering
    notifier (and so its rate limits) when given."""
    return [
        TelegramChat(notifier, db, config.chat)
        for notifier in taking_subscribers(config, TelegramNotifier, notifiers)
    ]
