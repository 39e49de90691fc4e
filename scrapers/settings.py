"""Scrapy settings of the project. The bot's crawl settings (User-Agent, cache, fetch policy,
Chromium) are the add-on in scrapers/addon.py, so every way of crawling gets them; per-source
values (robots.txt, concurrency, limits, browser) are the spider's own settings
(scrapers/sources.py)."""

from __future__ import annotations

BOT_NAME = "awardwatch"
SPIDER_MODULES = ["scrapers.spiders"]
NEWSPIDER_MODULE = "scrapers.spiders"
#: `scrapy list` and `scrapy crawl NAME` name the sources of config.toml (AWARDWATCH_CONFIG)
SPIDER_LOADER_CLASS = "scrapers.sources.SourceLoader"
#: `scrapy crawl` and `scrapy parse` exit non-zero when a source fails
COMMANDS_MODULE = "scrapers.commands"
ADDONS = {"scrapers.addon.CrawlSettings": 0}

# read before any crawler exists, so not the add-on's
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
LOG_LEVEL = "WARNING"
