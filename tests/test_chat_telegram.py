"""The Telegram transport: commands arrive through the fake Bot API (python-telegram-bot's
Application polls it), watches land in SQLite, and the next pipeline pass delivers to each
subscriber only the offers it watches. Hostile users slow only themselves."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fake_telegram import TOKEN, FakeTelegram

from chat.run import ChatServices
from chat.server import ChatServer
from chat.store import SqliteSubscribers
from chat.telegram import TelegramChat, telegram_chats
from notifiers.telegram import TelegramNotifier
from offers.model import Event, Offer, make_offer
from runner.bot import Bot
from runner.crawl import CrawlResult
from settings.config import Config
from storage import subscribers

ENV = "AW_TEST_TELEGRAM_TOKEN"
ADMIN = 9000


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(ENV, TOKEN)
    with FakeTelegram() as server:
        yield server


def config(fake: FakeTelegram, **chat: Any) -> Config:
    return Config.model_validate({"chat": chat, "notifiers": [{
        "name": "telegram", "type": "telegram", "token_env": ENV, "base_url": fake.base_url,
        "subscribers": True, "admin_chats": [ADMIN], "chat_interval": 0, "timeout": 2.0,
        "poll_seconds": 1,
    }]})  # fmt: skip


def transport(fake: FakeTelegram, db: Any, **chat: Any) -> TelegramChat:
    [found] = telegram_chats(config(fake, **chat), db)
    return found


async def until(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def converse(fake: FakeTelegram, db: Any, *lines: tuple[Any, ...], **chat: Any) -> list[str]:
    """Send each (chat, text[, how]) to the bot, let it answer; the replies, in order."""
    last = 0
    for chat_id, text, *how in lines:
        last = fake.user_says(chat_id, text, **(how[0] if how else {}))
    bot = transport(fake, db, **chat)

    async def answer() -> None:
        await bot.start()
        await until(lambda: fake.confirmed > last or not fake.updates)
        await bot.stop()

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
    target.attach(SqliteSubscribers(db, target.name, "telegram"))
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


def test_the_daemons_chat_services_answer_until_stopped_and_confirm(
    fake: FakeTelegram, db: Any
) -> None:
    bot = Bot(config(fake), db=db)

    async def daemon() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(ChatServices(bot.config, bot).run(stop))
        last = fake.user_says(42, "/start")
        await until(lambda: bool(fake.sent("42")))
        stop.set()
        await asyncio.wait_for(task, timeout=20)
        assert fake.confirmed == last + 1
        await bot.close()

    asyncio.run(daemon())
    assert fake.sent("42")[0]["text"].startswith("Subscribed.")
    assert subscribers.get(db, "telegram", "42")["status"] == subscribers.ACTIVE


def test_polling_survives_telegram_errors(fake: FakeTelegram, db: Any) -> None:
    fake.fail("getUpdates", 502, "Bad Gateway")
    assert converse(fake, db, (43, "/start"))[0].startswith("Subscribed.")


# -- hostile users ----------------------------------------------------------------------------


def test_a_command_that_breaks_gets_a_reply_and_the_next_one_is_answered(
    fake: FakeTelegram, db: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def explode(*args: Any) -> Any:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    monkeypatch.setattr(subscribers, "add_watch", explode)
    converse(fake, db, (8, "/start"), (8, "/watch to Japan"), (9, "/start"))
    assert fake.sent("8")[1]["text"].startswith("Sorry, something went wrong")
    assert fake.sent("9")[0]["text"].startswith("Subscribed.")
    assert "command from 8 failed" in caplog.text
    assert subscribers.watches(db, "telegram", "8") == []


def test_huge_numbers_are_refused_at_parse_time(fake: FakeTelegram, db: Any) -> None:
    replies = converse(fake, db, (8, "/start"), (8, "/watch max 9223372036854775807"),
                       (8, "/list"))  # fmt: skip
    assert "is not a number of miles" in replies[1]
    assert replies[2].startswith("No watches yet")


def test_a_user_sending_too_fast_is_told_once_and_others_are_served(
    fake: FakeTelegram, db: Any
) -> None:
    flood = [(12, "/list")] * 8
    converse(fake, db, *flood, (13, "/start"), commands_per_minute=3)
    replies = [m["text"] for m in fake.sent("12")]
    assert replies.count("You are sending commands too fast; wait a minute and try again.") == 1
    assert len([r for r in replies if "not subscribed" in r]) == 3 and len(replies) == 4
    assert fake.sent("13")[0]["text"].startswith("Subscribed.")


def test_the_subscriber_cap_replies_politely(fake: FakeTelegram, db: Any) -> None:
    replies = converse(fake, db, (1, "/start"), (2, "/start"), max_subscribers=1)
    assert replies[0].startswith("Subscribed.")
    assert replies[1].startswith("Sorry, awardwatch has as many subscribers as it can take")
    assert subscribers.get(db, "telegram", "2") is None


def test_in_groups_only_administrators_change_the_watches(fake: FakeTelegram, db: Any) -> None:
    group = {"kind": "supergroup", "name": "Travel club"}
    fake.admins.add("-100777:31")
    replies = converse(
        fake, db, (-100777, "/start", {**group, "user": 31}),
        (-100777, "/watch to Caribbean", {**group, "user": 31}),
        (-100777, "/stop", {**group, "user": 32}), (-100777, "/list", {**group, "user": 32}),
    )  # fmt: skip
    assert replies[0].startswith("Subscribed.")
    assert replies[2] == "Only the group's administrators can change its alerts."
    assert replies[3] == "1. to Caribbean"
    assert subscribers.get(db, "telegram", "-100777")["status"] == subscribers.ACTIVE


def test_commands_for_another_bot_are_ignored(fake: FakeTelegram, db: Any) -> None:
    group = {"kind": "supergroup", "name": "Travel club", "user": 31}
    fake.admins.add("-100777:31")
    replies = converse(fake, db, (-100777, "/start@award_watch_bot", group),
                       (-100777, "/stop@OtherBot", group), (-100777, "/frob@OtherBot", group),
                       (-100777, "anyone going to Lisbon?", group))  # fmt: skip
    assert len(replies) == 1 and replies[0].startswith("Subscribed.")
    assert subscribers.get(db, "telegram", "-100777")["status"] == subscribers.ACTIVE


def test_an_update_seen_again_after_a_crash_is_not_applied_twice(
    fake: FakeTelegram, db: Any
) -> None:
    converse(fake, db, (7, "/start"), (7, "/watch to Japan"), (7, "/watch to Peru"))
    fake.user_says(7, "/unwatch 1")
    # the first bot acts and dies before Telegram hears of it: the update is fetched again
    first, second = transport(fake, db), transport(fake, db)

    async def crash_then_restart() -> None:
        update = (await first.app.bot.get_updates(timeout=0))[0]
        await first.app.initialize()
        await first.app.process_update(update)
        await asyncio.gather(*first._replies)
        await second.start()
        await until(lambda: not fake.updates)
        await second.stop()

    asyncio.run(crash_then_restart())
    assert [w.describe() for w in subscribers.watches(db, "telegram", "7")] == ["to Peru"]
    assert [m["text"] for m in fake.sent("7")].count("Forgot watch 1: to Japan") == 1


def test_replies_go_through_flood_control(fake: FakeTelegram, db: Any) -> None:
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", parameters={"retry_after": 1})
    replies = converse(fake, db, (14, "/start"))
    assert replies[0].startswith("Subscribed.")
    assert len(fake.attempts()) == 2


def test_webhook_mode_takes_updates_posted_with_the_secret(
    fake: FakeTelegram, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AW_TG_SECRET", "s3cret-token_value")
    settings = {"telegram_webhook_url": "https://bot.example.org", "listen_port": 0,
                "telegram_secret_env": "AW_TG_SECRET"}  # fmt: skip
    bot = transport(fake, db, **settings)
    server = ChatServer(config(fake, **settings).chat, telegram=[bot])

    async def go() -> None:
        await server.start()
        await bot.start()
        assert fake.webhook["url"] == "https://bot.example.org/telegram/telegram"
        url = f"{server.url}/telegram/telegram"
        async with httpx.AsyncClient() as http:
            refused = await http.post(url, json=fake.update(21, "/start"))
            ok = await http.post(
                url,
                json=fake.update(21, "/start"),
                headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token_value"},
            )
        assert (refused.status_code, ok.status_code) == (403, 200)
        await until(lambda: bool(fake.sent("21")))
        await bot.stop()
        await server.stop()

    asyncio.run(go())
    assert fake.sent("21")[0]["text"].startswith("Subscribed.")
