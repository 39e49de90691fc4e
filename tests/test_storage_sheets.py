"""The Google Sheet sink, through gspread's request code and google-auth's service-account
token exchange, against the local fake in tests/fake_sheets.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from fake_sheets import FakeSheets, Formula

from offers.errors import SheetsError
from offers.model import Offer
from settings.config import DedupeSettings, SheetsSettings
from storage.db import connect, insert, transaction
from storage.events import observe
from storage.sheets import (
    GoogleSheet,
    SheetCredentialsRefused,
    SheetNotFound,
    SheetNotShared,
    SheetUnreachable,
)
from storage.spreadsheet import CURRENT_COLUMNS, OFFERS_COLUMNS, RUNS_COLUMNS

KEY = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
EMAIL = "awardwatch@awardwatch-test.iam.gserviceaccount.com"
ENV = "AWARDWATCH_TEST_SHEETS_KEY"
NOW = datetime(2025, 6, 1, 12, 30, tzinfo=UTC)
HOSTILE = [
    '=IMPORTXML("http://evil.example/x","//a")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example","click")',
]


def _serial(day: date) -> int:
    return (day - date(1899, 12, 30)).days


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSheets]:
    server = FakeSheets().serve()
    account = server.add_account(EMAIL)
    server.add_spreadsheet(KEY, shared_with={EMAIL})
    monkeypatch.setenv(ENV, json.dumps(account))
    yield server
    server.close()


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    return connect(tmp_path / "t.db")


def settings(fake: FakeSheets, **changes: Any) -> SheetsSettings:
    values = {"spreadsheet_key": KEY, "credentials_env": ENV, "api_base": fake.api_base}
    return SheetsSettings(**(values | changes))


def sheet(fake: FakeSheets, **changes: Any) -> GoogleSheet:
    return GoogleSheet(settings(fake, **changes), base_delay=0.01, max_delay=2)


def offer(n: int = 0, **changes: Any) -> Offer:
    values: dict[str, Any] = {
        "source": "united-deals", "program": "united", "title": f"Saver award {n}",
        "airline": "United", "origin": "SFO", "destination": "NRT",
        "depart_date": date(2025, 9, 1) + timedelta(days=n), "cabin": "business",
        "miles": 60_000 + n, "taxes": 5.6, "currency": "USD", "promo": True,
        "promo_reason": "sale", "book_by": date(2025, 6, 30),
        "url": f"https://www.united.com/award/{n}",
    }  # fmt: skip
    return Offer(**(values | changes))


def record(db: sqlite_utils.Database, offers: list[Offer], *, message: str = "",
           source: str = "united-deals", rules: list[str] | None = None) -> int:  # fmt: skip
    """One source run with these offers, recorded as the pipeline does."""
    with transaction(db):
        run_id = insert(db, "runs", {
            "source": source, "started": NOW.isoformat(), "finished": NOW.isoformat(),
            "status": "ok", "items": len(offers), "offers": len(offers), "events": 0,
            "rejected": json.dumps({"over max_miles": 2}), "errors": 0, "message": message,
            "duration": 1.5,
        })  # fmt: skip
        for item in offers:
            observe(db, item, rules=rules or ["cheap-business"], run_id=run_id, now=NOW,
                    settings=DedupeSettings())  # fmt: skip
    return run_id


def rows(fake: FakeSheets, title: str) -> list[list[Any]]:
    return fake.worksheet(KEY, title).values()


def column(fake: FakeSheets, title: str, name: str, columns: list[str]) -> list[Any]:
    index = columns.index(name)
    return [row[index] if index < len(row) else "" for row in rows(fake, title)[1:]]


def writes(fake: FakeSheets) -> list[tuple[str, str]]:
    return [(m, p) for m, p in fake.calls if m != "GET"]


def test_rows_land_in_three_worksheets_typed_with_frozen_header(fake, db):
    record(db, [offer(1), offer(2, program="aeroplan", miles=30_000), offer(3, miles=45_000)])

    assert sheet(fake).write(db) == 3 + 1 + 3

    offers = rows(fake, "Offers")
    assert offers[0] == OFFERS_COLUMNS
    assert column(fake, "Offers", "event_id", OFFERS_COLUMNS) == [1, 2, 3]
    assert column(fake, "Offers", "event", OFFERS_COLUMNS) == ["new"] * 3
    assert column(fake, "Offers", "miles", OFFERS_COLUMNS) == [60_001, 30_000, 45_000]
    first = dict(zip(OFFERS_COLUMNS, offers[1], strict=False))
    assert first["depart_date"] == _serial(date(2025, 9, 2))
    assert first["at"] == pytest.approx(_serial(date(2025, 6, 1)) + 12.5 / 24)
    assert first["promo"] is True and first["title"] == "Saver award 1"
    assert first["rules"] == "cheap-business"
    offers_tab = fake.worksheet(KEY, "Offers")
    depart = OFFERS_COLUMNS.index("depart_date")
    assert offers_tab.formats[(1, depart)]["numberFormat"] == {
        "type": "DATE",
        "pattern": "yyyy-mm-dd",
    }
    url = OFFERS_COLUMNS.index("url")
    assert offers_tab.formats[(1, url)]["textFormat"]["link"] == {
        "uri": "https://www.united.com/award/1"
    }
    assert offers_tab.formats[(0, 0)]["textFormat"]["bold"] is True

    # Current: sorted by program, then miles.
    assert rows(fake, "Current")[0] == CURRENT_COLUMNS
    programs = column(fake, "Current", "program", CURRENT_COLUMNS)
    assert programs == ["aeroplan", "united", "united"]
    assert column(fake, "Current", "miles", CURRENT_COLUMNS) == [30_000, 45_000, 60_001]
    assert rows(fake, "Runs")[0] == RUNS_COLUMNS
    run = dict(zip(RUNS_COLUMNS, rows(fake, "Runs")[1], strict=False))
    assert run["run_id"] == 1 and run["status"] == "ok" and run["rejected"] == "over max_miles: 2"
    for title in ("Offers", "Current", "Runs"):
        assert fake.worksheet(KEY, title).frozen_rows == 1


def test_a_run_with_nothing_new_makes_no_call(fake, db):
    record(db, [offer(1)])
    sheet(fake).write(db)
    before = len(fake.calls)

    assert sheet(fake).write(db) == 0
    assert len(fake.calls) == before


def test_next_run_appends_only_its_events_once_per_worksheet(fake, db):
    record(db, [offer(1), offer(2)])
    sink = sheet(fake)
    sink.write(db)
    fake.calls.clear()

    record(db, [offer(1, miles=50_000), offer(2)])  # offer 1 got cheaper; offer 2 unchanged
    sink.write(db)

    assert column(fake, "Offers", "event", OFFERS_COLUMNS) == ["new", "new", "cheaper"]
    assert column(fake, "Offers", "previous_miles", OFFERS_COLUMNS)[-1] == 60_001
    assert column(fake, "Runs", "run_id", RUNS_COLUMNS) == [1, 2]
    assert column(fake, "Current", "miles", CURRENT_COLUMNS) == [50_000, 60_002]
    appends = [p for _, p in fake.calls if p.endswith(":append")]
    assert len(appends) == 2  # Offers and Runs, one each


def test_no_duplicate_after_the_process_dies_between_append_and_commit(fake, db, tmp_path):
    record(db, [offer(n) for n in range(4)])
    script = (
        "import sys\n"
        "from settings.config import SheetsSettings\n"
        "from storage.db import connect\n"
        "from storage.sheets import GoogleSheet\n"
        "GoogleSheet(SheetsSettings.model_validate_json(sys.argv[1]), base_delay=0.01)"
        ".write(connect(sys.argv[2]))\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, settings(fake).model_dump_json(), str(tmp_path / "t.db")],
        env=os.environ.copy(),
    )
    # The Sheet takes the first append, then the process is killed before it hears back.
    fake.drop_appends = 1
    fake.after_append = lambda: os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=60) == -signal.SIGKILL
    fake.after_append = None
    assert column(fake, "Offers", "event_id", OFFERS_COLUMNS) == [1, 2, 3, 4]
    assert db.execute("SELECT count(*) FROM sheet_sync").fetchone()[0] == 0

    record(db, [offer(n) for n in range(5)])  # one more event arrives meanwhile
    sheet(fake).write(db)

    assert column(fake, "Offers", "event_id", OFFERS_COLUMNS) == [1, 2, 3, 4, 5]
    assert column(fake, "Runs", "run_id", RUNS_COLUMNS) == [1, 2]
    url = OFFERS_COLUMNS.index("url")
    links = fake.worksheet(KEY, "Offers").formats
    assert links[(1, url)]["textFormat"]["link"] == {"uri": "https://www.united.com/award/0"}


def test_an_append_whose_answer_is_lost_is_not_sent_twice(fake, db):
    record(db, [offer(n) for n in range(3)])
    fake.drop_appends = 1  # applied by the Sheet, connection lost before the answer

    sheet(fake).write(db)

    assert column(fake, "Offers", "event_id", OFFERS_COLUMNS) == [1, 2, 3]
    assert column(fake, "Runs", "run_id", RUNS_COLUMNS) == [1]
    assert sheet(fake).write(db) == 0


def test_hostile_text_is_stored_as_text_never_a_formula(fake, db):
    hostile_offers = [
        offer(n, source=text, title=text, airline=text, origin=f"X{n}", destination=text,
              promo_reason=text, url=text)
        for n, text in enumerate(HOSTILE)
    ]  # fmt: skip
    record(db, hostile_offers, message=HOSTILE[0], source=HOSTILE[1], rules=[HOSTILE[2]])

    sheet(fake).write(db)

    cells = [v for t in ("Offers", "Current", "Runs") for row in rows(fake, t) for v in row]
    assert not [v for v in cells if isinstance(v, Formula)]
    for text in HOSTILE:
        assert column(fake, "Offers", "title", OFFERS_COLUMNS).count(text) == 1
        assert column(fake, "Current", "url", CURRENT_COLUMNS).count(text) == 1
    assert column(fake, "Offers", "rules", OFFERS_COLUMNS) == [HOSTILE[2]] * len(HOSTILE)
    assert column(fake, "Runs", "message", RUNS_COLUMNS) == [HOSTILE[0]]
    assert all("=" not in json.dumps(f) for f in fake.worksheet(KEY, "Offers").formats.values())


def test_five_thousand_offers_take_a_handful_of_calls(fake, db):
    record(db, [offer(n % 300, origin=f"A{n // 300:02d}") for n in range(5000)])

    assert sheet(fake).write(db) == 5000 + 1 + 5000

    assert len(rows(fake, "Offers")) == 5001
    assert len(rows(fake, "Current")) == 5001
    # metadata, create worksheets, read ids, append Offers, append Runs, clear and rewrite
    # Current, format: however many rows.
    assert len(fake.calls) == 8
    assert fake.token_requests == 1


def test_quota_429_is_retried_after_retry_after(fake, db):
    record(db, [offer(1)])
    fake.fail_next(1, status=429, retry_after=1)
    started = time.monotonic()

    sheet(fake).write(db)

    assert time.monotonic() - started >= 1.0
    assert column(fake, "Offers", "event_id", OFFERS_COLUMNS) == [1]


def test_a_per_minute_quota_is_waited_out(fake, db):
    record(db, [offer(1)])
    fake.limit(calls=4, retry_after=1)

    sheet(fake).write(db)

    assert column(fake, "Offers", "event_id", OFFERS_COLUMNS) == [1]
    assert column(fake, "Runs", "run_id", RUNS_COLUMNS) == [1]


def test_server_errors_are_retried(fake, db):
    record(db, [offer(1)])
    fake.fail_next(2, status=503)

    sheet(fake).write(db)

    assert column(fake, "Offers", "event_id", OFFERS_COLUMNS) == [1]
    assert fake.calls[0] == fake.calls[1] == fake.calls[2]  # the metadata read, three times


def test_a_sheet_that_stays_down_keeps_rows_for_the_next_run(fake, db):
    record(db, [offer(1), offer(2)])
    fake.fail_next(50, status=503)

    with pytest.raises(SheetUnreachable, match="stay queued"):
        sheet(fake).write(db)
    assert db.execute("SELECT count(*) FROM sheet_sync").fetchone()[0] == 0

    fake.heal()
    record(db, [offer(1), offer(2), offer(3)])
    sheet(fake).write(db)

    assert column(fake, "Offers", "event_id", OFFERS_COLUMNS) == [1, 2, 3]
    assert column(fake, "Runs", "run_id", RUNS_COLUMNS) == [1, 2]


def test_an_unreachable_host_raises_sheets_error_and_keeps_rows(fake, db):
    record(db, [offer(1)])
    closed = FakeSheets().serve()
    dead_base = closed.api_base
    closed.close()

    with pytest.raises(SheetsError):
        sheet(fake, api_base=dead_base).write(db)

    sheet(fake).write(db)
    assert column(fake, "Offers", "event_id", OFFERS_COLUMNS) == [1]


def test_a_wrong_key_says_to_check_spreadsheet_key(fake, db):
    record(db, [offer(1)])
    with pytest.raises(SheetNotFound, match="check spreadsheet_key"):
        sheet(fake, spreadsheet_key="not-a-sheet").write(db)


def test_a_sheet_not_shared_says_whom_to_share_it_with(fake, db):
    fake.spreadsheets[KEY].shared_with.clear()
    record(db, [offer(1)])
    with pytest.raises(SheetNotShared, match=f"share the sheet with {EMAIL}"):
        sheet(fake).write(db)


def test_a_refused_key_says_so(fake, db, monkeypatch):
    stranger = FakeSheets().serve()
    try:
        account = stranger.add_account("gone@awardwatch-test.iam.gserviceaccount.com")
    finally:
        stranger.close()
    monkeypatch.setenv(ENV, json.dumps(account))
    record(db, [offer(1)])
    with pytest.raises(SheetCredentialsRefused, match="new JSON key"):
        sheet(fake, token_uri=fake.token_uri).write(db)


def test_the_key_may_be_a_path_and_a_blank_worksheet_gets_its_header(
    fake, db, tmp_path, monkeypatch
):
    key_file = tmp_path / "service-account.json"
    key_file.write_text(os.environ[ENV])
    monkeypatch.setenv(ENV, str(key_file))
    fake.spreadsheets[KEY].sheets[0].title = "Offers"  # made by hand, left blank
    record(db, [offer(1)])

    sheet(fake).write(db)

    assert rows(fake, "Offers")[0] == OFFERS_COLUMNS
    assert column(fake, "Offers", "event_id", OFFERS_COLUMNS) == [1]
    url = OFFERS_COLUMNS.index("url")
    assert (
        fake.worksheet(KEY, "Offers").formats[(1, url)]["textFormat"]["link"]["uri"].endswith("/1")
    )
