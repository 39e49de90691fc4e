"""Pages per second of the rendered ``page`` source (``render = "browser"``, real Scrapy and
scrapy-playwright through ``runner.crawl.Crawls``) over generated JavaScript pages on
127.0.0.1, beside a bare Playwright script opening the same pages at the same concurrency in
the same Chromium with the same flags. Both times include starting the browser.

    .venv/bin/python bench/browser_crawl.py [--pages 200] [--concurrency 4]

Target: at least 0.8 of the bare script's rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from _common import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    PAGE_OPTIONS,
    Figure,
    quiet_logs,
    report,
    run_on_reactor,
    serve,
)
from playwright.async_api import async_playwright  # noqa: E402

from runner.crawl import Crawls  # noqa: E402
from settings.config import Config, SourceConfig  # noqa: E402

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


async def bare(urls: list[str], concurrency: int) -> tuple[float, int]:
    """Open every URL in one Chromium, ``concurrency`` pages at a time, wait for the offers."""
    began = time.perf_counter()
    opened = 0
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
        )
        context = await browser.new_context()
        slots = asyncio.Semaphore(concurrency)

        async def visit(url: str) -> None:
            nonlocal opened
            async with slots:
                page = await context.new_page()
                await page.goto(url)
                await page.wait_for_selector(WAIT_FOR, state="attached")
                await page.content()
                await page.close()
                opened += 1

        await asyncio.gather(*(visit(url) for url in urls))
        await browser.close()
    return time.perf_counter() - began, opened


async def ours(folder: Path, urls: list[str], concurrency: int) -> tuple[float, int, int]:
    config = Config(bot={"database": folder / "bench.db"}, browser={"executable": CHROMIUM})
    crawls = Crawls(config)
    crawls.settings.set("AUTOTHROTTLE_ENABLED", False, priority="cmdline")
    crawls.settings.set("PLAYWRIGHT_MAX_PAGES_PER_CONTEXT", concurrency, priority="cmdline")
    source = SourceConfig(name="bench-flash", kind="page", urls=urls, render="browser",
                          obey_robots=False, allow_private=True, concurrency=concurrency,
                          options={**PAGE_OPTIONS, "wait_for": WAIT_FOR})  # fmt: skip
    began = time.perf_counter()
    result = await crawls.run(source)
    return time.perf_counter() - began, result.responses, len(result.offers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4, choices=range(1, 17))
    args = parser.parse_args()
    quiet_logs()
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as folder:
        root = Path(folder) / "site"
        server = serve(root)
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        urls = [base + name for name in write_js_pages(root, args.pages)]

        async def both() -> tuple[float, float]:
            seconds, opened = await bare(urls, args.concurrency)
            baseline = opened / seconds
            print(f"   bare Playwright: {opened} pages in {seconds:.1f} s", flush=True)
            seconds, fetched, offers = await ours(Path(folder), urls, args.concurrency)
            print(f"   ours: {fetched} pages, {offers} offers in {seconds:.1f} s", flush=True)
            return fetched / seconds, baseline

        rate, baseline = run_on_reactor(both)
        server.shutdown()
    ratio = rate / baseline
    report(
        f"browser crawl, {args.pages} pages, concurrency {args.concurrency}",
        Figure("rendered page source (Crawls)", rate, "pages/s"),
        Figure("bare Playwright script", baseline, "pages/s"),
        target="at least 0.8 of the bare script's rate",
        ratio=ratio,
        met=ratio >= 0.8,
    )


if __name__ == "__main__":
    main()
