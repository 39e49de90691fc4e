"""Runs the benchmarks, each script in a process of its own, and prints one table: every row
with its figure, its goal and whether the goal was met. The scripts' own lines go to stderr as
they run. A miss never fails the run; a script that crashes becomes a row that says so.

    .venv/bin/python bench/run.py            # every benchmark at its full size
    .venv/bin/python bench/run.py --quick    # a subset at small sizes, in about two minutes
    .venv/bin/python bench/run.py --only pipeline,matching
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from _common import ROOT, ROW_MARK, Row

BENCH = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Script:
    name: str
    full: list[str]
    quick: list[str] | None  # None: not part of the quick run


#: In this order: the figures a busy machine skews most (wall time, rates, paired ratios)
#: first, the long CPU and memory runs last.
SCRIPTS = [
    Script("startup", [], ["--rounds", "3"]),
    Script("fanout", [], None),
    Script("pipeline", [], ["--offers", "5000"]),
    Script("static_crawl", [], ["--pages", "50"]),
    Script("browser_crawl", [], None),
    Script("recrawl", [], ["--pages", "10", "--rounds", "1"]),
    Script("matching", [], ["--sizes", "1000,10000"]),
    Script("spreadsheet", [], None),
    Script("extract", [], None),
    Script("memory", [], None),
    Script("scale", [], None),
]


def run(script: Script, quick: bool) -> list[Row]:
    """Run one script, echo its output to stderr, and return the rows it printed."""
    args = script.quick if quick else script.full
    assert args is not None
    command = [sys.executable, str(BENCH / f"{script.name}.py"), *args]
    print(f"== {script.name} {' '.join(args)}", file=sys.stderr, flush=True)
    began = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    rows = []
    for line in process.stdout:
        if line.startswith(ROW_MARK):
            rows.append(Row(**json.loads(line.removeprefix(ROW_MARK))))
        else:
            sys.stderr.write(line)
    status = process.wait()
    print(f"   ({time.monotonic() - began:.0f} s)", file=sys.stderr, flush=True)
    if status != 0:
        rows.append(Row(f"{script.name}.py", f"failed (exit {status})", "runs", False))
    return rows


def table(rows: list[Row]) -> str:
    lines = ["| benchmark | figure | goal | verdict |", "|---|---|---|---|"]
    lines += [f"| {row.name} | {row.figure} | {row.goal} | {row.verdict} |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a subset at small sizes")
    parser.add_argument("--only", help="comma-separated script names")
    args = parser.parse_args()
    chosen = [s for s in SCRIPTS if not args.quick or s.quick is not None]
    if args.only:
        wanted = set(args.only.split(","))
        chosen = [s for s in chosen if s.name in wanted]
    rows = [row for script in chosen for row in run(script, args.quick)]
    print(table(rows))
    missed = sum(row.met is False for row in rows)
    print(f"\n{sum(row.met is True for row in rows)} met, {missed} missed")


if __name__ == "__main__":
    main()
