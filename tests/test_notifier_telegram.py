"""The Telegram notifier, driven through python-telegram-bot against the local fake Bot API:
broadcasts by rules, Telegram's error answers, hostile text, subscribers' watches."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from fake_telegram import TOKEN, FakeTelegram, parse_html

from chat.store import SqliteSubscribers
from notifiers.telegram import TelegramNotifier
from offers.errors import ConfigError
from offers.model import Event, Offer, make_offer
from runner.bot import Bot
from runner.crawl import CrawlResult
from runner.deliver import alert_admins
from settings.config import Config, NotifierConfig
from storage import subscribers
from storage.subscribers import Watch

ENV = "AW_TEST_TELEGRAM_TOKEN"
BOOK_URL = "https://www.united.com/award?x=1&y=2"
FAST = {"chat_interval": 0, "rate_per_second": 1000, "timeout": 2.0}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(ENV, TOKEN)
    with FakeTelegram() as server:
        yield server


def notifier(fake: FakeTelegram, db: Any = None, **options: Any) -> TelegramNotifier:
    values = {"token_env": ENV, "base_url": fake.base_url, **FAST, **options}
    if "chats" not in values and "subscribers" not in values:
        values["chats"] = [{"chat": "-100500"}]
    made = TelegramNotifier(NotifierConfig(name="telegram", type="telegram", **values))
    if db is not None:
        made.attach(SqliteSubscribers(db, made.name, "telegram"))
    return made


def offer(**values: Any) -> Offer:
    raw = {"source": "test", "program": "united", "origin": "JFK", "destination": "LHR",
           "cabin": "business", "miles": 60000, "depart_date": "2030-03-10",
           "title": "Saver award", "url": BOOK_URL, **values}  # fmt: skip
    return make_offer(raw)


def event(number: int, **values: Any) -> Event:
    return Event(number, "new", offer(**values), [])


def send(target: TelegramNotifier, chat: str, events: list[Event]) -> Any:
    return asyncio.run(target.send(chat, events))


def pipeline_pass(config: Config, db: Any, offers: list[Offer]) -> Any:
    """One source run through the real wiring: filter, dedupe, route, outbox, drain."""
    bot = Bot(config, db=db)
    now = datetime.now(UTC)
    bot.record(CrawlResult("test", now, now, offers=offers, responses=1, items=len(offers)))

    async def deliver() -> Any:
        try:
            return await bot.deliver()
        finally:
            await bot.close()

    return asyncio.run(deliver())


def config(fake: FakeTelegram, **options: Any) -> Config:
    return Config.model_validate({
        "rules": [{"name": "business", "cabins": ["business"]},
                  {"name": "cheap", "max_miles": 30000}],
        "notifiers": [{"name": "telegram", "type": "telegram", "token_env": ENV,
                       "base_url": fake.base_url, **FAST, **options}],
    })  # fmt: skip


# -- broadcasting ------------------------------------------------------------------------------


def test_channel_and_groups_get_the_events_of_their_rules(fake: FakeTelegram, db: Any) -> None:
    chats = [{"chat": "@award_deals", "rules": ["business"]},
             {"chat": -100200, "rules": ["cheap"]},
             {"chat": "-100300"}]  # fmt: skip
    business = offer(miles=80000, title="Business to London")
    cheap = offer(cabin="economy", miles=20000, destination="CDG", title="Cheap Paris")
    report = pipeline_pass(config(fake, chats=chats), db, [business, cheap])
    assert report.sent == 4 and report.dead == 0

    [to_channel] = fake.sent("@award_deals")
    assert "Business to London" in to_channel["text"] and "Cheap Paris" not in to_channel["text"]
    assert to_channel["parse_mode"] == "HTML"
    button = json.loads(to_channel["reply_markup"])["inline_keyboard"][0][0]
    assert button == {"text": "Book", "url": "https://www.united.com/award?x=1&y=2"}

    [to_cheap] = fake.sent("-100200")
    assert "Cheap Paris" in to_cheap["text"] and "Business to London" not in to_cheap["text"]

    [to_all] = fake.sent("-100300")  # two offers: one message, links inline, no button
    assert "Business to London" in to_all["text"] and "Cheap Paris" in to_all["text"]
    assert "reply_markup" not in to_all
    assert '<a href="https://www.united.com/award?x=1&amp;y=2">Book</a>' in to_all["text"]


def test_many_offers_become_a_digest(fake: FakeTelegram) -> None:
    events = [event(n, miles=50000 + n, depart_date=f"2030-04-{n:02d}") for n in range(1, 9)]
    assert send(notifier(fake), "-100500", events).ok
    [message] = fake.sent("-100500")
    assert message["text"].startswith("8 award offers\n\n<b>New: United MileagePlus</b>")
    assert message["text"].count("Saver award") == 8


# -- Telegram's answers ------------------------------------------------------------------------


def test_flood_control_is_retried_after_the_time_telegram_asks(fake: FakeTelegram) -> None:
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 3",
              parameters={"retry_after": 3})  # fmt: skip
    target = notifier(fake)
    delivery = send(target, "-100500", [event(1)])
    assert delivery.status == "retry" and delivery.retry_after == 3
    assert send(target, "-100500", [event(1)]).ok


def test_flood_control_waits_that_long_in_the_same_pass(fake: FakeTelegram, db: Any) -> None:
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 2",
              parameters={"retry_after": 2})  # fmt: skip
    began = time.monotonic()
    pipeline_pass(config(fake, chats=[{"chat": "-100500"}]), db, [offer()])
    assert time.monotonic() - began >= 2
    [row] = db.query("SELECT * FROM outbox")
    assert row["status"] == "sent" and row["attempts"] == 1  # the 429 was no failed try
    assert len(fake.sent("-100500")) == 1


def test_long_flood_control_holds_the_outbox_row_without_a_try(
    fake: FakeTelegram, db: Any
) -> None:
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 600",
              parameters={"retry_after": 600})  # fmt: skip
    pipeline_pass(config(fake, chats=[{"chat": "-100500"}]), db, [offer()])
    [row] = db.query("SELECT * FROM outbox")
    assert row["status"] == "pending" and "retry after 600" in row["last_error"]
    assert row["attempts"] == 0  # 429s never add up to a dead letter
    assert datetime.fromisoformat(row["next_attempt"]) > datetime.now(UTC)


def test_html_telegram_cannot_parse_is_resent_as_plain_text(fake: FakeTelegram) -> None:
    fake.fail("sendMessage", 400, "Bad Request: can't parse entities: Unsupported start tag "
              '"foo" at byte offset 3')  # fmt: skip
    delivery = send(notifier(fake), "-100500", [event(1, title="Fish & <chips>")])
    assert delivery.ok
    first, second = fake.attempts()
    assert first["parse_mode"] == "HTML"
    assert "parse_mode" not in second and "Fish & <chips>" in second["text"]
    assert "Book: https://www.united.com/award?x=1&y=2" in second["text"]


def test_a_message_refused_twice_fails_for_good(fake: FakeTelegram) -> None:
    fake.fail("sendMessage", 400, "Bad Request: chat not found", times=2)
    delivery = send(notifier(fake), "-100500", [event(1)])
    assert delivery.status == "failed" and "chat not found" in delivery.detail.lower()


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(fake: FakeTelegram, status: int) -> None:
    fake.fail("sendMessage", status, "Internal Server Error")
    target = notifier(fake)
    assert send(target, "-100500", [event(1)]).status == "retry"
    assert send(target, "-100500", [event(1)]).ok


def test_a_slow_answer_times_out_into_a_retry(fake: FakeTelegram) -> None:
    fake.slow("sendMessage", 2.0)
    started = time.monotonic()
    delivery = send(notifier(fake, timeout=0.5), "-100500", [event(1)])
    assert delivery.status == "retry" and "in time" in delivery.detail
    assert time.monotonic() - started < 1.9


def test_the_token_never_shows_in_an_error(fake: FakeTelegram, monkeypatch: Any) -> None:
    monkeypatch.setenv(ENV, "987654321:WrongTokenWrongTokenWrongToken")
    delivery = send(notifier(fake), "-100500", [event(1)])
    assert delivery.status == "rejected" and "token" in delivery.detail
    assert "WrongToken" not in delivery.detail and "***" in delivery.detail


def test_a_rejected_token_keeps_the_alerts_and_tells_the_admin(
    fake: FakeTelegram, db: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv(ENV, "987654321:WrongTokenWrongTokenWrongToken")
    settings = config(fake, chats=[{"chat": "-100500"}])
    settings.notifiers.append(NotifierConfig(name="ops", type="console", admin=True))
    report = pipeline_pass(settings, db, [offer()])
    assert "telegram" in report.rejected and report.alerts == 1
    [row] = db.query("SELECT * FROM outbox")
    assert row["status"] == "pending" and row["attempts"] == 0  # waits for the fixed token


def test_a_subscriber_who_blocked_the_bot_is_gone(fake: FakeTelegram, db: Any) -> None:
    subscribers.subscribe(db, "telegram", "777", "Ada")
    subscribers.add_watch(db, "telegram", "777", Watch(destinations=["Europe"]))
    fake.block("777")
    report = pipeline_pass(config(fake, subscribers=True), db, [offer()])
    assert report.dead == 1
    [row] = db.query("SELECT * FROM outbox")
    assert row["status"] == "dead" and "blocked" in row["last_error"]
    assert subscribers.get(db, "telegram", "777")["status"] == subscribers.BLOCKED
    target = notifier(fake, db, subscribers=True)
    assert target.recipients(event(2, destination="CDG")) == []
    assert send(target, "777", [event(2)]).status == "gone"  # pending rows go dead too
    assert len(fake.attempts()) == 1


# -- hostile text --------------------------------------------------------------------------------

HOSTILE = [
    "<script>alert('x')</script> & <b>bold</b> <a href='javascript:x'>y</a>",
    "*bold* _italic_ `code` [link](http://evil.example) ~strike~ ||spoiler||",
    "&amp; &lt; &#60; &unknown; < > &",
    "&" * 5000,
    "x" * 5000,
    "<b>" * 1700,
    "word " * 1000,
]


def test_hostile_titles_arrive_escaped_and_split_between_offers(fake: FakeTelegram) -> None:
    events = [event(n, title=title, promo_reason=title, depart_date=f"2030-05-{n:02d}")
              for n, title in enumerate(HOSTILE * 2, start=1)]  # fmt: skip
    assert send(notifier(fake), "-100500", events).ok
    messages = [m["text"] for m in fake.sent("-100500")]
    assert len(messages) > 1
    assert len(fake.attempts()) == len(messages)  # every one accepted as HTML the first time
    visible = [parse_html(m) for m in messages]
    for text in messages:
        assert len(text) <= 4096
    for n, title in enumerate(HOSTILE * 2, start=1):
        day = f"2030-05-{n:02d}"
        [holder] = [v for v in visible if day in v]  # each offer whole in one message
        shown = title[:40]
        assert shown in holder
    assert "<script>" in visible[0] and "<script>" not in messages[0]


# -- who gets what ---------------------------------------------------------------------------------


def test_subscribers_get_offers_their_watches_match(fake: FakeTelegram, db: Any) -> None:
    watches = {
        "1": Watch(origins=["JFK", "BOS"], destinations=["Europe"], cabins=["business"],
                   max_miles=60000, months=["2030-03"]),
        "2": Watch(destinations=["Japan"]),
        "3": Watch(origins=["New York"], max_miles=40000),
        "4": Watch(),  # every offer, but paused
    }  # fmt: skip
    for chat, watch in watches.items():
        subscribers.subscribe(db, "telegram", chat)
        subscribers.add_watch(db, "telegram", chat, watch)
    subscribers.set_paused(db, "telegram", "4", True)
    target = notifier(fake, db, chats=[{"chat": "@all"}], subscribers=True)
    cases = [
        ({}, ["@all", "1"]),
        ({"miles": 70000}, ["@all"]),
        ({"depart_date": "2030-04-02"}, ["@all"]),
        ({"destination": "NRT"}, ["@all", "2"]),
        ({"origin": "LGA", "miles": 35000, "cabin": "economy"}, ["@all", "3"]),
        ({"origin": "LAX"}, ["@all"]),
    ]
    for values, expected in cases:
        assert target.recipients(event(1, **values)) == expected, values


def test_a_configured_chat_that_also_subscribed_gets_each_offer_once(
    fake: FakeTelegram, db: Any
) -> None:
    for chat in ("5", "-100500", "6"):
        subscribers.subscribe(db, "telegram", chat)
        subscribers.add_watch(db, "telegram", chat, Watch(destinations=["Europe"]))
    target = notifier(fake, db, chats=[{"chat": "-100500"}, {"chat": "@all"}, {"chat": "@all"}],
                      subscribers=True)  # fmt: skip
    assert target.recipients(event(1)) == ["-100500", "@all", "5", "6"]
    alone = notifier(fake, db, subscribers=True)
    assert alone.recipients(event(1)) == ["5", "-100500", "6"]


def test_rate_limits_are_telegrams_with_a_margin_and_can_be_changed(fake: FakeTelegram) -> None:
    # Telegram: 30 a second overall, 1 a second per chat, 20 a minute per group
    assert (TelegramNotifier.rate_per_second, TelegramNotifier.chat_interval) == (28, 1.02)
    assert (TelegramNotifier.group_rate, TelegramNotifier.group_period) == (19, 60.0)
    target = notifier(fake, chat_interval=0.3)
    assert target.is_group("-100500") and target.is_group("@channel") and not target.is_group("42")

    async def three() -> None:
        for n in range(3):
            assert (await target.send("42", [event(n)])).ok

    asyncio.run(three())
    stamps = [c.at for c in fake.calls if c.method == "sendMessage"]
    assert all(b - a >= 0.25 for a, b in zip(stamps, stamps[1:], strict=False))


@pytest.mark.parametrize(
    ("options", "problem"),
    [({"chats": []}, "nowhere to send"), ({"chats": [{"chat": "1", "rule": "x"}]}, "rule")],
)
def test_bad_options_are_config_errors(fake: FakeTelegram, options: dict[str, Any],
                                       problem: str) -> None:  # fmt: skip
    with pytest.raises(ConfigError, match=problem):
        notifier(fake, **options)


def test_a_missing_token_is_a_config_error(fake: FakeTelegram, monkeypatch: Any) -> None:
    monkeypatch.delenv(ENV)
    with pytest.raises(ConfigError, match=ENV):
        notifier(fake)


def test_admin_alerts_go_to_the_admin_chats(fake: FakeTelegram) -> None:
    target = notifier(fake, admin=True, admin_chats=[9000])
    assert asyncio.run(alert_admins([target], "2 dead letters: <chat> & co")) == 1
    [message] = fake.sent("9000")
    assert parse_html(message["text"]) == "[awardwatch] 2 dead letters: <chat> & co"


def test_chats_in_flight_follow_the_rate(fake: FakeTelegram) -> None:
    # enough to keep 30 a second with answers taking up to two seconds, not a fixed few
    assert notifier(fake, rate_per_second=28, chat_interval=1.0).in_flight() == 60
    assert notifier(fake, concurrency=3).in_flight() == 3  # as configured
