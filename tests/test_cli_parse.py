"""``scheduler.py parse``: a source's parser on a saved file, offline, one JSON per offer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlite_utils
from conftest import ROOT, Sites, cli, run_once

DEMO = str(ROOT / "fixtures" / "demo.toml")
SITES = ROOT / "fixtures" / "sites"


def parse(*args: str) -> tuple[int, list[dict[str, object]], str]:
    done = cli("--config", DEMO, "parse", *args)
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def test_parse_static_page() -> None:
    code, offers, _ = parse("skydeals", str(SITES / "promotions.html"))
    assert code == 0
    assert [(o["origin"], o["miles"], o["cabin"]) for o in offers] == [
        ("JFK", 45000, "business"),
        ("BOS", 22500, "economy"),
    ]


def test_parse_rendered_page_saved_after_rendering(tmp_path: object) -> None:
    saved = (
        '<article class="offer"><h2 class="title">SFO to SYD</h2><b class="from">SFO</b>'
        '<b class="to">SYD</b><span class="cabin">Polaris</span><span class="miles">80K miles</span>'
        '<time class="date">June 5, 2031</time><a class="book" href="/b">Book</a></article>'
    )
    path = ROOT / "data" / "rendered-test.html"
    path.parent.mkdir(exist_ok=True)
    path.write_text(saved)
    try:
        code, offers, _ = parse("flash-sale", str(path))
    finally:
        path.unlink()
    assert code == 0 and offers[0]["miles"] == 80000 and offers[0]["depart_date"] == "2031-06-05"


def test_parse_json_api_with_rejected_rows() -> None:
    code, rows, _ = parse("aa-deals-api", str(SITES / "api" / "deals.json"), "--rejected")
    assert code == 0
    assert [r.get("origin", r.get("rejected")) for r in rows] == [
        "DFW",
        "MIA",
        "sold out",
        "no price: neither miles nor a discount",
        "not an object",
    ]


def test_parse_feed_prints_the_offers_a_run_stores() -> None:
    code, sales, err = parse("points-daily", str(SITES / "feed.xml"))
    assert code == 0 and len(sales) == 1  # the lounge post is not an award sale
    sale = sales[0]
    assert (sale["source"], sale["program"], sale["miles"], sale["trip"]) == (
        "points-daily",
        "flyingblue",
        15000,
        "one-way",
    )
    # the sample feed's links are relative: the source's URL is their base
    assert sale["url"] == "http://127.0.0.1:8765/posts/flying-blue-promo-rewards"
    assert (sale["book_by"], sale["travel_end"]) == ("2030-12-31", "2031-05-31")
    assert "1 offers, 1 rejected" in err


def test_parse_rejected_shows_each_post_and_why() -> None:
    code, rows, _ = parse("points-daily", str(SITES / "feed.xml"), "--rejected")
    assert code == 0
    assert {"rejected": "not an award sale: no miles price or award discount",
            "item": "Our favourite airport lounges"} in rows  # fmt: skip


def test_relative_links_resolve_against_the_source_url_or_base_url() -> None:
    _, offers, _ = parse("skydeals", str(SITES / "promotions.html"))
    assert offers[0]["url"] == "http://127.0.0.1:8765/book/jfk-lhr"
    _, offers, _ = parse(
        "skydeals", str(SITES / "promotions.html"), "--base-url", "https://deals.example/p/"
    )
    assert offers[0]["url"] == "https://deals.example/book/jfk-lhr"


def test_a_page_selector_matching_nothing_says_so_and_fails() -> None:
    code, offers, err = parse("skydeals", str(SITES / "flash.html"))
    assert code == 1 and offers == []
    assert "'li.deal' matches nothing" in err and "Traceback" not in err


def test_parse_unknown_source_names_the_choices() -> None:
    code, _, err = parse("nowhere", str(SITES / "feed.xml"))
    assert code == 2 and "neither a configured source" in err and "skydeals" in err


def test_parse_malformed_file_is_a_message_not_a_traceback() -> None:
    code, _, err = parse("aa-deals-api", str(SITES / "promotions.html"))
    assert code == 1 and "not JSON" in err and "Traceback" not in err


FIELDS = ("program", "origin", "destination", "cabin", "miles", "trip", "travel_start",
          "travel_end", "book_by", "discount_pct", "url", "title")  # fmt: skip


def test_parse_prints_what_a_run_stores(sites: Sites, config_for: Any, tmp_path: Path) -> None:
    config = config_for(only=["skydeals", "points-daily"])
    assert run_once(config)["exit"] == 0
    db = sqlite_utils.Database(tmp_path / "bot.db")
    for source, name in (("points-daily", "feed.xml"), ("skydeals", "promotions.html")):
        done = cli("--config", str(config), "parse", source, str(sites.root / name))
        printed = [json.loads(line) for line in done.stdout.splitlines()]
        stored = db.execute_returning_dicts("SELECT * FROM offers WHERE source = ?", [source])
        assert printed and done.returncode == 0
        as_run = {tuple(o[f] for f in FIELDS) for o in stored}  # both pages of skydeals
        assert {tuple(o[f] for f in FIELDS) for o in printed} <= as_run
    (feed,) = db.execute_returning_dicts("SELECT url FROM offers WHERE source = 'points-daily'")
    assert feed["url"] == f"{sites.url}/posts/flying-blue-promo-rewards"
