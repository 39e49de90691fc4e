"""The self-service subscriber bot: people (and groups) talk to the Telegram bot to say which
offers they want, and the Telegram notifier delivers to them by those watches.

Commands: /start, /watch, /list, /unwatch N, /pause, /resume, /stop, /help; for the chats in
``admin_chats`` also /status and /sources. Watches take structured words, never a pattern::

    /watch from JFK,BOS to Europe cabin business max 60000 months 2027-03,2027-04

``run_bot(config, db, stop)`` long-polls getUpdates for every Telegram notifier that has
``subscribers = true`` until ``stop`` is set; it runs inside the daemon on its event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlite_utils
from telegram import Update
from telegram.error import Conflict, Forbidden, TelegramError

from awardwatch.config import Config
from awardwatch.errors import AwardwatchError
from notifiers.telegram import TelegramNotifier, client
from offers.places import UnknownPlace, resolve
from offers.text import parse_cabin, parse_miles
from storage import outbox, subscribers
from storage.subscribers import Watch

log = logging.getLogger("awardwatch.telegram_bot")

HELP = """Award fare alerts. Commands:
/watch from JFK,BOS to Europe cabin business max 60000 months 2027-03,2027-04
  (every part is optional; places are airport codes, cities, countries or regions;
  /watch all takes every offer)
/list - your watches
/unwatch N - forget watch number N
/pause, /resume - hold and restart alerts
/stop - unsubscribe and forget your watches"""

ADMIN_HELP = "\nOperators: /status (runs and deliveries), /sources (last run of each source)"

#: Words that start a part of /watch, and the part they start.
KEYWORDS = {"from": "origins", "to": "destinations", "cabin": "cabins", "cabins": "cabins",
            "max": "max_miles", "month": "months", "months": "months"}  # fmt: skip
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
#: Most places or months in one watch, and the longest command read.
MAX_ITEMS = 20
MAX_COMMAND = 500


class BadCommand(AwardwatchError):
    """That command was not understood; send /help to see the commands"""


# -- /watch arguments ---------------------------------------------------------------------


def parse_watch(text: str) -> Watch:
    """A Watch from the words after /watch, or BadCommand saying what is wrong."""
    tokens = text.split()
    if not tokens:
        raise BadCommand(f"Say what to watch, for example:\n{HELP.splitlines()[1]}")
    if [t.lower() for t in tokens] in (["all"], ["everything"]):
        return Watch()
    parts: dict[str, list[str]] = {}
    current: str | None = None
    for token in tokens:
        key = KEYWORDS.get(token.lower())
        if key is not None:
            if key in parts:
                raise BadCommand(f"'{token}' is given twice")
            parts[key] = []
            current = key
        elif current is None:
            raise BadCommand(f"Start with from, to, cabin, max or months (not '{token}')")
        else:
            parts[current].append(token)
    items = {key: _items(key, words) for key, words in parts.items()}
    return Watch(
        origins=[_place(p) for p in items.get("origins", [])],
        destinations=[_place(p) for p in items.get("destinations", [])],
        cabins=list(dict.fromkeys(_cabin(c) for c in items.get("cabins", []))),
        max_miles=_miles(items["max_miles"]) if "max_miles" in items else None,
        months=sorted({_month(m) for m in items.get("months", [])}),
    )


def _items(key: str, words: list[str]) -> list[str]:
    found = [item.strip() for item in " ".join(words).split(",") if item.strip()]
    word = {v: k for k, v in KEYWORDS.items()}[key]
    if not found:
        raise BadCommand(f"Nothing follows '{word}'")
    if len(found) > MAX_ITEMS:
        raise BadCommand(f"At most {MAX_ITEMS} items after '{word}'")
    return found


def _place(text: str) -> str:
    candidates = [text.upper(), text] if len(text) == 3 and text.isalpha() else [text]
    for candidate in candidates:
        try:
            resolve(candidate)
        except UnknownPlace:
            continue
        return candidate
    raise BadCommand(
        f"Unknown place '{text}': use an airport code (JFK), a city (Paris), a country "
        "(Japan) or a region (Europe, Caribbean)"
    )


def _cabin(text: str) -> str:
    try:
        cabin = parse_cabin(text)
    except ValueError:
        cabin = None
    if cabin is None:
        raise BadCommand(f"Unknown cabin '{text}': economy, premium economy, business or first")
    return cabin


def _miles(values: list[str]) -> int:
    if len(values) != 1 or len(values[0].split()) != 1:
        raise BadCommand("Give one number after 'max', for example max 60000")
    try:
        miles = parse_miles(values[0])
    except ValueError:
        miles = None
    if miles is None or miles <= 0 or not re.fullmatch(r"[\d.,]+\s*[kK]?", values[0]):
        raise BadCommand(f"'{values[0]}' is not a number of miles (for example 60000 or 60k)")
    return miles


def _month(text: str) -> str:
    match = _MONTH.match(text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise BadCommand(f"'{text}' is not a month: write it as YYYY-MM, for example 2027-03")
    return f"{int(match.group(1)):04d}-{int(match.group(2)):02d}"


# -- commands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chat:
    """Who sent a command: the chat it came from, on which notifier, and what they may do."""

    db: sqlite_utils.Database
    target: str
    chat: str
    name: str = ""
    admin: bool = False

    def subscriber(self) -> dict[str, Any] | None:
        return subscribers.get(self.db, self.target, self.chat)

    def active(self) -> bool:
        found = self.subscriber()
        return found is not None and found["status"] == subscribers.ACTIVE


NOT_SUBSCRIBED = "You are not subscribed. Send /start first."


def cmd_start(chat: Chat, args: str) -> str:
    subscribers.subscribe(chat.db, chat.target, chat.chat, chat.name)
    count = len(subscribers.watches(chat.db, chat.target, chat.chat))
    hint = f"You have {count} watches; /list shows them." if count else "Add a watch to start:"
    return f"Subscribed. {hint}\n\n{HELP}"


def cmd_help(chat: Chat, args: str) -> str:
    return HELP + (ADMIN_HELP if chat.admin else "")


def cmd_watch(chat: Chat, args: str) -> str:
    if not chat.active():
        return NOT_SUBSCRIBED
    watch = parse_watch(args)
    if len(subscribers.watches(chat.db, chat.target, chat.chat)) >= subscribers.MAX_WATCHES:
        return f"You have {subscribers.MAX_WATCHES} watches already; /unwatch one first."
    number = subscribers.add_watch(chat.db, chat.target, chat.chat, watch)
    return f"Watch {number} added: {watch.describe()}"


def cmd_list(chat: Chat, args: str) -> str:
    found = chat.subscriber()
    if found is None or found["status"] != subscribers.ACTIVE:
        return NOT_SUBSCRIBED
    current = subscribers.watches(chat.db, chat.target, chat.chat)
    if not current:
        return "No watches yet. Add one with /watch, for example:\n" + HELP.splitlines()[1]
    lines = [f"{n}. {w.describe()}" for n, w in enumerate(current, start=1)]
    if found["paused"]:
        lines.append("Alerts are paused; /resume to get them again.")
    return "\n".join(lines)


def cmd_unwatch(chat: Chat, args: str) -> str:
    if not chat.active():
        return NOT_SUBSCRIBED
    if not args.strip().isdigit():
        return "Say which watch to forget by its number in /list, for example /unwatch 2"
    gone = subscribers.remove_watch(chat.db, chat.target, chat.chat, int(args))
    if gone is None:
        return f"There is no watch {args.strip()}; /list shows your watches."
    return f"Forgot watch {args.strip()}: {gone.describe()}"


def cmd_pause(chat: Chat, args: str) -> str:
    if not chat.active():
        return NOT_SUBSCRIBED
    subscribers.set_paused(chat.db, chat.target, chat.chat, True)
    return "Alerts paused. Send /resume to get them again."


def cmd_resume(chat: Chat, args: str) -> str:
    if not chat.active():
        return NOT_SUBSCRIBED
    subscribers.set_paused(chat.db, chat.target, chat.chat, False)
    return "Alerts resumed."


def cmd_stop(chat: Chat, args: str) -> str:
    if not subscribers.stop(chat.db, chat.target, chat.chat):
        return NOT_SUBSCRIBED
    return "Unsubscribed and your watches are forgotten. Send /start to come back."


def cmd_status(chat: Chat, args: str) -> str:
    runs = {r["status"]: r["n"] for r in chat.db.query(
        "SELECT status, count(*) AS n FROM runs WHERE started >= datetime('now', '-1 day')"
        " GROUP BY status")}  # fmt: skip
    total = chat.db.execute("SELECT count(*) FROM runs").fetchone()[0]
    queue = outbox.counts(chat.db)
    people = subscribers.counts(chat.db, chat.target)
    return "\n".join([
        f"Runs: {total} in all; last 24 h: {_counts(runs)}",
        f"Outbox: {_counts(queue)}",
        f"Subscribers: {_counts(people)}",
    ])  # fmt: skip


def cmd_sources(chat: Chat, args: str) -> str:
    rows = list(chat.db.query(
        "SELECT r.* FROM runs r JOIN (SELECT source, max(id) AS id FROM runs GROUP BY source)"
        " last ON last.id = r.id ORDER BY r.source"))  # fmt: skip
    if not rows:
        return "No runs yet."
    return "\n".join(
        f"{r['source']}: {r['status']} at {(r['finished'] or r['started'])[:16]}, "
        f"{r['offers']} offers, {r['events']} alerts"
        + (f" ({r['message']})" if r["message"] else "")
        for r in rows
    )


def _counts(values: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(values.items())) or "none"


Command = Callable[[Chat, str], str]
COMMANDS: dict[str, Command] = {
    "start": cmd_start, "help": cmd_help, "watch": cmd_watch, "list": cmd_list,
    "unwatch": cmd_unwatch, "pause": cmd_pause, "resume": cmd_resume, "stop": cmd_stop,
}  # fmt: skip
ADMIN_COMMANDS: dict[str, Command] = {"status": cmd_status, "sources": cmd_sources}


def respond(chat: Chat, text: str) -> str | None:
    """The reply to one message (None: say nothing, e.g. to chatter in a group)."""
    if not text.startswith("/"):
        return None
    if len(text) > MAX_COMMAND:
        return f"That is too long for a command (at most {MAX_COMMAND} characters)."
    head, _, args = text.strip().partition(" ")
    name = head[1:].split("@", 1)[0].lower()  # /watch@SomeBot in groups
    if name in ADMIN_COMMANDS:
        if not chat.admin:
            return "That command is for the bot's operators."
        return ADMIN_COMMANDS[name](chat, args)
    if name not in COMMANDS:
        return f"I don't know /{name}.\n\n{HELP}"
    try:
        return COMMANDS[name](chat, args)
    except BadCommand as exc:
        return str(exc)


# -- polling --------------------------------------------------------------------------------


class SubscriberBot:
    """Answers the commands sent to one Telegram notifier's bot, by long polling."""

    def __init__(self, notifier: TelegramNotifier, db: sqlite_utils.Database) -> None:
        self.notifier = notifier
        self.db = db
        options = notifier.options
        self.bot = client(notifier.token, options.base_url, options.timeout)
        self.admins = set(options.admin_chats)
        self.offset: int | None = None
        self._unconfirmed = False

    async def poll(self, timeout: int) -> int:
        """Fetch and answer one batch of updates; return how many there were."""
        updates = await self.bot.get_updates(
            offset=self.offset, timeout=timeout, allowed_updates=["message"]
        )
        for update in updates:
            # acknowledged with the next getUpdates: a command is applied once
            self.offset = update.update_id + 1
            self._unconfirmed = True
            await self.answer(update)
        if not updates:
            self._unconfirmed = False
        return len(updates)

    async def answer(self, update: Update) -> None:
        message = update.message
        if message is None or not message.text:
            return
        chat_id = str(message.chat.id)
        sender = message.from_user
        name = message.chat.title or (sender.full_name if sender else "") or ""
        chat = Chat(self.db, self.notifier.name, chat_id, name, admin=chat_id in self.admins)
        reply = respond(chat, message.text)
        if reply is None:
            return
        try:
            await self.bot.send_message(chat_id=chat_id, text=reply)
        except Forbidden:
            subscribers.set_status(self.db, self.notifier.name, chat_id, subscribers.BLOCKED)
        except TelegramError as exc:
            log.warning("telegram bot %s: reply to %s failed: %s",
                        self.notifier.name, chat_id, self.notifier.mask(str(exc)))  # fmt: skip

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; errors are logged and retried with a growing pause."""
        failures = 0
        log.info("telegram bot %s: answering subscribers", self.notifier.name)
        while not stop.is_set():
            polling = asyncio.ensure_future(self.poll(self.notifier.options.poll_seconds))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not polling.done():
                polling.cancel()
                with contextlib.suppress(asyncio.CancelledError, TelegramError):
                    await polling
                break
            error = polling.exception()
            if error is None:
                failures = 0
                continue
            failures += 1
            self._log_failure(error)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(60.0, 2.0**failures))
        await self.close()

    def _log_failure(self, error: BaseException) -> None:
        text = self.notifier.mask(f"{type(error).__name__}: {error}")
        if isinstance(error, Conflict):
            text += " (a webhook is set or another copy of the bot is polling)"
        log.warning("telegram bot %s: getUpdates failed: %s", self.notifier.name, text)

    async def close(self) -> None:
        """Confirm the updates answered, so a restart does not apply the same commands again,
        and release the connections."""
        if self._unconfirmed:
            with contextlib.suppress(TelegramError):
                await self.bot.get_updates(offset=self.offset, timeout=0, limit=1)
        with contextlib.suppress(TelegramError, RuntimeError):
            await self.bot.shutdown()


def subscriber_bots(config: Config, db: sqlite_utils.Database) -> list[SubscriberBot]:
    """One bot per Telegram notifier that takes subscribers."""
    bots = []
    for entry in config.notifiers:
        if entry.type == TelegramNotifier.type_name:
            notifier = TelegramNotifier(entry)
            if notifier.options.subscribers:
                bots.append(SubscriberBot(notifier, db))
    return bots


async def run_bot(config: Config, db: sqlite_utils.Database, stop: asyncio.Event) -> None:
    """Answer subscribers of every Telegram notifier until ``stop`` is set."""
    bots = subscriber_bots(config, db)
    if bots:
        await asyncio.gather(*(bot.run(stop) for bot in bots))
