"""Bytes fetched on a second pass over unchanged sources as a share of the first, for the
``page``, ``api`` and ``feed`` sources (the demo's, plus generated promotions pages) served
with ETag and Last-Modified, crawled twice through ``runner.crawl.Crawls`` with the
project's own HTTP cache. Bytes are counted at the server, headers included.

    .venv/bin/python bench/recrawl.py [--pages 50] [--page-kb 40]

Generated pages carry 40 KB of site navigation by default, a modest size for a real deals
page; ``--page-kb 0`` measures bare 1 KB pages, where a 304's headers weigh more.

The first pass is the baseline. Target: the second pass under 10% of the first.
"""

from __future__ import annotations

import argparse
import email.utils
import functools
import hashlib
import shutil
import tempfile
import threading
import tomllib
from collections import Counter
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _common import ROOT, Figure, quiet_logs, report, run_on_reactor, write_pages

from runner.crawl import Crawls  # noqa: E402
from settings.config import Config, SourceConfig  # noqa: E402

DEMO_SOURCES = {"skydeals": "page", "aa-deals-api": "api", "points-daily": "feed"}


class Counting:
    """A write-only stream that counts what passes through it."""

    def __init__(self, stream: Any, tally: Counter[str], key: str) -> None:
        self.stream, self.tally, self.key = stream, tally, key

    def write(self, data: bytes) -> int:
        self.tally[self.key] += len(data)
        return int(self.stream.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class ValidatingHandler(SimpleHTTPRequestHandler):
    """Static files with ETag and Last-Modified, 304 to a matching If-None-Match or
    If-Modified-Since, ``no-cache`` as deal pages and feeds often are; bytes counted by kind."""

    tally: Counter[str]
    lock = threading.Lock()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.wfile = Counting(self.wfile, self.tally, kind_of(self.path))
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        modified = email.utils.formatdate(int(path.stat().st_mtime), usegmt=True)
        asked = self.headers.get("If-None-Match")
        since = self.headers.get("If-Modified-Since")
        unchanged = asked == etag or (asked is None and since == modified)
        self.send_response(304 if unchanged else 200)
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", modified)
        self.send_header("Cache-Control", "no-cache")
        if unchanged:
            self.end_headers()
            return
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def kind_of(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if path.endswith(".xml"):
        return "feed"
    return "page"


def start_server(root: Path, tally: Counter[str]) -> ThreadingHTTPServer:
    handler = type("Handler", (ValidatingHandler,), {"tally": tally})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def sources(base: str, pages: list[str]) -> list[SourceConfig]:
    """The demo's static sources, pointed at this server; the page source lists the pages."""
    demo = tomllib.loads((ROOT / "fixtures" / "demo.toml").read_text(encoding="utf-8"))
    found = []
    for entry in demo["sources"]:
        if entry["name"] not in DEMO_SOURCES:
            continue
        entry = {**entry, "obey_robots": False, "concurrency": 4}
        entry["urls"] = [base + url.split("/", 3)[3] for url in entry["urls"]]
        if entry["kind"] == "page":
            entry["urls"] += [base + "bench/" + name for name in pages]
        found.append(SourceConfig.model_validate(entry))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=50, help="generated pages beside the demo's")
    parser.add_argument(
        "--page-kb", type=int, default=40, help="site navigation around each page's offers, KB"
    )
    args = parser.parse_args()
    quiet_logs()
    tally: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="bench-recrawl-") as folder:
        root = Path(folder) / "site"
        shutil.copytree(ROOT / "fixtures" / "sites", root)
        pages = write_pages(root / "bench", args.pages, chrome_kb=args.page_kb)
        server = start_server(root, tally)
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        crawls = Crawls(Config(bot={"database": Path(folder) / "bench.db"}))
        crawls.settings.set("AUTOTHROTTLE_ENABLED", False, priority="cmdline")
        configured = sources(base, pages)

        async def two_passes() -> list[tuple[Counter[str], list[int]]]:
            passes = []
            for _ in range(2):
                tally.clear()
                offers = [len((await crawls.run(source)).offers) for source in configured]
                passes.append((Counter(tally), offers))
            return passes

        (first, first_offers), (second, second_offers) = run_on_reactor(two_passes)
        server.shutdown()
    for source in configured:
        kind = source.kind
        share = second[kind] / first[kind] if first[kind] else 0.0
        print(f"   {source.name} ({kind}): first {first[kind]:,} B, second {second[kind]:,} B"
              f" ({share:.1%})")  # fmt: skip
    print(f"   offers found: first pass {first_offers}, second pass {second_offers}")
    total_first, total_second = sum(first.values()), sum(second.values())
    ratio = total_second / total_first
    report(
        "re-crawl of unchanged page, api and feed sources",
        Figure("second pass", total_second, "bytes"),
        Figure("first pass (baseline)", total_first, "bytes"),
        target="second pass under 10% of the first",
        ratio=ratio,
        met=ratio < 0.10,
    )


if __name__ == "__main__":
    main()
