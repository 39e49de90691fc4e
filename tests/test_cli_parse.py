"""``scheduler.py parse``: a source's parser on a saved file, offline, one JSON per offer."""

from __future__ import annotations

import json

from conftest import ROOT, cli

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


def test_parse_feed() -> None:
    code, sales, _ = parse("points-daily", str(SITES / "feed.xml"))
    assert code == 0 and len(sales) == 1  # the lounge post is not an award sale
    sale = sales[0]
    assert (sale["program"], sale["miles"], sale["trip"], sale["is_award_sale"]) == (
        "flyingblue",
        15000,
        "one-way",
        True,
    )
    assert sale["link"].endswith("/posts/flying-blue-promo-rewards")
    assert (sale["book_by"], sale["travel_end"]) == ("2030-12-31", "2031-05-31")


def test_parse_unknown_source_names_the_choices() -> None:
    code, _, err = parse("nowhere", str(SITES / "feed.xml"))
    assert code == 2 and "neither a configured source" in err and "skydeals" in err


def test_parse_malformed_file_is_a_message_not_a_traceback() -> None:
    code, _, err = parse("aa-deals-api", str(SITES / "promotions.html"))
    assert code == 1 and "not JSON" in err and "Traceback" not in err
