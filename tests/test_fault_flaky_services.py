"""The remote services on a bad day: the Telegram Bot API, a webhook endpoint and the Google
Sheets API answer a fifth of the calls (seeded) with 429, a 5xx, a stall past the client's
timeout or a connection reset. Draining again and again, as later runs would, until nothing
is left, every alert arrives exactly once in every chat, and every row exactly once in the
Sheet."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fake_telegram import TOKEN
from fault_flaky import Chaos, FlakyReceiver, FlakySheets, FlakyTelegram

from notifiers.base import Notifier
from notifiers.telegram import TelegramNotifier
from notifiers.webhook import WebhookNotifier
from offers.errors import SheetsError
from offers.model import Offer, make_offer
from runner.crawl import CrawlResult
from runner.deliver import drain
from runner.pipeline import record
from settings.config import Config, DedupeSettings, NotifierConfig, SheetsSettings
from storage import outbox
from storage.db import connect, insert, transaction
from storage.events import current, observe
from storage.sheets import GoogleSheet
from storage.spreadsheet import CURRENT_COLUMNS, OFFERS_COLUMNS, RUNS_COLUMNS

T0 = datetime(2030, 1, 1, tzinfo=UTC)
TOKEN_ENV = "AW_FLAKY_TELEGRAM_TOKEN"
SHEETS_ENV = "AW_FLAKY_SHEETS_KEY"
KEY = "1FlakySheetKey0123456789"
EMAIL = "awardwatch@awardwatch-test.iam.gserviceaccount.com"
EVENTS = 100
#: Enough tries that a delivery never turns dead from bad luck alone (0.2 ** 30).
PATIENT = {"max_attempts": 30}


def alert(number: int) -> Offer:
    # long titles: ten offers no longer fit one Telegram message, so sends split in two
    return make_offer({
        "source": "flaky", "program": "united", "origin": "SFO", "destination": "NRT",
        "cabin": "business", "miles": 30_000 + number,
        "depart_date": (date(2031, 1, 1) + timedelta(days=number)).isoformat(),
        "title": f"alert-{number:04d} " + "long title " * 40,
        "url": f"https://example.com/offer/{number}",
    })  # fmt: skip


def queue(db: Any, chats: dict[str, list[str]]) -> list[int]:
    """Record EVENTS new offers in one run, each queued for every ``{target: [chat, ...]}``."""
    ids = []
    with transaction(db):
        run_id = insert(db, "runs", {"source": "flaky", "started": T0.isoformat(), "status": "ok"})
        for number in range(EVENTS):
            event = observe(db, alert(number), rules=[], run_id=run_id, now=T0,
                            settings=DedupeSettings())  # fmt: skip
            assert event is not None
            ids.append(event.id)
            for target, names in chats.items():
                for chat in names:
                    outbox.enqueue(db, event.id, target, chat, T0)
    return ids


def drain_until_quiet(db: Any, notifiers: Sequence[Notifier], passes: int = 60) -> int:
    """Drain as the runs two hours apart would, until nothing is pending; return the passes."""

    async def go() -> int:
        moment = T0
        try:
            for number in range(1, passes + 1):
                await drain(db, notifiers, moment)
                if not any(outbox.pending(db, n.name) for n in notifiers):
                    return number
                moment += timedelta(hours=2)
        finally:
            for notifier in notifiers:
                await notifier.close()
        pytest.fail(f"still pending after {passes} passes: {outbox.counts(db)}")

    return asyncio.run(go())


@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> Iterator[FlakyTelegram]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    # a stall outlasts the client's timeout; an ordinary call on a loaded machine does not
    with FlakyTelegram(Chaos(seed=7, stall=4.0)) as server:
        yield server


def test_telegram_alerts_arrive_exactly_once_through_a_flaky_bot_api(
    telegram: FlakyTelegram,
) -> None:
    db = connect(":memory:")
    chats = ["-100500", "4242"]
    ids = queue(db, {"telegram": chats})
    target = TelegramNotifier(NotifierConfig(
        name="telegram", type="telegram", token_env=TOKEN_ENV, base_url=telegram.base_url,
        chats=[{"chat": c} for c in chats], timeout=2.5, chat_interval=0, rate_per_second=1000,
        group_rate=1000, group_period=1, batch_size=10, **PATIENT))  # fmt: skip
    passes = drain_until_quiet(db, [target])
    assert outbox.counts(db) == {"sent": len(ids) * len(chats)}
    for chat in chats:
        texts = [m["text"] for m in telegram.sent(chat)]
        seen = Counter(n for text in texts for n in range(EVENTS) if f"alert-{n:04d}" in text)
        assert seen == Counter(range(EVENTS)), chat  # each alert once, none lost
        assert any(text.startswith("10 award offers") for text in texts)
        assert any(not text.startswith("10 award offers") for text in texts)  # split sends
    assert set(telegram.chaos.injected) == {"429", "5xx", "timeout", "reset"}
    assert passes > 1


def test_webhook_alerts_arrive_exactly_once_through_a_flaky_endpoint() -> None:
    db = connect(":memory:")
    chats = ["a", "b", "c"]
    ids = queue(db, {"hook": chats})
    with FlakyReceiver(Chaos(seed=11, stall=4.0)) as endpoint:
        target = WebhookNotifier(NotifierConfig(
            name="hook", type="webhook", url=endpoint.url, timeout_seconds=2.5, batch_size=2,
            rate_per_second=1000, **PATIENT))  # fmt: skip
        passes = drain_until_quiet(db, [target])
        arrived = Counter((r.json()["chat"], e["id"]) for r in endpoint.accepted()
                          for e in r.json()["events"])  # fmt: skip
    assert arrived == Counter({(chat, i): 1 for chat in chats for i in ids})
    assert outbox.counts(db) == {"sent": len(ids) * len(chats)}
    assert set(endpoint.chaos.injected) == {"429", "5xx", "timeout", "reset"}
    assert passes > 1


# -- the Google Sheet ------------------------------------------------------------------------


@pytest.fixture
def sheets(monkeypatch: pytest.MonkeyPatch) -> Iterator[FlakySheets]:
    server = FlakySheets(Chaos(seed=5, stall=0.5)).serve()
    monkeypatch.setenv(SHEETS_ENV, json.dumps(server.add_account(EMAIL)))
    server.add_spreadsheet(KEY, shared_with={EMAIL})
    yield server
    server.close()


def crawl_round(number: int) -> CrawlResult:
    """Four offers a round: two carried over from the round before (one cheaper), two new."""
    found = [alert(number * 2 + slot) for slot in range(2)]
    if number:
        found += [alert(number * 2 - 2), alert(number * 2 - 1).model_copy(update={"miles": 20_000})]
    return CrawlResult("flaky", T0, T0, offers=found, responses=1, items=len(found))


def write_until_quiet(sheet: GoogleSheet, db: Any, tries: int = 40) -> Counter[str]:
    failures: Counter[str] = Counter()
    for _ in range(tries):
        try:
            sheet.write(db)
        except SheetsError as exc:
            failures[type(exc).__name__] += 1
            continue
        if sheet.pending(db).empty:
            return failures
    pytest.fail(f"the Sheet never caught up ({failures})")


def column(sheets: FlakySheets, title: str, columns: list[str], name: str) -> list[Any]:
    index = columns.index(name)
    values = sheets.worksheet(KEY, title).values()
    assert values[0] == columns
    return [row[index] if index < len(row) else "" for row in values[1:]]


def test_sheet_rows_arrive_exactly_once_through_a_flaky_sheets_api(sheets: FlakySheets) -> None:
    db = connect(":memory:")
    config = Config.model_validate({})
    sheet = GoogleSheet(SheetsSettings(spreadsheet_key=KEY, credentials_env=SHEETS_ENV,
                                       api_base=sheets.api_base),
                        base_delay=0.01, max_delay=0.05, timeout=0.3)  # fmt: skip
    failed: Counter[str] = Counter()
    for number in range(8):
        moment = T0 + timedelta(hours=number)
        record(db, config, crawl_round(number), lambda event: [], moment)
        failed += write_until_quiet(sheet, db)

    events = [row["id"] for row in db.query("SELECT id FROM events ORDER BY id")]
    runs = [row["id"] for row in db.query("SELECT id FROM runs ORDER BY id")]
    assert column(sheets, "Offers", OFFERS_COLUMNS, "event_id") == events  # once each, in order
    assert column(sheets, "Runs", RUNS_COLUMNS, "run_id") == runs
    assert sorted(column(sheets, "Current", CURRENT_COLUMNS, "key")) == sorted(
        o["key"] for o in current(db)
    )
    assert set(sheets.chaos.injected) == {"429", "5xx", "timeout", "reset"}
    assert sheets.lost, "no append lost its answer: the read-back was not exercised"
    print(f"\nSheets faults {dict(sheets.chaos.injected)}, {sheets.lost} lost answers, "
          f"failed writes {dict(failed)}")  # fmt: skip
