"""kill -9 of a pass mid-render leaves no Chromium behind.

The pass runs under a small supervisor that makes itself the "subreaper" of everything it
starts (PR_SET_CHILD_SUBREAPER), so whatever the killed bot leaves running stays among the
supervisor's descendants instead of moving under PID 1: the check counts this test's own
processes only, never another awardwatch on the machine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from conftest import ROOT

SUPERVISOR = r'''
import ctypes, json, os, signal, subprocess, sys, time

ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def descendants():
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = open(f"/proc/{name}/stat").read()
                parents[int(name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def chromium():
    left = []
    for pid in descendants():
        try:
            line = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "chrom" in line.lower():
            left.append(line[:200])
    return left


def reap():
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


bot = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.monotonic() + 120
while not chromium() and time.monotonic() < deadline and bot.poll() is None:
    time.sleep(0.2)
started = bool(chromium())
time.sleep(3)  # the page is rendering, waiting for a selector that never comes
os.kill(bot.pid, signal.SIGKILL)
bot.wait()
deadline = time.monotonic() + 30
while chromium() and time.monotonic() < deadline:
    reap()
    time.sleep(0.2)
reap()
left = chromium()
for pid in descendants():  # a failed check must not leave them running either
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
print(json.dumps({"started": started, "left": left}))
'''


def test_sigkill_mid_render_leaves_no_chromium(tmp_path: Path, config_for: Any) -> None:
    config = config_for(only=["flash-sale"])
    config.write_text(
        config.read_text().replace('wait_for = "article.offer"', 'wait_for = "article.never"')
    )
    supervisor = tmp_path / "supervisor.py"
    supervisor.write_text(SUPERVISOR)
    # a short TMPDIR of its own: Chromium puts its sockets there (at most 107 bytes a path)
    scratch = tempfile.mkdtemp(prefix="aw")
    done = subprocess.run(
        [sys.executable, str(supervisor), sys.executable, str(ROOT / "scheduler.py"),
         "--config", str(config), "once"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "TMPDIR": scratch},
    )  # fmt: skip
    shutil.rmtree(scratch, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["started"], "the browser never started"
    assert outcome["left"] == [], outcome["left"]
