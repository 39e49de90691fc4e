"""One Chromium for the daemon's whole life, shared by every crawl over CDP, restarted every
``restart_every`` runs or when it stops answering. Each crawl opens its own context in it and
closes it at the end; the browser process itself is ours to stop, and the kernel stops it
when we die (even by SIGKILL): it never outlives the bot."""

from __future__ import annotations

import ctypes
import logging
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from offers.errors import AwardwatchError
from scrapers.settings import CHROMIUM_ARGS
from settings.config import BrowserSettings

log = logging.getLogger("runner.browser")


class BrowserError(AwardwatchError):
    """Chromium could not be started"""


def chromium_path(configured: Path | None) -> str:
    if configured:
        return str(configured)
    found = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )
    if not found:
        raise BrowserError(
            "no Chromium found: install Debian's chromium (apt-get install chromium), set "
            "[browser] executable, or run `playwright install chromium`"
        )
    return found


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends SIGKILL when the parent dies (Linux). Its
    own session keeps a terminal's Ctrl-C to the bot from killing it mid-shutdown."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class SharedBrowser:
    def __init__(self, executable: Path | None = None, *, headless: bool = True,
                 restart_every: int = 50) -> None:  # fmt: skip
        self.executable = executable
        self.headless = headless
        self.restart_every = restart_every
        self.process: subprocess.Popen[bytes] | None = None
        self.endpoint: str | None = None
        self.uses = 0
        self._profile: str | None = None

    @classmethod
    def configured(cls, settings: BrowserSettings) -> SharedBrowser:
        """The browser ``[browser]`` in config.toml describes."""
        return cls(settings.executable, headless=settings.headless,
                   restart_every=settings.restart_every)  # fmt: skip

    def start(self, timeout: float = 30) -> str:
        """Launch Chromium with remote debugging; return its CDP websocket URL."""
        self._profile = tempfile.mkdtemp(prefix="awardwatch-chromium-")
        log_path = Path(self._profile) / "stderr.log"
        args = [chromium_path(self.executable), "--remote-debugging-port=0",
                f"--user-data-dir={self._profile}", *CHROMIUM_ARGS]  # fmt: skip
        if self.headless:
            args.append("--headless=new")
        try:
            with log_path.open("wb") as stderr:
                self.process = subprocess.Popen(
                    [*args, "about:blank"], stdout=subprocess.DEVNULL, stderr=stderr,
                    start_new_session=True,
                    preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                )  # fmt: skip
        except OSError as exc:
            self.stop()
            raise BrowserError(
                f"cannot run Chromium at {args[0]}: {exc.strerror}; set [browser] executable "
                "to a Chromium binary, or install one (apt-get install chromium)"
            ) from None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(
                r"DevTools listening on (ws://\S+)", log_path.read_text(errors="replace")
            )
            if found:
                self.endpoint = found.group(1)
                log.info("browser started (pid %s)", self.process.pid)
                return self.endpoint
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        tail = log_path.read_text(errors="replace")[-500:]
        self.stop()
        raise BrowserError(f"Chromium did not start: {tail.strip() or 'no output'}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def for_run(self) -> str:
        """The endpoint for the next crawl, restarting the browser when it is due or dead."""
        if self.alive() and self.uses >= self.restart_every:
            log.info("restarting the browser after %d runs", self.uses)
            self.stop()
        if not self.alive():
            if self.process is not None:
                log.warning("browser was gone; starting a new one")
                self.stop()
            self.start()
            self.uses = 0
        self.uses += 1
        assert self.endpoint is not None
        return self.endpoint

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self.endpoint = None
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None
