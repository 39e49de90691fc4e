"""Scale-out: sources crawled on two local Scrapyd nodes, with filtering, dedupe and delivery
in the central daemon; a node that is down is passed over, a job that runs too long is
cancelled."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlite_utils
from conftest import ROOT, Sites, demo_config

from runner.scaleout import build_egg, crawl_on_scrapyd, deploy, stats_url
from settings.config import ScaleOutSettings, load

NODE_CONF = """\
[scrapyd]
bind_address = 127.0.0.1
http_port = {port}
items_dir = {root}/items
eggs_dir = {root}/eggs
logs_dir = {root}/logs
dbs_dir = {root}/dbs
max_proc = 1
poll_interval = 0.2
"""


@dataclass
class Node:
    url: str
    root: Path
    process: subprocess.Popen[bytes]

    def status(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.url}/daemonstatus.json", timeout=5).json())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_node(root: Path) -> Node:
    root.mkdir(parents=True)
    port = free_port()
    (root / "scrapyd.conf").write_text(NODE_CONF.format(port=port, root=root))
    with (root / "scrapyd.out").open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "scrapyd"], cwd=root, stdout=out, stderr=subprocess.STDOUT
        )
    return Node(f"http://127.0.0.1:{port}", root, process)


def wait_ready(node: Node, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert node.process.poll() is None, (node.root / "scrapyd.out").read_text()
        try:
            if node.status()["status"] == "ok":
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"scrapyd at {node.url} did not answer in {timeout}s")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    """Two Scrapyd nodes with the project deployed on both."""
    base = tmp_path_factory.mktemp("scrapyd")
    started = [start_node(base / name) for name in ("node-a", "node-b")]
    try:
        for node in started:
            wait_ready(node)
        spiders = deploy(ScaleOutSettings(nodes=[n.url for n in started]), version="1")
        assert all(count >= 3 for count in spiders.values()), spiders
        yield started
    finally:
        for node in started:
            node.process.terminate()
        for node in started:
            node.process.wait(timeout=15)


def dead_node() -> str:
    return f"http://127.0.0.1:{free_port()}"


def scale_out_config(tmp_path: Path, sites: Sites, nodes: list[str], **extra: str) -> Path:
    lines = [f"nodes = [{', '.join(repr(n) for n in nodes)}]", "poll_seconds = 0.2"]
    lines += [f"{key} = {value}" for key, value in extra.items()]
    config = demo_config(
        tmp_path, sites.url, only=["skydeals"], extra="[scale_out]\n" + "\n".join(lines)
    )
    # run at once on the daemon's start, not somewhere in the next minute
    config.write_text(
        config.read_text().replace(
            'schedule = "every 30m"', 'schedule = "every 30m"\njitter_seconds = 0'
        )
    )
    return config


def wait_for(
    database: Path, sql: str, daemon: subprocess.Popen[str], timeout: float = 60
) -> list[dict[str, object]]:
    """The rows of ``sql`` once there are some, while the daemon runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert daemon.poll() is None, "the daemon exited early"
        if database.exists():
            try:
                rows = list(sqlite_utils.Database(database).query(sql))
            except sqlite3.OperationalError:  # tables not created yet
                rows = []
            if rows:
                return rows
        time.sleep(0.3)
    raise AssertionError(f"nothing for {sql!r} in {timeout}s")


def test_daemon_crawls_on_scrapyd_and_delivers_centrally(
    tmp_path: Path, sites: Sites, nodes: list[Node]
) -> None:
    before = sum(n.status()["finished"] for n in nodes)
    config = scale_out_config(tmp_path, sites, [dead_node(), *(n.url for n in nodes)])
    database = tmp_path / "bot.db"
    daemon = subprocess.Popen(
        [sys.executable, str(ROOT / "scheduler.py"), "--config", str(config), "daemon"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        run = wait_for(database, "select * from runs", daemon)[0]
        all_sent = "select count(*) as n, count(sent_at) as sent from outbox"
        wait_for(database, f"select * from ({all_sent}) where n > 0 and n = sent", daemon)
    finally:
        daemon.send_signal(signal.SIGTERM)
        stdout, stderr = daemon.communicate(timeout=30)

    assert run["source"] == "skydeals" and run["status"] == "ok", (run, stderr)
    assert sum(n.status()["finished"] for n in nodes) == before + 1  # crawled on a node
    db = sqlite_utils.Database(database)
    offers = list(db.query("select * from offers"))
    assert run["offers"] == len(offers) > 0
    assert stdout.count("New: ") == len(offers), stdout
    assert "LAX → HNL · 7,500 miles" in stdout
    assert ("LAX", "HNL", 7500) in {(o["origin"], o["destination"], o["miles"]) for o in offers}
    assert "sold out" in str(run["rejected"]), run  # rejected rows, from the job's stats file
    written = [p for n in nodes for p in (n.root / "items").rglob("*.stats.json")]
    assert len(written) == 1, written  # beside the job's items, by the project's extension
    stats = json.loads(written[0].read_text())
    assert stats["awardwatch/rejected/sold out"] >= 1 and stats["item_scraped_count"] == len(offers)
    assert not list(db.query("select * from outbox where sent_at is null"))


def test_no_node_answers_is_an_error_run(tmp_path: Path, sites: Sites) -> None:
    config = load(scale_out_config(tmp_path, sites, [dead_node(), dead_node()]))
    assert config.scale_out is not None
    result = asyncio.run(crawl_on_scrapyd(config.scale_out, config.sources[0]))
    assert result.status == "error"
    assert "no Scrapyd node took the job" in result.message


def test_a_job_past_its_timeout_is_cancelled(
    tmp_path: Path, sites: Sites, nodes: list[Node]
) -> None:
    config = load(scale_out_config(tmp_path, sites, [nodes[0].url], timeout_seconds="0.3"))
    assert config.scale_out is not None
    result = asyncio.run(crawl_on_scrapyd(config.scale_out, config.sources[0]))
    assert result.status == "error"
    assert "did not finish within 0.3s; cancelled" in result.message
    listed = httpx.get(f"{nodes[0].url}/listjobs.json", params={"project": "awardwatch"}).json()
    assert not listed["pending"]


def test_the_egg_holds_every_package_the_spiders_import() -> None:
    egg = zipfile.ZipFile(io.BytesIO(build_egg(version="7")))
    names = set(egg.namelist())
    for module in ("scrapers/spiders/page.py", "scrapers/addon.py", "offers/model.py",
                   "settings/config.py", "storage/db.py", "notifiers/base.py",
                   "offers/data/programs.toml"):  # fmt: skip
        assert module in names
    assert "settings = scrapers.settings" in egg.read("EGG-INFO/entry_points.txt").decode()
    assert not any("__pycache__" in name for name in names)


def test_an_egg_build_leaves_nothing_in_the_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert build_egg(version="8")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("items_url", "expected"),
    [
        ("/items/awardwatch/page/abc123.jl", "/items/awardwatch/page/abc123.stats.json"),
        ("abc.jl", "abc.stats.json"),
    ],
)
def test_a_jobs_stats_are_beside_its_items(items_url: str, expected: str) -> None:
    assert stats_url(items_url) == expected
