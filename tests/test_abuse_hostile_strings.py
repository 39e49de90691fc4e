"""Hostile text from scraped pages (markup, entities, Markdown, spreadsheet formulas, control
characters, right-to-left overrides, 5,000+ characters) as offer titles and places, through
every notifier and both spreadsheet sinks: each channel gets it escaped or verbatim as it
requires, long messages split within the channel's limit, no cell becomes a formula, and
nothing crashes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_graph import PAGE_TOKEN, FakeGraph, Person
from fake_sheets import FakeSheets, Formula
from fake_telegram import TOKEN, FakeTelegram, parse_html
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from receiver import receiver

from notifiers.apprise import AppriseNotifier
from notifiers.base import Delivery, Notifier
from notifiers.console import ConsoleNotifier
from notifiers.messenger import MessengerNotifier
from notifiers.telegram import TelegramNotifier
from notifiers.webhook import WebhookNotifier
from offers.model import Event, Offer, make_offer
from settings.config import DedupeSettings, NotifierConfig, SheetsSettings
from storage.db import connect, insert, transaction
from storage.events import observe
from storage.sheets import CELL_LIMIT, GoogleSheet
from storage.spreadsheet import OFFERS_COLUMNS, LocalSpreadsheet

HOSTILE = [
    "<script>alert('x')</script> & <b>bold</b> <a href='javascript:x'>y</a>",
    "<b>unclosed <i>tags & </pre> stray",
    "Tom & Jerry &amp; &lt;friends&gt; &#60; &unknown; < > &",
    "*bold* _italic_ `code` ~strike~ [link](http://evil.example) ||spoiler|| \\ # > - + = | { } . !",
    '=IMPORTXML("http://evil.example/x","//a")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example","click")',
    "bell\x07 null\x00 escape\x1b[31m red del\x7f",
    "rtl \u202egnp.exe\u202c marks \u200f\u200e zero\u200bwidth \ufeffbom",
    "emoji \u2708\ufe0f\U0001f6eb combining e\u0301 math \U0001d54f",
    "long words " * 500,
    "&<" * 2600,
    "A" * 6000,
]
#: Short hostile values also stand in for the places.
PLACES = [h for h in HOSTILE if len(h) < 60]
NOW = datetime.now(UTC)


def hostile_offer(number: int) -> Offer:
    title = HOSTILE[number]
    return make_offer({
        "source": "hostile", "program": "united", "title": title,
        "origin": PLACES[number % len(PLACES)], "destination": PLACES[(number + 3) % len(PLACES)],
        "cabin": "business", "miles": 40_000 + number, "promo_reason": title,
        "depart_date": (date(2031, 1, 1) + timedelta(days=number)).isoformat(),
        "url": f"https://example.com/offer?n={number}&x=<y>",
    })  # fmt: skip


def events() -> list[Event]:
    return [Event(n + 1, "new", hostile_offer(n), ["any"]) for n in range(len(HOSTILE))]


def words(text: str) -> str:
    """Text with whitespace runs made single spaces: a message split at a space loses it."""
    return " ".join(text.split())


def shown(title: str, limit: int = 60) -> str:
    """What of a title must show in a message (long ones may be shortened or split)."""
    return title if len(title) <= limit else title[:limit]


def deliver(target: Notifier, chat: str, batches: Sequence[Sequence[Event]]) -> list[Delivery]:
    async def go() -> list[Delivery]:
        try:
            return [await target.send(chat, list(batch)) for batch in batches]
        finally:
            await target.close()

    return asyncio.run(go())


def one_by_one_and_together() -> list[list[Event]]:
    everything = events()
    return [[e] for e in everything] + [everything]


def assert_each_title_arrives(messages: list[str], limit: int, *, cut_to: int = 10**9) -> None:
    """Every message within ``limit``; each title shows (its start, for long ones) in the
    messages, once alone and once in the batch; the longest is not lost when split."""
    assert all(0 < len(m) <= limit for m in messages), [len(m) for m in messages]
    joined = words(" ".join(messages))
    for offer in (e.offer for e in events()):
        assert offer.title is not None
        assert words(shown(offer.title))[:cut_to] in joined
    assert words(hostile_offer(HOSTILE.index("long words " * 500)).title or "")[:cut_to] in joined


# -- notifiers ---------------------------------------------------------------------------------


def test_console_prints_every_hostile_title(capsys: pytest.CaptureFixture[str]) -> None:
    target = ConsoleNotifier(NotifierConfig(name="console", type="console"))
    assert all(d.ok for d in deliver(target, "", one_by_one_and_together()))
    out = capsys.readouterr().out
    blocks = [b for b in out.split("── alert ─────────────────────────\n") if b]
    assert_each_title_arrives(blocks, ConsoleNotifier.max_length + 1)
    for event in events():  # the title as the offer holds it (cut to its documented length)
        assert words(event.offer.title or "") in words(out)  # verbatim: no escaping needed


@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTelegram]:
    monkeypatch.setenv("AW_HOSTILE_TOKEN", TOKEN)
    with FakeTelegram() as fake:
        yield fake


def test_telegram_gets_valid_html_showing_the_text(telegram: FakeTelegram) -> None:
    target = TelegramNotifier(NotifierConfig(
        name="telegram", type="telegram", token_env="AW_HOSTILE_TOKEN",
        base_url=telegram.base_url, chats=[{"chat": "-100500"}], chat_interval=0,
        rate_per_second=1000, group_rate=1000, group_period=1))  # fmt: skip
    deliveries = deliver(target, "-100500", one_by_one_and_together())
    assert all(d.ok and d.detail == "" for d in deliveries), deliveries  # as HTML, first time
    messages = [m["text"] for m in telegram.sent("-100500")]
    assert len(telegram.attempts()) == len(messages)
    visible = [parse_html(m) for m in messages]  # Telegram's own check passes
    assert len(messages) > len(HOSTILE)  # the batch was split
    assert all(len(v.encode("utf-16-le")) // 2 <= 4096 for v in visible)
    # scraped values are cut at field_length (escaped), so only their start must show
    assert_each_title_arrives(visible, 4096, cut_to=40)
    assert not any("<script>" in m for m in messages)
    assert any("<script>" in v for v in visible)


def test_webhook_payload_carries_the_text_verbatim() -> None:
    with receiver() as endpoint:
        target = WebhookNotifier(NotifierConfig(name="hook", type="webhook", url=endpoint.url))
        assert all(d.ok for d in deliver(target, "", one_by_one_and_together()))
        documents = [r.json() for r in endpoint.requests]
    sent = [e for d in documents for e in d["events"]]
    by_id: dict[int, list[dict[str, Any]]] = {}
    for item in sent:
        by_id.setdefault(item["id"], []).append(item)
    for event in events():
        copies = by_id[event.id]
        assert len(copies) == 2
        for copy in copies:
            assert copy["offer"]["title"] == event.offer.title  # JSON keeps every character
            assert copy["offer"]["origin"] == event.offer.origin
            assert (event.offer.title or "") in copy["text"]


def test_apprise_json_gets_the_text_split_within_its_limit() -> None:
    with receiver() as endpoint:
        target = AppriseNotifier(NotifierConfig(
            name="apprise", type="apprise", urls=[f"json://127.0.0.1:{endpoint.port}/hook"],
            chat_interval=0, max_length=1900))  # fmt: skip
        (chat,) = target.services
        deliveries = deliver(target, chat, one_by_one_and_together())
        assert all(d.ok for d in deliveries), deliveries
        messages = [r.json()["message"] for r in endpoint.requests]
    assert len(messages) > len(HOSTILE) + 1
    assert_each_title_arrives(messages, 1900)


def test_messenger_gets_plain_text_split_within_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AW_HOSTILE_PAGE_TOKEN", PAGE_TOKEN)
    with FakeGraph(people={"psid-1": Person(last_interaction=NOW)}) as graph:
        target = MessengerNotifier(NotifierConfig(
            name="messenger", type="messenger", page_token_env="AW_HOSTILE_PAGE_TOKEN",
            base_url=graph.base_url, chat_interval=0,
            recipients=[{"id": "psid-1", "last_interaction": NOW.isoformat()}]))  # fmt: skip
        deliveries = deliver(target, "psid-1", one_by_one_and_together())
        assert all(d.ok for d in deliveries), deliveries
        messages = [body["message"]["text"] for _, body in graph.delivered]
    assert_each_title_arrives(messages, 1999)


# -- spreadsheets ------------------------------------------------------------------------------


def recorded(path: Path) -> Any:
    db = connect(path)
    with transaction(db):
        run_id = insert(db, "runs", {"source": "hostile", "started": NOW.isoformat(),
                                     "finished": NOW.isoformat(), "status": "ok",
                                     "message": HOSTILE[4], "rejected": "{}"})  # fmt: skip
        for number in range(len(HOSTILE)):
            observe(db, hostile_offer(number), rules=[HOSTILE[5]], run_id=run_id, now=NOW,
                    settings=DedupeSettings())  # fmt: skip
    return db


def test_local_xlsx_keeps_hostile_text_as_text(tmp_path: Path) -> None:
    db = recorded(tmp_path / "bot.db")
    path = tmp_path / "offers.xlsx"
    assert LocalSpreadsheet(path).write(db) == len(HOSTILE)
    book = load_workbook(path)
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    offers = book["Offers"]
    title = OFFERS_COLUMNS.index("title") + 1
    shown_titles = [offers.cell(row=r, column=title).value for r in range(2, offers.max_row + 1)]
    expected = [
        ILLEGAL_CHARACTERS_RE.sub("", hostile_offer(n).title or "") for n in range(len(HOSTILE))
    ]
    assert shown_titles == expected
    assert book["Runs"].cell(row=2, column=11).value == HOSTILE[4]  # the run's message


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSheets]:
    fake = FakeSheets().serve()
    monkeypatch.setenv("AW_HOSTILE_SHEETS", json.dumps(fake.add_account("bot@example.iam")))
    fake.add_spreadsheet("hostile-key", shared_with={"bot@example.iam"})
    yield fake
    fake.close()


def test_google_sheet_stores_hostile_text_raw(google: FakeSheets, tmp_path: Path) -> None:
    db = recorded(tmp_path / "bot.db")
    sheet = GoogleSheet(SheetsSettings(spreadsheet_key="hostile-key",
                                       credentials_env="AW_HOSTILE_SHEETS",
                                       api_base=google.api_base), base_delay=0.01)  # fmt: skip
    sheet.write(db)
    book = google.spreadsheets["hostile-key"]
    cells = [v for ws in book.sheets for v in ws.cells.values()]
    assert not [v for v in cells if isinstance(v, Formula)]
    titles = [
        row[OFFERS_COLUMNS.index("title")]
        for row in google.worksheet("hostile-key", "Offers").values()[1:]
    ]
    assert titles == [(hostile_offer(n).title or "")[:CELL_LIMIT] for n in range(len(HOSTILE))]


def test_every_notifier_type_is_covered() -> None:
    from notifiers import available

    covered = {"console", "telegram", "webhook", "apprise", "messenger"}
    assert set(available()) <= covered, "a new notifier: add it to the hostile-text tests"
