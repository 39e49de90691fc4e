"""The Scrapy project: one spider per source kind, each a thin shell around a pure parser."""
