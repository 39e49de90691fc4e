"""A repeat run over unchanged sources against the first run: bytes on the wire and CPU,
for the ``page``, ``api`` and ``feed`` sources (the demo's, plus generated promotions pages)
served with ETag and Last-Modified, crawled twice through ``runner.crawl.Crawls`` with the
shipped settings (HTTP cache, AutoThrottle); and what the HTTP cache keeps on disk.

    .venv/bin/python bench/recrawl.py [--pages 100] [--page-kb 0] [--rounds 5]

Pages carry no padding by default (about 1 KB each, as the demo's are), so a 304's headers
weigh what they weigh on such pages. Bytes are counted at the server, headers included; CPU is
the crawling thread's (the server runs in threads of its own). Each round starts from an empty
cache; the figures are medians over the rounds of the second pass's share of the first.

Targets: second pass under 10% of the first's bytes and at most 25% of its CPU; the cache one
store with expiry, at most 2x the bytes of the pages it holds.
"""

from __future__ import annotations

import argparse
import email.utils
import functools
import hashlib
import shutil
import statistics
import tempfile
import threading
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _common import ROOT, Row, emit, quiet_logs, run_on_reactor, write_pages

from runner.crawl import Crawls  # noqa: E402
from scrapers.addon import CRAWL_SETTINGS  # noqa: E402
from settings.config import Config, SourceConfig  # noqa: E402

#: The tally's key for the bytes of bodies alone (the others count everything sent).
BODIES = "bodies"
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
        self.tally[BODIES] += len(body)


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


def cache_footprint(folder: Path) -> tuple[int, int]:
    """Files and bytes under the HTTP cache's folder (one file when it is a database)."""
    files = [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []
    return len(files), sum(path.stat().st_size for path in files)


@dataclass
class Round:
    bytes_share: float
    cpu_share: float
    cache_files: int
    cache_bytes: int
    expires: bool
    bodies: int


async def one_round(base: str, folder: Path, pages: list[str], tally: Counter[str]) -> Round:
    data = Path(tempfile.mkdtemp(dir=folder))
    crawls = Crawls(Config(bot={"database": data / "awardwatch.db"}))
    configured = sources(base, pages)
    passes = []
    for _ in range(2):
        tally.clear()
        began = time.thread_time()
        offers = sum([len((await crawls.run(source)).offers) for source in configured])
        cpu = time.thread_time() - began
        passes.append((sum(tally.values()) - tally[BODIES], cpu, offers, tally[BODIES]))
    (bytes1, cpu1, offers1, bodies), (bytes2, cpu2, offers2, _) = passes
    files, size = cache_footprint(data / "httpcache")
    print(
        f"   first pass {bytes1:,} B, {cpu1:.2f} s CPU, {offers1} offers; second {bytes2:,} B,"
        f" {cpu2:.2f} s CPU, {offers2} offers; cache {files:,} files, {size:,} B",
        flush=True,
    )
    expires = int(CRAWL_SETTINGS["HTTPCACHE_EXPIRATION_SECS"]) > 0  # the add-on every crawl gets
    return Round(bytes2 / bytes1, cpu2 / cpu1, files, size, expires, bodies)


def measure(pages: int, page_kb: int, rounds: int) -> list[Row]:
    tally: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="bench-recrawl-") as name:
        folder = Path(name)
        root = folder / "site"
        shutil.copytree(ROOT / "fixtures" / "sites", root)
        names = write_pages(root / "bench", pages, chrome_kb=page_kb)
        server = start_server(root, tally)
        base = f"http://127.0.0.1:{server.server_address[1]}/"

        async def all_rounds() -> list[Round]:
            print("   warm-up round (imports, first connections; not counted)", flush=True)
            await one_round(base, folder, names, tally)
            return [await one_round(base, folder, names, tally) for _ in range(rounds)]

        done = run_on_reactor(all_rounds)
        server.shutdown()
    share = statistics.median(r.bytes_share for r in done)
    cpu = statistics.median(r.cpu_share for r in done)
    last = done[-1]
    served = last.bodies
    what = f"{pages:,} pages of ~{max(page_kb, 1)} KB + the demo's page, api and feed"
    return [
        Row(f"repeat run, bytes fetched ({what})", f"{share:.1%} of the first run's",
            "< 10%", share < 0.10),
        Row(f"repeat run, CPU ({what})", f"{cpu:.1%} of the first run's", "<= 25%", cpu <= 0.25),
        Row("HTTP cache on disk", f"{last.cache_files:,} files, "
            f"{last.cache_bytes / served:.1f}x the pages' {served / 1024:,.0f} KB, "
            f"{'expires' if last.expires else 'never expires'}",
            "one store, expiring, <= 2x the pages",
            last.cache_files <= 3 and last.cache_bytes <= 2 * served and last.expires),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100, help="generated pages beside the demo's")
    parser.add_argument("--page-kb", type=int, default=0, help="padding around each page, KB")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    quiet_logs()
    for row in measure(args.pages, args.page_kb, args.rounds):
        emit(row)


if __name__ == "__main__":
    main()
