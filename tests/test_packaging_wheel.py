"""The wheel as a user installs it: built from the project, installed (not editable) into a
fresh virtualenv, run from a folder outside the source tree. Its data files (the panel's
metadata, the airport and program tables, the language vocabularies) must travel with it.

Nothing is downloaded: the wheel is built with the setuptools of the project's environment
and installed without its dependencies, which the fresh environment borrows from the
project's environment through a ``.pth`` line (a plain path: the project's own editable
install is not on it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Building, installing and starting Datasette on a busy two-core machine takes a while.
STEP_TIMEOUT = 300
pytestmark = pytest.mark.timeout(1800)

#: Folders of the source tree a build does not need: environments, caches, outputs, tests.
NOT_SOURCE = frozenset({
    ".venv", ".git", "data", "build", "dist", "awardwatch.egg-info", ".pytest_cache",
    ".mypy_cache", ".ruff_cache", ".hypothesis", "docs", "tests", "bench",
})  # fmt: skip


def _not_source(folder: str, names: list[str]) -> set[str]:
    top = Path(folder) == ROOT
    return {n for n in names if n == "__pycache__" or (top and n in NOT_SOURCE)}


FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Points blog</title><link>https://blog.example/</link>
<item><title>Flying Blue Promo Rewards: Paris to New York from 15,000 miles one-way</title>
<link>https://blog.example/posts/promo</link>
<description>Flying Blue Promo Rewards this month: Paris (CDG) to New York (JFK) from 15,000
miles one-way in economy. Book by December 31, 2030.</description></item>
</channel></rss>
"""


@dataclass
class Installed:
    """A fresh virtualenv with the wheel installed, and a working folder outside the tree."""

    venv: Path
    home: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def run(self, *args: str, timeout: float = STEP_TIMEOUT) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), cwd=self.home, env=_clean_env(), capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PIP_NO_INDEX"] = "1"  # never reach for a package index
    return env


def _step(args: list[str], cwd: Path) -> None:
    done = subprocess.run(args, cwd=cwd, env=_clean_env(), capture_output=True, text=True,
                          timeout=STEP_TIMEOUT)  # fmt: skip
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel")
    source, dist, venv, home = base / "src", base / "dist", base / "venv", base / "home"
    shutil.copytree(ROOT, source, ignore=_not_source)  # the build writes beside its sources
    home.mkdir()
    _step([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
           "--no-index", "--wheel-dir", str(dist), str(source)], base)  # fmt: skip
    (wheel,) = dist.glob("awardwatch-*.whl")
    _step([sys.executable, "-m", "venv", "--without-pip", str(venv)], base)
    python = venv / "bin" / "python"
    _step([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
           "--no-index", str(wheel)], base)  # fmt: skip
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, env=_clean_env(), timeout=STEP_TIMEOUT,
    ).stdout.strip()  # fmt: skip
    Path(site, "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    yield Installed(venv, home)


def test_the_installed_packages_are_the_wheels(installed: Installed) -> None:
    done = installed.run(
        str(installed.bin / "python"), "-c",
        "import panel, runner, scheduler; print(runner.__file__, panel.__file__,"
        " scheduler.__file__, sep='\\n')",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for path in done.stdout.split():
        assert Path(path).is_relative_to(installed.venv), path
        assert not Path(path).is_relative_to(ROOT), path


def test_help(installed: Installed) -> None:
    done = installed.run(str(installed.bin / "awardwatch"), "--help")
    assert done.returncode == 0, done.stderr
    assert "panel" in done.stdout and "parse" in done.stdout


def test_parse_a_saved_feed(installed: Installed) -> None:
    saved = installed.home / "feed.xml"
    saved.write_text(FEED, encoding="utf-8")
    done = installed.run(str(installed.bin / "awardwatch"), "--config", "absent.toml",
                         "parse", "feed", str(saved))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"miles": 15000' in done.stdout, done.stdout + done.stderr


def test_panel_answers_a_request(installed: Installed) -> None:
    database = installed.home / "bot.db"
    config = installed.home / "panel.toml"
    config.write_text(f'[bot]\ndatabase = "{database}"\ncontact = "ops@example.org"\n')
    made = installed.run(str(installed.bin / "python"), "-c",
                         f"from storage.db import connect; connect({str(database)!r})")  # fmt: skip
    assert made.returncode == 0, made.stderr
    port = _free_port()
    panel = subprocess.Popen(
        [str(installed.bin / "awardwatch"), "--config", str(config), "panel", "--port",
         str(port)],
        cwd=installed.home, env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        page = _get(f"http://127.0.0.1:{port}/awardwatch/offers", panel)
    finally:
        panel.terminate()
        try:
            panel.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            panel.kill()
            panel.communicate()
    assert "offers" in page


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, server: subprocess.Popen[str]) -> str:
    """The page at ``url`` once the server answers (it may take a while to start)."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while True:
        if server.poll() is not None:
            out, err = server.communicate()
            pytest.fail(f"the panel exited with {server.returncode}:\n{out}\n{err}")
        try:
            with urllib.request.urlopen(url, timeout=30) as answer:
                assert answer.status == 200
                return str(answer.read().decode())
        except urllib.error.HTTPError:
            raise
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
