"""A repeat run over a page the server answers 304: its offers come as one item, not one by
one through Scrapy's item path, yet the run reports the same offers, keeps their sightings
live and alerts nothing again; the rules and dates still judge each of them as of the run. A
changed page (200) and a source whose parser settings changed are read afresh.

Each run is the bot's own road (``runner.crawl.Crawls`` then ``runner.pipeline.record``) in a
process of its own (tests/recrawl_driver.py), against a local site."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import bot_config, deals_page, served

DRIVER = Path(__file__).with_name("recrawl_driver.py")
TODAY = datetime.now(UTC).date()
ITEM = """<li class="deal"><b class="from">{origin}</b> <b class="to">{to}</b>
<span class="cabin">Business</span> <span class="miles">{miles} miles</span>
<span class="date">2031-03-05</span> <span class="book">{book_by}</span></li>"""


def page(jfk_miles: int = 70_000, book_by: date | None = None) -> bytes:
    """Two offers; the second must be booked by ``book_by`` (in two days by default)."""
    last_day = (book_by or TODAY + timedelta(days=2)).isoformat()
    items = [
        ITEM.format(origin="JFK", to="LHR", miles=jfk_miles, book_by=""),
        ITEM.format(origin="SFO", to="NRT", miles=80_000, book_by=last_day),
    ]
    return f"<html><body><ul>{''.join(items)}</ul></body></html>".encode()


class Site(BaseHTTPRequestHandler):
    """One page with an ETag; 304 to a matching If-None-Match. Records each status."""

    body: ClassVar[bytes] = b""
    #: a second page, /more.html, linked from the first by a test that wants one
    more: ClassVar[bytes] = b""
    statuses: ClassVar[list[int]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = self.more if self.path == "/more.html" else self.body
        etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
        status = 304 if self.headers.get("If-None-Match") == etag else 200
        self.statuses.append(status)
        self.send_response(status)
        self.send_header("ETag", etag)
        self.send_header("Cache-Control", "no-cache")
        if status == 200:
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status == 200:
            self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def site_url() -> Iterator[str]:
    Site.body, Site.more, Site.statuses = page(), b"", []
    with served(Site) as url:
        yield f"{url}/deals.html"


def config(
    tmp_path: Path, url: str, *, rules: str = "", item: str = "li.deal", extra: str = ""
) -> Path:
    book_by = 'book_by = ".book"'
    return bot_config(tmp_path, rules + deals_page(url, item=item, options=extra, fields=book_by))


def run(path: Path, days_later: int = 0) -> dict[str, Any]:
    """One crawl and record of every source of ``path``, as of ``days_later`` days from now."""
    return runs(path, days_later)[0]


def runs(path: Path, *days_later: int) -> list[dict[str, Any]]:
    """Runs one after the other in one process (as the daemon's), each as of ``days_later``
    days from now."""
    now = datetime.now(UTC)
    times = [(now + timedelta(days=days)).isoformat() for days in days_later]
    done = subprocess.run([sys.executable, str(DRIVER), str(path), *times],
                          capture_output=True, text=True, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.strip().splitlines()]


def table(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "bot.db") as db:
        return db.execute(sql).fetchall()


def test_a_304_page_is_one_item_with_the_same_offers_still_live(
    tmp_path: Path, site_url: str
) -> None:
    path = config(tmp_path, site_url)
    first = run(path)
    events_before = table(tmp_path, "SELECT count(*) FROM events")
    queued_before = table(tmp_path, "SELECT count(*) FROM outbox")
    second = run(path)

    assert Site.statuses == [200, 304]
    assert (first["scraped"], first["unchanged_pages"]) == (2, 0)
    assert (second["scraped"], second["unchanged_pages"]) == (1, 1)  # one item for the page
    assert second["parse_reused"] == 1
    for key in ("status", "items", "offers", "passed", "rejected"):
        assert second[key] == first[key], key
    assert (first["items"], first["passed"]) == (2, 2)
    assert first["events"] == ["new", "new"] and second["events"] == []
    assert table(tmp_path, "SELECT count(*) FROM events") == events_before
    assert table(tmp_path, "SELECT count(*) FROM outbox") == queued_before
    sightings = table(tmp_path, "SELECT gone_since, missed, last_seen > first_seen FROM sightings")
    assert sightings == [(None, 0, 1), (None, 0, 1)]


def test_an_offer_past_its_book_by_does_not_pass_on_a_repeat_run(
    tmp_path: Path, site_url: str
) -> None:
    path = config(tmp_path, site_url)
    run(path)
    later = run(path, days_later=5)  # the SFO offer had to be booked within two days

    assert Site.statuses == [200, 304] and later["unchanged_pages"] == 1
    assert (later["items"], later["passed"]) == (2, 1)
    assert later["rejected"] == {"book-by date passed": 1}
    assert later["events"] == []
    # not seen passing: the SFO offer counts a miss, on its way to gone; JFK was seen
    missed = table(tmp_path, "SELECT origin, missed FROM sightings"
                             " JOIN offers ON key = offer_key ORDER BY origin")  # fmt: skip
    assert missed == [("JFK", 0), ("SFO", 1)]


def test_a_changed_page_is_read_afresh(tmp_path: Path, site_url: str) -> None:
    path = config(tmp_path, site_url)
    run(path)
    Site.body = page(jfk_miles=40_000)
    changed = run(path)

    assert Site.statuses == [200, 200]
    assert (changed["scraped"], changed["unchanged_pages"], changed["parse_reused"]) == (2, 0, 0)
    assert changed["events"] == ["cheaper"]
    assert table(tmp_path, "SELECT miles FROM offers WHERE origin = 'JFK'") == [(40_000,)]


def test_changed_rules_judge_the_offers_of_an_unchanged_page(tmp_path: Path, site_url: str) -> None:
    run(config(tmp_path, site_url, rules='[[rules]]\nname = "cheap"\nmax_miles = 75000'))
    wider = run(config(tmp_path, site_url, rules='[[rules]]\nname = "any"\nmax_miles = 90000'))

    assert Site.statuses == [200, 304] and wider["unchanged_pages"] == 1
    assert wider["passed"] == 2
    assert wider["events"] == ["new"]  # SFO passes now: alerted once, JFK not again
    narrower = run(config(tmp_path, site_url, rules='[[rules]]\nname = "x"\nmax_miles = 1000'))
    assert narrower["passed"] == 0 and narrower["events"] == []
    assert narrower["rejected"] == {"no rule matched (max miles)": 2}


def test_changed_parser_settings_parse_an_unchanged_page_again(
    tmp_path: Path, site_url: str
) -> None:
    run(config(tmp_path, site_url))
    again = run(config(tmp_path, site_url, item="ul > li.deal"))

    assert Site.statuses == [200, 304]
    assert again["parse_reused"] == 0  # a new selector: not the rows read last time
    assert (again["unchanged_pages"], again["items"], again["passed"]) == (1, 2, 2)
    assert again["events"] == []


def test_the_next_page_of_an_unchanged_page_is_still_followed(
    tmp_path: Path, site_url: str
) -> None:
    Site.body = page().replace(b"</ul>", b'</ul><a class="next" href="/more.html">more</a>')
    Site.more = page(jfk_miles=60_000).replace(b"JFK", b"BOS")
    path = config(tmp_path, site_url, extra='next_page = "a.next::attr(href)"\n')
    first = run(path)
    second = run(path)

    assert Site.statuses == [200, 200, 304, 304]
    assert second["unchanged_pages"] == 2 and second["scraped"] == 2
    assert (second["items"], second["passed"]) == (first["items"], first["passed"]) == (4, 3)
    assert second["events"] == []


def test_repeat_runs_in_one_process_judge_each_offer_as_of_each_run(
    tmp_path: Path, site_url: str
) -> None:
    first, second, later = runs(config(tmp_path, site_url), 0, 0, 5)

    assert Site.statuses == [200, 304, 304]
    assert [r["unchanged_pages"] for r in (first, second, later)] == [0, 1, 1]
    assert [r["scraped"] for r in (first, second, later)] == [2, 1, 1]
    assert [(r["items"], r["passed"]) for r in (first, second, later)] == [(2, 2), (2, 2), (2, 1)]
    assert later["rejected"] == {"book-by date passed": 1}
    assert first["events"] == ["new", "new"] and second["events"] == later["events"] == []
    # each run's offers carry that run's time, not the time they were first read
    assert len({r["seen_at"][0] for r in (first, second, later)}) == 3
