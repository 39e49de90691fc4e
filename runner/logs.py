"""Logging: readable lines for a terminal, or one JSON object per line for log collectors."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

_QUIET = ("scrapy", "scrapy_playwright", "twisted", "apscheduler", "telegram",
          "asyncio", "filelock", "py.warnings", "urllib3", "country_converter")  # fmt: skip
#: Loggers that write request URLs (a Bot API token is part of its URL) or service URLs with
#: credentials: kept at WARNING even with -v.
_TALKATIVE = ("httpx", "httpcore", "apprise", "hpack")


class MaskSecrets(logging.Filter):
    """Replaces every secret value in a record (message, arguments, traceback) with ***."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        # longest first, so a secret containing another is masked whole
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        record.msg, record.args = self.mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info))
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        run = getattr(record, "run", None)
        if run is not None:
            record.run = json.loads(self.mask(json.dumps(run, default=str)))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        run = getattr(record, "run", None)
        if run is not None:
            entry["run"] = run
        if record.exc_info or record.exc_text:
            entry["error"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, default=str)


def setup(
    log_format: str = "text", verbose: bool = False, secrets: list[str] | None = None
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskSecrets(secrets or []))
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    for name in _TALKATIVE:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
