"""A feed that has not changed is revalidated (If-None-Match), answered 304, and alerts nothing
new: the real pipeline, run twice as ``scheduler.py once`` against a local feed server."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
ETAG = '"promo-rewards-v1"'
FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Points Ledger</title>
<item>
  <title>Flying Blue Promo Rewards: Paris to New York from 15,000 miles</title>
  <link>https://pointsledger.example/promo-rewards</link>
  <pubDate>Mon, 04 Mar 2030 14:00:00 +0000</pubDate>
  <description>Paris to New York from 15,000 miles one-way in economy. Book by March 29, 2030
  for travel April 1 - June 30, 2030.</description>
</item>
</channel></rss>
"""


class FeedServer(BaseHTTPRequestHandler):
    """Serves one feed with an ETag; records each feed request's conditional headers."""

    requests: list[dict[str, Any]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path != "/feed.xml":
            self.send_error(404)
            return
        conditional = self.headers.get("If-None-Match")
        status = 304 if conditional == ETAG else 200
        self.requests.append({"if_none_match": conditional, "status": status})
        self.send_response(status)
        self.send_header("ETag", ETAG)
        self.send_header("Cache-Control", "no-cache")
        if status == 200:
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        if status == 200:
            self.wfile.write(FEED)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def feed_url() -> Iterator[str]:
    FeedServer.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FeedServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    server.shutdown()
    server.server_close()


def write_config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "config.toml"
    database, spreadsheet = tmp_path / "awardwatch.db", tmp_path / "offers.xlsx"
    config.write_text(
        f"""
[bot]
database = "{database}"
contact = "tests@example.org"

[spreadsheet]
path = "{spreadsheet}"

[[notifiers]]
name = "console"
type = "console"

[[sources]]
name = "points-ledger"
kind = "feed"
urls = ["{url}"]
obey_robots = false
allow_private = true
""",
        encoding="utf-8",
    )
    return config


def run_once(config: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "scheduler.py", "--config", str(config), "once", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = [line for line in done.stdout.splitlines() if line.startswith('{"runs"')]
    assert summary, done.stdout + done.stderr
    return json.loads(summary[-1])  # type: ignore[no-any-return]


def test_unchanged_feed_is_revalidated_and_alerts_nothing_new(
    tmp_path: Path, feed_url: str
) -> None:
    first = run_once(write_config(tmp_path, feed_url))
    second = run_once(tmp_path / "config.toml")

    assert first["runs"][0]["events"] == {"new": 1}
    assert [r["status"] for r in FeedServer.requests] == [200, 304]
    assert FeedServer.requests[0]["if_none_match"] is None
    assert FeedServer.requests[1]["if_none_match"] == ETAG
    assert second["runs"][0]["status"] == "ok"
    assert second["runs"][0]["events"] == {}
