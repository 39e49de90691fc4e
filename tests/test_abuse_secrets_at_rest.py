"""Secrets and personal data at rest: the proxy URL from the environment and never in the HTTP
cache, files the bot creates readable by its own user only, the proxy not sent to Scrapyd
nodes, and the deploy examples safe as shipped."""

from __future__ import annotations

import base64
import configparser
import json
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, Sites, cli, run_once
from scrapy import Request
from scrapy.settings import Settings

from offers.errors import ConfigError
from runner.scaleout import job_source
from scrapers.httpcache import RevalidatingPolicy
from settings.config import SourceConfig, load

PROXY_USER, PROXY_PASSWORD = "crawler", "pr0xy-s3cret-9f2c"
PAGE = b"""<html><body><ul><li class="deal"><h3 class="title">Boston to Dublin</h3>
<span class="program">aerlingus</span><span class="from">BOS</span><span class="to">DUB</span>
<span class="miles">13,000 miles</span></li></ul></body></html>"""


class Proxy(BaseHTTPRequestHandler):
    """An HTTP proxy stand-in: answers every absolute-URI GET itself, recording its headers."""

    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        Proxy.seen.append({"url": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.send_header("Cache-Control", "max-age=3600")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[str]:
    Proxy.seen.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def proxied_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[bot]
database = {json.dumps(str(tmp_path / "data" / "bot.db"))}
[spreadsheet]
path = {json.dumps(str(tmp_path / "data" / "offers.xlsx"))}
[[notifiers]]
name = "console"
type = "console"
[[sources]]
name = "behind-proxy"
kind = "page"
urls = ["http://deals.example/deals.html"]
obey_robots = false
proxy_env = "DEALS_PROXY"
[sources.options]
item = "li.deal"
[sources.options.fields]
title = ".title"
program = ".program"
origin = ".from"
destination = ".to"
miles = ".miles"
""")
    return path


def test_proxied_pages_never_reach_the_cache_with_the_password(tmp_path: Path, proxy: str) -> None:
    summary = run_once(proxied_config(tmp_path), env={"DEALS_PROXY": proxy})
    assert summary["runs"][0]["offers"] == 1, summary["stdout"]
    credentials = base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode()
    assert Proxy.seen[0]["proxy-authorization"] == f"Basic {credentials}"
    assert Proxy.seen[0]["url"] == "http://deals.example/deals.html"
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert PROXY_PASSWORD.encode() not in content, path
            assert credentials.encode() not in content, path


def test_proxy_env_must_be_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEALS_PROXY", raising=False)
    with pytest.raises(ConfigError, match="proxy_env: environment variable DEALS_PROXY"):
        load(proxied_config(tmp_path))


def test_proxy_and_proxy_env_are_exclusive() -> None:
    with pytest.raises(ValueError, match="proxy or proxy_env"):
        SourceConfig(name="s", kind="page", proxy="http://a:b@p:1", proxy_env="P",
                     options={"item": "li", "fields": {"miles": ".m"}})  # fmt: skip


@pytest.mark.parametrize(
    ("headers", "meta"),
    [({"API-Key": "k"}, {}), ({"Partner-Authorization": "k"}, {}),
     ({"Authorization": "Bearer k"}, {}), ({}, {"proxy": "http://u:p@proxy:8000"})],
)  # fmt: skip
def test_keyed_and_proxied_requests_are_not_cached(
    headers: dict[str, str], meta: dict[str, str]
) -> None:
    policy = RevalidatingPolicy(Settings())
    assert not policy.should_cache_request(Request("https://api.example/x", headers=headers,
                                                   meta=meta))  # fmt: skip
    assert policy.should_cache_request(Request("https://api.example/x"))


def test_the_proxy_is_not_sent_to_scrapyd_nodes() -> None:
    options = {"item": "li", "fields": {"miles": ".m"}}
    inline = SourceConfig(name="s", kind="page", proxy="http://u:secret@p:1", options=options)
    assert "secret" not in job_source(inline)
    from_env = SourceConfig(name="s", kind="page", proxy_env="NODE_PROXY", options=options)
    assert json.loads(job_source(from_env))["proxy_env"] == "NODE_PROXY"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_the_bot_creates_are_private(tmp_path: Path, sites: Sites, config_for: Any) -> None:
    config = config_for(only=["skydeals"])
    summary = run_once(config)
    assert summary["runs"][0]["status"] == "ok", summary["stdout"]
    backup = tmp_path / "backups" / "bot.db"
    assert cli("--config", str(config), "backup", str(backup)).returncode == 0
    # SQLite gives the WAL and shared-memory files the database's own mode, while they exist
    for path in [*tmp_path.glob("bot.db*"), tmp_path / "offers.xlsx"]:
        assert _mode(path) == 0o600, path
    assert _mode(backup) == 0o600
    assert _mode(backup.parent) == 0o700
    cache = tmp_path / "httpcache"
    assert _mode(cache) == 0o700
    cached = [p for p in cache.rglob("*")]
    assert cached and all(_mode(p) == (0o700 if p.is_dir() else 0o600) for p in cached)


def test_the_systemd_unit_sets_a_private_umask() -> None:
    unit = (ROOT / "deploy" / "awardwatch.service").read_text()
    assert "\nUMask=0077\n" in unit


def test_the_scrapyd_example_listens_locally_without_a_password_in_the_file() -> None:
    conf = configparser.ConfigParser()
    conf.read(ROOT / "deploy" / "scrapyd.conf")
    assert conf["scrapyd"]["bind_address"] == "127.0.0.1"
    assert not conf["scrapyd"].get("password")
    assert "SCRAPYD_PASSWORD" in (ROOT / "deploy" / "scrapyd.conf").read_text()
