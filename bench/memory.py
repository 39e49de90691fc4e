"""Resident memory of the daemon's Python process (``scheduler.py daemon``) over many source
runs, apart from the Chromium under it: the demo's sources (the browser-rendered
``flash-sale`` included) every second with no jitter, against the sample sites served on
127.0.0.1. Memory is read from /proc (the daemon's own RSS; Chromium's processes are shown
beside it for context); source runs are rows of the ``runs`` table.

    .venv/bin/python bench/memory.py [--runs 1000] [--early 100]

The early sample (after the caches and the browser have warmed up) is the baseline. Target:
the Python process within 5% of it at the last run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from _common import ROOT, Row, emit, serve

#: Longest wait for one run before the benchmark gives up on the daemon.
STALL_SECONDS = 120
GOAL = 0.05


def write_config(folder: Path, base: str) -> Path:
    """fixtures/demo.toml's sources, pointed at ``base``, every second, without jitter."""
    text = (ROOT / "fixtures" / "demo.toml").read_text(encoding="utf-8")
    text = text.replace("http://127.0.0.1:8765/", base)
    text = text.replace('database = "../data/demo/awardwatch.db"', 'database = "awardwatch.db"')
    text = text.replace('path = "../data/demo/offers.xlsx"', 'path = "offers.xlsx"')
    lines = []
    for line in text.splitlines():
        if line.startswith("schedule = "):
            line = 'schedule = "every 1s"\njitter_seconds = 0'
        lines.append(line)
    path = folder / "memory.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tomllib.loads(path.read_text(encoding="utf-8"))  # a broken rewrite fails here, not later
    return path


def children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry))
    return tree


def family(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    tree, found, todo = children(), [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += tree.get(current, [])
    return found


def memory_kib(pids: list[int], file: str, field: str) -> int:
    """The sum of one /proc memory field (kB) over ``pids``."""
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/{file}").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith(field):
                total += int(line.split()[1])
    return total


def passes(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM runs").fetchone()[0])
    except sqlite3.Error:
        return 0


def wait_for(daemon: subprocess.Popen[bytes], database: Path, count: int) -> int:
    """Wait until ``count`` source runs are recorded; return the daemon's own RSS, KiB."""
    last, seen = time.monotonic(), passes(database)
    while seen < count:
        if daemon.poll() is not None:
            raise SystemExit(f"the daemon exited with {daemon.returncode} after {seen} runs")
        if time.monotonic() - last > STALL_SECONDS:
            raise SystemExit(f"no run for {STALL_SECONDS} s after {seen} runs")
        time.sleep(0.2)
        now = passes(database)
        if now != seen:
            last, seen = time.monotonic(), now
    processes = family(daemon.pid)
    python = memory_kib([daemon.pid], "status", "VmRSS:")
    # RSS counts pages Chromium's processes share once per process; PSS splits them fairly
    chromium = memory_kib(processes[1:], "smaps_rollup", "Pss:")
    print(f"   run {seen}: Python RSS {python / 1024:,.1f} MiB; Chromium PSS "
          f"{chromium / 1024:,.1f} MiB in {len(processes) - 1} processes", flush=True)  # fmt: skip
    return python


def stop(daemon: subprocess.Popen[bytes]) -> None:
    processes = family(daemon.pid)
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()
    for pid in processes[1:]:  # a Chromium left behind by a daemon that had to be killed
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def measure(runs: int, early: int) -> Row:
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        server = serve(ROOT / "fixtures" / "sites")
        config = write_config(Path(folder), f"http://127.0.0.1:{server.server_address[1]}/")
        began = time.monotonic()
        daemon = subprocess.Popen(
            [sys.executable, str(ROOT / "scheduler.py"), "--config", str(config), "daemon"],
            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            database = Path(folder) / "awardwatch.db"
            first = wait_for(daemon, database, early)
            for step in range(early * 2, runs, max(early, runs // 5)):
                wait_for(daemon, database, step)
            last = wait_for(daemon, database, runs)
        finally:
            stop(daemon)
            server.shutdown()
    print(f"   {runs:,} source runs in {time.monotonic() - began:.0f} s")
    growth = last / first - 1
    return Row(f"daemon Python memory over {runs:,} source runs (Chromium apart)",
               f"{first / 1024:,.0f} -> {last / 1024:,.0f} MiB ({growth:+.1%})",
               f"within {GOAL:.0%}", growth <= GOAL)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--early", type=int, default=100)
    args = parser.parse_args()
    emit(measure(args.runs, args.early))


if __name__ == "__main__":
    main()
