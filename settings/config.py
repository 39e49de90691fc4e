"""config.toml, validated before anything runs. Errors name the key path and what is wrong."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tomllib
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from offers.errors import ConfigError
from offers.rules import Rule, check_cabins, check_program

log = logging.getLogger(__name__)

_INTERVAL = re.compile(r"^(?:every\s+)?(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def parse_interval(text: str) -> timedelta | None:
    """``every 30m``, ``2h``, ``45s`` as a timedelta; None when it is not an interval."""
    match = _INTERVAL.match(text.strip().lower())
    if not match:
        return None
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def _check_schedule(text: str) -> str:
    if parse_interval(text) is not None:
        return text
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(text)
    except ValueError as exc:
        raise ValueError(
            f"{text!r} is neither an interval ('every 30m', '2h') nor a cron expression: {exc}"
        ) from None
    return text


class BotSettings(Strict):
    database: Path = Path("data/awardwatch.db")
    contact: str = "set bot.contact in config.toml"
    user_agent: str | None = None
    log_format: Literal["text", "json"] = "text"

    @property
    def agent(self) -> str:
        from settings import __version__

        return self.user_agent or f"awardwatch/{__version__} (+{self.contact})"


class BrowserSettings(Strict):
    executable: Path | None = None
    headless: bool = True
    restart_every: int = Field(default=50, ge=1)
    timeout_seconds: float = Field(default=30, gt=0)


class DedupeSettings(Strict):
    cheaper_by: int = Field(default=1, ge=1, description="miles an offer must fall to alert again")
    back_after_hours: float = Field(default=24, gt=0)
    gone_after_runs: int = Field(
        default=2, ge=1, description="healthy runs in a row of a source that miss an offer"
    )


class SpreadsheetSettings(Strict):
    path: Path = Path("data/offers.xlsx")
    runs_kept: int = Field(
        default=1000, ge=1, description="latest runs the Runs worksheet shows (all stay in the db)"
    )


class SheetsSettings(Strict):
    spreadsheet_key: str
    credentials_env: str = "GOOGLE_SERVICE_ACCOUNT_JSON"
    token_uri: str | None = None
    api_base: str | None = None


class ScaleOutSettings(Strict):
    """Crawl on Scrapyd nodes; filtering, dedupe and delivery stay in this process."""

    nodes: list[str] = Field(min_length=1, description="Scrapyd base URLs")
    project: str = "awardwatch"
    sources: list[str] = Field(
        default_factory=list, description="sources crawled remotely; [] = all"
    )
    auth_env: str | None = Field(default=None, description="env var holding user:password")
    poll_seconds: float = Field(default=2, gt=0)
    timeout_seconds: float = Field(default=3600, gt=0)

    def remote(self, source: str) -> bool:
        return not self.sources or source in self.sources


class RouteQuery(Strict):
    """One watchlist entry: routes, dates and cabins a source turns into requests."""

    origins: list[str] = Field(min_length=1)
    destinations: list[str] = Field(min_length=1)
    dates: list[date] = Field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None
    cabins: list[str] = Field(default_factory=list)
    passengers: int = Field(default=1, ge=1, le=9)
    trip: Literal["one-way", "round-trip"] = "one-way"

    @field_validator("cabins")
    @classmethod
    def _cabins(cls, value: list[str]) -> list[str]:
        return check_cabins(value)

    def days(self) -> list[date]:
        """Every departure day this entry asks about."""
        days = list(self.dates)
        if self.date_from:
            end = self.date_to or self.date_from
            days += [self.date_from + timedelta(n) for n in range((end - self.date_from).days + 1)]
        return sorted(set(days))


#: The largest response a source may download, decompressed, unless it sets ``max_bytes``.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


class SourceConfig(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: str
    enabled: bool = True
    urls: list[str] = Field(default_factory=list)
    program: str | None = None
    schedule: str = "every 1h"
    jitter_seconds: float = Field(default=60, ge=0)
    render: Literal["static", "browser"] = "static"
    proxy: str | None = None
    proxy_env: str | None = Field(
        default=None, description="environment variable holding the proxy URL (with its password)"
    )
    allow_private: bool = Field(
        default=False, description="admit private/loopback addresses of this source's own hosts"
    )
    max_bytes: int = Field(
        default=DEFAULT_MAX_BYTES, ge=1024, description="largest response, after decompression"
    )
    download_timeout: float = Field(default=30, gt=0, le=600, description="seconds per request")
    obey_robots: bool | None = None
    concurrency: int = Field(default=1, ge=1, le=16)
    daily_budget: int | None = Field(default=None, ge=1)
    alert_after: int = Field(default=3, ge=1, description="consecutive bad runs before an alert")
    watch: list[RouteQuery] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)

    _checked_options: BaseModel | None = None

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return _check_schedule(value)

    @field_validator("program")
    @classmethod
    def _program(cls, value: str | None) -> str | None:
        return None if value is None else check_program(value)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        from scrapers.parsers import KINDS

        if value not in KINDS:
            raise ValueError(f"unknown source kind {value!r}; known: {', '.join(KINDS)}")
        return value

    @model_validator(mode="after")
    def _options(self) -> SourceConfig:
        from scrapers.parsers import options_model

        model = options_model(self.kind)
        try:
            self._checked_options = model.model_validate(self.options)
        except ValidationError as exc:
            raise _nested(exc, "options") from None
        return self

    @model_validator(mode="after")
    def _one_proxy(self) -> SourceConfig:
        if self.proxy and self.proxy_env:
            raise ValueError("set proxy or proxy_env, not both (proxy_env keeps the password out)")
        return self

    @property
    def opts(self) -> Any:
        """The kind's own options, validated (an instance of the parser's ``Options``)."""
        return self._checked_options

    @property
    def proxy_url(self) -> str | None:
        """The proxy this source's requests go through: ``proxy``, or the value of the
        environment variable named by ``proxy_env`` (read when the crawl runs)."""
        if self.proxy_env:
            return secret(self.proxy_env)
        return self.proxy

    @property
    def own_hosts(self) -> frozenset[str]:
        """Hosts this source's config names: its ``urls`` and the ``base_url`` of its options.
        With ``allow_private`` only these may be private addresses."""
        from urllib.parse import urlsplit

        urls = [*self.urls, str(getattr(self.opts, "base_url", "") or "")]
        return frozenset(h for h in (urlsplit(u).hostname for u in urls if u) if h)


class ChatSettings(Strict):
    """The chat services people subscribe through: the Telegram bot and the Messenger Page."""

    max_subscribers: int = Field(default=10_000, ge=1, description="active, over every service")
    commands_per_minute: int = Field(default=20, ge=1, description="per user")
    listen_host: str = Field(default="127.0.0.1", description="the webhook server's address")
    listen_port: int = Field(default=8780, ge=0, le=65535)
    max_body_bytes: int = Field(default=262_144, ge=1024, description="largest webhook post")
    telegram_webhook_url: str | None = Field(
        default=None, pattern=r"^https://", description="public base URL: Telegram posts here"
    )
    telegram_secret_env: str | None = Field(default=None, description="env var: webhook secret")


class NotifierConfig(BaseModel):
    """One alert target. ``type`` picks the plugin; other keys are the plugin's own."""

    model_config = ConfigDict(extra="allow")

    name: str
    type: str
    rules: list[str] = Field(default_factory=list)
    admin: bool = False


class Config(Strict):
    bot: BotSettings = Field(default_factory=BotSettings)
    browser: BrowserSettings = Field(default_factory=BrowserSettings)
    dedupe: DedupeSettings = Field(default_factory=DedupeSettings)
    spreadsheet: SpreadsheetSettings = Field(default_factory=SpreadsheetSettings)
    sheets: SheetsSettings | None = None
    scale_out: ScaleOutSettings | None = None
    chat: ChatSettings = Field(default_factory=ChatSettings)
    rules: list[Rule] = Field(default_factory=list)
    notifiers: list[NotifierConfig] = Field(default_factory=list)
    sources: list[SourceConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names(self) -> Config:
        for kind, items in (
            ("source", self.sources),
            ("rule", self.rules),
            ("notifier", self.notifiers),
        ):
            seen: set[str] = set()
            for item in items:
                if item.name in seen:
                    raise ValueError(f"two {kind}s are named {item.name!r}")
                seen.add(item.name)
        rule_names = {r.name for r in self.rules}
        for notifier in self.notifiers:
            routed = list(notifier.rules)
            for target in (notifier.model_extra or {}).get("chats") or []:
                if isinstance(target, dict):
                    routed += list(target.get("rules", []))
            for rule in routed:
                if rule not in rule_names:
                    raise ValueError(f"notifier {notifier.name!r} routes unknown rule {rule!r}")
        return self

    def source(self, name: str) -> SourceConfig:
        from offers.errors import UnknownSourceError

        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise UnknownSourceError(f"no source named {name!r} in the config (configured: {known})")


_NESTED = re.compile(r"^(options(?:\.[\w-]+)*): (.*)$", re.DOTALL)


def _nested(exc: ValidationError, prefix: str) -> ValueError:
    """A nested model's error as ``path: message``; _format lifts the path into the key."""
    first = exc.errors()[0]
    where = ".".join([prefix, *(str(p) for p in first["loc"])])
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    return ValueError(f"{where}: {message}")


def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "config"


def _format(exc: ValidationError, path: Path) -> str:
    lines = [f"{path}: invalid configuration"]
    for error in exc.errors():
        where = _location(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        if "input" in error and error["type"] not in {"extra_forbidden", "missing", "value_error"}:
            message += f" (got {error['input']!r})"
        nested = _NESTED.match(message)
        if nested:
            where, message = f"{where}.{nested.group(1)}", nested.group(2)
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)


class EnvKey(NamedTuple):
    """A ``*_env`` key of the config: where it is, the variable it names, and whether its part
    of the config is in use (not under ``enabled = false``)."""

    path: str
    name: str
    active: bool


def env_keys(data: Any, where: str = "", *, active: bool = True) -> Iterator[EnvKey]:
    """Every ``*_env`` key of a config as read from TOML, wherever it is nested: the one walk
    behind both the check that the variables are set and the list of values logs mask."""
    if isinstance(data, dict):
        active = active and data.get("enabled") is not False
        for key, value in data.items():
            path = f"{where}.{key}" if where else key
            if key.endswith("_env") and isinstance(value, str):
                yield EnvKey(path, value, active)
            else:
                yield from env_keys(value, path, active=active)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from env_keys(value, f"{where}[{index}]", active=active)


def _missing_env(data: Any) -> list[str]:
    """Every ``*_env`` key of an enabled part whose variable is not set, as ``path: message``."""
    return [f"  {key.path}: environment variable {key.name} is not set"
            for key in env_keys(data) if key.active and not os.environ.get(key.name)]  # fmt: skip


def load(path: Path | str = "config.toml", *, check_env: bool = True) -> Config:
    """Read and validate the config; raise ConfigError with every problem found."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a folder, not a config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format(exc, path)) from None
    if check_env:
        problems = _missing_env(data)
        if problems:
            raise ConfigError("\n".join([f"{path}: invalid configuration", *problems]))
    config.bot.database = _relative(config.bot.database, path)
    config.spreadsheet.path = _relative(config.spreadsheet.path, path)
    for warning in place_warnings(config):
        log.warning("%s: %s", path, warning)
    return config


def place_warnings(config: Config) -> list[str]:
    """A line for each rule place that names a city others share, saying which one is taken,
    which others it could be and how to choose."""
    from offers.places import ambiguity

    warnings = []
    for rule in config.rules:
        for key in ("origins", "destinations"):
            for place in getattr(rule, key):
                warning = ambiguity(place)
                if warning:
                    warnings.append(f"rules.{rule.name}.{key}: {warning}")
    return warnings


def _relative(target: Path, config_path: Path) -> Path:
    return target if target.is_absolute() else config_path.parent / target


def secret_values(path: Path | str) -> list[str]:
    """The values of every environment variable the config names in a ``*_env`` key, and the
    parts of them that are secrets on their own (a key file's private key, each URL of a list),
    so logs can mask them. Unreadable configs name none."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    values: list[str] = []
    for key in env_keys(data):
        value = os.environ.get(key.name, "")
        values += [value, *re.split(r"[\s,]+", value)]
        with contextlib.suppress(ValueError, AttributeError):
            account = json.loads(value)
            values += [str(account.get(part, "")) for part in ("private_key", "private_key_id")]
    return [v for v in values if v]


def secret(name: str) -> str:
    """The value of the environment variable ``name``: the one way code reads a secret the
    config names in a ``*_env`` key (``load`` has checked it is set, through ``env_keys``)."""
    value = os.environ.get(name)
    if not value:
        raise ConfigError(f"environment variable {name} is not set")
    return value
