"""The Scrapy project on its own: `scrapy list`, `scrapy crawl NAME` and `scrapy parse` run from
a folder holding config.toml, on the configured sources, with the bot's crawl settings (the
add-on), and exit non-zero with a one-line reason when a source finds nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ROOT, demo_config
from serve import QuietHandler

from offers.model import Offer


def titled_page(name: str, url: str) -> str:
    """The [[sources]] TOML of a page source ``name`` reading titles and miles at ``url``."""
    return f"""
[[sources]]
name = "{name}"
kind = "page"
urls = ["{url}"]
allow_private = true
[sources.options]
item = "li.deal"
[sources.options.fields]
title = ".title"
miles = ".miles"
"""


def extra_sources(base: str) -> str:
    """A page without offers on it, and a page behind a wall (HTTP 403)."""
    return titled_page("quiet-page", f"{base}/book/jfk-lhr.html") + titled_page(
        "walled", f"{base}/walled/deals.html"
    )


NOTHING = "the item selector 'li.deal' matches nothing on the page"


@dataclass
class Site:
    """The sample sites on 127.0.0.1, recording each request's path and headers."""

    url: str
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def headers_of(self, path: str) -> list[dict[str, str]]:
        return [headers for seen, headers in self.seen if seen == path]


class RecordingHandler(QuietHandler):
    site: Site

    def do_GET(self) -> None:
        self.site.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.path.startswith("/walled/"):
            self.send_error(403, "Forbidden")
            return
        super().do_GET()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    recorded = Site("")
    handler = type("Handler", (RecordingHandler,), {"site": recorded})
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(handler, directory=str(ROOT / "fixtures" / "sites"))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    recorded.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield recorded
    server.shutdown()
    server.server_close()


@pytest.fixture
def project(tmp_path: Path, site: Site) -> Path:
    """A folder with scrapy.cfg and config.toml, as a user would run `scrapy` from."""
    folder = tmp_path / "project"
    folder.mkdir()
    demo_config(folder, site.url, only=["skydeals"], extra=extra_sources(site.url))
    (folder / "scrapy.cfg").write_text("[settings]\ndefault = scrapers.settings\n")
    return folder


def scrapy(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("AWARDWATCH_CONFIG", "SCRAPY_SETTINGS_MODULE")
    }
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=cwd,
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_scrapy_list_names_the_configured_sources(project: Path) -> None:
    listed = scrapy(project, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["quiet-page", "skydeals", "walled"]


def test_the_config_is_named_by_a_setting_or_the_environment(tmp_path: Path, project: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "scrapy.cfg").write_text("[settings]\ndefault = scrapers.settings\n")
    config = str(project / "config.toml")
    by_env = scrapy(elsewhere, "list", env={"AWARDWATCH_CONFIG": config})
    by_setting = scrapy(elsewhere, "list", "-s", f"AWARDWATCH_CONFIG={config}")
    assert (
        by_env.stdout.split() == by_setting.stdout.split() == ["quiet-page", "skydeals", "walled"]
    )
    # no config file at all (a Scrapyd node): the source kinds, run with -a source=<json>
    kinds = scrapy(elsewhere, "list")
    assert {"page", "feed", "api"} <= set(kinds.stdout.split()), kinds.stderr


def test_a_config_that_does_not_load_is_one_line_not_a_traceback(project: Path) -> None:
    (project / "config.toml").write_text("[bot\n")
    listed = scrapy(project, "list")
    assert listed.returncode == 2
    assert "not valid TOML" in listed.stderr and "Traceback" not in listed.stderr


def test_scrapy_crawl_runs_a_source_with_the_bots_settings(project: Path, site: Site) -> None:
    crawled = scrapy(project, "crawl", "skydeals", "-o", "offers.jl")
    assert crawled.returncode == 0, crawled.stderr
    assert "skydeals: ok:" in crawled.stderr
    offers = [
        Offer.model_validate(json.loads(line))
        for line in (project / "offers.jl").read_text().splitlines()
    ]
    assert ("JFK", "LHR", 45000) in {(o.origin, o.destination, o.miles) for o in offers}
    assert all(o.seen_at.tzinfo is not None for o in offers)  # exported as Offer.record()
    # the add-on's settings: the bot's User-Agent with the contact, robots.txt obeyed
    first = site.headers_of("/promotions.html")[0]
    assert "demo@example.org" in first["user-agent"]
    assert site.headers_of("/robots.txt")
    # the crawl's stats beside its items, with the rejected rows
    stats = json.loads((project / "offers.stats.json").read_text())
    assert stats["item_scraped_count"] == len(offers)
    assert stats["awardwatch/rejected/sold out"] >= 1
    # the bot's cache policy: the next run revalidates what it stored, beside the database
    assert (project / "httpcache").is_dir()
    again = scrapy(project, "crawl", "skydeals")
    assert again.returncode == 0, again.stderr
    assert "if-modified-since" in site.headers_of("/promotions.html")[-1]


@pytest.mark.parametrize(
    ("name", "code", "reason"),
    [
        ("quiet-page", 1, f"quiet-page: empty: {{url}}/book/jfk-lhr.html: {NOTHING}"),
        ("walled", 1, "walled: blocked: HTTP 403 at"),
        ("nowhere", 2, "no source named 'nowhere' in config.toml (configured: skydeals,"),
        ("feed", 2, "'feed' is a source kind, not a configured source"),
    ],
)
def test_scrapy_crawl_fails_when_a_source_finds_no_offers(
    project: Path, site: Site, name: str, code: int, reason: str
) -> None:
    crawled = scrapy(project, "crawl", name)
    assert crawled.returncode == code, crawled.stderr
    assert reason.format(url=site.url) in crawled.stderr
    assert "Traceback" not in crawled.stderr


def test_scrapy_parse_runs_a_sources_parsing_on_a_url(project: Path, site: Site) -> None:
    parsed = scrapy(project, "parse", "--spider", "skydeals", f"{site.url}/promotions.html")
    assert parsed.returncode == 0, parsed.stderr
    assert "'destination': 'LHR'" in parsed.stdout and "'miles': 45000" in parsed.stdout
    assert "sold out" not in parsed.stdout.lower()  # rejected rows are not offers
    assert "skydeals: ok:" in parsed.stderr
    assert "demo@example.org" in site.headers_of("/promotions.html")[0]["user-agent"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/book/jfk-lhr.html", f"skydeals: empty: {{url}}/book/jfk-lhr.html: {NOTHING}"),
        ("/walled/deals.html", "skydeals: blocked: HTTP 403 at"),
        ("/missing.html", "skydeals: error: "),
    ],
)
def test_scrapy_parse_fails_with_one_line_when_a_url_has_no_offers(
    project: Path, site: Site, path: str, reason: str
) -> None:
    parsed = scrapy(project, "parse", "--spider", "skydeals", f"{site.url}{path}")
    assert parsed.returncode == 1, parsed.stderr
    assert reason.format(url=site.url) in parsed.stderr
    assert "Traceback" not in parsed.stderr
