"""What the CLI tells cron and the operator: exit codes 0 all well, 1 a source or sink
failed, 2 bad configuration or unusable database, 3 another process holds the database; one
JSON document with ``--json``; one clear line, never a traceback, for broken files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import ROOT, cli

from storage.db import MIGRATIONS, connect, writer_lock


def once(config: Path, *extra: str) -> Any:
    return cli("once", "--config", str(config), "--json", *extra)


def test_options_after_the_verb_and_one_json_document(tmp_path: Path, config_for: Any) -> None:
    config = config_for(only=["skydeals"])
    done = once(config, "-v")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)  # the whole of stdout: the console alerts went to stderr
    assert summary["ok"] is True and summary["delivery"]["sent"] > 0
    assert "New:" in done.stderr


def test_a_second_writer_exits_3_naming_the_holder(tmp_path: Path, config_for: Any) -> None:
    config = config_for(only=["skydeals"])
    with writer_lock(tmp_path / "bot.db"):
        done = once(config)
    assert done.returncode == 3
    assert f"another awardwatch process (pid {os.getpid()}) holds {tmp_path / 'bot.db'}" in (
        done.stderr
    )
    assert done.stdout == ""


def test_a_failed_spreadsheet_fails_the_pass(tmp_path: Path, config_for: Any) -> None:
    config = config_for(only=["skydeals"])
    (tmp_path / "offers.xlsx").mkdir()  # the sheet cannot be written where it should go
    done = once(config)
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] is False and summary["sinks"]["spreadsheet"].startswith("failed")
    assert summary["delivery"]["sent"] > 0  # the alerts went out first


def test_unusable_databases_are_one_line_and_exit_2(tmp_path: Path, config_for: Any) -> None:
    config = config_for(only=["skydeals"])
    database = tmp_path / "bot.db"
    database.write_bytes(b"not a database at all " * 300)
    done = once(config)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "is corrupt" in done.stderr and "backup" in done.stderr
    database.unlink()
    connect(database).execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    done = once(config)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"version {len(MIGRATIONS) + 1}" in done.stderr


def test_bad_config_files_are_one_line_and_exit_2(tmp_path: Path) -> None:
    latin = tmp_path / "latin.toml"
    latin.write_bytes("[bot]\nname = 'caf\xe9'\n".encode("latin-1"))
    for config in (tmp_path, latin, tmp_path / "missing.toml"):
        done = cli("--config", str(config), "once")
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_backup_refuses_missing_and_corrupt_databases(tmp_path: Path, config_for: Any) -> None:
    config = config_for(only=["skydeals"])
    target = tmp_path / "backups" / "bot.db"
    done = cli("backup", str(target), "--config", str(config))
    assert done.returncode == 1 and "no database at" in done.stderr
    assert not (tmp_path / "bot.db").exists()  # nothing created in passing
    assert once(config).returncode == 0
    assert cli("backup", str(target), "--config", str(config)).returncode == 0
    good = target.read_bytes()
    database = tmp_path / "bot.db"
    data = bytearray(database.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    database.write_bytes(bytes(data))
    done = cli("backup", str(target), "--config", str(config))
    assert done.returncode == 1 and "integrity check" in done.stderr
    assert "Traceback" not in done.stderr
    assert target.read_bytes() == good
    done = cli("backup", str(tmp_path), "--config", str(config))
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_every_exit_code_is_documented() -> None:
    import scheduler

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    codes = (scheduler.EXIT_OK, scheduler.EXIT_FAILED, scheduler.EXIT_CONFIG, scheduler.EXIT_BUSY)
    assert codes == (0, 1, 2, 3)
    assert all(f"\n| {code} | " in readme for code in codes)
    assert "another awardwatch process (pid" in readme


def test_a_reader_that_stops_early_is_no_error() -> None:
    demo = ROOT / "fixtures"
    reader = subprocess.Popen(
        [sys.executable, str(ROOT / "scheduler.py"), "--config", str(demo / "demo.toml"),
         "parse", "skydeals", str(demo / "sites" / "promotions.html")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()  # as `… | head -0` would
    errors = reader.stderr.read().decode()
    assert reader.wait(timeout=120) == 0 and "BrokenPipeError" not in errors, errors
