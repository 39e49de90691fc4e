"""The flyingblue and seatsaero spiders: the requests a watch entry becomes, the daily call
budget, and whole runs of the bot (``scheduler.py once``) against a local stand-in API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import bot_config, cli, run_once
from fake_airline_apis import CURSOR, OFFERS_PATH, FakeAirlineApis
from scrapy.utils.test import get_crawler

from offers.errors import ConfigError
from scrapers.spiders.flyingblue import FlyingblueSpider
from scrapers.spiders.seatsaero import BUDGET_USED_UP, CallBudget, SeatsaeroSpider
from settings.config import SourceConfig
from storage.db import connect

AIRLINES = Path(__file__).resolve().parent.parent / "fixtures" / "airlines"
FB_KEY, SA_KEY = "fb-secret-4711", "sa-secret-0815"
TODAY = datetime.now(UTC).date()


def spider(cls: type[Any], **source: Any) -> Any:
    crawler = get_crawler(cls)
    return cls.from_crawler(crawler, source=SourceConfig(**source))


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FB_KEY", FB_KEY)
    monkeypatch.setenv("SA_KEY", SA_KEY)


# -- requests ---------------------------------------------------------------------------


def test_flyingblue_request_for_a_watch_entry(keys: None) -> None:
    watch = {
        "origins": ["AMS", "Paris"], "destinations": ["JFK"], "cabins": ["business"],
        "date_from": "2026-03-01", "date_to": "2026-03-10", "passengers": 2, "trip": "round-trip",
    }  # fmt: skip
    fb = spider(
        FlyingblueSpider, name="fb", kind="flyingblue", watch=[watch],
        options={"api_key_env": "FB_KEY", "base_url": "http://127.0.0.1:9/"},
    )  # fmt: skip
    requests = list(fb.requests())
    assert len(requests) == 1  # "Paris" is no IATA code: not searched
    request = requests[0]
    assert request.method == "POST"
    assert request.url == "http://127.0.0.1:9/opendata/offers/v1/best-fare-offers"
    assert request.headers["API-Key"] == FB_KEY.encode()
    assert request.headers["AFKL-TRAVEL-Host"] == b"KL"
    assert request.headers["Content-Type"] == b"application/hal+json"
    assert request.meta["dont_cache"] is True
    assert json.loads(request.body) == {
        "bookingFlow": "REWARD",
        "commercialCabin": "BUSINESS",
        "passengers": [{"id": 1, "type": "ADT"}, {"id": 2, "type": "ADT"}],
        "requestedConnections": [
            {
                "origin": {"code": "AMS", "type": "AIRPORT"},
                "destination": {"code": "JFK", "type": "AIRPORT"},
            },
            {
                "origin": {"code": "JFK", "type": "AIRPORT"},
                "destination": {"code": "AMS", "type": "AIRPORT"},
            },
        ],
        "dateInterval": "2026-03-01/2026-03-10",
    }


def test_flyingblue_searches_every_cabin_when_none_is_named(keys: None) -> None:
    fb = spider(
        FlyingblueSpider, name="fb", kind="flyingblue",
        watch=[{"origins": ["CDG"], "destinations": ["JFK", "NYC"]}],
        options={"api_key_env": "FB_KEY"},
    )  # fmt: skip
    bodies = [json.loads(r.body) for r in fb.requests()]
    assert len(bodies) == 8  # 2 destinations x 4 cabins
    assert bodies[4]["requestedConnections"][0]["destination"] == {"code": "NYC", "type": "CITY"}
    start, end = bodies[0]["dateInterval"].split("/")
    assert (date.fromisoformat(end) - date.fromisoformat(start)).days == 60
    assert bodies[0]["passengers"] == [{"id": 1, "type": "ADT"}]


def test_seatsaero_request_for_a_watch_entry(keys: None, tmp_path: Path) -> None:
    watch = {
        "origins": ["SFO", "LAX"], "destinations": ["NRT"], "cabins": ["business"],
        "dates": ["2026-04-03", "2026-04-01"],
    }  # fmt: skip
    sa = spider(
        SeatsaeroSpider, name="sa", kind="seatsaero", watch=[watch],
        options={
            "api_key_env": "SA_KEY", "base_url": "http://127.0.0.1:9/partnerapi",
            "usage_file": str(tmp_path / "calls.json"), "availability_sources": ["aeroplan"],
        },
    )  # fmt: skip
    search, bulk = list(sa.requests())
    assert search.method == "GET"
    parts = urlsplit(search.url)
    assert parts.path == "/partnerapi/search"
    assert parse_qs(parts.query) == {
        "origin_airport": ["SFO,LAX"], "destination_airport": ["NRT"],
        "start_date": ["2026-04-01"], "end_date": ["2026-04-03"],
        "cabin": ["business"], "take": ["500"],
    }  # fmt: skip
    assert search.headers["Partner-Authorization"] == SA_KEY.encode()
    assert search.meta["dont_cache"] is True
    assert bulk.url == "http://127.0.0.1:9/partnerapi/availability?source=aeroplan&take=500"
    assert SA_KEY not in (tmp_path / "calls.json").read_text()


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    with pytest.raises(ConfigError, match="NO_SUCH_KEY is not set"):
        spider(SeatsaeroSpider, name="sa", kind="seatsaero", options={"api_key_env": "NO_SUCH_KEY"})


# -- the daily budget -------------------------------------------------------------------


def test_budget_counts_calls_per_utc_day(tmp_path: Path) -> None:
    budget = CallBudget(tmp_path / "calls.json", "SA_KEY", limit=2)
    assert budget.take() and budget.take()
    assert not budget.take()
    assert budget.used() == 2
    # another key has its own count; yesterday's count is spent
    assert CallBudget(tmp_path / "calls.json", "OTHER_KEY", limit=2).take()
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    (tmp_path / "calls.json").write_text(json.dumps({"SA_KEY": {"day": yesterday, "calls": 2}}))
    assert budget.used() == 0 and budget.take()


def test_spider_stops_at_the_budget_with_a_message(keys: None, tmp_path: Path) -> None:
    watch = [{"origins": ["SFO"], "destinations": [d]} for d in ("NRT", "HND", "KIX")]
    sa = spider(
        SeatsaeroSpider, name="sa", kind="seatsaero", watch=watch,
        options={"api_key_env": "SA_KEY", "daily_calls": 2, "usage_file": str(tmp_path / "c.json")},
    )  # fmt: skip
    assert len(list(sa.requests())) == 2
    stats = sa.crawler.stats
    assert stats.get_value(BUDGET_USED_UP) == 1
    message = stats.get_value("awardwatch/last_problem")
    assert "daily call budget used up: 2 calls" in message and SA_KEY not in message


# -- whole runs against the stand-in API -------------------------------------------------


@pytest.fixture
def api() -> Iterator[FakeAirlineApis]:
    fake = FakeAirlineApis(flyingblue_key=FB_KEY, seatsaero_key=SA_KEY)
    fake.start()
    yield fake
    fake.stop()


def write_config(tmp_path: Path, source: str) -> Path:
    return bot_config(tmp_path, source)


def seatsaero_records(day: date) -> list[dict[str, Any]]:
    """The reference page's records, moved to ``day`` so that they are still bookable."""
    page = json.loads((AIRLINES / "seatsaero" / "availability-page.json").read_text())
    return [
        {**r, "Date": day.isoformat(), "ParsedDate": f"{day.isoformat()}T00:00:00Z"}
        for r in page["data"]
    ]


def seatsaero_source(base_url: str, tmp_path: Path, *, daily_calls: int = 1000) -> str:
    return f"""
[[sources]]
name = "seats"
kind = "seatsaero"
obey_robots = false
allow_private = true

[sources.options]
base_url = "{base_url}"
api_key_env = "SEATSAERO_KEY"
page_size = 2
daily_calls = {daily_calls}
usage_file = "{tmp_path / "seatsaero-calls.json"}"

[sources.options.promo_max_miles]
"North America" = {{ economy = 25000 }}

[[sources.watch]]
origins = ["MIA", "BOS", "LAS", "AUS"]
destinations = ["JFK", "BOS", "MCO", "SEA"]
date_from = "{TODAY + timedelta(days=20)}"
date_to = "{TODAY + timedelta(days=40)}"
"""


def offers_table(tmp_path: Path) -> list[dict[str, Any]]:
    return list(
        connect(tmp_path / "bot.db").query(
            "select * from offers order by origin, destination, cabin"
        )
    )


def test_seatsaero_run_follows_pages_into_the_database(
    api: FakeAirlineApis, tmp_path: Path
) -> None:
    api.records = seatsaero_records(TODAY + timedelta(days=30))
    config = write_config(tmp_path, seatsaero_source(api.url + "/partnerapi", tmp_path))
    done = cli(
        "--verbose", "--config", str(config), "once", "--json", env={"SEATSAERO_KEY": SA_KEY}
    )
    summary = json.loads(done.stdout.splitlines()[-1])
    run = summary["runs"][0]
    assert (run["status"], run["items"], run["offers"]) == ("ok", 10, 10)
    rows = offers_table(tmp_path)
    # 5 matching records (LAS-JFK, AUS-SEA, BOS-MCO, MIA-JFK, MIA-BOS) x economy and business
    assert len(rows) == 10 and {r["program"] for r in rows} == {"delta"}
    promos = [(r["origin"], r["destination"], r["miles"]) for r in rows if r["promo"]]
    assert promos == [("BOS", "MCO", 22000), ("MIA", "BOS", 23000), ("MIA", "JFK", 18000)]
    calls = api.api_calls("/partnerapi/search")
    assert [(c.query.get("cursor"), c.query.get("skip")) for c in calls] == [
        (None, None), (str(CURSOR), "2"), (str(CURSOR), "4"),
    ]  # fmt: skip
    assert all(c.headers["partner-authorization"] == SA_KEY for c in calls)
    # the key is in no log line (verbose), alert or summary
    assert "run source=seats status=ok" in done.stderr
    assert SA_KEY not in done.stdout + done.stderr


def test_seatsaero_run_stops_at_the_daily_budget(api: FakeAirlineApis, tmp_path: Path) -> None:
    api.records = seatsaero_records(TODAY + timedelta(days=30))
    config = write_config(
        tmp_path, seatsaero_source(api.url + "/partnerapi", tmp_path, daily_calls=2)
    )
    day = datetime.now(UTC).date()  # the budget's day: the UTC day of the runs, not of import
    first = run_once(config, env={"SEATSAERO_KEY": SA_KEY})["runs"][0]
    again = run_once(config, env={"SEATSAERO_KEY": SA_KEY})["runs"][0]
    if datetime.now(UTC).date() != day:
        pytest.skip("the UTC day turned during the test, and with it the budget")
    assert first["status"] == "ok" and first["items"] == 8  # two pages of two records
    assert "daily call budget used up: 2 calls" in first["message"]
    assert again["status"] == "error" and "budget used up" in again["message"]
    assert len(api.api_calls("/partnerapi/search")) == 2
    assert json.loads((tmp_path / "seatsaero-calls.json").read_text())["SEATSAERO_KEY"] == {
        "day": day.isoformat(), "calls": 2,
    }  # fmt: skip


@pytest.mark.parametrize(("status", "calls"), [(429, 1), (503, 3)])
def test_seatsaero_refusals_are_blocks_and_every_call_counts(
    api: FakeAirlineApis, tmp_path: Path, status: int, calls: int
) -> None:
    api.status = status
    config = write_config(tmp_path, seatsaero_source(api.url + "/partnerapi", tmp_path))
    summary = run_once(config, env={"SEATSAERO_KEY": SA_KEY})
    run = summary["runs"][0]
    assert run["status"] == "blocked" and f"HTTP {status}" in run["message"]
    # a quota answer is not retried; a 503 is, twice, and each retry is a call of the budget
    assert len(api.calls) == calls
    used = json.loads((tmp_path / "seatsaero-calls.json").read_text())["SEATSAERO_KEY"]["calls"]
    assert used == calls
    assert SA_KEY not in summary["stdout"] + json.dumps(summary)


def flyingblue_source(base_url: str) -> str:
    day = TODAY + timedelta(days=30)
    return f"""
[[sources]]
name = "flyingblue"
kind = "flyingblue"
obey_robots = false
allow_private = true

[sources.options]
base_url = "{base_url}"
api_key_env = "FLYINGBLUE_KEY"

[[sources.watch]]
origins = ["AMS"]
destinations = ["JFK"]
cabins = ["economy", "business"]
dates = ["{day}"]
"""


def flyingblue_offers(day: date) -> bytes:
    """The mixed fixture, its dates moved to ``day`` so that the offers are still bookable."""
    text = (AIRLINES / "flyingblue" / "best-fare-offers-mixed.json").read_text()
    for old in ("2026-03-14", "2026-04-02", "2026-04-09", "2026-05-20"):
        text = text.replace(old, day.isoformat())
    return text.encode()


def test_flyingblue_run_into_the_database(api: FakeAirlineApis, tmp_path: Path) -> None:
    api.offers = flyingblue_offers(TODAY + timedelta(days=30))
    config = write_config(tmp_path, flyingblue_source(api.url))
    summary = run_once(config, env={"FLYINGBLUE_KEY": FB_KEY})
    run = summary["runs"][0]
    assert run["status"] == "ok" and run["offers"] == 2
    rows = offers_table(tmp_path)
    assert [
        (r["origin"], r["destination"], r["cabin"], r["miles"], r["promo"], r["trip"]) for r in rows
    ] == [
        ("AMS", "JFK", "economy", 15000, 1, "one-way"),
        ("CDG", "JFK", "business", 144000, 0, "round-trip"),
    ]
    calls = api.api_calls(OFFERS_PATH)
    assert sorted(json.loads(c.body)["commercialCabin"] for c in calls) == ["BUSINESS", "ECONOMY"]
    assert all(c.headers["api-key"] == FB_KEY for c in calls)
    assert FB_KEY not in summary["stdout"] + json.dumps(summary)


def test_flyingblue_wrong_key_is_a_block(api: FakeAirlineApis, tmp_path: Path) -> None:
    config = write_config(tmp_path, flyingblue_source(api.url))
    summary = run_once(config, env={"FLYINGBLUE_KEY": "not-the-key"})
    run = summary["runs"][0]
    assert run["status"] == "blocked" and "HTTP 401" in run["message"]
    assert "not-the-key" not in summary["stdout"] + json.dumps(summary)
