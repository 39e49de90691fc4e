"""The bot: config, database, crawls, sinks and notifiers wired together for one pass or
for the daemon. Each source run goes crawl → record (filter, dedupe, outbox) → sinks →
delivery; the same method serves cron and the scheduler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import repeat
from typing import Any, Protocol

import sqlite_utils

from chat.store import SqliteSubscribers
from notifiers import plugin
from notifiers.base import Notifier
from offers.model import Event
from runner.browser import SharedBrowser
from runner.crawl import CrawlResult, Crawls
from runner.deliver import DeliveryReport, alert_admins, drain
from runner.health import admin_message
from runner.pipeline import RunSummary, record
from settings.config import Config, SourceConfig
from storage.db import connect
from storage.spreadsheet import LocalSpreadsheet

log = logging.getLogger("awardwatch")


class Sink(Protocol):
    name: str

    def write(self, db: sqlite_utils.Database) -> int: ...


def build_notifiers(config: Config) -> list[Notifier]:
    return [plugin(entry.type)(entry) for entry in config.notifiers]


def build_sinks(config: Config) -> list[Sink]:
    if config.sheets is not None:
        from storage.sheets import GoogleSheet

        return [GoogleSheet(config.sheets)]
    return [LocalSpreadsheet(config.spreadsheet.path, config.spreadsheet.runs_kept)]


def route(notifiers: Sequence[Notifier], event: Event) -> list[tuple[str, str]]:
    """The (target, chat) pairs an event goes to: every subscriber-facing notifier whose
    rules it matched (a notifier without rules takes every event)."""
    pairs: list[tuple[str, str]] = []
    for notifier in notifiers:
        if notifier.config.admin:
            continue
        wanted = notifier.config.rules
        if wanted and not set(wanted) & set(event.rules):
            continue
        pairs.extend(zip(repeat(notifier.name), notifier.recipients(event)))
    return pairs


class Bot:
    def __init__(self, config: Config, *, db: sqlite_utils.Database | None = None) -> None:
        self.config = config
        self.db = db if db is not None else connect(config.bot.database)
        self.notifiers = build_notifiers(config)
        for notifier in self.notifiers:
            notifier.attach(SqliteSubscribers(self.db, notifier.name, notifier.type_name))
        self.sinks = build_sinks(config)
        self._crawls: Crawls | None = None
        self._started = False
        self.stopping = False
        self._draining = asyncio.Lock()
        self._sinking = asyncio.Lock()  # runs of two sources may end together: one writer

    @property
    def crawls(self) -> Crawls:
        if self._crawls is None:
            self._crawls = Crawls(self.config)
        return self._crawls

    async def start(self) -> None:
        if not self._started:
            for notifier in self.notifiers:
                await notifier.start()
            self._started = True

    async def close(self) -> None:
        for notifier in self.notifiers:
            await notifier.close()
        self._started = False

    def route(self, event: Event) -> list[tuple[str, str]]:
        return route(self.notifiers, event)

    def record(self, result: CrawlResult) -> RunSummary:
        summary = record(self.db, self.config, result, self.route, datetime.now(UTC))
        log.info(
            "run source=%s status=%s items=%d offers=%d events=%d rejected=%d errors=%d "
            "duration=%.1fs",
            summary.source, summary.status, summary.items, summary.offers, len(summary.events),
            sum(summary.rejected.values()), summary.errors, summary.duration,
            extra={"run": summary.as_json()},
        )  # fmt: skip
        return summary

    def write_sinks(self, db: sqlite_utils.Database | None = None) -> dict[str, str]:
        """Bring every sink up to date; a failing sink is reported, not raised."""
        outcome: dict[str, str] = {}
        for sink in self.sinks:
            try:
                outcome[sink.name] = f"{sink.write(db or self.db)} rows"
            except Exception as exc:
                log.error("sink %s failed: %s", sink.name, exc)
                outcome[sink.name] = f"failed: {exc}"
        return outcome

    async def update_sinks(self) -> dict[str, str]:
        """``write_sinks`` on a worker thread with a connection of its own, so a big sheet
        never stalls the event loop (crawls, deliveries, the chat bot)."""
        path = self.db.execute("PRAGMA database_list").fetchone()[2]
        if not path:  # an in-memory database exists on this connection only
            return self.write_sinks()

        def write() -> dict[str, str]:
            own = connect(path)
            try:
                return self.write_sinks(own)
            finally:
                own.conn.close()

        async with self._sinking:
            return await asyncio.to_thread(write)

    async def deliver(self) -> DeliveryReport:
        # runs of different sources end at any time; one drain at a time, or two drains
        # would both take the same pending rows
        async with self._draining:
            await self.start()
            return await drain(self.db, self.notifiers)

    async def crawl(self, source: SourceConfig) -> CrawlResult:
        """Crawl here, or on a Scrapyd node when ``[scale_out]`` says so."""
        scale_out = self.config.scale_out
        if scale_out is not None and scale_out.remote(source.name):
            from runner.scaleout import crawl_on_scrapyd

            return await crawl_on_scrapyd(scale_out, source, agent=self.config.bot.agent)
        budget = self.budget_left(source)
        if budget == 0:
            now = datetime.now(UTC)
            used_up = f"daily budget of {source.daily_budget} requests used up"
            return CrawlResult(source.name, started=now, finished=now, errors=1, message=used_up)
        return await self.crawls.run(source, budget)

    def budget_left(self, source: SourceConfig) -> int | None:
        """Requests the source may still make today (UTC), or None without a budget."""
        if not source.daily_budget:
            return None
        today = datetime.now(UTC).date().isoformat()
        used = self.db.execute(
            "SELECT coalesce(sum(requests), 0) FROM runs WHERE source = ? AND started >= ?",
            [source.name, today],
        ).fetchone()[0]
        return max(0, source.daily_budget - int(used))

    async def check_health(self, source: SourceConfig, summary: RunSummary) -> None:
        """Tell the admin when the source starts failing or recovers (once each)."""
        text = admin_message(self.db, source, summary.message)
        if text:
            log.warning(text)
            await self.start()
            await alert_admins(self.notifiers, text)

    async def run_source(self, source: SourceConfig) -> RunSummary | None:
        result = await self.crawl(source)
        if self.stopping:
            log.warning("run of %s interrupted by shutdown; not recorded", source.name)
            return None
        summary = self.record(result)
        await self.deliver()  # alerts first: the sheet can wait, travellers cannot
        await self.update_sinks()
        await self.check_health(source, summary)
        return summary

    async def run_once(self, sources: Sequence[SourceConfig]) -> dict[str, Any]:
        """Crawl ``sources`` together, record each run, then update sinks and deliver. The
        rendered sources share one Chromium, stopped when the crawls are done."""
        browser = None
        if self._crawls is None and any(s.render == "browser" for s in sources):
            browser = SharedBrowser.configured(self.config.browser)
            self._crawls = Crawls(self.config, browser)
        try:
            results = await asyncio.gather(*(self.crawl(s) for s in sources))
        finally:
            if browser is not None:
                browser.stop()
        summaries = [self.record(r) for r in results]
        delivery = await self.deliver()  # alerts first: the sheet can wait, travellers cannot
        sinks = await self.update_sinks()
        for source, summary in zip(sources, summaries, strict=True):
            await self.check_health(source, summary)
        return {
            "runs": [s.as_json() for s in summaries],
            "sinks": sinks,
            "delivery": delivery.as_json(),
            # a failed source, sink or refused notifier is a failed pass (exit 1)
            "ok": not any(s.failed for s in summaries)
            and not any(v.startswith("failed") for v in sinks.values())
            and not delivery.rejected,
        }
