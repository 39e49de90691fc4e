"""Shared fixtures: the sample sites on a local server, configs pointing at them, and a way to
run the bot's CLI as a user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fixtures"))

import serve  # noqa: E402  (fixtures/serve.py)

from storage.db import connect  # noqa: E402


@dataclass
class Sites:
    root: Path
    url: str

    def replace(self, name: str, old: str, new: str) -> None:
        path = self.root / name
        text = path.read_text()
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new))


@contextmanager
def served(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` answering on a free 127.0.0.1 port from a thread: its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[Sites]:
    """A private copy of fixtures/sites served on 127.0.0.1 (tests may edit it)."""
    root = tmp_path / "sites"
    shutil.copytree(ROOT / "fixtures" / "sites", root)
    server = serve.start(root)
    yield Sites(root, f"http://127.0.0.1:{server.server_address[1]}")
    server.shutdown()
    server.server_close()


def demo_config(
    tmp_path: Path, base_url: str, *, extra: str = "", only: list[str] | None = None
) -> Path:
    """fixtures/demo.toml pointed at ``base_url``, with its files in ``tmp_path``."""
    text = (ROOT / "fixtures" / "demo.toml").read_text()
    text = text.replace("http://127.0.0.1:8765", base_url)
    text = text.replace('"../data/demo/awardwatch.db"', json.dumps(str(tmp_path / "bot.db")))
    text = text.replace('"../data/demo/offers.xlsx"', json.dumps(str(tmp_path / "offers.xlsx")))
    if only is not None:
        blocks = text.split("\n[[sources]]")
        kept = [b for b in blocks[1:] if any(f'name = "{name}"' in b for name in only)]
        text = "\n[[sources]]".join([blocks[0], *kept])
    path = tmp_path / "config.toml"
    path.write_text(text + "\n" + extra)
    return path


@pytest.fixture
def config_for(tmp_path: Path, sites: Sites) -> Any:
    def make(*, extra: str = "", only: list[str] | None = None) -> Path:
        return demo_config(tmp_path, sites.url, extra=extra, only=only)

    return make


def bot_config(tmp_path: Path, sources: str) -> Path:
    """A config.toml in ``tmp_path`` with its database and spreadsheet there, a console
    notifier and ``sources`` (TOML of the [[sources]] entries)."""
    path = tmp_path / "config.toml"
    path.write_text(f"""
[bot]
database = {json.dumps(str(tmp_path / "bot.db"))}
contact = "tests@example.org"

[spreadsheet]
path = {json.dumps(str(tmp_path / "offers.xlsx"))}

[[notifiers]]
name = "console"
type = "console"

{sources}
""")
    return path


def deals_page(url: str, *, item: str = "li.deal", options: str = "", fields: str = "") -> str:
    """The [[sources]] TOML of a page source "deals" (Delta) at ``url``, read with the sample
    pages' selectors; ``options`` and ``fields`` add lines to its options and fields."""
    return f"""
[[sources]]
name = "deals"
kind = "page"
program = "delta"
urls = ["{url}"]
obey_robots = false
allow_private = true
[sources.options]
item = "{item}"
{options}
[sources.options.fields]
origin = ".from"
destination = ".to"
cabin = ".cabin"
miles = ".miles"
depart_date = ".date"
{fields}
"""


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run ``scheduler.py`` as a user would, from the repository root."""
    return subprocess.run(
        [sys.executable, str(ROOT / "scheduler.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def run_once(config: Path, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """One pass of the bot; the parsed ``--json`` summary, plus ``stdout``: what else the
    pass printed (with ``--json`` that goes to stderr) and ``exit``."""
    done = cli("--config", str(config), "once", "--json", *extra, env=env)
    assert done.stdout.startswith('{"runs"'), (
        f"no summary (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    )
    summary: dict[str, Any] = json.loads(done.stdout)  # stdout is the summary and nothing else
    summary["stdout"] = done.stderr  # all else it printed: console alerts, logs
    summary["exit"] = done.returncode
    return summary


@pytest.fixture
def db(tmp_path: Path) -> Any:
    return connect(tmp_path / "test.db")
