"""``scheduler.py once`` with the peak memory of each stage of the pass: crawl, record,
delivery and the sinks (the spreadsheet). The process's peak (VmHWM) is reset when a stage
begins (``/proc/self/clear_refs``, Linux), so each figure is that stage's own high-water mark,
what it holds on top of what came before included. Run by ``scale.py --stages``:

    .venv/bin/python bench/_stages.py CONFIG STAGES_FILE

Each stage appends one JSON line to STAGES_FILE: name, resident MB at its end, peak MB, wall
and CPU seconds.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import ROOT

STAGES = {"crawl": True, "record": False, "deliver": True, "update_sinks": True}


def memory() -> dict[str, float]:
    """Resident and peak resident MB of this process."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) / 1024
    return found


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def measured(name: str, method: Callable[..., Any], is_async: bool, out: Path) -> Any:
    def report(wall: float, cpu: float) -> None:
        now = memory()
        line = {"stage": name, "rss_mb": now["VmRSS"], "peak_mb": now["VmHWM"],
                "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}  # fmt: skip
        with out.open("a") as stages:
            stages.write(json.dumps(line) + "\n")

    if is_async:

        @functools.wraps(method)
        async def stage(*args: Any, **kwargs: Any) -> Any:
            reset_peak()
            began = time.perf_counter(), time.process_time()
            try:
                return await method(*args, **kwargs)
            finally:
                report(*began)

        return stage

    @functools.wraps(method)
    def plain(*args: Any, **kwargs: Any) -> Any:
        reset_peak()
        began = time.perf_counter(), time.process_time()
        try:
            return method(*args, **kwargs)
        finally:
            report(*began)

    return plain


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("stages_file", type=Path)
    args = parser.parse_args()
    config, out = args.config, args.stages_file
    sys.path.insert(0, str(ROOT))
    from runner.bot import Bot

    for name, is_async in STAGES.items():
        setattr(Bot, name, measured(name, getattr(Bot, name), is_async, out))
    import scheduler

    return scheduler.main(["--config", str(config), "once"])


if __name__ == "__main__":
    sys.exit(main())
