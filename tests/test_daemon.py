"""The daemon: scheduled passes in one long-lived process, and a clean stop on SIGTERM."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlite_utils
from conftest import ROOT, Sites


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def runs(db_path: Path) -> list[dict[str, Any]]:
    try:
        return list(sqlite_utils.Database(db_path).query("SELECT * FROM runs ORDER BY id"))
    except sqlite3.OperationalError:  # not created yet
        return []


def test_three_scheduled_passes_then_sigterm(tmp_path: Path, sites: Sites, config_for: Any) -> None:
    config = config_for(only=["skydeals", "aa-deals-api"])
    text = config.read_text().replace(
        'schedule = "every 30m"', 'schedule = "every 2s"\njitter_seconds = 0'
    )
    text = text.replace('schedule = "every 2h"', 'schedule = "every 3s"\njitter_seconds = 0')
    config.write_text(text)
    daemon = subprocess.Popen(
        [sys.executable, str(ROOT / "scheduler.py"), "--config", str(config), "daemon"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        db_path = tmp_path / "bot.db"
        wait_for(
            lambda: sum(r["source"] == "skydeals" for r in runs(db_path)) >= 3, 90, "three passes"
        )
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, err
    assert "daemon started: 2 sources scheduled" in err
    assert "daemon stopped" in err
    recorded = runs(db_path)
    assert all(r["finished"] and r["status"] == "ok" for r in recorded)
    skydeals = [r for r in recorded if r["source"] == "skydeals"]
    assert skydeals[0]["events"] == 3 and all(r["events"] == 0 for r in skydeals[1:])
    # one process, never two runs of a source at once
    starts = [r["started"] for r in skydeals]
    assert starts == sorted(starts)
    assert out.count("New: ") == 5
