"""The whole road over the sample sites: real Scrapy, real Chromium for the JavaScript page,
real SQLite, the spreadsheet file and console alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlite_utils
from conftest import Sites, run_once
from openpyxl import load_workbook


def offers_by_route(db_path: Path) -> dict[str, dict[str, Any]]:
    db = sqlite_utils.Database(db_path)
    return {f"{r['origin']}-{r['destination']}": r for r in db["offers"].rows}


def test_one_pass_stores_records_and_alerts(tmp_path: Path, sites: Sites, config_for: Any) -> None:
    summary = run_once(config_for())
    assert summary["exit"] == 0, summary["stdout"]
    runs = {run["source"]: run for run in summary["runs"]}

    # static page over two pages: 3 good offers; sold out, unknown cabin, negative miles counted
    assert runs["skydeals"]["status"] == "ok" and runs["skydeals"]["offers"] == 3
    assert runs["skydeals"]["rejected"] == {"sold out": 1, "cabin": 1, "miles": 1}
    # rendered in Chromium: both offers only exist after the page's script ran
    assert runs["flash-sale"]["status"] == "ok" and runs["flash-sale"]["offers"] == 2
    # JSON API: sold-out, unpriced and non-object rows rejected with reasons
    assert runs["aa-deals-api"]["offers"] == 2
    assert runs["aa-deals-api"]["rejected"] == {"sold out": 1, "no price": 1, "not an object": 1}

    # the feed: one award sale in two posts (the other is about lounges)
    assert runs["points-daily"]["offers"] == 1
    assert runs["points-daily"]["rejected"] == {
        "not an award sale: no miles price or award discount": 1
    }

    offers = offers_by_route(tmp_path / "bot.db")
    assert (
        offers["New York-Paris"]["program"] == "flyingblue"
        and offers["New York-Paris"]["miles"] == 15000
    )
    jfk = offers["JFK-LHR"]
    assert (jfk["program"], jfk["cabin"], jfk["miles"], jfk["taxes"], jfk["discount_pct"]) == (
        "delta",
        "business",
        45000,
        5.6,
        30.0,
    )
    assert (jfk["travel_start"], jfk["travel_end"], jfk["book_by"]) == (
        "2031-01-10",
        "2031-03-15",
        "2030-12-31",
    )
    assert offers["BOS-CDG"]["miles"] == 22500 and offers["BOS-CDG"]["trip"] == "round-trip"
    assert offers["SFO-SYD"]["cabin"] == "business" and offers["DEN-CUN"]["miles"] == 12500
    assert offers["DFW-MAD"]["promo"] == 1 and offers["DFW-MAD"]["url"].endswith("/book/dfw-mad")
    assert "ORD-FCO" not in offers and "SEA-KEF" not in offers and "ATL-HND" not in offers

    book = load_workbook(tmp_path / "offers.xlsx")
    assert book.sheetnames == ["Offers", "Current", "Runs"]
    rows = list(book["Offers"].iter_rows(min_row=2, values_only=True))
    stored = sqlite_utils.Database(tmp_path / "bot.db")["events"].count
    assert len(rows) == stored == summary["delivery"]["sent"]
    assert book["Runs"].max_row - 1 == len(summary["runs"])

    # many offers at once arrive as one digest on the console
    assert summary["delivery"]["sent"] == 8
    assert summary["stdout"].count("New: ") == 8 and "8 award offers" in summary["stdout"]
    assert "JFK → LHR · 45,000 miles" in summary["stdout"]


def test_second_pass_alerts_nothing_then_cheaper_alerts_once(
    tmp_path: Path, sites: Sites, config_for: Any
) -> None:
    config = config_for(only=["skydeals", "aa-deals-api"])
    first = run_once(config)
    assert first["delivery"]["sent"] == 5

    second = run_once(config)
    assert second["delivery"]["sent"] == 0
    assert all(run["events"] == {} for run in second["runs"])

    sites.replace("promotions.html", "from 45,000 miles", "from 39,000 miles")
    third = run_once(config)
    assert [run["events"] for run in third["runs"]] == [{"cheaper": 1}, {}]
    assert third["delivery"]["sent"] == 1
    assert "JFK → LHR · 39,000 miles (was 45,000)" in third["stdout"]
    assert offers_by_route(tmp_path / "bot.db")["JFK-LHR"]["miles"] == 39000


def test_unreachable_source_fails_the_pass_with_exit_1(
    tmp_path: Path, sites: Sites, config_for: Any
) -> None:
    config = config_for(only=["skydeals"])
    config.write_text(config.read_text().replace(sites.url, "http://127.0.0.1:9"))
    summary = run_once(config)
    assert summary["exit"] == 1
    assert summary["runs"][0]["status"] == "error" and summary["runs"][0]["errors"] >= 1
    assert "Connection refused" in summary["runs"][0]["message"]
