"""Running unattended: source health alerts, robots.txt, clean SIGTERM, JSON logs, backups and
migrations that keep data."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlite_utils
from conftest import ROOT, Sites, cli, run_once

from storage import db as storage_db

ADMIN = """
[[notifiers]]
name = "ops"
type = "console"
admin = true
"""


def test_failing_source_alerts_once_then_recovers_once(
    tmp_path: Path, sites: Sites, config_for: Any
) -> None:
    config = config_for(only=["skydeals"], extra=ADMIN)
    config.write_text(
        config.read_text().replace(
            'schedule = "every 30m"', 'schedule = "every 30m"\nalert_after = 2'
        )
    )
    outputs = [run_once(config)["stdout"]]
    original = (sites.root / "promotions.html").read_text()
    for name in ("promotions.html", "promotions-2.html"):
        sites.replace(name, 'class="deal', 'class="offer')  # the layout changed: no offers
    for _ in range(3):
        outputs.append(run_once(config)["stdout"])
    (sites.root / "promotions.html").write_text(original)
    sites.replace("promotions-2.html", 'class="offer', 'class="deal')
    outputs.append(run_once(config)["stdout"])
    alerts = [sum("source skydeals is empty for 2 runs in a row" in o for o in outputs)]
    alerts.append(sum("source skydeals recovered after 3 bad runs" in o for o in outputs))
    assert alerts == [1, 1]
    assert "is empty" in outputs[2] and "recovered" in outputs[4]
    assert "layout or format may have changed" in outputs[2]
    done = cli("--config", str(config), "sources", "--json")
    assert json.loads(done.stdout)[0]["status"] == "ok"


def test_robots_txt_disallow_is_obeyed(tmp_path: Path, sites: Sites, config_for: Any) -> None:
    config = config_for(only=["skydeals"])
    config.write_text(config.read_text().replace("/promotions.html", "/private/deals.html"))
    summary = run_once(config)
    run = summary["runs"][0]
    assert run["status"] == "error" and "robots.txt" in run["message"]
    assert summary["exit"] == 1
    # obeying can be switched off per source
    config.write_text(
        config.read_text().replace(
            'schedule = "every 30m"', 'schedule = "every 30m"\nobey_robots = false'
        )
    )
    assert run_once(config)["runs"][0]["items"] == 1


def chromium_profiles(scratch: Path) -> set[str]:
    """Processes of the browsers this test started: their profiles live in its own ``scratch``
    folder (the bot's TMPDIR), so other awardwatch processes on the machine do not count."""
    found = subprocess.run(["pgrep", "-f", f"{scratch}/awardwatch-chromium-"],
                           capture_output=True, text=True)  # fmt: skip
    return set(found.stdout.split())


def test_sigterm_during_a_run_leaves_nothing_half_done(
    tmp_path: Path, sites: Sites, config_for: Any
) -> None:
    config = config_for(only=["skydeals", "flash-sale"])
    text = config.read_text().replace('wait_for = "article.offer"', 'wait_for = "article.never"')
    text = text.replace('schedule = "every 1h"', 'schedule = "every 1h"\njitter_seconds = 0')
    text = text.replace('schedule = "every 30m"', 'schedule = "every 30m"\njitter_seconds = 0')
    config.write_text(text)
    # a short path: Chromium puts its sockets under TMPDIR, and a socket path has 107 bytes
    scratch = Path(tempfile.mkdtemp(prefix="aw"))
    daemon = subprocess.Popen(
        [sys.executable, str(ROOT / "scheduler.py"), "--config", str(config), "daemon"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not chromium_profiles(scratch):
            time.sleep(0.3)
        assert chromium_profiles(scratch), "the browser never started"
        time.sleep(2)  # the rendered page is now waiting for a selector that never comes
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, err
    assert "not recorded" in err
    runs = list(sqlite_utils.Database(tmp_path / "bot.db").query("SELECT * FROM runs"))
    assert all(r["finished"] and r["status"] for r in runs)
    assert "flash-sale" not in {r["source"] for r in runs}
    deadline = time.monotonic() + 30
    while chromium_profiles(scratch) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not chromium_profiles(scratch), "a browser process was left behind"
    shutil.rmtree(scratch, ignore_errors=True)


def test_json_logs_one_line_per_run(tmp_path: Path, sites: Sites, config_for: Any) -> None:
    config = config_for(only=["skydeals", "aa-deals-api"])
    done = cli("--config", str(config), "--log-format", "json", "once")
    entries = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    runs = [e["run"] for e in entries if "run" in e]
    assert sorted(r["source"] for r in runs) == ["aa-deals-api", "skydeals"]
    assert {"status", "items", "offers", "events", "rejected", "duration"} <= set(runs[0])


def test_backup_is_a_consistent_copy(tmp_path: Path, sites: Sites, config_for: Any) -> None:
    config = config_for(only=["skydeals"])
    run_once(config)
    done = cli("--config", str(config), "backup", str(tmp_path / "copy.db"))
    assert done.returncode == 0, done.stderr
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM offers").fetchone()[0] == 3


def test_migrations_keep_existing_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    storage_db.MIGRATIONS[0](old)  # a database from the first release
    old.execute("PRAGMA user_version = 1")
    old["runs"].insert({"id": 1, "source": "s", "started": "2030-01-01T00:00:00", "status": "ok"})
    old.conn.close()
    upgraded = storage_db.connect(path)
    version = upgraded.execute("PRAGMA user_version").fetchone()[0]
    assert version == len(storage_db.MIGRATIONS)
    assert next(iter(upgraded["runs"].rows))["source"] == "s"
    assert "requests" in upgraded["runs"].columns_dict and upgraded["paused"].exists()


def test_daily_request_budget(tmp_path: Path, sites: Sites, config_for: Any) -> None:
    config = config_for(only=["skydeals"])
    config.write_text(
        config.read_text().replace(
            'schedule = "every 30m"', 'schedule = "every 30m"\ndaily_budget = 3'
        )
    )
    first = run_once(config)["runs"][0]
    assert first["status"] == "ok"  # robots.txt and the two pages: the whole budget
    second = run_once(config)
    assert second["exit"] == 1
    assert second["runs"][0]["status"] == "error"
    assert "daily budget of 3 requests used up" in second["runs"][0]["message"]


def test_missing_browser_fails_only_the_rendered_source(
    tmp_path: Path, sites: Sites, config_for: Any
) -> None:
    config = config_for(only=["skydeals", "flash-sale"], extra="")
    config.write_text('[browser]\nexecutable = "/nonexistent/chromium"\n' + config.read_text())
    summary = run_once(config)
    runs = {run["source"]: run for run in summary["runs"]}
    assert summary["exit"] == 1 and "Traceback" not in summary["stdout"]
    assert runs["skydeals"]["status"] == "ok"
    assert runs["flash-sale"]["status"] == "error"
    assert "cannot run Chromium at /nonexistent/chromium" in runs["flash-sale"]["message"]


def test_revive_queues_dead_deliveries_again(tmp_path: Path, sites: Sites, config_for: Any) -> None:
    config = config_for(only=["skydeals"])
    run_once(config)
    db = sqlite_utils.Database(tmp_path / "bot.db")
    db.execute("UPDATE outbox SET status = 'dead', last_error = 'token revoked'")
    db.conn.commit()
    done = cli("--config", str(config), "revive", "console")
    assert done.returncode == 0 and "3 dead deliveries of console queued again" in done.stdout
    assert run_once(config)["delivery"]["sent"] == 3
    assert cli("--config", str(config), "revive", "nope").returncode == 2
