"""The bot's settings: config.toml read and validated (settings.config)."""

__version__ = "0.1.0"
