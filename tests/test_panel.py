"""The web panel in headless Chromium: front page, canned queries, facets, exports, the map
and chart, the password gate, and that nothing can write the bot's database through it.

The database is written by the real pipeline (record → dedupe → outbox) in a fixture, with a
subscriber beside it that the panel must not show. Screenshots of the main views go to a
temporary folder, or to ``docs/panel-*.png`` with ``AWARDWATCH_SCREENSHOTS=docs``
(``make screenshots``): a test run never rewrites tracked files.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from offers.model import Event, make_offer
from panel import app as panel
from panel.export import safe_cell
from runner.crawl import CrawlResult
from runner.pipeline import record
from settings.config import BotSettings, Config
from storage import outbox, subscribers
from storage.db import connect
from storage.subscribers import Watch

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
QUERIES = [
    "new_offers", "best_by_region", "ending_soon", "offers_map", "source_health",
    "alerts_per_day", "deliveries",
]  # fmt: skip
#: What a subscriber left in the database: the panel shows none of it.
CHAT_ID, PERSON, SHEET_KEY = "778899001", "Ada Lovelace", "1SheetKeyOfTheAnalysts"
FORMULA = '=HYPERLINK("http://evil.example/","click")'
ROUTE = "route_history?origin=JFK&destination=CDG&cabin=business&_hide_sql=1"
CHART = "#g.mark=line&g.x_column=at&g.x_type=temporal&g.y_column=miles&g.y_type=quantitative"


# --- the demo database, written by the pipeline -------------------------------------------


def _offer(source: str, program: str, origin: str, destination: str, cabin: str, miles: int,
           depart: datetime, book_by: datetime | None = None, **extra: Any) -> Any:  # fmt: skip
    return make_offer({
        "source": source, "program": program, "origin": origin, "destination": destination,
        "cabin": cabin, "miles": miles, "depart_date": depart.date().isoformat(),
        "book_by": book_by.date().isoformat() if book_by else None, "taxes": "$5.60",
        "currency": "USD", "title": f"{origin} to {destination} in {cabin}", **extra,
    })  # fmt: skip


def _crawl(source: str, started: datetime, offers: list[Any], **stats: Any) -> CrawlResult:
    result = CrawlResult(source, started=started, finished=started + timedelta(seconds=42))
    result.offers = offers
    result.items = len(offers)
    result.responses = stats.pop("responses", 3)
    for key, value in stats.items():
        setattr(result, key, value)
    return result


def _route(event: Event) -> list[tuple[str, str]]:
    return [("console", "-"), ("telegram", "@awarddeals")]


def write_demo_database(path: Path) -> None:
    """A few runs of two sources: offers new, cheaper and gone, a blocked run, alerts."""
    db = connect(path)
    config = Config(bot=BotSettings(database=path))
    now = datetime.now(UTC).replace(microsecond=0)
    earlier = now - timedelta(days=3)
    trip = now + timedelta(days=60)
    soon = now + timedelta(days=5)
    first = [
        _offer("flyingblue-promo", "flyingblue", "JFK", "CDG", "business", 72000, trip, soon,
               promo=True, promo_reason="Promo Rewards", discount_pct="25%"),
        _offer("flyingblue-promo", "flyingblue", "JFK", "AMS", "economy", 21000, trip, soon),
        _offer("flyingblue-promo", "flyingblue", "BOS", "CPT", "business", 90000, trip),
    ]  # fmt: skip
    record(db, config, _crawl("flyingblue-promo", earlier, first), _route, earlier)
    second = [
        _offer("flyingblue-promo", "flyingblue", "JFK", "CDG", "business", 55000, trip, soon,
               promo=True, promo_reason="Promo Rewards", discount_pct="40%"),
        _offer("flyingblue-promo", "flyingblue", "JFK", "AMS", "economy", 21000, trip, soon),
    ]  # fmt: skip
    middle = now - timedelta(days=1, hours=2)
    record(db, config, _crawl("flyingblue-promo", middle, second), _route, middle)
    third = [
        _offer("flyingblue-promo", "flyingblue", "JFK", "CDG", "business", 50000, trip, soon,
               promo=True, promo_reason="Promo Rewards"),
        _offer("flyingblue-promo", "flyingblue", "JFK", "AMS", "economy", 21000, trip, soon),
    ]  # fmt: skip
    record(db, config, _crawl("flyingblue-promo", now - timedelta(hours=3), third), _route,
           now - timedelta(hours=3))  # fmt: skip
    fresh = [
        _offer("united-saver", "united", "SFO", "NRT", "business", 70000, trip,
               now + timedelta(days=10), seats=2),
        _offer("united-saver", "united", "LAX", "SYD", "economy", 40000, trip),
        _offer("united-saver", "united", "ORD", "GRU", "premium_economy", 45000, trip),
        _offer("united-saver", "united", "SFO", "HNL", "economy", 12500, trip,
               now + timedelta(days=2), title=FORMULA),
    ]  # fmt: skip
    record(db, config, _crawl("united-saver", now - timedelta(hours=1), fresh), _route,
           now - timedelta(hours=1))  # fmt: skip
    blocked = _crawl("united-saver", now - timedelta(minutes=20), [], blocked=2,
                     message="403 challenge page")  # fmt: skip
    record(db, config, blocked, _route, now - timedelta(minutes=20))
    _deliver(db, now)
    subscribers.subscribe(db, "telegram", CHAT_ID, PERSON)
    subscribers.add_watch(db, "telegram", CHAT_ID, Watch(destinations=["Europe"]))
    db["sheet_sync"].insert({"spreadsheet_key": SHEET_KEY, "worksheet": "Offers", "last_id": 1})
    outbox.enqueue_all(db, [(1, "telegram", CHAT_ID)], now)
    db.conn.close()


def _deliver(db: Any, now: datetime) -> None:
    """Console alerts all went out; one Telegram alert died, the rest wait."""
    rows = list(db.query("SELECT id, target FROM outbox ORDER BY id"))
    console = [r["id"] for r in rows if r["target"] == "console"]
    telegram = [r["id"] for r in rows if r["target"] == "telegram"]
    outbox.mark_sent(db, console, now - timedelta(minutes=50))
    outbox.mark_sent(db, telegram[:-2], now - timedelta(days=1))
    outbox.mark_dead(db, telegram[-2:-1], "Forbidden: bot was blocked by the user")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("panel") / "data" / "awardwatch.db"
    write_demo_database(path)
    return path


def _counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0]
                for t in ("offers", "events", "runs", "outbox")}  # fmt: skip


# --- the panel served on 127.0.0.1 --------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """uvicorn running an ASGI app in a thread, on a free local port."""

    def __init__(self, app: Any) -> None:
        self.port = _free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off")  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the panel did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def site(database: Path) -> Iterator[str]:
    config = Config(bot=BotSettings(database=database))
    with Server(panel.application(config)) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                              args=CHROMIUM_ARGS)  # fmt: skip
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    # no internet: map tiles and any other outside request fail at once instead of waiting
    context.route("**/*", _local_only)
    page = context.new_page()
    yield page
    context.close()


def _local_only(route: Any) -> None:
    if route.request.url.startswith("http://127.0.0.1"):
        route.continue_()
    else:
        route.abort()


def _rows(page: Page) -> int:
    return page.locator("table.rows-and-columns tbody tr").count()


def _shot(page: Page, name: str) -> None:
    """Screenshot what an analyst sees: saved into AWARDWATCH_SCREENSHOTS when set (`make
    screenshots`), else only taken, so a test run leaves no file behind."""
    folder = os.environ.get("AWARDWATCH_SCREENSHOTS")
    path = str(Path(folder) / f"panel-{name}.png") if folder else None
    assert page.screenshot(path=path).startswith(b"\x89PNG")


# --- what an analyst sees ------------------------------------------------------------------


def test_front_page_lists_tables_and_exports(page: Page, site: str) -> None:
    page.goto(site + "/")
    expect(page.locator("h1")).to_have_text("awardwatch panel")
    for table in ("offers", "events", "runs"):
        expect(page.locator(f'a[href="/awardwatch/{table}.csv?_size=max"]')).to_be_visible()
        expect(
            page.locator(f'a[href="/awardwatch/{table}.json?_shape=array&_size=max"]')
        ).to_be_visible()
    for query in QUERIES:
        expect(page.locator(f'a[href="/awardwatch/{query}.csv"]')).to_be_visible()
    _shot(page, "front")


@pytest.mark.parametrize("query", QUERIES)
def test_each_canned_query_returns_rows(page: Page, site: str, query: str) -> None:
    page.goto(f"{site}/awardwatch/{query}")
    expect(page.locator("table.rows-and-columns")).to_be_visible()
    assert _rows(page) > 0


def test_new_offers_are_the_last_day_only(page: Page, site: str) -> None:
    page.goto(f"{site}/awardwatch/new_offers.json?_shape=array")
    offers = json.loads(page.locator("body").inner_text())
    # BOS-CPT and JFK-CDG/AMS were first seen three days ago; the four United offers are new
    assert sorted(o["destination"] for o in offers) == ["GRU", "HNL", "NRT", "SYD"]


def test_best_offer_per_region_is_the_cheapest_live_one(page: Page, site: str) -> None:
    page.goto(f"{site}/awardwatch/best_by_region.json?_shape=array")
    best = {(r["region"], r["cabin"]): r for r in json.loads(page.locator("body").inner_text())}
    assert best[("Europe", "business")]["miles"] == 50000
    assert ("Africa", "business") not in best  # BOS-CPT went away in the second run


def test_route_history_charts_miles_over_time(page: Page, site: str) -> None:
    page.goto(f"{site}/awardwatch/{ROUTE}{CHART}")
    assert _rows(page) == 3
    cells = page.locator("table.rows-and-columns td.col-miles").all_inner_texts()
    assert cells == ["72000", "55000", "50000"]
    # the hash sets datasette-vega's chart: a line of miles (y) over time (x)
    expect(page.locator("input[name=mark][value=line]")).to_be_checked()
    chart = page.locator("canvas.marks, svg.marks").first
    expect(chart).to_be_visible(timeout=15000)
    chart.scroll_into_view_if_needed()
    _shot(page, "route-chart")


def test_map_of_current_offers(page: Page, site: str) -> None:
    page.goto(f"{site}/awardwatch/offers_map?_hide_sql=1")
    expect(page.locator(".leaflet-container")).to_be_visible(timeout=15000)
    # the markers cluster; their counts add up to the offers on the map
    expect(page.locator(".marker-cluster, .leaflet-marker-icon").first).to_be_visible()
    assert _rows(page) == 6
    _shot(page, "map")


def test_source_health_shows_the_blocked_run(page: Page, site: str) -> None:
    page.goto(f"{site}/awardwatch/source_health.json?_shape=array")
    health = {r["source"]: r for r in json.loads(page.locator("body").inner_text())}
    assert health["united-saver"]["blocked"] == 1
    assert health["united-saver"]["last_status"] == "blocked"
    assert health["flyingblue-promo"]["healthy_pct"] == 100.0
    page.goto(f"{site}/awardwatch/source_health?_hide_sql=1")
    _shot(page, "health")


def test_alerts_per_day_count_by_notifier(page: Page, site: str, database: Path) -> None:
    page.goto(f"{site}/awardwatch/alerts_per_day.json?_shape=array")
    rows = json.loads(page.locator("body").inner_text())
    sent: Counter[str] = Counter()
    for row in rows:
        sent[row["notifier"]] += row["sent"]
    with sqlite3.connect(database) as conn:
        sql = "SELECT target, count(*) FROM outbox WHERE status = 'sent' GROUP BY target"
        expected = dict(conn.execute(sql))
    assert dict(sent) == expected
    assert sum(r["dead"] for r in rows) == 1


def test_offers_table_facet_click(page: Page, site: str) -> None:
    page.goto(f"{site}/awardwatch/offers")
    expect(page.locator(".facet-info")).to_have_count(5)
    assert _rows(page) == 7
    page.locator('.facet-info[data-column="program"] a', has_text="united").click()
    page.wait_for_url("**program=united**")
    assert _rows(page) == 4
    expect(page.locator("h3", has_text="rows")).to_contain_text('4 rows where program = "united"')
    _shot(page, "offers")


def test_offers_default_sort_is_cheapest_first(page: Page, site: str) -> None:
    page.goto(f"{site}/awardwatch/offers.json?_shape=array")
    miles = [o["miles"] for o in json.loads(page.locator("body").inner_text())]
    assert miles == sorted(miles)


def test_csv_export_downloads(page: Page, site: str) -> None:
    page.goto(site + "/")
    with page.expect_download() as download_info:
        page.evaluate("""() => { const a = document.querySelector(
            'a[href="/awardwatch/offers.csv?_size=max"]'); a.setAttribute('download', '');
            a.click(); }""")  # fmt: skip
    text = Path(download_info.value.path()).read_text(encoding="utf-8")
    lines = text.strip().splitlines()
    assert lines[0].startswith("key,source,program,")
    assert len(lines) == 1 + 7


def test_column_descriptions_shown(page: Page, site: str) -> None:
    page.goto(f"{site}/awardwatch/offers")
    description = page.get_by_text("Lowest price ever seen for this identity")
    expect(description).to_be_hidden()
    page.get_by_text("What the columns mean").click()
    expect(description).to_be_visible()


def test_unknown_page_is_a_404(page: Page, site: str) -> None:
    response = page.goto(f"{site}/awardwatch/no_such_table")
    assert response is not None and response.status == 404


# --- read-only ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sql_site(database: Path) -> Iterator[str]:
    """The panel with --allow-sql."""
    config = Config(bot=BotSettings(database=database))
    with Server(panel.application(config, allow_sql=True)) as server:
        yield server.url


def test_sql_write_through_the_panel_is_refused(page: Page, sql_site: str, database: Path) -> None:
    site = sql_site
    before = _counts(database)
    # what the SQL form on the database page sends
    response = page.goto(f"{site}/awardwatch?sql=DELETE+FROM+offers")
    assert response is not None and response.status == 400
    expect(page.locator("body")).to_contain_text("Statement must be a SELECT")
    for sql in ("INSERT INTO runs (source) VALUES ('x')", "PRAGMA user_version = 99"):
        response = page.request.get(f"{site}/awardwatch.json", params={"sql": sql})
        assert response.status == 400
    assert _counts(database) == before


def test_post_and_create_are_refused(page: Page, site: str, database: Path) -> None:
    before = _counts(database)
    for path in ("/awardwatch/offers/-/insert", "/-/create", "/awardwatch/new_offers"):
        response = page.request.post(site + path, data={"rows": [{"key": "x"}]})
        assert response.status == 405, path
        assert response.headers["allow"] == "GET, HEAD"
    assert _counts(database) == before


def test_database_connections_cannot_write(database: Path) -> None:
    """Below Datasette's SQL check: the connections themselves are read-only."""
    datasette = panel.build(Config(bot=BotSettings(database=database)))
    db = datasette.get_database(panel.DATABASE)

    async def attempts() -> list[str]:
        errors = []
        try:
            await db.execute("DELETE FROM offers")
        except Exception as exc:
            errors.append(str(exc))
        try:
            await db.execute_write("DELETE FROM offers")
        except panel.ReadOnlyPanel as exc:
            errors.append(str(exc))
        return errors

    errors: list[str] = []
    # Playwright's sync API keeps an event loop in this thread
    worker = threading.Thread(target=lambda: errors.extend(asyncio.run(attempts())))
    worker.start()
    worker.join()
    assert "readonly database" in errors[0]
    assert errors[1] == "The panel is read-only: it never writes the bot's database"
    assert _counts(database)["offers"] == 7


# --- password -------------------------------------------------------------------------------


def test_other_hosts_need_a_password(database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(panel.DEFAULT_PASSWORD_ENV, raising=False)
    config = Config(bot=BotSettings(database=database))
    with pytest.raises(panel.PasswordRequired, match="AWARDWATCH_PANEL_PASSWORD"):
        panel.application(config, host="0.0.0.0")


def test_password_gate(browser: Browser, database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANEL_SECRET", "s3cret horse")
    config = Config(bot=BotSettings(database=database))
    with Server(panel.application(config, host="0.0.0.0", password_env="PANEL_SECRET")) as server:
        anonymous = browser.new_context()
        assert anonymous.request.get(server.url + "/awardwatch/offers.json").status == 401
        wrong = browser.new_context(http_credentials={"username": "a", "password": "nope"})
        assert wrong.request.get(server.url + "/awardwatch/offers.json").status == 401
        right = browser.new_context(
            http_credentials={"username": "analyst", "password": "s3cret horse"}
        )
        page = right.new_page()
        page.goto(server.url + "/")
        expect(page.locator("h1")).to_have_text("awardwatch panel")
        for context in (anonymous, wrong, right):
            context.close()


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(panel.NoDatabase, match="run the bot once first"):
        panel.build(Config(bot=BotSettings(database=tmp_path / "none.db")))


# --- metadata covers the schema -------------------------------------------------------------


def test_every_table_and_column_is_described(tmp_path: Path) -> None:
    """Fails when a migration adds a table or column that panel/metadata.yaml does not explain."""
    db = connect(tmp_path / "schema.db")
    tables = panel.metadata()["databases"][panel.DATABASE]["tables"]
    missing = []
    for name in db.table_names():
        if name.startswith("sqlite_"):
            continue
        described = tables.get(name, {})
        if not described.get("description") or not described.get("title"):
            missing.append(name)
            continue
        missing += [
            f"{name}.{c}" for c in db[name].columns_dict if c not in described.get("columns", {})
        ]
    assert not missing, f"describe these in panel/metadata.yaml: {missing}"


# --- offers, not people --------------------------------------------------------------------

HIDDEN = ["subscribers", "subscriber_watches", "subscriber_version", "subscriber_changes",
          "outbox", "sheet_sync"]  # fmt: skip


@pytest.mark.parametrize("table", HIDDEN)
def test_hidden_tables_are_unreachable(page: Page, site: str, table: str) -> None:
    for path in (table, f"{table}.json", f"{table}.csv?_size=max", f"{table}/1"):
        response = page.goto(f"{site}/awardwatch/{path}")
        assert response is not None and response.status == 403, path
        assert CHAT_ID not in page.content() and PERSON not in page.content()


def test_no_page_lists_or_shows_people(page: Page, site: str) -> None:
    for path in ("/", "/awardwatch", "/awardwatch/deliveries", "/awardwatch/events",
                 "/awardwatch/alerts_per_day"):  # fmt: skip
        page.goto(site + path)
        text = page.content()
        for secret in (CHAT_ID, PERSON, SHEET_KEY):
            assert secret not in text, (path, secret)
        for table in HIDDEN:
            expect(page.locator(f'a[href="/awardwatch/{table}"]')).to_have_count(0)


def test_custom_sql_is_off_by_default(page: Page, site: str) -> None:
    for sql in ("SELECT * FROM subscribers", "SELECT * FROM pragma_database_list", "SELECT 1"):
        response = page.request.get(f"{site}/awardwatch.json", params={"sql": sql})
        assert response.status == 403, sql
    response = page.goto(f"{site}/awardwatch?sql=SELECT+chat+FROM+outbox")
    assert response is not None and response.status == 403
    assert CHAT_ID not in page.content()


def test_introspection_pages_are_not_served(page: Page, site: str, database: Path) -> None:
    for path in ("/-/databases.json", "/-/metadata.json", "/-/settings.json", "/-/plugins.json",
                 "/-/versions.json", "/-/actor.json"):  # fmt: skip
        response = page.request.get(site + path)
        assert response.status == 404, path
        assert str(database) not in response.text()


def test_with_custom_sql_people_read_as_null(page: Page, sql_site: str) -> None:
    def rows(sql: str) -> list[list[Any]]:
        response = page.request.get(f"{sql_site}/awardwatch.json",
                                    params={"sql": sql, "_shape": "arrays"})  # fmt: skip
        assert response.status == 200, response.text()
        return list(response.json()["rows"])

    assert rows("SELECT chat, name, target FROM subscribers") == [[None, None, None]]
    assert rows("SELECT count(*) FROM subscribers") == [[1]]
    assert rows("SELECT max(chat) FROM outbox") == [[None]]
    assert rows("SELECT spreadsheet_key FROM sheet_sync") == [[None]]
    assert rows("SELECT origins, destinations FROM subscriber_watches") == [[None, None]]
    assert rows("SELECT file FROM pragma_database_list") == [[None]]
    response = page.goto(f"{sql_site}/awardwatch/subscribers")
    assert response is not None and response.status == 403


def test_csv_export_is_formula_safe(page: Page, site: str) -> None:
    response = page.request.get(f"{site}/awardwatch/offers.csv", params={"_size": "max"})
    titles = [row["title"] for row in csv.DictReader(io.StringIO(response.text()))]
    assert "'" + FORMULA in titles
    assert not [t for t in titles if t.startswith(("=", "+", "-", "@"))]
    assert "SFO to NRT in business" in titles


@pytest.mark.parametrize(
    ("cell", "safe"),
    [("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
     ("\tx", "'\tx"), ("-12.5", "-12.5"), ("Paris", "Paris"), ("", "")],
)  # fmt: skip
def test_formula_cells(cell: str, safe: str) -> None:
    assert safe_cell(cell) == safe


def test_a_short_password_is_refused(database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANEL_SECRET", "hunter2")
    config = Config(bot=BotSettings(database=database))
    with pytest.raises(panel.PasswordTooShort, match="at least 12 characters"):
        panel.application(config, host="0.0.0.0", password_env="PANEL_SECRET")


def test_failed_logins_are_throttled(browser: Browser) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    gate = panel.PasswordGate(app, "correct horse battery")
    gate.first_wait = 600  # the lockout outlasts the test on any machine
    with Server(gate) as server:
        wrong = browser.new_context(http_credentials={"username": "a", "password": "guess"})
        statuses = [wrong.request.get(server.url).status for _ in range(gate.free_failures + 1)]
        assert statuses == [401] * (gate.free_failures + 1)
        locked = wrong.request.get(server.url)
        assert locked.status == 429 and int(locked.headers["retry-after"]) > 0
        right = browser.new_context(
            http_credentials={"username": "a", "password": "correct horse battery"}
        )
        assert right.request.get(server.url).status == 429  # no guessing during the lockout
        gate.failures.clear()
        assert right.request.get(server.url).status == 200
        for context in (wrong, right):
            context.close()
