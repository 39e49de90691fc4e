"""The chat commands as pure functions over the subscriber store: parsing, validation and
bounds, the same for every chat service."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chat.commands import (
    FULL,
    HELP,
    MAX_MILES,
    WATCH_EXAMPLE,
    Sender,
    command_of,
    parse_watch,
    respond,
)
from chat.guard import CommandRate
from chat.store import SqliteSubscribers
from storage import subscribers
from storage.subscribers import Watch


def sender(db: Any, chat: str = "11", service: str = "telegram", **store: Any) -> Sender:
    return Sender(SqliteSubscribers(db, service, service, **store), chat)


BAD_INPUT = [
    ("/watch", "Say what to watch"),
    ("/watch Paris", "Start with from, to, cabin, max or months (not 'Paris')"),
    ("/watch from XQZ", "Unknown place 'XQZ'"),
    ("/watch to Atlantis", "Unknown place 'Atlantis'"),
    ("/watch cabin sofa", "Unknown cabin 'sofa'"),
    ("/watch max lots", "'lots' is not a number of miles"),
    ("/watch max 60000 70000", "Give one number after 'max'"),
    ("/watch months 2027-13", "'2027-13' is not a month"),
    ("/watch months March", "'March' is not a month"),
    ("/watch to", "Nothing follows 'to'"),
    ("/watch to Paris to Rome", "'to' is given twice"),
    ("/watch from (.*)+$", "Unknown place '(.*)+$'"),
    ("/watch max 9223372036854775807", "is not a number of miles"),
    ("/watch max 10000001", f"At most {MAX_MILES:,} miles"),
    ("/watch to " + "fr so an " * 12, "A place is at most 100 characters long"),
    ("/watch to " + ",".join(["Paris"] * 21), "At most 20 items after 'to'"),
    ("/unwatch", "Say which watch to forget"),
    ("/unwatch two", "Say which watch to forget"),
    ("/unwatch 99999999999999999999", "Say which watch to forget"),
    ("/unwatch 9", "There is no watch 9"),
    ("/frobnicate", "I don't know /frobnicate"),
    ("/status", "That command is for the bot's operators."),
    ("/sources", "That command is for the bot's operators."),
    ("/watch " + "to Paris," * 80, "too long for a command"),
]


@pytest.mark.parametrize(("text", "reply"), BAD_INPUT)
def test_bad_input_gets_a_clear_reply(db: Any, text: str, reply: str) -> None:
    chat = sender(db)
    respond(chat, "/start")
    assert reply in (respond(chat, text) or "")
    assert subscribers.watches(db, "telegram", "11") == []


def test_a_hostile_place_costs_little_even_when_repeated(db: Any) -> None:
    chat = sender(db)
    respond(chat, "/start")
    started = time.monotonic()
    for _ in range(50):
        respond(chat, "/watch to " + ", ".join(["fr so an fr so an fr so an"] * 10))
    assert time.monotonic() - started < 10  # generous: one look-up, then the cache


def test_group_commands_with_the_bot_name_and_chatter(db: Any) -> None:
    group = sender(db, "-100777")
    assert (respond(group, "/start@award_watch_bot", bot="award_watch_bot") or "").startswith(
        "Subscribed."
    )
    assert respond(group, "/watch@award_watch_bot to Caribbean") == "Watch 1 added: to Caribbean"
    assert respond(group, "/stop@OtherBot", bot="award_watch_bot") is None
    assert respond(group, "anyone going to Lisbon?") is None


def test_messenger_words_need_no_slash_and_read_free_text(db: Any) -> None:
    person = sender(db, "psid-1", "messenger")
    assert (respond(person, "Start", slash=False) or "").startswith("Subscribed.")
    reply = respond(person, "watch from Boston to Europe business max 60000 miles", slash=False)
    assert reply == "Watch 1 added: from Boston to Europe cabin business max 60,000"
    assert command_of("hello there", slash=False) == ("hello", "there")


def test_the_example_in_the_help_is_a_valid_watch() -> None:
    assert HELP.splitlines()[1] == "/" + WATCH_EXAMPLE
    assert parse_watch(WATCH_EXAMPLE.removeprefix("watch ")) == Watch(
        origins=["JFK", "BOS"], destinations=["Europe"], cabins=["business"], max_miles=60000,
        months=["2027-03", "2027-04"],
    )  # fmt: skip
    assert parse_watch("from jfk cabin premium economy, first max 60k") == Watch(
        origins=["JFK"], cabins=["premium_economy", "first"], max_miles=60000
    )
    assert parse_watch("to Japan premium economy") == Watch(
        destinations=["Japan"], cabins=["premium_economy"]
    )


def test_the_subscriber_cap_is_polite_and_spares_those_already_in(db: Any) -> None:
    first, second = sender(db, "1", capacity=1), sender(db, "2", capacity=1)
    assert (respond(first, "/start") or "").startswith("Subscribed.")
    assert respond(second, "/start") == FULL
    assert (respond(first, "/start") or "").startswith("Subscribed.")
    assert subscribers.get(db, "telegram", "2") is None


def test_the_command_rate_tells_once_then_ignores_until_refilled() -> None:
    now = [0.0]
    rate = CommandRate(3, clock=lambda: now[0])
    assert [rate.check("a") for _ in range(5)] == ["ok", "ok", "ok", "refuse", "ignore"]
    assert rate.check("b") == "ok"
    now[0] += 20.0  # one command's worth refilled
    assert rate.check("a") == "ok"
