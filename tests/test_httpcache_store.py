"""The HTTP cache as one SQLite store: entries come back as they were stored, expire, keep no
credential, a 304 does not write the body again, and a body seen before is not parsed again
(its rows come back from the store). Storage and spider are driven directly; the last test
runs the bot (``scheduler.py once``) against a local site."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import bot_config, deals_page, run_once, served
from itemadapter import ItemAdapter
from scrapy import Spider
from scrapy.http import HtmlResponse, Request
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from scrapers.cachestore import STORE, SqliteCacheStorage
from scrapers.spiders.page import PageSpider
from settings.config import SourceConfig

PAGE = b"""<html><body><ul>
<li class="deal"><b class="from">JFK</b> <b class="to">LHR</b> <span class="cabin">Business</span>
<span class="miles">50,000 miles</span> <span class="date">2031-03-05</span></li>
<li class="deal"><b class="from">JFK</b> <b class="to">CDG</b> <span class="cabin">Business</span>
<span class="miles">lots</span> <span class="date">2031-03-06</span></li>
</ul></body></html>"""
OPTIONS = {"item": "li.deal", "fields": {"origin": ".from", "destination": ".to",
           "cabin": ".cabin", "miles": ".miles", "depart_date": ".date"}}  # fmt: skip


def settings(folder: Path, expiry: int = 3600) -> dict[str, Any]:
    return {"HTTPCACHE_ENABLED": True, "HTTPCACHE_DIR": str(folder),
            "HTTPCACHE_STORAGE": "scrapers.cachestore.SqliteCacheStorage",
            "HTTPCACHE_EXPIRATION_SECS": expiry}  # fmt: skip


def storage_for(folder: Path, expiry: int = 3600) -> tuple[SqliteCacheStorage, Spider]:
    crawler = get_crawler(Spider, settings(folder, expiry))
    spider = Spider.from_crawler(crawler, name="page")
    storage = SqliteCacheStorage(Settings(settings(folder, expiry)))
    storage.open_spider(spider)
    return storage, spider


def test_a_stored_page_comes_back_without_its_cookies(tmp_path: Path) -> None:
    storage, spider = storage_for(tmp_path)
    request = Request("https://deals.example/a", headers={"Authorization": "Bearer s3cret"})
    headers = {"ETag": '"v1"', "Content-Type": "text/html", "Set-Cookie": "session=s3cret"}
    storage.store_response(spider, request, HtmlResponse(request.url, body=PAGE, headers=headers))
    found = storage.retrieve_response(spider, Request("https://deals.example/a"))
    storage.close_spider(spider)

    assert found is not None and found.body == PAGE and found.status == 200
    assert found.headers[b"ETag"] == b'"v1"' and b"Set-Cookie" not in found.headers
    assert isinstance(found, HtmlResponse)
    assert [p.name for p in tmp_path.iterdir()] == [STORE]  # one file at rest
    assert b"s3cret" not in (tmp_path / STORE).read_bytes()


def test_a_304_freshens_headers_without_writing_the_body(tmp_path: Path) -> None:
    storage, spider = storage_for(tmp_path)
    request = Request("https://deals.example/a")
    storage.store_response(spider, request, HtmlResponse(request.url, body=PAGE,
                                                         headers={"ETag": '"v1"'}))  # fmt: skip
    # what Scrapy hands the storage after a 304: the cached response, flagged, new headers
    freshened = HtmlResponse(request.url, body=b"<html>not written</html>",
                             headers={"ETag": '"v1"', "Age": "5"}, flags=["cached"])  # fmt: skip
    storage.store_response(spider, request, freshened)
    found = storage.retrieve_response(spider, request)
    storage.close_spider(spider)

    assert found is not None and found.body == PAGE and found.headers[b"Age"] == b"5"


def test_entries_expire_and_are_forgotten(tmp_path: Path) -> None:
    storage, spider = storage_for(tmp_path, expiry=1)
    request = Request("https://deals.example/a")
    storage.store_response(spider, request, HtmlResponse(request.url, body=PAGE))
    storage.close_spider(spider)
    time.sleep(2.5)
    storage, spider = storage_for(tmp_path, expiry=1)
    assert storage.retrieve_response(spider, request) is None
    assert storage.db is not None
    assert storage.db.execute("SELECT count(*) FROM responses").fetchone() == (0,)
    storage.close_spider(spider)


def spider_for(folder: Path, options: dict[str, Any] = OPTIONS) -> PageSpider:
    source = SourceConfig(name="deals", kind="page", program="delta",
                          urls=["https://deals.example/a"], options=options)  # fmt: skip
    crawler = get_crawler(PageSpider, settings(folder))
    spider = PageSpider.from_crawler(crawler, source=source)
    return spider


def parsed(spider: PageSpider, body: bytes = PAGE) -> list[dict[str, Any]]:
    request = Request("https://deals.example/a")
    response = HtmlResponse(request.url, body=body, request=request)
    items = [{k: v for k, v in ItemAdapter(item).items() if k != "seen_at"}
             for item in spider.parse(response)]  # fmt: skip
    return items


def test_a_body_seen_before_gives_the_same_rows_without_a_parse(tmp_path: Path) -> None:
    spider = spider_for(tmp_path)
    stats = spider.crawler.stats
    assert stats is not None
    first, second = parsed(spider), parsed(spider)

    # the CDG row's "lots" of miles is rejected by both: reused rows are validated as new ones
    assert first == second and [item["destination"] for item in first] == ["LHR"]
    assert stats.get_value("awardwatch/parse_reused") == 1
    changed = parsed(spider, PAGE.replace(b"LHR", b"MAD"))
    assert [item["destination"] for item in changed] == ["MAD"]
    assert stats.get_value("awardwatch/parse_reused") == 1
    spider.closed("finished")


def test_other_selectors_parse_the_same_body_afresh(tmp_path: Path) -> None:
    parsed(spider_for(tmp_path))
    fields = {**OPTIONS["fields"], "origin": ".to", "destination": ".from"}
    spider = spider_for(tmp_path, {**OPTIONS, "fields": fields})
    assert [item["destination"] for item in parsed(spider)] == ["JFK"]
    assert spider.crawler.stats is not None
    assert spider.crawler.stats.get_value("awardwatch/parse_reused") is None


class Site(BaseHTTPRequestHandler):
    """One unchanged page with a Last-Modified; 304 to a matching If-Modified-Since."""

    modified: ClassVar[str] = formatdate(time.time() - 86_400, usegmt=True)
    statuses: ClassVar[list[int]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        unchanged = self.headers.get("If-Modified-Since") == self.modified
        self.statuses.append(304 if unchanged else 200)
        self.send_response(self.statuses[-1])
        self.send_header("Last-Modified", self.modified)
        if not unchanged:
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        if not unchanged:
            self.wfile.write(PAGE)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def site_url() -> Iterator[str]:
    Site.statuses = []
    with served(Site) as url:
        yield f"{url}/deals.html"


def test_an_unchanged_page_keeps_its_offers_run_after_run(tmp_path: Path, site_url: str) -> None:
    config = bot_config(tmp_path, deals_page(site_url))
    runs = [run_once(config)["runs"][0] for _ in range(3)]

    assert Site.statuses == [200, 304, 304]
    assert [(run["status"], run["offers"]) for run in runs] == [("ok", 1)] * 3
    assert [run["rejected"] for run in runs] == [runs[0]["rejected"]] * 3
    assert runs[0]["events"] == {"new": 1} and runs[2]["events"] == {}
    assert [p.name for p in (tmp_path / "httpcache").iterdir()] == [STORE]
