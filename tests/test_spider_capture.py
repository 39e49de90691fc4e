"""The browser-captured airline sources: the requests each spider builds from a watchlist, and
whole runs of the bot in which Chromium loads a local stand-in of the airline's page, the page's
own script requests the search JSON, the spider captures it and the offers reach SQLite."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import sqlite_utils
from airline_site import Answer, json_answer, page, serve
from conftest import run_once

from scrapers.spiders.american import AmericanSpider
from scrapers.spiders.capture import Search, searches
from scrapers.spiders.delta import DeltaSpider
from scrapers.spiders.southwest import SouthwestSpider
from scrapers.spiders.united import UnitedSpider
from settings.config import RouteQuery, SourceConfig

DAY = date.today() + timedelta(days=60)


def source(kind: str, **options: Any) -> SourceConfig:
    return SourceConfig(
        name=kind,
        kind=kind,
        program=kind,
        render="browser",
        options={"base_url": "http://127.0.0.1:9", **options},
        watch=[RouteQuery(origins=["JFK"], destinations=["LHR"], dates=[DAY], passengers=2)],
    )


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


# -- watchlists into page loads ---------------------------------------------------------------


def test_watch_expands_into_one_search_per_route_and_day() -> None:
    watch = RouteQuery(
        origins=["jfk", "BOS"],
        destinations=["LHR"],
        date_from=DAY,
        date_to=DAY + timedelta(days=1),
        cabins=["business"],
    )
    found = list(searches(watch))
    assert [(s.origin, s.destination, s.day) for s in found] == [
        ("JFK", "LHR", DAY),
        ("JFK", "LHR", DAY + timedelta(days=1)),
        ("BOS", "LHR", DAY),
        ("BOS", "LHR", DAY + timedelta(days=1)),
    ]
    assert found[0].cabins == ("business",)


def test_round_trip_watch_searches_both_directions() -> None:
    watch = RouteQuery(origins=["JFK"], destinations=["LHR"], dates=[DAY], trip="round-trip")
    assert [(s.origin, s.destination) for s in searches(watch)] == [("JFK", "LHR"), ("LHR", "JFK")]


# -- requests ---------------------------------------------------------------------------------


def test_delta_loads_the_award_search_page_in_its_own_browser_context() -> None:
    spider = DeltaSpider(source=source("delta", deals_page=False))
    [request] = list(spider.requests())
    assert request.method == "GET"
    assert request.url.startswith("http://127.0.0.1:9/flight-search/search?")
    assert query(request.url) == {
        "action": ["findFlights"],
        "tripType": ["ONE_WAY"],
        "priceSchedule": ["AWARD"],
        "awardTravel": ["true"],
        "originCity": ["JFK"],
        "destinationCity": ["LHR"],
        "departureDate": [DAY.isoformat()],
        "paxCount": ["2"],
        "searchByCabin": ["true"],
        "deltaOnlySearch": ["false"],
    }
    assert request.meta["playwright"] is True
    assert request.meta["playwright_include_page"] is True
    assert request.meta["playwright_context"].startswith("delta-")
    assert set(request.meta["playwright_page_event_handlers"]) == {"response"}
    assert request.body == b""


def test_delta_also_reads_the_deals_page() -> None:
    spider = DeltaSpider(source=source("delta"))
    urls = [r.url for r in spider.requests()]
    assert urls[-1] == "http://127.0.0.1:9/us/en/skymiles/award-deals"
    assert len(urls) == 2


def test_southwest_loads_the_points_booking_page() -> None:
    [request] = list(SouthwestSpider(source=source("southwest")).requests())
    assert request.method == "GET"
    assert request.url.startswith("http://127.0.0.1:9/air/booking/select.html?")
    assert query(request.url) == {
        "adultPassengersCount": ["2"],
        "departureDate": [DAY.isoformat()],
        "destinationAirportCode": ["LHR"],
        "fareType": ["POINTS"],
        "originationAirportCode": ["JFK"],
        "passengerType": ["ADULT"],
        "returnDate": [""],
        "tripType": ["oneway"],
    }
    assert request.meta["playwright_include_page"] is True


def test_united_loads_the_award_results_page() -> None:
    [request] = list(UnitedSpider(source=source("united")).requests())
    assert request.method == "GET"
    assert request.url.startswith("http://127.0.0.1:9/en/us/fsr/choose-flights?")
    found = query(request.url)
    assert (found["f"], found["t"], found["d"], found["at"], found["px"]) == (
        ["JFK"],
        ["LHR"],
        [DAY.isoformat()],
        ["1"],
        ["2"],
    )


def test_american_loads_the_booking_page_then_posts_the_award_search_from_it() -> None:
    spider = AmericanSpider(source=source("american"))
    [request] = list(spider.requests())
    assert (request.method, request.url) == ("GET", "http://127.0.0.1:9/booking/find-flights")
    fetch = spider.search_fetch(Search("JFK", "LHR", DAY, passengers=2))
    assert (fetch.method, fetch.url) == ("POST", "http://127.0.0.1:9/booking/api/search/itinerary")
    assert fetch.headers == {
        "Accept": "application/json, text/plain, */*",
        "Content-Type": "application/json",
    }
    body = json.loads(fetch.body)
    assert body["searchType"] == "Award"
    assert body["passengers"] == [{"type": "adult", "count": 2}]
    assert body["metadata"]["tripType"] == "OneWay"
    [leg] = body["slices"]
    assert (leg["origin"], leg["destination"], leg["departureDate"]) == (
        "JFK",
        "LHR",
        DAY.isoformat(),
    )


# -- whole runs -------------------------------------------------------------------------------


def write_config(tmp_path: Path, kind: str, base_url: str, watch: str, options: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[bot]
database = {json.dumps(str(tmp_path / "bot.db"))}
contact = "tests@example.org"

[spreadsheet]
path = {json.dumps(str(tmp_path / "offers.xlsx"))}

[[notifiers]]
name = "console"
type = "console"

[[sources]]
name = "{kind}-test"
kind = "{kind}"
program = "{kind}"
render = "browser"
obey_robots = false
allow_private = true
[sources.options]
base_url = "{base_url}"
capture_timeout = 20
{options}
[[sources.watch]]
{watch}
""")
    return path


def stored(tmp_path: Path) -> list[dict[str, Any]]:
    rows = sqlite_utils.Database(tmp_path / "bot.db")["offers"].rows_where(order_by="cabin, miles")
    return list(rows)


def only_run(summary: dict[str, Any]) -> dict[str, Any]:
    [run] = summary["runs"]
    return run  # type: ignore[no-any-return]


def test_delta_run_captures_the_search_the_page_requests(tmp_path: Path) -> None:
    routes = {
        "/flight-search/search": page("delta"),
        "/shop/ow/search": json_answer(
            "delta", "shop-search.json", {"2022-07-10": DAY.isoformat()}
        ),
    }
    with serve(routes) as site:
        watch = f'origins = ["SFO"]\ndestinations = ["JFK"]\ndates = [{DAY.isoformat()}]'
        config = write_config(tmp_path, "delta", site.url, watch, "deals_page = false")
        summary = run_once(config)
    assert only_run(summary)["status"] == "ok", summary["stdout"]
    [search] = site.requests_to("/shop/ow/search")
    assert json.loads(search.body)["segments"][0]["origin"] == "SFO"
    rows = stored(tmp_path)
    # one row per route, day and cabin: the cheapest economy and business fares of the three trips
    assert [(r["origin"], r["destination"], r["cabin"], r["miles"]) for r in rows] == [
        ("SFO", "JFK", "business", 230000),
        ("SFO", "JFK", "economy", 25000),
    ]
    assert rows[0]["depart_date"] == DAY.isoformat()
    assert rows[0]["source"] == "delta-test"


def test_southwest_run_captures_the_points_search(tmp_path: Path) -> None:
    path = "/api/air-booking/v1/air-booking/page/air/booking/shopping"
    routes = {
        "/air/booking/select.html": page("southwest"),
        path: json_answer("southwest", "shopping.json", {"2022-07-25": DAY.isoformat()}),
    }
    with serve(routes) as site:
        watch = f'origins = ["OAK"]\ndestinations = ["KOA"]\ndates = [{DAY.isoformat()}]'
        summary = run_once(write_config(tmp_path, "southwest", site.url, watch))
    assert only_run(summary)["status"] == "ok", summary["stdout"]
    assert only_run(summary)["items"] == 9
    [search] = site.requests_to(path)
    assert json.loads(search.body)["fareType"] == "POINTS"
    rows = stored(tmp_path)
    assert [(r["origin"], r["destination"], r["cabin"], r["miles"], r["promo"]) for r in rows] == [
        ("OAK", "KOA", "economy", 17009, 0),
    ]


def test_united_run_captures_fetchflights(tmp_path: Path) -> None:
    routes = {
        "/en/us/fsr/choose-flights": page("united"),
        "/api/flight/FetchFlights": json_answer(
            "united", "fetchflights.json", {"2022-04-21": DAY.isoformat()}
        ),
    }
    with serve(routes) as site:
        watch = f'origins = ["HNL"]\ndestinations = ["SFO"]\ndates = [{DAY.isoformat()}]'
        watch += '\ncabins = ["business"]'
        summary = run_once(write_config(tmp_path, "united", site.url, watch))
    assert only_run(summary)["status"] == "ok", summary["stdout"]
    # the watch asks for business only: the four economy products are left out
    assert only_run(summary)["items"] == 4
    rows = stored(tmp_path)
    assert [(r["origin"], r["destination"], r["cabin"], r["miles"], r["seats"]) for r in rows] == [
        ("HNL", "SFO", "business", 70900, 9),
    ]


def test_american_run_posts_the_search_from_the_loaded_page(tmp_path: Path) -> None:
    routes = {
        "/booking/find-flights": page("american"),
        "/booking/api/search/itinerary": json_answer(
            "american", "itinerary-search.json", {"2022-08-29": DAY.isoformat()}
        ),
    }
    with serve(routes) as site:
        watch = f'origins = ["LAX"]\ndestinations = ["HNL"]\ndates = [{DAY.isoformat()}]'
        summary = run_once(write_config(tmp_path, "american", site.url, watch))
    assert only_run(summary)["status"] == "ok", summary["stdout"]
    [search] = site.requests_to("/booking/api/search/itinerary")
    assert search.method == "POST"
    assert search.headers["content-type"] == "application/json"
    assert search.headers["referer"] == f"{site.url}/booking/find-flights"
    body = json.loads(search.body)
    assert (body["searchType"], body["slices"][0]["origin"], body["slices"][0]["destination"]) == (
        "Award",
        "LAX",
        "HNL",
    )
    rows = stored(tmp_path)
    assert [(r["cabin"], r["miles"], r["promo"], r["promo_reason"]) for r in rows] == [
        ("economy", 20000, 0, None),
        ("first", 55000, 1, "AAdvantage web special"),
    ]


def test_page_without_the_search_is_checked_for_a_block(tmp_path: Path) -> None:
    """Delta sends a blocked visitor to its outage page; the page never requests the search."""
    routes = {
        "/flight-search/search": Answer(
            b"", "text/html", 302, location="/content/system-unavailable1.html"
        ),
        "/content/system-unavailable1.html": page("delta", "system-unavailable1.html"),
    }
    with serve(routes) as site:
        watch = f'origins = ["SFO"]\ndestinations = ["JFK"]\ndates = [{DAY.isoformat()}]'
        config = write_config(
            tmp_path, "delta", site.url, watch, "deals_page = false\ncapture_timeout = 2"
        )
        config.write_text(config.read_text().replace("capture_timeout = 20\n", ""))
        summary = run_once(config)
    run = only_run(summary)
    assert run["status"] == "blocked", summary["stdout"]
    assert "system-unavailable1.html" in run["message"]
    assert stored(tmp_path) == []


def test_static_render_is_refused_with_a_reason(tmp_path: Path) -> None:
    watch = f'origins = ["SFO"]\ndestinations = ["JFK"]\ndates = [{DAY.isoformat()}]'
    config = write_config(tmp_path, "united", "http://127.0.0.1:9", watch)
    config.write_text(config.read_text().replace('render = "browser"', 'render = "static"'))
    run = only_run(run_once(config))
    assert run["status"] == "error"
    assert run["message"] == "source kind 'united' needs render = \"browser\""
