"""Pages per second of the rendered ``page`` source as a user runs it (``render = "browser"``,
real Scrapy and scrapy-playwright through ``runner.crawl.Crawls`` with the shipped
settings: HTTP cache, AutoThrottle, a source's default concurrency) over generated JavaScript
pages on 127.0.0.1, beside a bare Playwright script rendering the same pages in the same
Chromium with the same flags and the same politeness: as many pages at a time, each started no
sooner than AutoThrottle would start it. Both times include starting the browser.

    .venv/bin/python bench/browser_crawl.py [--pages 100] [--rounds 5]

Rounds alternate which goes first; the figure is the median of the per-round rate ratios.
Target: at least 0.8 of the bare script's rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path

from _common import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    PAGE_OPTIONS,
    Row,
    emit,
    paired_async,
    quiet_logs,
    run_on_reactor,
    serve,
)
from playwright.async_api import async_playwright  # noqa: E402

from runner.crawl import Crawls  # noqa: E402
from scrapers.addon import CRAWL_SETTINGS  # noqa: E402
from settings.config import Config, SourceConfig  # noqa: E402

GOAL = 0.8

WAIT_FOR = "li.deal"
_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Flash sale {n}</title></head>
<body><ul id="deals"><li class="loading">Loading…</li></ul>
<script>
  // the offers exist only once this script has run, as on the airline sites
  const offers = {offers};
  const list = document.getElementById("deals");
  list.innerHTML = "";
  for (const o of offers) {{
    const li = document.createElement("li");
    li.className = "deal";
    li.innerHTML = '<h3 class="title"></h3><span class="program">united</span>' +
      '<span class="from"></span><span class="to"></span><span class="cabin">Business</span>' +
      '<span class="miles"></span><span class="date"></span><a class="book">Book</a>';
    li.querySelector(".title").textContent = o.title;
    li.querySelector(".from").textContent = o.from;
    li.querySelector(".to").textContent = o.to;
    li.querySelector(".miles").textContent = o.miles;
    li.querySelector(".date").textContent = o.date;
    li.querySelector(".book").href = o.link;
    list.appendChild(li);
  }}
</script></body></html>
"""


def write_js_pages(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for page in range(count):
        offers = [
            {
                "title": f"Sale {page}-{i}",
                "from": "SFO",
                "to": ["NRT", "LHR", "CDG"][i],
                "miles": f"{40_000 + 1000 * i:,} miles",
                "date": f"2031-0{i + 1}-15",
                "link": f"/book/{page}-{i}",
            }  # fmt: skip
            for i in range(3)
        ]
        name = f"flash-{page:04d}.html"
        page_text = _PAGE.format(n=page, offers=json.dumps(offers))
        (folder / name).write_text(page_text, encoding="utf-8")
        names.append(name)
    return names


class Throttle:
    """Scrapy's AutoThrottle as it paces one site: a request starts no sooner than ``delay``
    (randomized 0.5-1.5x, as Scrapy does) after the previous one; each answer moves the delay
    halfway towards its latency over the target concurrency."""

    def __init__(self) -> None:
        self.delay = CRAWL_SETTINGS["AUTOTHROTTLE_START_DELAY"]
        self.last_start = 0.0
        self.lock = asyncio.Lock()

    async def wait_turn(self) -> None:
        async with self.lock:
            pause = self.last_start + self.delay * random.uniform(0.5, 1.5) - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            self.last_start = time.monotonic()

    def answered(self, latency: float) -> None:
        target = latency / CRAWL_SETTINGS["AUTOTHROTTLE_TARGET_CONCURRENCY"]
        delay = max(target, (self.delay + target) / 2)
        self.delay = min(delay, CRAWL_SETTINGS["AUTOTHROTTLE_MAX_DELAY"])


async def bare(urls: list[str], concurrency: int) -> float:
    """Render every URL in one Chromium, ``concurrency`` pages at a time, paced as
    AutoThrottle paces a crawl, waiting for the offers; returns the seconds taken."""
    began = time.perf_counter()
    throttle = Throttle()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
        )
        context = await browser.new_context()
        slots = asyncio.Semaphore(concurrency)

        async def visit(url: str) -> None:
            async with slots:
                await throttle.wait_turn()
                started = time.monotonic()
                page = await context.new_page()
                await page.goto(url)
                await page.wait_for_selector(WAIT_FOR, state="attached")
                await page.content()
                throttle.answered(time.monotonic() - started)
                await page.close()

        await asyncio.gather(*(visit(url) for url in urls))
        await browser.close()
    return time.perf_counter() - began


async def ours(folder: Path, urls: list[str]) -> float:
    """One crawl as shipped, with an empty cache, as a first run."""
    data = Path(tempfile.mkdtemp(dir=folder))
    config = Config(bot={"database": data / "awardwatch.db"}, browser={"executable": CHROMIUM})
    crawls = Crawls(config)
    source = SourceConfig(name="bench-flash", kind="page", urls=urls, render="browser",
                          allow_private=True,
                          options={**PAGE_OPTIONS, "wait_for": WAIT_FOR})  # fmt: skip
    began = time.perf_counter()
    result = await crawls.run(source)
    seconds = time.perf_counter() - began
    assert len(result.offers) == 3 * len(urls), f"ours found {len(result.offers)} offers"
    return seconds


def measure(pages: int, rounds: int) -> Row:
    concurrency = SourceConfig.model_fields["concurrency"].default
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as folder:
        root = Path(folder) / "site"
        server = serve(root)
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        urls = [base + name for name in write_js_pages(root, pages)]
        ratios = run_on_reactor(
            lambda: paired_async(
                lambda: ours(Path(folder), urls), lambda: bare(urls, concurrency), rounds
            )
        ).inverse()
        server.shutdown()
    return Row(f"rendered crawl as shipped, {pages:,} pages, vs bare Playwright",
               f"{ratios} the rate", f">= {GOAL}x", ratios.median >= GOAL)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    quiet_logs()
    emit(measure(args.pages, args.rounds))


if __name__ == "__main__":
    main()
