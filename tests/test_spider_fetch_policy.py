"""The fetch policy in whole runs against a hostile site on 127.0.0.1: links and redirects to
other schemes and private hosts refused and named in the run record, a source not allowed on
private addresses refused outright, a gzip bomb stopped at max_bytes, and a page that never
answers failing its source after one download_timeout."""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import run_once

from runner.crawl import source_settings
from scrapers.middlewares import (
    ALLOWED_PRIVATE_HOSTS,
    NOT_HTTP,
    PRIVATE,
    non_public,
    static_refusal,
)
from settings.config import SourceConfig

PAGE = """<html><body><ul>
<li class="deal"><h3 class="title">Boston to Dublin</h3><span class="program">aerlingus</span>
<span class="from">BOS</span><span class="to">DUB</span><span class="miles">13,000 miles</span></li>
</ul><a class="next" href="{next}">next</a></body></html>"""
#: 64 MB of zeros, about 64 KB gzipped
BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)


class HostileSite(BaseHTTPRequestHandler):
    hits: Counter[str] = Counter()

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        HostileSite.hits[self.path] += 1
        port = self.server.server_address[1]
        if self.path == "/deals.html":
            self._send(PAGE.format(next="file:///etc/passwd").encode(), "text/html")
        elif self.path == "/rendered.html":
            page = PAGE.format(next="") + (
                f'<img src="http://localhost:{port}/tracker.png">'
                f'<img src="http://127.0.0.1:{port}/own.png">'
            )
            self._send(page.encode(), "text/html")
        elif self.path.endswith(".png"):
            self._send(b"\x89PNG", "image/png")
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{port}/deals.html")
            self.end_headers()
        elif self.path == "/big.json":
            self._send(b" " * (3 * 1024 * 1024), "application/json")
        elif self.path == "/bomb.json":
            self._send(BOMB, "application/json", [("Content-Encoding", "gzip")])
        elif self.path == "/silent":
            time.sleep(15)  # longer than the source's download_timeout
            with contextlib.suppress(ConnectionError):
                self._send(b"{}", "application/json")
        else:
            self.send_error(404)

    def _send(self, body: bytes, kind: str, headers: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    HostileSite.hits.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), HostileSite)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


PAGE_SOURCE = """
[[sources]]
name = "{name}"
kind = "page"
urls = ["{url}"]
obey_robots = false
{extra}
[sources.options]
item = "li.deal"
next_page = "a.next::attr(href)"
[sources.options.fields]
title = ".title"
program = ".program"
origin = ".from"
destination = ".to"
miles = ".miles"
"""
API_SOURCE = """
[[sources]]
name = "{name}"
kind = "api"
urls = ["{url}"]
obey_robots = false
allow_private = true
{extra}
[sources.options]
items = "deals"
[sources.options.fields]
miles = "miles"
"""


def write_config(tmp_path: Path, base: str) -> Path:
    sources = [
        PAGE_SOURCE.format(name="links", url=f"{base}/deals.html", extra="allow_private = true"),
        PAGE_SOURCE.format(name="redirect", url=f"{base}/moved", extra="allow_private = true"),
        PAGE_SOURCE.format(name="strict", url=f"{base}/deals.html", extra=""),
        API_SOURCE.format(name="bomb", url=f"{base}/bomb.json", extra="max_bytes = 1048576"),
        API_SOURCE.format(name="big", url=f"{base}/big.json", extra="max_bytes = 1048576"),
        PAGE_SOURCE.format(
            name="rendered",
            url=f"{base}/rendered.html",
            extra='allow_private = true\nrender = "browser"',
        ),  # fmt: skip
        API_SOURCE.format(name="silent", url=f"{base}/silent", extra="download_timeout = 1"),
    ]
    path = tmp_path / "config.toml"
    path.write_text(
        f"[bot]\ndatabase = {json.dumps(str(tmp_path / 'bot.db'))}\n"
        f"[spreadsheet]\npath = {json.dumps(str(tmp_path / 'offers.xlsx'))}\n"
        '[[notifiers]]\nname = "console"\ntype = "console"\n' + "".join(sources)
    )
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, hostile: str) -> dict[str, dict[str, Any]]:
    summary = run_once(write_config(tmp_path_factory.mktemp("policy"), hostile))
    return {run["source"]: run for run in summary["runs"]}


def test_a_link_to_a_file_is_refused_and_named(runs: dict[str, dict[str, Any]]) -> None:
    links = runs["links"]
    assert links["status"] == "ok" and links["offers"] == 1
    assert links["rejected"][f"refused: {NOT_HTTP}"] == 1
    assert "/etc/passwd" in links["message"]


def test_a_rendered_page_loads_nothing_the_policy_refuses(
    runs: dict[str, dict[str, Any]],
) -> None:
    assert runs["rendered"]["status"] == "ok"
    assert HostileSite.hits["/own.png"] == 1  # the source's own host serves its page
    assert HostileSite.hits["/tracker.png"] == 0  # another private host: aborted in Chromium


def test_a_redirect_to_another_private_host_is_refused(runs: dict[str, dict[str, Any]]) -> None:
    redirect = runs["redirect"]
    assert redirect["status"] == "error"
    assert redirect["rejected"] == {f"refused: {PRIVATE}": 1}
    assert "localhost" in redirect["message"]
    assert HostileSite.hits["/deals.html"] == 1  # only the "links" source read the page


def test_private_addresses_need_allow_private(runs: dict[str, dict[str, Any]]) -> None:
    strict = runs["strict"]
    assert strict["status"] == "error"
    assert strict["rejected"] == {f"refused: {PRIVATE}": 1}
    assert "refused (private address)" in strict["message"]


def test_a_gzip_bomb_stops_at_max_bytes(runs: dict[str, dict[str, Any]]) -> None:
    bomb = runs["bomb"]
    assert bomb["status"] == "error"
    assert bomb["rejected"] == {"refused: over max_bytes": 1}
    assert "larger than max_bytes (1048576 bytes)" in bomb["message"]


def test_a_large_page_stops_at_max_bytes(runs: dict[str, dict[str, Any]]) -> None:
    big = runs["big"]
    assert big["status"] == "error"
    assert big["rejected"] == {"refused: over max_bytes": 1}
    assert "larger than max_bytes (1048576 bytes)" in big["message"]
    assert HostileSite.hits["/big.json"] == 1  # not retried


def test_a_page_that_never_answers_fails_once(runs: dict[str, dict[str, Any]]) -> None:
    silent = runs["silent"]
    assert silent["status"] == "error"
    assert "no answer within download_timeout (1 s)" in silent["message"]
    assert HostileSite.hits["/silent"] == 1  # a timeout is not retried


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", NOT_HTTP),
        ("ftp://example.com/x", NOT_HTTP),
        ("data:text/html,<p>x</p>", NOT_HTTP),
        ("http://127.0.0.1:8000/", PRIVATE),
        ("http://10.1.2.3/", PRIVATE),
        ("http://192.168.0.1/", PRIVATE),
        ("http://169.254.169.254/latest/meta-data/", PRIVATE),
        ("http://[::1]/", PRIVATE),
        ("http://[::ffff:127.0.0.1]/", PRIVATE),
        ("http://[fe80::1]/", PRIVATE),
        ("http://localhost/", PRIVATE),
        ("http://0.0.0.0/", PRIVATE),
        ("https://example.com/deals", None),
        ("http://93.184.216.34/", None),
    ],
)
def test_static_refusals(url: str, reason: str | None) -> None:
    assert static_refusal(url, frozenset()) == reason


def test_allow_private_admits_only_the_source_hosts() -> None:
    allowed = frozenset({"127.0.0.1"})
    assert static_refusal("http://127.0.0.1:8765/x", allowed) is None
    assert static_refusal("http://127.0.0.2:8765/x", allowed) == PRIVATE
    assert static_refusal("file:///etc/passwd", allowed) == NOT_HTTP


def test_names_resolving_to_private_addresses() -> None:
    assert non_public("127.0.0.53") and non_public("100.64.0.1") and not non_public("8.8.8.8")


def test_source_limits_become_crawl_settings() -> None:
    source = SourceConfig(name="s", kind="api", urls=["http://127.0.0.1:8765/a.json"],
                          allow_private=True, max_bytes=2048, download_timeout=5,
                          options={"items": "deals", "fields": {"miles": "miles"}})  # fmt: skip
    settings = source_settings(source)
    assert settings["DOWNLOAD_MAXSIZE"] == 2048 and settings["DOWNLOAD_TIMEOUT"] == 5
    assert settings[ALLOWED_PRIVATE_HOSTS] == ["127.0.0.1"]
    strict = source.model_copy(update={"allow_private": False})
    assert source_settings(strict)[ALLOWED_PRIVATE_HOSTS] == []


def test_airline_sources_allow_their_base_url_host() -> None:
    source = SourceConfig(name="fb", kind="flyingblue", allow_private=True,
                          options={"api_key_env": "K", "base_url": "http://10.0.0.5:9/"})  # fmt: skip
    assert source.own_hosts == frozenset({"10.0.0.5"})


@pytest.mark.parametrize(
    ("key", "value"), [("max_bytes", 10), ("download_timeout", 0), ("download_timeout", 3600)]
)
def test_limits_out_of_range_are_config_errors(key: str, value: float) -> None:
    with pytest.raises(ValueError, match=key):
        SourceConfig(name="s", kind="feed", urls=["https://blog.example/feed"], **{key: value})
