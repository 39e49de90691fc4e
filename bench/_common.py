"""What the benchmarks share: the repository on sys.path, a local web server for generated
pages, the reactor, paired rounds (A and B alternated, the median of per-round ratios), and
one way of printing a figure as a row of the table ``bench/run.py`` collects: what was
measured, the figure, its goal and whether it was met."""

from __future__ import annotations

import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
#: The folder of the test helpers (fake services) some benchmarks drive.
TESTS = ROOT / "tests"
CHROMIUM = "/usr/bin/chromium"
#: The flags every Chromium in these benchmarks starts with, ours and the baselines'.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@dataclass
class Figure:
    label: str
    value: float
    unit: str


#: The prefix of the machine-readable line each row is also printed as, for bench/run.py.
ROW_MARK = "@row "


@dataclass
class Row:
    """One line of the benchmark table: what was measured, its figure, the goal, the verdict
    (None: a figure with no goal of its own, shown for context)."""

    name: str
    figure: str
    goal: str
    met: bool | None

    @property
    def verdict(self) -> str:
        return "-" if self.met is None else ("met" if self.met else "MISSED")


def emit(row: Row) -> None:
    """Print ``row`` for a reader and, marked, for the table runner."""
    print(f"   {row.name}: {row.figure} (goal {row.goal}) -> {row.verdict}")
    print(ROW_MARK + json.dumps(row.__dict__), flush=True)


def report(
    title: str, ours: Figure, baseline: Figure, *, target: str, ratio: float, met: bool
) -> None:
    """Print the figure, its baseline's, their ratio and whether the target is met."""
    print(f"-- {title}")
    for figure in (ours, baseline):
        print(f"   {figure.label:<34} {figure.value:>12,.2f} {figure.unit}")
    print(f"   {'ratio':<34} {ratio:>12.3f}")
    print(f"   target: {target} -> {'MET' if met else 'MISSED'}", flush=True)
    emit(Row(title, f"{ratio:.3f}x", target, met))


@dataclass
class Ratios:
    """Per-round ratios of paired runs: B's cost over A's, or A's rate over B's."""

    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def inverse(self) -> Ratios:
        """The same rounds as the other way's ratio (a time ratio as a rate ratio)."""
        return Ratios([1 / value for value in self.values])

    def __str__(self) -> str:
        low, high = min(self.values), max(self.values)
        return f"{self.median:.2f}x (min {low:.2f}, max {high:.2f}; {len(self.values)} rounds)"


def paired(ours: Callable[[], float], baseline: Callable[[], float], rounds: int) -> Ratios:
    """Run both ``rounds`` times, alternating which goes first; each returns seconds. The
    ratio of a round is our time over the baseline's, so above 1 means slower."""
    ratios = []
    for number in range(rounds):
        if number % 2:
            theirs, mine = baseline(), ours()
        else:
            mine, theirs = ours(), baseline()
        ratios.append(mine / theirs)
        print(f"   round {number + 1}: ours {mine:.2f} s, baseline {theirs:.2f} s, "
              f"ratio {ratios[-1]:.2f}", flush=True)  # fmt: skip
    return Ratios(ratios)


async def paired_async(
    ours: Callable[[], Awaitable[float]], baseline: Callable[[], Awaitable[float]], rounds: int
) -> Ratios:
    """``paired`` for coroutine functions, on the running reactor."""
    ratios = []
    for number in range(rounds):
        if number % 2:
            theirs = await baseline()
            mine = await ours()
        else:
            mine = await ours()
            theirs = await baseline()
        ratios.append(mine / theirs)
        print(f"   round {number + 1}: ours {mine:.2f} s, baseline {theirs:.2f} s, "
              f"ratio {ratios[-1]:.2f}", flush=True)  # fmt: skip
    return Ratios(ratios)


def cpu_seconds() -> float:
    """User and system CPU of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    """The highest resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    """``with timed() as elapsed:`` — elapsed() is the seconds since the block began."""
    began = time.perf_counter()
    yield lambda: time.perf_counter() - began


def run_on_reactor(main: Callable[[], Any]) -> Any:
    """Run the coroutine function ``main`` on the Twisted asyncio reactor Scrapy needs."""
    import scheduler

    return scheduler._run_on_reactor(main)


def quiet_logs() -> None:
    import logging

    logging.basicConfig(level=logging.ERROR)
    for name in ("scrapy", "awardwatch", "httpx", "telegram", "apscheduler", "asyncio",
                 "scrapy-playwright", "py.warnings"):  # fmt: skip
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "scrapers.settings")


#: The ``page`` source's options for the pages ``write_pages`` makes.
PAGE_OPTIONS: dict[str, Any] = {
    "item": "li.deal",
    "fields": {"title": ".title", "program": ".program", "origin": ".from", "destination": ".to",
               "cabin": ".cabin", "miles": ".miles", "depart_date": ".date",
               "url": "a.book::attr(href)"},
    "constants": {"promo": True},
}  # fmt: skip
_DEAL = """  <li class="deal">
    <h3 class="title">Award sale {n}</h3><span class="program">delta</span>
    <span class="from">{origin}</span> → <span class="to">{destination}</span>
    <span class="cabin">Business</span><span class="miles">{miles:,} miles</span>
    <span class="date">2031-0{month}-1{day}</span><a class="book" href="/book/{n}">Book</a>
  </li>
"""
_ROUTES = [("JFK", "LHR"), ("BOS", "CDG"), ("SFO", "NRT"), ("ORD", "FRA"), ("LAX", "SYD")]


def site_chrome(kilobytes: int) -> str:
    """About ``kilobytes`` of the navigation and footer links a real deals page carries
    around its offers (real ones weigh 100 KB and more)."""
    line = '<li><a href="/deals/{n:05d}" class="nav-link">Award deals to destination {n}</a></li>\n'
    lines = [line.format(n=n) for n in range(kilobytes * 1024 // len(line.format(n=0)))]
    return f'<nav><ul class="menu">{"".join(lines)}</ul></nav>'


def write_pages(folder: Path, count: int, offers: int = 3, chrome_kb: int = 0) -> list[str]:
    """``count`` promotions pages of ``offers`` offers each (plus ``chrome_kb`` of site
    navigation); returns their paths."""
    chrome = site_chrome(chrome_kb) if chrome_kb else ""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for page in range(count):
        deals = "".join(
            _DEAL.format(
                n=page * offers + i,
                origin=_ROUTES[i % 5][0],
                destination=_ROUTES[i % 5][1],
                miles=30_000 + 500 * i,
                month=1 + i % 9,
                day=i % 10,
            )  # fmt: skip
            for i in range(offers)
        )
        name = f"deals-{page:05d}.html"
        (folder / name).write_text(
            f'<!doctype html><html><head><meta charset="utf-8"><title>Deals {page}</title>'
            f'</head><body>{chrome}<ul class="deals">\n{deals}</ul></body></html>\n',
            encoding="utf-8",
        )
        paths.append(name)
    return paths


@contextmanager
def serve_apart(root: Path) -> Iterator[str]:
    """Serve ``root`` from a process of its own, as a remote site would be: its work does not
    compete with the crawler's for the interpreter lock. Yields the base URL."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "fixtures" / "serve.py"), "--port", "0", "--root", str(root)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        yield line.strip().rsplit(" ", 1)[-1]
    finally:
        process.terminate()
        process.wait(timeout=10)


def serve(root: Path) -> Any:
    """Serve ``root`` on 127.0.0.1 as the fixtures server does (Last-Modified, 304)."""
    sys.path.insert(0, str(ROOT / "fixtures"))
    import serve as fixtures_serve

    return fixtures_serve.start(root, 0)
