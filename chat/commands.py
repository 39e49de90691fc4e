"""The chat commands, the same on every service: ``start``, ``watch …``, ``list``,
``unwatch N``, ``pause``, ``resume``, ``stop``, ``help``, and for operators ``status`` and
``sources``. Parsing, validation and replies are pure functions over a ``SubscriberStore``;
a transport finds the command in a message (``command_of``) and sends back the reply.

Watches take structured words, never a pattern::

    watch from JFK,BOS to Europe cabin business max 60000 months 2027-03,2027-04

Everything a user sends is bounded here, before any work: the command's length, the items
in a list, a place's length (and a place look-up, failures included, is cached), the miles.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from chat.store import SubscriberStore
from offers.errors import AwardwatchError
from offers.places import UnknownPlace, resolve
from offers.text import parse_cabin, parse_miles
from storage.subscribers import ACTIVE, MAX_WATCHES, Watch

WATCH_EXAMPLE = "watch from JFK,BOS to Europe cabin business max 60000 months 2027-03,2027-04"
HELP = """Award fare alerts. Commands:
/{example}
  (every part is optional; places are airport codes, cities, countries or regions;
  /watch all takes every offer)
/list - your watches
/unwatch N - forget watch number N
/pause, /resume - hold and restart alerts
/stop - unsubscribe and forget your watches""".replace("{example}", WATCH_EXAMPLE)

ADMIN_HELP = "\nOperators: /status (runs and deliveries), /sources (last run of each source)"

#: Words that start a part of a watch, and the part they start.
KEYWORDS = {"from": "origins", "to": "destinations", "cabin": "cabins", "cabins": "cabins",
            "max": "max_miles", "month": "months", "months": "months"}  # fmt: skip
#: Cabin words that start the cabin part on their own ("to Europe business").
CABIN_WORDS = {"economy", "premium", "business", "first"}
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
#: Bounds on what one command may ask for.
MAX_ITEMS = 20
MAX_COMMAND = 500
MAX_PLACE = 100
MAX_MILES = 10_000_000
#: Commands that change what a chat gets; in a group only its administrators may send them.
CHANGING = frozenset({"start", "watch", "unwatch", "pause", "resume", "stop"})

NOT_SUBSCRIBED = "You are not subscribed. Send /start first."
ONLY_ADMINS = "Only the group's administrators can change its alerts."
FULL = ("Sorry, awardwatch has as many subscribers as it can take right now. "
        "Please try again later.")  # fmt: skip
FAILED = "Sorry, something went wrong with that command; nothing was changed. Try again later."
TOO_FAST = "You are sending commands too fast; wait a minute and try again."


class BadCommand(AwardwatchError):
    """That command was not understood; send /help to see the commands"""


@dataclass(frozen=True)
class Sender:
    """Who sent a command: their chat on the store's service, and what they may do."""

    store: SubscriberStore
    chat: str
    name: str = ""
    admin: bool = False  # one of the bot's operators

    def subscriber_status(self) -> str | None:
        found = self.store.get(self.chat)
        return found["status"] if found else None

    def active(self) -> bool:
        return self.subscriber_status() == ACTIVE


# -- finding the command in a message -----------------------------------------------------


def command_of(text: str, *, slash: bool = True, bot: str | None = None) -> tuple[str, str] | None:
    """(name, arguments) of the command in ``text``, or None when it is not one for us:
    chatter, or (``slash``: Telegram) a ``/command@OtherBot``. Without ``slash`` (Messenger)
    a leading ``/`` is optional and the first word names the command."""
    text = text.strip()
    if slash and not text.startswith("/"):
        return None
    head, _, args = text.removeprefix("/").partition(" ")
    name, _, addressee = head.partition("@")
    if addressee and bot is not None and addressee.lower() != bot.lower():
        return None
    return name.lower(), args.strip()


# -- watch arguments ----------------------------------------------------------------------


def parse_watch(text: str) -> Watch:
    """A Watch from the words after ``watch``, or BadCommand saying what is wrong."""
    tokens = text.split()
    if not tokens:
        raise BadCommand(f"Say what to watch, for example:\n/{WATCH_EXAMPLE}")
    if [t.lower() for t in tokens] in (["all"], ["everything"]):
        return Watch()
    parts: dict[str, list[str]] = {}
    current: str | None = None
    for token in tokens:
        word = token.lower().rstrip(",")
        key = KEYWORDS.get(token.lower())
        # "to Europe business": the cabin keyword may be left out
        implicit = key is None and word in CABIN_WORDS and current in ("origins", "destinations")
        if implicit:
            key = "cabins"
        if key is not None:
            if key in parts:
                raise BadCommand(f"'{token}' is given twice")
            parts[key] = [token] if implicit else []
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
    if len(text) > MAX_PLACE:
        raise BadCommand(f"A place is at most {MAX_PLACE} characters long")
    candidates = [text.upper(), text] if len(text) == 3 and text.isalpha() else [text]
    for candidate in candidates:
        if known_place(candidate):
            return candidate
    raise BadCommand(
        f"Unknown place '{text}': use an airport code (JFK), a city (Paris), a country "
        "(Japan) or a region (Europe, Caribbean)"
    )


@lru_cache(maxsize=8192)
def known_place(text: str) -> bool:
    """Whether ``text`` names a place; cached both ways, so a repeated unknown name costs
    nothing (``resolve`` caches only the places it finds)."""
    try:
        resolve(text)
    except UnknownPlace:
        return False
    return True


def _cabin(text: str) -> str:
    try:
        cabin = parse_cabin(text)
    except ValueError:
        cabin = None
    if cabin is None:
        raise BadCommand(f"Unknown cabin '{text}': economy, premium economy, business or first")
    return cabin


def _miles(values: list[str]) -> int:
    words = " ".join(values).split()
    if words and words[-1].lower() in ("miles", "points") and len(words) > 1:
        words = words[:-1]
    if len(values) != 1 or len(words) != 1:
        raise BadCommand("Give one number after 'max', for example max 60000")
    written = words[0]
    miles = None
    if len(written) <= 12 and re.fullmatch(r"[\d.,]+\s*[kK]?", written):
        try:
            miles = parse_miles(written)
        except ValueError:
            miles = None
    if miles is None or miles <= 0:
        raise BadCommand(f"'{written}' is not a number of miles (for example 60000 or 60k)")
    if miles > MAX_MILES:
        raise BadCommand(f"At most {MAX_MILES:,} miles")
    return miles


def _month(text: str) -> str:
    match = _MONTH.match(text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise BadCommand(f"'{text}' is not a month: write it as YYYY-MM, for example 2027-03")
    return f"{int(match.group(1)):04d}-{int(match.group(2)):02d}"


# -- commands -----------------------------------------------------------------------------


def cmd_start(sender: Sender, args: str) -> str:
    store = sender.store
    capacity = store.capacity
    if not sender.active() and capacity is not None and store.active_count() >= capacity:
        return FULL
    store.subscribe(sender.chat, sender.name)
    count = len(store.watches(sender.chat))
    hint = f"You have {count} watches; /list shows them." if count else "Add a watch to start:"
    return f"Subscribed. {hint}\n\n{HELP}"


def cmd_help(sender: Sender, args: str) -> str:
    return HELP + (ADMIN_HELP if sender.admin else "")


def cmd_watch(sender: Sender, args: str) -> str:
    if not sender.active():
        return NOT_SUBSCRIBED
    watch = parse_watch(args)
    if len(sender.store.watches(sender.chat)) >= MAX_WATCHES:
        return f"You have {MAX_WATCHES} watches already; /unwatch one first."
    number = sender.store.add_watch(sender.chat, watch)
    return f"Watch {number} added: {watch.describe()}"


def cmd_list(sender: Sender, args: str) -> str:
    found = sender.store.get(sender.chat)
    if found is None or found["status"] != ACTIVE:
        return NOT_SUBSCRIBED
    current = sender.store.watches(sender.chat)
    if not current:
        return f"No watches yet. Add one with /watch, for example:\n/{WATCH_EXAMPLE}"
    lines = [f"{n}. {w.describe()}" for n, w in enumerate(current, start=1)]
    if found["paused"]:
        lines.append("Alerts are paused; /resume to get them again.")
    return "\n".join(lines)


def cmd_unwatch(sender: Sender, args: str) -> str:
    if not sender.active():
        return NOT_SUBSCRIBED
    number = args.strip()
    if not (number.isascii() and number.isdigit() and len(number) <= 3):
        return "Say which watch to forget by its number in /list, for example /unwatch 2"
    gone = sender.store.remove_watch(sender.chat, int(number))
    if gone is None:
        return f"There is no watch {number}; /list shows your watches."
    return f"Forgot watch {number}: {gone.describe()}"


def cmd_pause(sender: Sender, args: str) -> str:
    if not sender.active():
        return NOT_SUBSCRIBED
    sender.store.set_paused(sender.chat, True)
    return "Alerts paused. Send /resume to get them again."


def cmd_resume(sender: Sender, args: str) -> str:
    if not sender.active():
        return NOT_SUBSCRIBED
    sender.store.set_paused(sender.chat, False)
    return "Alerts resumed."


def cmd_stop(sender: Sender, args: str) -> str:
    if not sender.store.stop(sender.chat):
        return NOT_SUBSCRIBED
    return "Unsubscribed and your watches are forgotten. Send /start to come back."


def cmd_status(sender: Sender, args: str) -> str:
    total, recent = sender.store.run_counts()
    return "\n".join([
        f"Runs: {total} in all; last 24 h: {_counts(recent)}",
        f"Outbox: {_counts(sender.store.outbox_counts())}",
        f"Subscribers: {_counts(sender.store.counts())}",
    ])  # fmt: skip


def cmd_sources(sender: Sender, args: str) -> str:
    rows = sender.store.last_runs()
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


Command = Callable[[Sender, str], str]
COMMANDS: dict[str, Command] = {
    "start": cmd_start, "help": cmd_help, "watch": cmd_watch, "list": cmd_list,
    "unwatch": cmd_unwatch, "pause": cmd_pause, "resume": cmd_resume, "stop": cmd_stop,
}  # fmt: skip
ADMIN_COMMANDS: dict[str, Command] = {"status": cmd_status, "sources": cmd_sources}


def run_command(sender: Sender, name: str, args: str) -> str:
    """The reply to command ``name`` with ``args`` (already found in a message)."""
    if len(args) > MAX_COMMAND:
        return f"That is too long for a command (at most {MAX_COMMAND} characters)."
    if name in ADMIN_COMMANDS:
        if not sender.admin:
            return "That command is for the bot's operators."
        return ADMIN_COMMANDS[name](sender, args)
    if name not in COMMANDS:
        return f"I don't know /{name[:40]}.\n\n{HELP}"
    try:
        return COMMANDS[name](sender, args)
    except BadCommand as exc:
        return str(exc)


def respond(sender: Sender, text: str, *, slash: bool = True, bot: str | None = None) -> str | None:
    """The reply to one message (None: say nothing, e.g. to chatter in a group)."""
    found = command_of(text[: MAX_COMMAND + 1], slash=slash, bot=bot)
    if found is None:
        return None
    if len(text) > MAX_COMMAND:
        return f"That is too long for a command (at most {MAX_COMMAND} characters)."
    return run_command(sender, *found)
