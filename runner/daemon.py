"""The long-lived process: one Twisted asyncio reactor, one AsyncCrawlerRunner, and an
APScheduler AsyncIOScheduler on the reactor's own event loop firing each source on its
schedule (interval or cron, with jitter, never two runs of a source at once)."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from scrapy.utils.defer import deferred_from_coro

from chat.run import ChatServices
from runner import health
from runner.bot import Bot
from runner.browser import SharedBrowser
from runner.crawl import Crawls
from runner.deliver import alert_admins
from settings.config import Config, SourceConfig, parse_interval

log = logging.getLogger("runner.daemon")


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
        self.browser = SharedBrowser.configured(config.browser)
        self.bot._crawls = Crawls(config, self.browser)
        self.scheduler = AsyncIOScheduler(event_loop=reactor._asyncioEventloop, timezone=UTC)
        self.passes = 0
        self.subscriber_stop = asyncio.Event()
        self.subscriber_task: asyncio.Task[None] | None = None

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
        # the chat services (Telegram bots, Messenger webhook) answer on the same loop
        self.subscriber_task = self.reactor._asyncioEventloop.create_task(
            ChatServices(self.config, self.bot).run(self.subscriber_stop)
        )
        log.info("daemon started: %d sources scheduled", len(sources))

    async def run_source(self, source: SourceConfig) -> None:
        state = health.health(self.bot.db, source.name)
        if state.paused:
            return
        try:
            await self.bot.run_source(source)
        except asyncio.CancelledError:
            log.warning("run of %s cancelled by shutdown; not recorded", source.name)
            return
        except Exception:
            log.exception("source %s: run failed", source.name)
        finally:
            self.passes += 1
        if not self.bot.stopping:
            await self.after_run(source)

    async def after_run(self, source: SourceConfig) -> None:
        """Back a failing source off (capped), and pause one that has failed for days."""
        now = datetime.now(UTC)
        state = health.health(self.bot.db, source.name)
        if health.should_pause(state, now):
            reason = f"failing since {state.failing_since:%Y-%m-%d %H:%M} UTC ({state.status})"
            health.pause(self.bot.db, source.name, reason, now)
            text = (f"⏸ source {source.name} paused: {reason}. "
                    f"Resume it with `scheduler.py resume {source.name}`.")  # fmt: skip
            log.warning(text)
            await alert_admins(self.bot.notifiers, text)
            return
        delay = health.backoff(source, state.streak)
        job = self.scheduler.get_job(source.name)
        if delay is not None and job is not None:
            log.info("source %s: %s, next try in %s", source.name, state.status, delay)
            job.modify(next_run_time=now + delay)

    def stop(self) -> Any:
        """Stop scheduling, stop crawls in flight (their runs are not recorded), close."""
        log.info("daemon stopping")
        self.bot.stopping = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        return deferred_from_coro(self._close())

    async def _close(self) -> None:
        self.subscriber_stop.set()
        if self.subscriber_task is not None:
            await self.subscriber_task
        try:
            if self.bot._crawls is not None:
                await self.bot.crawls.stop()
            await self.bot.close()
        finally:
            self.browser.stop()
