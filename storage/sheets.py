"""The analysts' Google Sheet: worksheets Offers (every event once, newest last), Current
(live offers, rewritten when they change) and Runs, written with gspread.

Each run makes a handful of calls however many rows are new: one read of the id columns,
one append per worksheet, one rewrite of Current and one formatting request. Values go in
RAW, so scraped text such as ``=IMPORTXML(…)`` stays text. What has been written is kept in
the ``sheet_sync`` table and only advances after the Sheet accepted the rows; before appending,
the ids already in the Sheet are read back and skipped, so a run that died between the append
and the local commit does not write its rows twice.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import random
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

import requests
import sqlite_utils
from google.auth import exceptions as auth_errors
from google.oauth2.service_account import Credentials
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from gspread.urls import SPREADSHEETS_API_V4_BASE_URL
from gspread.utils import InsertDataOption, ValueInputOption, ValueRenderOption

from offers.errors import ConfigError, SheetsError
from settings.config import SheetsSettings, secret
from storage.db import transaction
from storage.events import current, events_since
from storage.spreadsheet import (
    CURRENT_COLUMNS,
    DATE_COLUMNS,
    OFFERS_COLUMNS,
    RUNS_COLUMNS,
    TIME_COLUMNS,
    current_row,
    event_row,
    run_row,
    typed,
)

SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
#: Google Sheets keeps at most this many characters in a cell; longer text is refused.
CELL_LIMIT = 50_000
_SERIAL_EPOCH = date(1899, 12, 30)  # day 0 of spreadsheet date serial numbers
_DATE_FORMAT = {"type": "DATE", "pattern": "yyyy-mm-dd"}
_TIME_FORMAT = {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}


class SheetNotFound(SheetsError):
    """The spreadsheet was not found: check spreadsheet_key in [sheets]"""


class SheetNotShared(SheetsError):
    """The service account may not open the spreadsheet: share it with its client_email"""


class SheetCredentialsRefused(SheetsError):
    """Google refused the service account's key: create a new JSON key for it"""


class SheetUnreachable(SheetsError):
    """Google Sheets did not accept the update; the rows stay queued for the next run"""


class _Retryable(Exception):
    """An append whose outcome is unknown (5xx or a lost connection): re-read, then retry"""


# --------------------------------------------------------------------------- HTTP


class _ElsewhereCredentials(Credentials):
    """Service-account credentials for a Sheets API at ``api_base`` (not Google's): the
    background lookup of Google's regional access boundary would only fail there."""

    def _is_regional_access_boundary_lookup_required(self) -> bool:
        return False


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _replayable(method: str, endpoint: str, body: Mapping[str, Any] | None) -> bool:
    """Whether a request may simply be sent again after a 5xx or a lost connection.

    An append or an addSheet the server may already have applied is not: the sync re-reads
    the Sheet before trying again. A 429 is always safe, the request was not applied."""
    if method.lower() in {"get", "put"} or endpoint.endswith(":clear"):
        return True
    if endpoint.endswith(":append"):
        return False
    return not any("addSheet" in r for r in (body or {}).get("requests", []))


class SheetsHTTPClient(HTTPClient):
    """gspread's HTTP client, pointed at ``api_base`` and retrying quota (429) and server
    (5xx) errors with exponential backoff that honours Retry-After."""

    api_base = SPREADSHEETS_API_V4_BASE_URL
    attempts = 5
    base_delay = 1.0
    max_delay = 30.0

    def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> requests.Response:
        if endpoint.startswith(SPREADSHEETS_API_V4_BASE_URL):
            endpoint = self.api_base + endpoint[len(SPREADSHEETS_API_V4_BASE_URL) :]
        replayable = _replayable(method, endpoint, kwargs.get("json"))
        for attempt in range(1, self.attempts + 1):
            try:
                return super().request(method, endpoint, *args, **kwargs)
            except APIError as exc:
                wait = self._wait_after(exc, attempt, replayable)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not replayable:
                    raise _Retryable(str(exc)) from exc
                if attempt == self.attempts:
                    raise
                wait = self.backoff(attempt)
            time.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait_after(self, exc: APIError, attempt: int, replayable: bool) -> float:
        status = exc.response.status_code
        transient = status >= 500 or status == HTTPStatus.REQUEST_TIMEOUT
        if status != HTTPStatus.TOO_MANY_REQUESTS and not transient:
            raise exc
        if transient and not replayable:
            raise _Retryable(str(exc)) from exc
        asked = _retry_after(exc.response.headers.get("Retry-After"))
        # A Retry-After longer than we are willing to block means: try again next run.
        if attempt == self.attempts or (asked is not None and asked > self.max_delay):
            raise exc
        return asked if asked is not None else self.backoff(attempt)

    def backoff(self, attempt: int) -> float:
        delay = min(self.base_delay * 2 ** (attempt - 1), self.max_delay)
        return delay * (1 + random.random() / 4)  # jitter keeps parallel bots apart


# --------------------------------------------------------------------------- values


def sheet_value(column: str, value: Any) -> Any:
    """A cell as the API takes it with RAW input: dates as serial numbers (shown as dates by
    the number format the run sets on them), numbers as numbers, text as text (never parsed,
    so never a formula)."""
    value = typed(column, value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        midnight = datetime.combine(value.date(), datetime.min.time())
        return (value.date() - _SERIAL_EPOCH).days + (value - midnight).total_seconds() / 86400
    if isinstance(value, date):
        return (value - _SERIAL_EPOCH).days
    if isinstance(value, bool | int | float):
        return value
    return str(value)[:CELL_LIMIT]


def sheet_row(columns: list[str], row: Mapping[str, Any]) -> list[Any]:
    return [sheet_value(c, row.get(c)) for c in columns]


def _digest(rows: list[list[Any]]) -> str:
    return hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()


def _quoted(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _first_row(updated_range: str) -> int:
    """The 0-based row index where an A1 range such as ``'Offers'!A12:Z20`` starts."""
    cells = updated_range.rpartition("!")[2].split(":")[0]
    return int("".join(ch for ch in cells if ch.isdigit())) - 1


def _blocks(positions: Iterable[int]) -> Iterator[tuple[int, int]]:
    """Consecutive row indexes as (start, end) half-open blocks."""
    start = end = -2
    for position in sorted(positions):
        if position != end:
            if start >= 0:
                yield start, end
            start = position
        end = position + 1
    if start >= 0:
        yield start, end


@dataclass
class Tab:
    """One worksheet: its columns and, during a write, where its rows are."""

    title: str
    columns: list[str]
    sheet_id: int = 0
    #: row index in the Sheet of each pending id (Offers, Runs) or row (Current)
    positions: dict[int, int] = field(default_factory=dict)
    rows: dict[int, list[Any]] = field(default_factory=dict)
    empty: bool = False  # not even a header row

    def grid(self, start: int, end: int, column: int | None = None) -> dict[str, int]:
        grid = {"sheetId": self.sheet_id, "startRowIndex": start, "endRowIndex": end}
        if column is not None:
            grid |= {"startColumnIndex": column, "endColumnIndex": column + 1}
        return grid


@dataclass
class Pending:
    """What the database has that the Sheet does not yet."""

    offers: dict[int, list[Any]]
    runs: dict[int, list[Any]]
    current: list[list[Any]]
    current_digest: str | None  # None: Current is as last written

    @property
    def empty(self) -> bool:
        return not self.offers and not self.runs and self.current_digest is None


# --------------------------------------------------------------------------- sink


class GoogleSheet:
    """The spreadsheet as a Google Sheet shared with a service account."""

    name = "sheets"

    def __init__(
        self,
        settings: SheetsSettings,
        *,
        attempts: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 30.0,
        timeout: float = 60.0,
    ) -> None:
        self.settings = settings
        self.key = settings.spreadsheet_key
        self.account = _service_account(settings)
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.timeout = timeout
        self._http: SheetsHTTPClient | None = None

    @property
    def client_email(self) -> str:
        return str(self.account.get("client_email", "the service account"))

    @property
    def http(self) -> SheetsHTTPClient:
        if self._http is None:
            kind = _ElsewhereCredentials if self.settings.api_base else Credentials
            credentials = kind.from_service_account_info(self.account, scopes=SCOPES)
            http = SheetsHTTPClient(credentials)
            http.api_base = (self.settings.api_base or SPREADSHEETS_API_V4_BASE_URL).rstrip("/")
            http.attempts, http.base_delay = self.attempts, self.base_delay
            http.max_delay = self.max_delay
            http.set_timeout(self.timeout)
            self._http = http
        return self._http

    def write(self, db: sqlite_utils.Database) -> int:
        """Bring the Sheet up to date; return the rows written. Raises SheetsError; then
        nothing is marked written and the next run sends the same rows."""
        pending = self.pending(db)
        if pending.empty:
            return 0
        try:
            return self._write(db, pending)
        except APIError as exc:
            raise self._explain(exc) from None
        except (_Retryable, requests.RequestException) as exc:
            raise SheetUnreachable(f"{SheetUnreachable.__doc__} ({exc})") from None
        except auth_errors.RefreshError as exc:
            if getattr(exc, "retryable", False):
                raise SheetUnreachable(f"no access token from Google ({exc})") from None
            raise SheetCredentialsRefused(
                f"Google refused the key of {self.client_email} ({exc}): check that the service"
                " account exists and create a new JSON key for it"
            ) from None
        except auth_errors.TransportError as exc:
            raise SheetUnreachable(f"no access token from Google ({exc})") from None

    def pending(self, db: sqlite_utils.Database) -> Pending:
        state = self._state(db)
        offers = {
            e["id"]: sheet_row(OFFERS_COLUMNS, event_row(e))
            for e in events_since(db, state.get("Offers", {}).get("last_id") or 0)
        }
        runs = {
            r["id"]: sheet_row(RUNS_COLUMNS, run_row(r))
            for r in db.query(
                "SELECT * FROM runs WHERE id > ? ORDER BY id",
                [state.get("Runs", {}).get("last_id") or 0],
            )
        }
        live = [sheet_row(CURRENT_COLUMNS, current_row(o)) for o in current(db)]
        digest = _digest(live)
        changed = digest if digest != state.get("Current", {}).get("digest") else None
        return Pending(offers, runs, live, changed)

    def _write(self, db: sqlite_utils.Database, pending: Pending) -> int:
        tabs = self._open()
        offers, runs, live = tabs["Offers"], tabs["Runs"], tabs["Current"]
        present = self._present(offers, runs)
        written = self._append(offers, pending.offers, present[0])
        written += self._append(runs, pending.runs, present[1])
        if pending.current_digest is not None:
            written += self._rewrite(live, pending.current)
        self._format([offers, runs, live])
        self._mark(db, pending)
        return written

    # -- worksheets

    def _open(self) -> dict[str, Tab]:
        """The three worksheets, creating the missing ones (header written, bold, frozen)."""
        tabs = {
            "Offers": Tab("Offers", OFFERS_COLUMNS),
            "Current": Tab("Current", CURRENT_COLUMNS),
            "Runs": Tab("Runs", RUNS_COLUMNS),
        }
        for attempt in range(1, self.attempts + 1):
            metadata = self.http.fetch_sheet_metadata(self.key)
            existing = {s["properties"]["title"]: s["properties"] for s in metadata["sheets"]}
            missing = [t for title, t in tabs.items() if title not in existing]
            taken = {p["sheetId"] for p in existing.values()}
            for title, properties in existing.items():
                if title in tabs:
                    tabs[title].sheet_id = properties["sheetId"]
            if not missing:
                return tabs
            try:
                self.http.batch_update(self.key, {"requests": self._create(missing, taken)})
            except _Retryable:
                # The worksheets may exist now: read the metadata again rather than add twice.
                time.sleep(self.http.backoff(attempt))
                continue
            return tabs
        raise SheetUnreachable("Google Sheets did not confirm the new worksheets; try again")

    def _create(self, tabs: list[Tab], taken: set[int]) -> list[dict[str, Any]]:
        requests_: list[dict[str, Any]] = []
        for tab in tabs:
            # Choosing the id ourselves lets the header go in the same batch.
            tab.sheet_id = zlib.crc32(tab.title.encode()) & 0x7FFFFFFF
            while tab.sheet_id in taken:
                tab.sheet_id += 1
            taken.add(tab.sheet_id)
            grid = {"frozenRowCount": 1, "columnCount": len(tab.columns), "rowCount": 1000}
            properties = {"sheetId": tab.sheet_id, "title": tab.title, "gridProperties": grid}
            header = [
                {
                    "userEnteredValue": {"stringValue": c},
                    "userEnteredFormat": {"textFormat": {"bold": True}},
                }
                for c in tab.columns
            ]
            start = {"sheetId": tab.sheet_id, "rowIndex": 0, "columnIndex": 0}
            fields = "userEnteredValue,userEnteredFormat"
            requests_ += [
                {"addSheet": {"properties": properties}},
                {"updateCells": {"start": start, "rows": [{"values": header}], "fields": fields}},
            ]
        return requests_

    def _present(self, *tabs: Tab) -> list[dict[int, int]]:
        """For each worksheet, the ids in its first column and their row indexes."""
        ranges = [f"{_quoted(t.title)}!A:A" for t in tabs]
        answer = self.http.values_batch_get(
            self.key, ranges, params={"valueRenderOption": ValueRenderOption.unformatted}
        )
        columns = [block.get("values", []) for block in answer.get("valueRanges", [])]
        for tab, column in zip(tabs, columns, strict=True):
            tab.empty = not column
        return [_ids(column) for column in columns]

    def _append(self, tab: Tab, pending: dict[int, list[Any]], present: dict[int, int]) -> int:
        """Append the pending rows the Sheet lacks, once; return how many went in."""
        tab.rows = pending
        for attempt in range(1, self.attempts + 1):
            tab.positions = {i: present[i] for i in pending if i in present}
            missing = [i for i in pending if i not in present]
            if not missing:
                return 0
            values = [pending[i] for i in missing]
            header = tab.empty  # a worksheet someone made by hand, still blank
            if header:
                values.insert(0, list(tab.columns))
            try:
                answer = self.http.values_append(
                    self.key, f"{_quoted(tab.title)}!A1",
                    params={"valueInputOption": ValueInputOption.raw,
                            "insertDataOption": InsertDataOption.insert_rows},
                    body={"majorDimension": "ROWS", "values": values},
                )  # fmt: skip
            except _Retryable:
                # The append may have landed: look again before sending it a second time.
                time.sleep(self.http.backoff(attempt))
                present = self._present(tab)[0]
                continue
            first = _first_row(answer["updates"]["updatedRange"]) + int(header)
            tab.positions |= {i: first + n for n, i in enumerate(missing)}
            return len(missing)
        raise SheetUnreachable(f"Google Sheets did not confirm the append to {tab.title}")

    def _rewrite(self, tab: Tab, rows: list[list[Any]]) -> int:
        self.http.values_clear(self.key, _quoted(tab.title))
        self.http.values_update(
            self.key, f"{_quoted(tab.title)}!A1",
            params={"valueInputOption": ValueInputOption.raw},
            body={"majorDimension": "ROWS", "values": [list(tab.columns), *rows]},
        )  # fmt: skip
        tab.rows = dict(enumerate(rows))
        tab.positions = {n: n + 1 for n in range(len(rows))}
        return len(rows)

    def _format(self, tabs: list[Tab]) -> None:
        """Dates shown as dates and booking URLs as links, for every row written this run."""
        requests_ = [r for tab in tabs for r in _format_requests(tab)]
        if requests_:
            self.http.batch_update(self.key, {"requests": requests_})

    # -- sync state

    def _state(self, db: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
        rows = db.query("SELECT * FROM sheet_sync WHERE spreadsheet_key = ?", [self.key])
        return {row["worksheet"]: row for row in rows}

    def _mark(self, db: sqlite_utils.Database, pending: Pending) -> None:
        stamp = datetime.now(UTC).isoformat()
        with transaction(db):
            for worksheet, ids in (("Offers", pending.offers), ("Runs", pending.runs)):
                if ids:
                    self._save(db, worksheet, max(ids), None, stamp)
            if pending.current_digest is not None:
                self._save(db, "Current", None, pending.current_digest, stamp)

    def _save(self, db: sqlite_utils.Database, worksheet: str, last_id: int | None,
              digest: str | None, stamp: str) -> None:  # fmt: skip
        db.execute(
            "INSERT INTO sheet_sync (spreadsheet_key, worksheet, last_id, digest, synced_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (spreadsheet_key, worksheet) DO UPDATE SET"
            " last_id = excluded.last_id, digest = excluded.digest, synced_at = excluded.synced_at",
            [self.key, worksheet, last_id, digest, stamp],
        )

    def _explain(self, exc: APIError) -> SheetsError:
        status = exc.response.status_code
        detail = exc.error.get("message", "")
        if status == HTTPStatus.NOT_FOUND:
            return SheetNotFound(
                f"spreadsheet {self.key!r} was not found ({detail}): check spreadsheet_key in"
                " [sheets], the id between /d/ and /edit in the sheet's address"
            )
        if status == HTTPStatus.FORBIDDEN:
            return SheetNotShared(
                f"{self.client_email} may not open spreadsheet {self.key!r} ({detail}): share the"
                f" sheet with {self.client_email} as Editor, and check spreadsheet_key in [sheets]"
            )
        if status == HTTPStatus.UNAUTHORIZED:
            return SheetCredentialsRefused(f"{SheetCredentialsRefused.__doc__} ({detail})")
        if status == HTTPStatus.TOO_MANY_REQUESTS or status >= 500:
            return SheetUnreachable(f"{SheetUnreachable.__doc__} ({status}: {detail})")
        return SheetsError(f"Google Sheets refused the update ({status}: {detail})")


def _ids(values: list[list[Any]]) -> dict[int, int]:
    """Row index of each numeric id in a column read back (the header and blanks skipped)."""
    found: dict[int, int] = {}
    for index, row in enumerate(values):
        try:
            found[int(float(row[0]))] = index
        except (IndexError, TypeError, ValueError):
            continue
    return found


def _format_requests(tab: Tab) -> Iterator[dict[str, Any]]:
    by_row = {tab.positions[i]: tab.rows[i] for i in tab.positions}
    for start, end in _blocks(by_row):
        for index, column in enumerate(tab.columns):
            if column in DATE_COLUMNS or column in TIME_COLUMNS:
                pattern = _DATE_FORMAT if column in DATE_COLUMNS else _TIME_FORMAT
                yield {"repeatCell": {"range": tab.grid(start, end, index),
                                      "cell": {"userEnteredFormat": {"numberFormat": pattern}},
                                      "fields": "userEnteredFormat.numberFormat"}}  # fmt: skip
        if "url" in tab.columns:
            url = tab.columns.index("url")
            cells = [_link(by_row[r][url]) for r in range(start, end)]
            yield {"updateCells": {"range": tab.grid(start, end, url),
                                   "rows": [{"values": [c]} for c in cells],
                                   "fields": "userEnteredFormat.textFormat.link"}}  # fmt: skip


def _link(url: Any) -> dict[str, Any]:
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return {"userEnteredFormat": {"textFormat": {"link": {"uri": url}}}}
    return {}


def _service_account(settings: SheetsSettings) -> dict[str, Any]:
    """The service-account key: the JSON itself in the environment variable, or a path to it."""
    value = secret(settings.credentials_env).strip()
    where = f"environment variable {settings.credentials_env}"
    if not value.startswith("{"):
        where = f"{value} (from {settings.credentials_env})"
        try:
            value = Path(value).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"sheets: cannot read the service-account key {where}: {exc}"
            ) from None
    try:
        account = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"sheets: the service-account key in {where} is not JSON: {exc}"
        ) from None
    if not isinstance(account, dict) or account.get("type") != "service_account":
        raise ConfigError(
            f"sheets: {where} does not hold a service-account key (type service_account)"
        )
    if settings.token_uri:
        account["token_uri"] = settings.token_uri
    return account
