"""Crawling on Scrapyd nodes: the central process schedules a source's spider on the least busy
node, waits for the job, and reads its items and stats back into a CrawlResult. Filtering,
dedupe and delivery stay in the central process, on the same road as a local crawl.

Also builds the project's egg with scrapyd-client and uploads it to the nodes
(``addversion.json``). A job's stats come back as the JSON file the project's JobStats extension
writes beside the job's items (scrapers/extensions.py).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from pydantic import ValidationError

from offers.errors import AwardwatchError
from offers.model import Offer
from scrapers.extensions import SUFFIX as STATS_SUFFIX
from scrapers.outcome import CrawlResult, result_from_stats
from scrapers.sources import source_settings
from settings.config import ScaleOutSettings, SourceConfig, secret

log = logging.getLogger("runner.scaleout")

ROOT = Path(__file__).resolve().parent.parent
#: Connection failures, error statuses and non-JSON answers: the node cannot serve, try another.
UNREACHABLE = (httpx.TransportError, httpx.HTTPStatusError, ValueError)
_turn = itertools.count()


class ScrapydRefused(AwardwatchError):
    """A Scrapyd node refused the request"""


class NoNodeAvailable(AwardwatchError):
    """No Scrapyd node accepted the job"""


class JobLost(AwardwatchError):
    """The Scrapyd node no longer knows the job"""


class EggBuildFailed(AwardwatchError):
    """The project's egg could not be built"""


# -- talking to a node ----------------------------------------------------------------------


def basic_auth(settings: ScaleOutSettings) -> httpx.BasicAuth | None:
    if not settings.auth_env:
        return None
    user, _, password = secret(settings.auth_env).partition(":")
    return httpx.BasicAuth(user, password)


def client(settings: ScaleOutSettings) -> httpx.AsyncClient:
    return httpx.AsyncClient(auth=basic_auth(settings), timeout=httpx.Timeout(30, connect=5))


def endpoint(node: str, path: str) -> str:
    return urljoin(node.rstrip("/") + "/", path.lstrip("/"))


def answer(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a Scrapyd API call; a refusal (``status: error``) raises."""
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    if body.get("status") != "ok":
        raise ScrapydRefused(f"{response.request.url}: {body.get('message', body)}")
    return body


async def load(http: httpx.AsyncClient, node: str) -> int | None:
    """Jobs running and waiting on ``node``; None when it does not answer."""
    try:
        status = answer(await http.get(endpoint(node, "daemonstatus.json")))
    except (*UNREACHABLE, ScrapydRefused) as exc:
        log.warning("scrapyd node %s is not available: %s", node, exc)
        return None
    return int(status.get("running", 0)) + int(status.get("pending", 0))


async def ranked(http: httpx.AsyncClient, nodes: list[str]) -> list[str]:
    """Answering nodes, least busy first; equal ones take turns so runs spread out."""
    shift = next(_turn) % len(nodes)
    turn = nodes[shift:] + nodes[:shift]
    loads = await asyncio.gather(*(load(http, node) for node in turn))
    up = [(busy, node) for busy, node in zip(loads, turn, strict=True) if busy is not None]
    return [node for _, node in sorted(up, key=lambda pair: pair[0])]


# -- one job --------------------------------------------------------------------------------


def setting_text(value: Any) -> str:
    """A setting as ``scrapy crawl -s`` text that Scrapy's getters read back."""
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def job_settings(source: SourceConfig, agent: str | None = None) -> dict[str, str]:
    """The settings the central process sends with a job: the source's own, as a local crawl
    has them; the rest (cache policy, fetch policy, Chromium) is the project's add-on, in the
    egg."""
    values: dict[str, Any] = dict(source_settings(source))
    if agent:
        values["USER_AGENT"] = agent
    return {key: setting_text(value) for key, value in values.items()}


def job_source(source: SourceConfig) -> str:
    """The source's config as a node gets it: without an inline ``proxy``, whose URL carries
    the proxy's password. A node reaches a proxy through ``proxy_env``, read from the node's
    own environment when the crawl runs."""
    if source.proxy:
        log.warning(
            "source %s: its proxy is not sent to Scrapyd nodes; set proxy_env and the variable"
            " on each node",
            source.name,
        )
    return source.model_dump_json(exclude={"proxy"})


async def schedule(
    http: httpx.AsyncClient, node: str, project: str, source: SourceConfig, settings: dict[str, str]
) -> str:
    """Start the source's spider on ``node``; its job id."""
    form = {
        "project": project,
        "spider": source.kind,
        "source": job_source(source),  # SourceSpider reads its [[sources]] entry from this
        "setting": [f"{key}={value}" for key, value in settings.items()],
    }
    response = await http.post(endpoint(node, "schedule.json"), data=form)
    return str(answer(response)["jobid"])


async def place(
    http: httpx.AsyncClient, settings: ScaleOutSettings, source: SourceConfig, job: dict[str, str]
) -> tuple[str, str]:
    """Schedule on the first node that takes the job: (node, job id)."""
    problems: list[str] = []
    for node in await ranked(http, settings.nodes):
        try:
            return node, await schedule(http, node, settings.project, source, job)
        except (*UNREACHABLE, ScrapydRefused) as exc:
            log.warning("scrapyd node %s did not take %s: %s", node, source.name, exc)
            problems.append(f"{node}: {exc}")
    down = len(settings.nodes) - len(problems)
    detail = "; ".join(problems + ([f"{down} node(s) did not answer"] if down else []))
    raise NoNodeAvailable(f"no Scrapyd node took the job ({detail})")


async def finished(
    http: httpx.AsyncClient, node: str, project: str, job: str, settings: ScaleOutSettings
) -> dict[str, Any] | None:
    """Poll ``listjobs.json`` until the job is finished; its entry, or None on timeout."""
    deadline = time.monotonic() + settings.timeout_seconds
    missing = 0
    while True:
        jobs = answer(await http.get(endpoint(node, "listjobs.json"), params={"project": project}))
        for entry in jobs.get("finished", []):
            if entry.get("id") == job:
                return dict(entry)
        listed = any(e.get("id") == job for e in jobs.get("pending", []) + jobs.get("running", []))
        missing = 0 if listed else missing + 1
        if missing >= 2:  # twice, so a job moving from queue to process is not taken for lost
            raise JobLost(f"{node} no longer lists job {job} (was the node restarted?)")
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(min(settings.poll_seconds, max(0.0, deadline - time.monotonic())))


async def cancel(http: httpx.AsyncClient, node: str, project: str, job: str) -> None:
    try:
        answer(
            await http.post(endpoint(node, "cancel.json"), data={"project": project, "job": job})
        )
    except (*UNREACHABLE, ScrapydRefused) as exc:
        log.warning("could not cancel job %s on %s: %s", job, node, exc)


# -- what a job brought back ------------------------------------------------------------------


def read_items(lines: str, result: CrawlResult) -> None:
    for line in lines.splitlines():
        if not line.strip():
            continue
        result.items += 1
        try:
            result.offers.append(Offer.model_validate(json.loads(line)))
        except (ValueError, ValidationError):
            result.rejected["unreadable item from the node"] += 1


def stats_url(items_url: str) -> str:
    """Where a job's stats are, beside its items (``<job>.jl`` → ``<job>.stats.json``)."""
    stem = items_url.rsplit("/", 1)
    name = stem[-1].rsplit(".", 1)[0] + STATS_SUFFIX
    return "/".join([*stem[:-1], name])


async def collect(
    http: httpx.AsyncClient, node: str, entry: dict[str, Any], result: CrawlResult
) -> None:
    """Items from the node's feed export, then the stats (rejected rows, responses) written
    beside them."""
    items_url = entry.get("items_url")
    if not items_url:
        result.errors += 1
        result.message = f"{node} keeps no items: set items_dir in its scrapyd.conf"
        return
    response = await http.get(endpoint(node, items_url))
    if response.status_code != 404:  # no file: the job scraped nothing
        response.raise_for_status()
        read_items(response.text, result)
    stats = await job_stats(http, node, stats_url(items_url))
    if stats:
        result_from_stats(result, stats)
    elif not result.offers:
        result.errors += 1
        result.message = f"job {entry.get('id')} on {node} left no stats; see its log"


async def job_stats(http: httpx.AsyncClient, node: str, url: str) -> dict[str, Any]:
    """The stats a job wrote beside its items; empty when there are none."""
    try:
        response = await http.get(endpoint(node, url))
        response.raise_for_status()
        stats = response.json()
    except UNREACHABLE as exc:
        log.warning("stats of %s not available: %s", url, exc)
        return {}
    return stats if isinstance(stats, dict) else {}


async def crawl_on_scrapyd(
    scale_out: ScaleOutSettings, source: SourceConfig, *, agent: str | None = None
) -> CrawlResult:
    """Run one source on a Scrapyd node and bring back what it found. Never raises: a node
    problem is an error result with the reason in ``message``."""
    result = CrawlResult(source.name, started=datetime.now(UTC))
    async with client(scale_out) as http:
        try:
            await run_job(http, scale_out, source, job_settings(source, agent), result)
        except (*UNREACHABLE, AwardwatchError) as exc:
            log.error("source %s on scrapyd: %s", source.name, exc)
            result.errors += 1
            result.message = str(exc)
    result.finished = datetime.now(UTC)
    return result


async def run_job(
    http: httpx.AsyncClient,
    scale_out: ScaleOutSettings,
    source: SourceConfig,
    settings: dict[str, str],
    result: CrawlResult,
) -> None:
    node, job = await place(http, scale_out, source, settings)
    log.info("source %s: job %s on %s", source.name, job, node)
    try:
        entry = await finished(http, node, scale_out.project, job, scale_out)
    except asyncio.CancelledError:
        await cancel(http, node, scale_out.project, job)  # shutdown: do not leave it running
        raise
    if entry is None:
        await cancel(http, node, scale_out.project, job)
        result.errors += 1
        result.message = (
            f"job {job} on {node} did not finish within {scale_out.timeout_seconds:g}s; cancelled"
        )
        return
    await collect(http, node, entry, result)


# -- deploying the project --------------------------------------------------------------------


#: What a copy of the checkout for the egg build leaves out: folders of the checkout's top
#: level, and caches anywhere.
_TOP_LEVEL_NOT_IN_EGG = frozenset({
    ".git", ".venv", "data", "build", "dist", "tests", "bench", "docs", "fixtures", "deploy",
})  # fmt: skip
_CACHES = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*_cache", ".hypothesis")


def _not_in_egg(root: Path) -> Callable[[str, list[str]], set[str]]:
    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = set(_CACHES(folder, names))
        return skipped | (_TOP_LEVEL_NOT_IN_EGG & set(names) if Path(folder) == root else set())

    return ignore


def build_egg(root: Path = ROOT, version: str = "0") -> bytes:
    """The project as an egg Scrapyd can run, built by scrapyd-client (``scrapyd-deploy
    --build-egg``) from the project's scrapy.cfg and setup.py: its packages, package data and
    the ``scrapy`` entry point naming the settings module."""
    if not (root / "scrapy.cfg").is_file():
        raise EggBuildFailed(f"no scrapy.cfg in {root}: deploy from a checkout of the project")
    with tempfile.TemporaryDirectory(prefix="awardwatch-egg-") as folder:
        egg = Path(folder) / f"awardwatch-{version}.egg"
        # built from a copy: the build leaves nothing in the checkout, and two builds at once
        # do not share a build/ folder
        tree = Path(folder) / "project"
        shutil.copytree(root, tree, ignore=_not_in_egg(root))
        # scrapyd-deploy leaves its own build folder in TMPDIR: keep it inside ours
        done = subprocess.run(
            [sys.executable, "-m", "scrapyd_client.deploy", "--build-egg", str(egg)],
            cwd=tree,
            env={**os.environ, "TMPDIR": folder},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0 or not egg.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise EggBuildFailed(f"scrapyd-deploy --build-egg failed: {last}")
        return egg.read_bytes()


def deploy(
    scale_out: ScaleOutSettings, version: str | None = None, root: Path = ROOT
) -> dict[str, int]:
    """Upload the project to every node as ``version``; the spiders each node found."""
    # Scrapyd runs the highest version: a timestamp keeps later uploads on top
    version = version or str(int(time.time()))
    egg = build_egg(root, version)
    found: dict[str, int] = {}
    with httpx.Client(auth=basic_auth(scale_out), timeout=120) as http:
        for node in scale_out.nodes:
            response = http.post(
                endpoint(node, "addversion.json"),
                data={"project": scale_out.project, "version": version},
                files={"egg": (f"{scale_out.project}.egg", egg)},
            )
            found[node] = int(answer(response)["spiders"])
    return found
