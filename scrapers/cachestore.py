"""The HTTP cache as one SQLite file: a Scrapy cache storage (``HTTPCACHE_STORAGE``) whose
entries expire, whose bodies are compressed, and which keeps no request headers (a credential
never reaches the disk), beside a memo of what the parser read from each body.

A 304 freshens an entry's headers and time without writing its body again; an unchanged body
is not parsed again: ``ParseMemo`` hands back the rows its parser yielded last time, keyed by
the body, the source's settings and the project's version, so a changed page, a changed
selector or a new release always parses afresh."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scrapy import Spider
from scrapy.http import Request, Response
from scrapy.http.headers import Headers
from scrapy.responsetypes import responsetypes
from scrapy.settings import BaseSettings
from scrapy.utils.misc import load_object

from settings import __version__

#: The store's file inside ``HTTPCACHE_DIR``.
STORE = "store.db"
#: Response headers never written down: a session cookie is a credential too.
UNSTORED_HEADERS = {b"set-cookie", b"set-cookie2", b"authorization", b"proxy-authorization"}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY, stored REAL NOT NULL, url TEXT NOT NULL, status INTEGER NOT NULL,
    headers TEXT NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS parsed (
    key TEXT PRIMARY KEY, stored REAL NOT NULL, rows BLOB NOT NULL);
"""


def open_store(folder: Path) -> sqlite3.Connection:
    """The store in ``folder`` (private to the user), created on first use."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = sqlite3.connect(folder / STORE, timeout=30, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # a cache: a lost last write costs one download
    db.executescript(_SCHEMA)
    return db


def expire(db: sqlite3.Connection, seconds: int, now: float) -> None:
    """Forget entries older than ``seconds`` (0: keep them)."""
    if seconds > 0:
        for table in ("responses", "parsed"):
            db.execute(f"DELETE FROM {table} WHERE stored < ?", [now - seconds])


def _headers_to_text(headers: Headers) -> str:
    kept = {
        key.decode("latin-1"): [value.decode("latin-1") for value in values]
        for key, values in headers.items()
        if key.lower() not in UNSTORED_HEADERS
    }
    return json.dumps(kept)


class SqliteCacheStorage:
    """Scrapy's cache storage interface over ``open_store``."""

    def __init__(self, settings: BaseSettings) -> None:
        self.folder = Path(settings["HTTPCACHE_DIR"])
        self.expiration_secs = settings.getint("HTTPCACHE_EXPIRATION_SECS")
        self.db: sqlite3.Connection | None = None

    def open_spider(self, spider: Spider) -> None:
        self.db = open_store(self.folder)
        expire(self.db, self.expiration_secs, time.time())
        self._fingerprinter = spider.crawler.request_fingerprinter

    def close_spider(self, spider: Spider) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    def _key(self, spider: Spider, request: Request) -> str:
        return f"{spider.name}:{self._fingerprinter.fingerprint(request).hex()}"

    def retrieve_response(self, spider: Spider, request: Request) -> Response | None:
        assert self.db is not None
        found = self.db.execute(
            "SELECT stored, url, status, headers, body FROM responses WHERE key = ?",
            [self._key(spider, request)],
        ).fetchone()
        if found is None:
            return None
        stored, url, status, headers, body = found
        if 0 < self.expiration_secs < time.time() - stored:
            return None
        body = zlib.decompress(body)
        headers = Headers(json.loads(headers))
        kind = responsetypes.from_args(headers=headers, url=url, body=body)
        request.meta["cache_timestamp"] = stored
        return kind(url=url, status=status, headers=headers, body=body)

    def store_response(self, spider: Spider, request: Request, response: Response) -> None:
        assert self.db is not None
        key, now = self._key(spider, request), time.time()
        headers = _headers_to_text(response.headers)
        if "cached" in response.flags:  # a 304 freshened what we hold: the body is the same
            self.db.execute(
                "UPDATE responses SET stored = ?, headers = ? WHERE key = ?", [now, headers, key]
            )
            return
        self.db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
            [key, now, response.url, response.status, headers, zlib.compress(response.body, 6)],
        )


class ParseMemo:
    """What a parser yielded from a body, so that the same body need not be parsed again.
    Only rows that JSON carries unchanged are kept; anything else is parsed every time."""

    def __init__(self, folder: Path, expiration_secs: int) -> None:
        self.db = open_store(folder)
        self.expiration_secs = expiration_secs

    @staticmethod
    def key(source: str, settings: str, url: str, body: bytes) -> str:
        digest = hashlib.sha256()
        for part in (__version__, source, settings, url):
            digest.update(part.encode() + b"\0")
        digest.update(body)
        return digest.hexdigest()

    def get(self, key: str) -> list[dict[str, Any]] | None:
        found = self.db.execute("SELECT stored, rows FROM parsed WHERE key = ?", [key]).fetchone()
        if found is None or 0 < self.expiration_secs < time.time() - found[0]:
            return None
        rows: list[dict[str, Any]] = json.loads(zlib.decompress(found[1]))
        return rows

    def put(self, key: str, rows: Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        try:
            text = json.dumps(rows)
        except (TypeError, ValueError):
            return
        if json.loads(text) != rows:  # tuples, non-string keys: JSON would change them
            return
        self.db.execute(
            "INSERT OR REPLACE INTO parsed VALUES (?, ?, ?)",
            [key, time.time(), zlib.compress(text.encode(), 6)],
        )

    def close(self) -> None:
        self.db.close()


def memo_for(settings: BaseSettings) -> ParseMemo | None:
    """The memo beside the crawl's cache, when the crawl keeps its cache in this store."""
    storage = settings.get("HTTPCACHE_STORAGE")
    if not settings.getbool("HTTPCACHE_ENABLED") or not storage:
        return None
    if (load_object(storage) if isinstance(storage, str) else storage) is not SqliteCacheStorage:
        return None
    return ParseMemo(Path(settings["HTTPCACHE_DIR"]), settings.getint("HTTPCACHE_EXPIRATION_SECS"))
