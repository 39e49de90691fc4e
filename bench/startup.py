"""Two costs a user meets before any offer is found: ``scheduler.py --help`` (what starting the
command costs), and the dates of one item (its departure, book-by date and travel window,
written as airline pages and posts write them, read as ``make_offer`` reads them). Each is
measured in fresh processes, so the first item's cost counts as a user pays it.

    .venv/bin/python bench/startup.py [--rounds 5]

Targets: ``--help`` under 0.3 s (median of the rounds); no item over 5 ms (the slowest item of
every round, first included).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time

from _common import ROOT, Row, emit

HELP_GOAL_S = 0.3
ITEM_GOAL_MS = 5.0
#: Dates as they come: ISO, US and European order, month names, ranges, weekdays.
ITEMS = [
    {"depart_date": "2031-03-15", "book_by": "Book by December 31, 2030"},
    {"depart_date": "March 15, 2031", "book_by": "Book by Dec 31, 2030"},
    {"depart_date": "15/03/2031", "travel": "Jan 5 - Mar 30, 2031"},
    {"depart_date": "Sat, 15 Mar 2031", "book_by": "31 December 2030"},
    {"depart_date": "3/15/2031", "travel": "January 10, 2031 - February 20, 2031"},
    {"depart_date": "2031-04-01", "book_by": "by 12/31/2030"},
]


def item_times() -> list[float]:
    """Milliseconds of reading each item's dates (its departure, book-by date and travel
    window, as ``make_offer`` reads them), in this (fresh) process."""
    from offers import text

    times = []
    for item in ITEMS * 3:
        began = time.perf_counter()
        with contextlib.suppress(ValueError):  # an unreadable date costs its reading all the same
            text.parse_day(item.get("depart_date"))
            text.parse_day(item.get("book_by"), last=True)
            text.parse_day_range(item.get("travel"))
        times.append((time.perf_counter() - began) * 1000)
    return times


def help_seconds() -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--help"], check=True,
                   capture_output=True)  # fmt: skip
    return time.perf_counter() - began


def measure(rounds: int) -> list[Row]:
    helps, worst = [], []
    for _ in range(rounds):
        helps.append(help_seconds())
        output = subprocess.run([sys.executable, __file__, "--items"], check=True,
                                capture_output=True, text=True).stdout  # fmt: skip
        times = json.loads(output.splitlines()[-1])
        worst.append(max(times))
        print(
            f"   --help {helps[-1]:.2f} s; items: first {times[0]:.1f} ms, slowest "
            f"{max(times):.1f} ms, median {statistics.median(times):.2f} ms",
            flush=True,
        )
    help_s, item_ms = statistics.median(helps), statistics.median(worst)
    return [
        Row("scheduler.py --help", f"{help_s:.2f} s (median of {rounds})",
            f"< {HELP_GOAL_S} s", help_s < HELP_GOAL_S),
        Row("date parsing, slowest item (first included)", f"{item_ms:,.1f} ms "
            f"(median of {rounds} processes)", f"<= {ITEM_GOAL_MS:g} ms", item_ms <= ITEM_GOAL_MS),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--items", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.items:
        print(json.dumps(item_times()))
        return
    for row in measure(args.rounds):
        emit(row)


if __name__ == "__main__":
    main()
