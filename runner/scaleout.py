"""Crawling on Scrapyd nodes: the central process schedules a source's spider on the least busy
node, waits for the job, and reads its items and stats back into a CrawlResult. Filtering,
dedupe and delivery stay in the central process, on the same road as a local crawl.

Also builds the project's egg and uploads it to the nodes (``addversion.json``).
"""

from __future__ import annotations

import ast
import asyncio
import io
import itertools
import json
import logging
import re
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from pydantic import ValidationError

from offers.errors import AwardwatchError
from offers.model import Offer
from runner.crawl import CrawlResult, result_from_stats, source_settings
from settings.config import ScaleOutSettings, SourceConfig, secret

log = logging.getLogger("runner.scaleout")

ROOT = Path(__file__).resolve().parent.parent
#: The packages a spider imports on a node (pyproject's ``packages.find.include``).
PACKAGES = ("offers", "runner", "scrapers", "settings", "notifiers", "storage")
SETTINGS_MODULE = "scrapers.settings"
#: Connection failures, error statuses and non-JSON answers: the node cannot serve, try another.
UNREACHABLE = (httpx.TransportError, httpx.HTTPStatusError, ValueError)
_STATS = re.compile(r"Dumping Scrapy stats:\s*\n(\{.*?\})\s*(?:\n(?=\d{4}-\d\d-\d\d )|\Z)", re.S)
_turn = itertools.count()


class ScrapydRefused(AwardwatchError):
    """A Scrapyd node refused the request"""


class NoNodeAvailable(AwardwatchError):
    """No Scrapyd node accepted the job"""


class JobLost(AwardwatchError):
    """The Scrapyd node no longer knows the job"""


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
    """The settings the central process sends with a job, the same a local crawl gets."""
    values: dict[str, Any] = {
        # the stats block this module reads rejected counts from is logged at INFO
        "LOG_LEVEL": "INFO",
        "HTTPCACHE_ENABLED": True,
        "HTTPCACHE_POLICY": "scrapy.extensions.httpcache.RFC2616Policy",
        "HTTPCACHE_IGNORE_HTTP_CODES": [401, 403, 429, 500, 502, 503, 504],
        **source_settings(source),
    }
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


def parse_stats(log_text: str) -> dict[str, Any]:
    """The last "Dumping Scrapy stats" block of a Scrapy log; values that are not plain
    literals (datetimes) are left out."""
    blocks = _STATS.findall(log_text)
    if not blocks:
        return {}
    try:
        tree = ast.parse(blocks[-1], mode="eval").body
    except SyntaxError:
        return {}
    if not isinstance(tree, ast.Dict):
        return {}
    stats: dict[str, Any] = {}
    for key, value in zip(tree.keys, tree.values, strict=True):
        try:
            stats[ast.literal_eval(key)] = ast.literal_eval(value)  # type: ignore[arg-type]
        except ValueError:
            continue
    return stats


def read_items(lines: str, result: CrawlResult) -> None:
    for line in lines.splitlines():
        if not line.strip():
            continue
        result.items += 1
        try:
            result.offers.append(Offer.model_validate(json.loads(line)))
        except (ValueError, ValidationError):
            result.rejected["unreadable item from the node"] += 1


async def collect(
    http: httpx.AsyncClient, node: str, entry: dict[str, Any], result: CrawlResult
) -> None:
    """Items from the node's feed export, then stats (rejected rows, responses) from its log."""
    items_url = entry.get("items_url")
    if not items_url:
        result.errors += 1
        result.message = f"{node} keeps no items: set items_dir in its scrapyd.conf"
        return
    response = await http.get(endpoint(node, items_url))
    if response.status_code != 404:  # no file: the job scraped nothing
        response.raise_for_status()
        read_items(response.text, result)
    stats = await job_stats(http, node, entry.get("log_url"))
    if stats:
        result_from_stats(result, stats)
    elif not result.offers:
        result.errors += 1
        result.message = f"job {entry.get('id')} on {node} left no stats; see its log"


async def job_stats(http: httpx.AsyncClient, node: str, log_url: str | None) -> dict[str, Any]:
    if not log_url:
        return {}
    try:
        response = await http.get(endpoint(node, log_url))
        response.raise_for_status()
    except UNREACHABLE as exc:
        log.warning("log of %s not available: %s", log_url, exc)
        return {}
    return parse_stats(response.text)


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


def egg_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(name in the egg, file) for every module and data file of the project's packages."""
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path.relative_to(root).as_posix(), path


def build_egg(root: Path = ROOT, version: str = "0") -> bytes:
    """The project as an egg Scrapyd can run: its packages, and the ``scrapy`` entry point
    naming the settings module."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as egg:
        for name, path in egg_files(root):
            egg.write(path, name)
        egg.writestr(
            "EGG-INFO/PKG-INFO", f"Metadata-Version: 2.1\nName: awardwatch\nVersion: {version}\n"
        )
        egg.writestr("EGG-INFO/entry_points.txt", f"[scrapy]\nsettings = {SETTINGS_MODULE}\n")
        egg.writestr("EGG-INFO/top_level.txt", "\n".join(PACKAGES) + "\n")
        # data files are read through importlib.resources, so the egg runs zipped
        egg.writestr("EGG-INFO/zip-safe", "\n")
    return buffer.getvalue()


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
