"""The whole bot at 1k, 10k and 100k offers from one source: ``scheduler.py once`` as a user
runs it (shipped settings, the local spreadsheet written), over generated promotions pages of
100 distinct offers each served from a process of its own; a fresh run (empty database and
cache), then a repeat run over the same unchanged pages. Wall time, CPU and peak memory are
the ``once`` process's own (``wait4``).

    .venv/bin/python bench/scale.py [--sizes 1000,10000,100000] [--stages]

``--stages`` also prints each stage's own peak (crawl, record, delivery, the spreadsheet),
measured by ``_stages.py``.

Targets: 100k offers in at most 600 MB at peak, the spreadsheet included; cost linear from
1k (each 10x the offers at most 12x the CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from _common import ROOT, Row, emit, serve_apart
from pipeline import raw_offers

PER_PAGE = 100
PEAK_MB = 600
GROWTH = 12
_DEAL = """<li class="deal"><h3 class="title">{program} {origin}-{destination}</h3>
<span class="program">{program}</span><span class="from">{origin}</span>
<span class="to">{destination}</span><span class="cabin">{cabin}</span>
<span class="miles">{miles} miles</span><span class="date">{depart_date}</span>
<a class="book" href="{url}">Book</a></li>
"""
_CONFIG = """[bot]
database = "data/awardwatch.db"
contact = "bench@example.org"

[spreadsheet]
path = "data/offers.xlsx"

[[sources]]
name = "bench-scale"
kind = "page"
allow_private = true
urls = [{urls}]
[sources.options]
item = "li.deal"
[sources.options.fields]
title = ".title"
program = ".program"
origin = ".from"
destination = ".to"
cabin = ".cabin"
miles = ".miles"
depart_date = ".date"
url = "a.book::attr(href)"
[sources.options.constants]
promo = true
"""


@dataclass
class Run:
    wall: float
    cpu: float
    peak_mb: float

    def __str__(self) -> str:
        return f"{self.wall:,.1f} s wall, {self.cpu:,.1f} s CPU, {self.peak_mb:,.0f} MB peak"


def write_site(folder: Path, offers: int) -> list[str]:
    """Pages of ``PER_PAGE`` distinct offers (distinct identities), ``offers`` in all."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = list(raw_offers(offers, datetime.now(UTC).date()))
    names = []
    for page, start in enumerate(range(0, len(rows), PER_PAGE)):
        deals = "".join(_DEAL.format(**row) for row in rows[start : start + PER_PAGE])
        name = f"deals-{page:05d}.html"
        (folder / name).write_text(
            f'<!doctype html><html><head><meta charset="utf-8"><title>Deals {page}</title>'
            f'</head><body><ul class="deals">\n{deals}</ul></body></html>\n', encoding="utf-8"
        )  # fmt: skip
        names.append(name)
    return names


class TooSlow(Exception):
    """A run did not finish in the time the benchmark gives it."""


def once(config: Path, limit: float, stages: bool = False) -> Run:
    began = time.perf_counter()
    errors, measured = config.parent / "once.log", config.parent / "stages.jsonl"
    command = [str(ROOT / "scheduler.py"), "--config", str(config), "once"]
    if stages:
        measured.unlink(missing_ok=True)
        command = [str(ROOT / "bench" / "_stages.py"), str(config), str(measured)]
    with errors.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, *command], cwd=config.parent, stdout=subprocess.DEVNULL, stderr=log
        )  # fmt: skip
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - began > limit:
            process.kill()
            process.wait()
            raise TooSlow(f"no result in {limit:,.0f} s")
        time.sleep(0.2)
    wall = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"once exited with {process.returncode}: {errors.read_text()[-2000:]}")
    if stages:
        for line in measured.read_text().splitlines():
            stage = json.loads(line)
            print(f"      {stage['stage']:<13} peak {stage['peak_mb']:6,.0f} MB, "
                  f"{stage['rss_mb']:6,.0f} MB at its end; {stage['cpu']:6,.1f} s CPU")  # fmt: skip
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def one_size(offers: int, limit: float, stages: bool = False) -> tuple[Run, Run]:
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as name:
        folder = Path(name)
        pages = write_site(folder / "site", offers)
        with serve_apart(folder / "site") as base:
            urls = ", ".join(f'"{base}{page}"' for page in pages)
            config = folder / "scale.toml"
            config.write_text(_CONFIG.format(urls=urls), encoding="utf-8")
            fresh = once(config, limit, stages)
            repeat = once(config, limit, stages)
    print(f"   {offers:,} offers: fresh {fresh}; repeat {repeat}", flush=True)
    return fresh, repeat


def measure(sizes: list[int], limit: float, stages: bool = False) -> list[Row]:
    found, table = {}, []
    for offers in sizes:
        try:
            found[offers] = one_size(offers, limit, stages)
        except TooSlow as exc:
            print(f"   {offers:,} offers: {exc}", flush=True)
            table.append(Row(f"{offers:,} offers, one source, fresh run", str(exc),
                             f"finishes; peak <= {PEAK_MB} MB at 100k", False))  # fmt: skip
            break  # a larger size would not finish either
    for offers, (fresh, repeat) in found.items():
        largest = offers >= 100_000
        for label, run in (("fresh run", fresh), ("repeat run", repeat)):
            table.append(Row(f"{offers:,} offers, one source, {label}", str(run),
                             f"peak <= {PEAK_MB} MB" if largest else "-",
                             run.peak_mb <= PEAK_MB if largest else None))  # fmt: skip
    ordered = sorted(found)
    for small, large in zip(ordered, ordered[1:], strict=False):
        allowed = GROWTH * (large / small) / 10
        growth = found[large][0].cpu / found[small][0].cpu
        table.append(Row(f"{small:,} -> {large:,} offers, fresh run CPU", f"{growth:.1f}x",
                         f"<= {allowed:g}x", growth <= allowed))  # fmt: skip
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--limit", type=float, default=1200, help="seconds a run may take")
    parser.add_argument("--stages", action="store_true", help="each stage's own peak memory")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    for row in measure(sizes, args.limit, args.stages):
        emit(row)


if __name__ == "__main__":
    main()
