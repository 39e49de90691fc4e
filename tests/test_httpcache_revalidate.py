"""Every run asks the server: a page with a day-old Last-Modified and no Cache-Control is not
served from the cache, so a price cut shows on the very next run, and an unchanged page costs
a 304. The real pipeline, run as ``scheduler.py once`` against a local site."""

from __future__ import annotations

from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from time import time
from typing import Any, ClassVar

import pytest
from conftest import bot_config, deals_page, run_once, served

PAGE = """<html><body><ul>
<li class="deal"><b class="from">JFK</b> <b class="to">LHR</b> <span class="cabin">Business</span>
<span class="miles">{miles} miles</span> <span class="date">2031-03-05</span></li>
</ul></body></html>"""


class Site(BaseHTTPRequestHandler):
    """One page whose body and Last-Modified the test changes; answers If-Modified-Since and
    If-None-Match like a web server, and records each answer's status."""

    body: ClassVar[bytes] = b""
    modified: ClassVar[str] = ""
    statuses: ClassVar[list[int]] = []
    headers_seen: ClassVar[list[dict[str, str | None]]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path != "/deals.html":
            self.send_error(404)
            return
        etag = f'"{hash(self.body) & 0xFFFFFFFF:x}"'
        asked = {"since": self.headers.get("If-Modified-Since"),
                 "match": self.headers.get("If-None-Match")}  # fmt: skip
        self.headers_seen.append(asked)
        unchanged = asked["match"] == etag or (
            asked["match"] is None and asked["since"] == self.modified
        )
        status = 304 if unchanged else 200
        self.statuses.append(status)
        self.send_response(status)
        self.send_header("Last-Modified", self.modified)
        self.send_header("ETag", etag)
        if status == 200:
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if status == 200:
            self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def publish(miles: str, age_seconds: float) -> None:
    Site.body = PAGE.format(miles=miles).encode()
    Site.modified = formatdate(time() - age_seconds, usegmt=True)


@pytest.fixture
def site_url() -> Iterator[str]:
    Site.statuses, Site.headers_seen = [], []
    with served(Site) as url:
        yield f"{url}/deals.html"


def config(tmp_path: Path, url: str) -> Path:
    return bot_config(tmp_path, deals_page(url))


def test_price_cut_on_a_day_old_page_is_seen_on_the_next_run(tmp_path: Path, site_url: str) -> None:
    path = config(tmp_path, site_url)
    publish("50,000", age_seconds=86_400)
    first = run_once(path)
    publish("30,000", age_seconds=86_400)  # changed, yet still "last modified a day ago"
    second = run_once(path)
    third = run_once(path)  # nothing changed since

    assert [r["events"] for r in (first["runs"][0], second["runs"][0])] == [
        {"new": 1},
        {"cheaper": 1},
    ]
    assert "30,000" in second["stdout"] or "30000" in second["stdout"]
    assert Site.statuses == [200, 200, 304]
    assert Site.headers_seen[0] == {"since": None, "match": None}
    assert Site.headers_seen[2]["match"] is not None  # asked conditionally
    assert third["runs"][0]["status"] == "ok" and third["runs"][0]["events"] == {}


def test_ten_day_old_page_is_asked_again_on_every_run(tmp_path: Path, site_url: str) -> None:
    path = config(tmp_path, site_url)
    publish("50,000", age_seconds=10 * 86_400)
    run_once(path)
    run_once(path)
    assert len(Site.statuses) == 2  # not answered from the cache for a day


@pytest.mark.parametrize(("status", "lowered"), [(304, True), (200, True), (404, False)])
def test_a_304_lowers_the_crawl_delay_as_a_200_does(status: int, lowered: bool) -> None:
    from scrapy.core.downloader import Slot
    from scrapy.http import Response
    from scrapy.utils.test import get_crawler

    from scrapers.httpcache import RevalidatingAutoThrottle

    throttle = RevalidatingAutoThrottle(get_crawler(settings_dict={"AUTOTHROTTLE_ENABLED": True}))
    throttle.mindelay, throttle.maxdelay = 0.0, 30.0  # what opening a spider sets
    slot = Slot(concurrency=1, delay=1.0, jitter=0)
    throttle._adjust_delay(slot, 0.01, Response("http://127.0.0.1/", status=status))
    assert (slot.delay < 1.0) is lowered
