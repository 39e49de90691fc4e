"""The subscriber bot: commands arrive through the fake Bot API's getUpdates, watches land in
SQLite, and the next pipeline pass delivers to each subscriber only the offers it watches."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fake_telegram import TOKEN, FakeTelegram

from awardwatch.bot import Bot
from awardwatch.config import Config
from awardwatch.crawl import CrawlResult
from notifiers.telegram import TelegramNotifier
from notifiers.telegram_bot import HELP, Chat, SubscriberBot, parse_watch, respond, run_bot
from offers.model import Offer, make_offer
from storage import subscribers
from storage.offers import Event
from storage.subscribers import Watch

ENV = "AW_TEST_TELEGRAM_TOKEN"
ADMIN = 9000


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(ENV, TOKEN)
    with FakeTelegram() as server:
        yield server


def config(fake: FakeTelegram) -> Config:
    return Config.model_validate({"notifiers": [{
        "name": "telegram", "type": "telegram", "token_env": ENV, "base_url": fake.base_url,
        "subscribers": True, "admin_chats": [ADMIN], "chat_interval": 0, "timeout": 2.0,
        "poll_seconds": 1,
    }]})  # fmt: skip


def subscriber_bot(fake: FakeTelegram, db: Any) -> SubscriberBot:
    return SubscriberBot(TelegramNotifier(config(fake).notifiers[0]), db)


def converse(fake: FakeTelegram, db: Any, *lines: tuple[int, str]) -> list[str]:
    """Send each (chat, text) to the bot, let it answer one getUpdates batch; the replies."""
    for chat, text in lines:
        fake.user_says(chat, text)
    bot = subscriber_bot(fake, db)

    async def answer() -> None:
        await bot.poll(0)
        await bot.close()

    before = len(fake.sent())
    asyncio.run(answer())
    return [m["text"] for m in fake.sent()[before:]]


def offer(**values: Any) -> Offer:
    raw = {"source": "test", "program": "aeroplan", "origin": "JFK", "destination": "LHR",
           "cabin": "business", "miles": 55000, "depart_date": "2030-03-10",
           "url": "https://www.aircanada.com/aeroplan", **values}  # fmt: skip
    return make_offer(raw)


def pipeline_pass(config: Config, db: Any, offers: list[Offer]) -> Any:
    bot = Bot(config, db=db)
    now = datetime.now(UTC)
    bot.record(CrawlResult("test", now, now, offers=offers, responses=1, items=len(offers)))

    async def deliver() -> Any:
        try:
            return await bot.deliver()
        finally:
            await bot.close()

    return asyncio.run(deliver())


def test_a_watch_sent_to_the_bot_gets_only_the_offers_it_matches(fake: FakeTelegram,
                                                                 db: Any) -> None:  # fmt: skip
    replies = converse(fake, db, (501, "/start"), (501, "/watch from JFK,BOS to Europe cabin "
                       "business max 60000 months 2030-03,2030-04"))  # fmt: skip
    assert replies[0].startswith("Subscribed.")
    assert replies[1] == ("Watch 1 added: from JFK, BOS to Europe cabin business max 60,000 "
                          "months 2030-03, 2030-04")  # fmt: skip
    wanted = offer(title="Wanted: New York to London")
    unwanted = [
        offer(miles=70000, title="too dear"),
        offer(destination="NRT", title="not Europe"),
        offer(origin="BOS", destination="CDG", cabin="economy", miles=30000, title="economy"),
        offer(origin="LAX", title="other origin"),
        offer(destination="MAD", depart_date="2030-06-01", title="other month"),
    ]
    report = pipeline_pass(config(fake), db, [wanted, *unwanted])
    assert report.sent == 1
    [alert] = fake.sent("501")[2:]
    assert "Wanted: New York to London" in alert["text"] and alert["parse_mode"] == "HTML"
    assert json.loads(alert["reply_markup"])["inline_keyboard"][0][0]["text"] == "Book"


def test_list_unwatch_pause_resume_and_stop(fake: FakeTelegram, db: Any) -> None:
    converse(fake, db, (7, "/start"), (7, "/watch to Japan"), (7, "/watch cabin first max 90k"))
    [listing] = converse(fake, db, (7, "/list"))
    assert listing == "1. to Japan\n2. cabin first max 90,000"
    target = TelegramNotifier(config(fake).notifiers[0])
    target.db = db
    tokyo = offer(destination="NRT", cabin="economy")

    def recipients() -> list[str]:
        return target.recipients(Event(1, "new", tokyo, []))

    assert recipients() == ["7"]
    assert converse(fake, db, (7, "/pause")) == ["Alerts paused. Send /resume to get them again."]
    assert recipients() == []
    assert "paused" in converse(fake, db, (7, "/list"))[0]
    converse(fake, db, (7, "/resume"))
    assert recipients() == ["7"]
    assert converse(fake, db, (7, "/unwatch 1")) == ["Forgot watch 1: to Japan"]
    assert recipients() == []
    assert converse(fake, db, (7, "/list")) == ["1. cabin first max 90,000"]
    assert converse(fake, db, (7, "/stop"))[0].startswith("Unsubscribed")
    assert subscribers.watches(db, "telegram", "7") == []
    assert converse(fake, db, (7, "/watch to Japan")) == [
        "You are not subscribed. Send /start first."
    ]


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
    ("/unwatch", "Say which watch to forget"),
    ("/unwatch two", "Say which watch to forget"),
    ("/unwatch 9", "There is no watch 9"),
    ("/frobnicate", "I don't know /frobnicate"),
    ("/status", "That command is for the bot's operators."),
    ("/sources", "That command is for the bot's operators."),
    ("/watch " + "to Paris," * 80, "too long for a command"),
]


@pytest.mark.parametrize(("text", "reply"), BAD_INPUT)
def test_bad_input_gets_a_clear_reply(db: Any, text: str, reply: str) -> None:
    chat = Chat(db, "telegram", "11")
    respond(chat, "/start")
    assert reply in (respond(chat, text) or "")
    assert subscribers.watches(db, "telegram", "11") == []


def test_group_commands_with_the_bot_name_and_chatter(db: Any) -> None:
    group = Chat(db, "telegram", "-100777", "Travel club")
    assert respond(group, "/start@award_watch_bot").startswith("Subscribed.")  # type: ignore[union-attr]
    assert respond(group, "/watch@award_watch_bot to Caribbean") == "Watch 1 added: to Caribbean"
    assert respond(group, "anyone going to Lisbon?") is None


def test_the_example_in_the_help_is_a_valid_watch() -> None:
    example = HELP.splitlines()[1].removeprefix("/watch ")
    assert parse_watch(example) == Watch(
        origins=["JFK", "BOS"],
        destinations=["Europe"],
        cabins=["business"],
        max_miles=60000,
        months=["2027-03", "2027-04"],
    )
    assert parse_watch("from jfk cabin premium economy, first max 60k") == Watch(
        origins=["JFK"], cabins=["premium_economy", "first"], max_miles=60000
    )


def test_admin_commands_answer_only_admin_chats(fake: FakeTelegram, db: Any) -> None:
    pipeline_pass(config(fake), db, [offer()])  # one run, no subscriber yet
    converse(fake, db, (5, "/start"))
    status, sources = converse(fake, db, (ADMIN, "/status"), (ADMIN, "/sources"))
    assert status.startswith("Runs: 1 in all; last 24 h: ok 1")
    assert "Subscribers: active 1" in status
    assert sources.startswith("test: ok at ") and "1 offers, 1 alerts" in sources
    assert converse(fake, db, (5, "/status")) == ["That command is for the bot's operators."]


def test_a_reply_to_a_chat_that_blocked_the_bot_marks_it(fake: FakeTelegram, db: Any) -> None:
    converse(fake, db, (66, "/start"))
    fake.block("66")
    converse(fake, db, (66, "/list"))
    assert subscribers.get(db, "telegram", "66")["status"] == subscribers.BLOCKED


def test_run_bot_answers_until_stopped_and_confirms(fake: FakeTelegram, db: Any) -> None:
    async def daemon() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_bot(config(fake), db, stop))
        last = fake.user_says(42, "/start")
        for _ in range(100):
            if fake.sent("42"):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        assert fake.confirmed == last + 1

    asyncio.run(daemon())
    assert fake.sent("42")[0]["text"].startswith("Subscribed.")
    assert subscribers.get(db, "telegram", "42")["status"] == subscribers.ACTIVE


def test_polling_survives_telegram_errors(fake: FakeTelegram, db: Any) -> None:
    fake.fail("getUpdates", 502, "Bad Gateway")

    async def daemon() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_bot(config(fake), db, stop))
        fake.user_says(43, "/start")
        for _ in range(100):
            if fake.sent("43"):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    asyncio.run(daemon())
    assert fake.sent("43")
