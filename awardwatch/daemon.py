"""The long-lived process: one Twisted asyncio reactor, one AsyncCrawlerRunner, and an
APScheduler AsyncIOScheduler on the reactor's own event loop firing each source on its
schedule (interval or cron, with jitter, never two runs of a source at once)."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from scrapy.utils.defer import deferred_from_coro

from awardwatch.bot import Bot
from awardwatch.config import Config, SourceConfig, parse_interval

log = logging.getLogger("awardwatch.daemon")


def trigger(source: SourceConfig) -> BaseTrigger:
    interval = parse_interval(source.schedule)
    jitter = int(source.jitter_seconds) or None
    if interval is not None:
        return IntervalTrigger(seconds=interval.total_seconds(), jitter=jitter, timezone=UTC)
    return CronTrigger.from_crontab(source.schedule, timezone=UTC)


def first_run(source: SourceConfig, now: datetime) -> datetime:
    """Soon after start, spread by the source's jitter so sources do not fire together."""
    interval = parse_interval(source.schedule)
    spread = source.jitter_seconds
    if interval is not None:
        spread = min(spread, interval.total_seconds())
    return now + timedelta(seconds=random.uniform(0, spread))


class Daemon:
    def __init__(self, config: Config, reactor: Any, *, bot: Bot | None = None) -> None:
        self.config = config
        self.reactor = reactor
        self.bot = bot or Bot(config)
        self.scheduler = AsyncIOScheduler(event_loop=reactor._asyncioEventloop, timezone=UTC)
        self.passes = 0

    def run(self) -> None:
        self.reactor.callWhenRunning(self.start)
        self.reactor.addSystemEventTrigger("before", "shutdown", self.stop)
        self.reactor.run()
        log.info("daemon stopped after %d runs", self.passes)

    def start(self) -> None:
        now = datetime.now(UTC)
        sources = [s for s in self.config.sources if s.enabled]
        for source in sources:
            self.scheduler.add_job(
                self.run_source,
                trigger(source),
                args=[source],
                id=source.name,
                name=f"source {source.name}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(60, int(source.jitter_seconds) * 2),
                next_run_time=first_run(source, now),
            )
        self.scheduler.start()
        log.info("daemon started: %d sources scheduled", len(sources))

    async def run_source(self, source: SourceConfig) -> None:
        try:
            await self.bot.run_source(source)
        except Exception:
            log.exception("source %s: run failed", source.name)
        finally:
            self.passes += 1

    def stop(self) -> Any:
        """Stop scheduling, stop crawls in flight (their runs are not recorded), close."""
        log.info("daemon stopping")
        self.bot.stopping = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        return deferred_from_coro(self._close())

    async def _close(self) -> None:
        if self.bot._crawls is not None:
            await self.bot.crawls.stop()
        await self.bot.close()
