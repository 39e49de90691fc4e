"""A local stand-in for Google's OAuth token endpoint and the Sheets v4 API, enough for
storage/sheets.py: spreadsheet metadata, values get / batchGet / append / update / clear and
batchUpdate (addSheet, updateCells, repeatCell, updateSheetProperties), with Google's error
bodies. It checks the service account's signed JWT, keeps a per-spreadsheet share list, can
run out of quota (429 with Retry-After) and can be told to fail or drop the next calls.

Cells keep what a real Sheet would: with USER_ENTERED input, text starting with = + - @ is
kept as a formula, so a test can tell whether anything was ever written as one.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt

STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
_CELL = re.compile(r"^([A-Z]*)(\d*)$")


class Formula(str):
    """A cell the Sheet would evaluate."""


@lru_cache(maxsize=1)
def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account(client_email: str, token_uri: str) -> dict[str, Any]:
    """A service-account key file's content, with a fresh RSA key, for the fake."""
    pem = _private_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        "type": "service_account",
        "project_id": "awardwatch-test",
        "private_key_id": "k1",
        "private_key": pem.decode(),
        "client_email": client_email,
        "client_id": "1",
        "token_uri": token_uri,
    }


def public_pem() -> str:
    return (
        _private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_index(letters: str) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number - 1


@dataclass
class Worksheet:
    sheet_id: int
    title: str
    index: int
    rows: int = 1000
    columns: int = 26
    frozen_rows: int = 0
    cells: dict[tuple[int, int], Any] = field(default_factory=dict)
    formats: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)

    def properties(self) -> dict[str, Any]:
        grid = {"rowCount": self.rows, "columnCount": self.columns}
        if self.frozen_rows:
            grid["frozenRowCount"] = self.frozen_rows
        return {"sheetId": self.sheet_id, "title": self.title, "index": self.index,
                "sheetType": "GRID", "gridProperties": grid}  # fmt: skip

    def last_row(self) -> int:
        return max((r for r, _ in self.cells), default=-1)

    def values(self) -> list[list[Any]]:
        """Every row as a list, trailing blanks trimmed (as the API answers)."""
        by_row: dict[int, dict[int, Any]] = {}
        for (r, c), value in self.cells.items():
            by_row.setdefault(r, {})[c] = value
        return [
            [by_row.get(r, {}).get(c, "") for c in range(max(by_row.get(r, {-1: 0})) + 1)]
            for r in range(self.last_row() + 1)
        ]

    def put(self, row: int, column: int, value: Any) -> None:
        if value is None or value == "":
            self.cells.pop((row, column), None)
        else:
            self.cells[(row, column)] = value
        self.rows = max(self.rows, row + 1)
        self.columns = max(self.columns, column + 1)


@dataclass
class Spreadsheet:
    key: str
    shared_with: set[str]
    title: str = "Award offers"
    sheets: list[Worksheet] = field(default_factory=list)

    def find(self, title: str) -> Worksheet | None:
        return next((s for s in self.sheets if s.title == title), None)


class ApiError(Exception):
    def __init__(self, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.headers = code, message, headers or {}


class FakeSheets:
    """The fake's state and switches; ``serve()`` starts it on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.accounts: dict[str, str] = {}  # client_email -> public key PEM
        self.tokens: dict[str, str] = {}
        self.calls: list[tuple[str, str]] = []
        self.token_requests = 0
        self._failures: list[tuple[int, dict[str, str]]] = []
        self.drop_appends = 0  # apply the next appends, then hang up without answering
        self.after_append: Callable[[], None] | None = None
        self.quota: int | None = None
        self.quota_retry_after = 1
        self._quota_used = 0
        self._quota_blocked_until = 0.0
        self.server: ThreadingHTTPServer | None = None

    # -- set-up and switches

    def add_spreadsheet(
        self, key: str, *, shared_with: set[str], sheets: tuple[str, ...] = ("Sheet1",)
    ) -> Spreadsheet:
        book = Spreadsheet(key, set(shared_with))
        for index, title in enumerate(sheets):
            book.sheets.append(Worksheet(index, title, index))
        self.spreadsheets[key] = book
        return book

    def add_account(self, client_email: str) -> dict[str, Any]:
        self.accounts[client_email] = public_pem()
        return service_account(client_email, self.token_uri)

    def fail_next(self, count: int, status: int = 503, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self.lock:
            self._failures += [(status, headers)] * count

    def heal(self) -> None:
        """Answer normally again."""
        with self.lock:
            self._failures.clear()

    def limit(self, calls: int, retry_after: int = 1) -> None:
        """Allow ``calls`` API calls, then answer 429 for ``retry_after`` seconds, and so on."""
        self.quota, self.quota_retry_after, self._quota_used = calls, retry_after, 0

    def worksheet(self, key: str, title: str) -> Worksheet:
        found = self.spreadsheets[key].find(title)
        assert found is not None, f"no worksheet {title}"
        return found

    # -- server

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def token_uri(self) -> str:
        return self.base + "/token"

    @property
    def api_base(self) -> str:
        return self.base + "/v4/spreadsheets"

    def serve(self) -> FakeSheets:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # -- request handling

    def token(self, form: dict[str, str]) -> dict[str, Any]:
        self.token_requests += 1
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            raise ApiError(400, "unsupported_grant_type")
        claims = jwt.decode(form.get("assertion", ""), verify=False)
        pem = self.accounts.get(claims.get("iss", ""))
        if pem is None:
            raise ApiError(400, "invalid_grant: Invalid grant: account not found")
        try:
            # google-auth signs for Google's token endpoint whatever token_uri it posts to.
            jwt.decode(form["assertion"], certs=pem, audience=GOOGLE_TOKEN_AUDIENCE)
        except ValueError as exc:
            raise ApiError(400, f"invalid_grant: Invalid JWT Signature. ({exc})") from None
        access = f"ya29.fake-{len(self.tokens)}"
        self.tokens[access] = claims["iss"]
        return {"access_token": access, "expires_in": 3599, "token_type": "Bearer"}

    def gate(self, authorization: str | None, key: str) -> Spreadsheet:
        """Quota, injected failures, authentication and sharing, in Google's order."""
        if self._failures:
            status, headers = self._failures.pop(0)
            raise ApiError(
                status,
                "The service is currently unavailable."
                if status >= 500
                else "Quota exceeded for quota metric 'Write requests'.",
                headers,
            )
        if self.quota is not None:
            now = time.monotonic()
            if now < self._quota_blocked_until:
                raise ApiError(429, "Quota exceeded for quota metric 'Requests' and limit "
                               "'Requests per minute per user'.",
                               {"Retry-After": str(self.quota_retry_after)})  # fmt: skip
            if self._quota_used >= self.quota:
                self._quota_used = 0
                self._quota_blocked_until = now + self.quota_retry_after
                raise ApiError(429, "Quota exceeded for quota metric 'Requests'.",
                               {"Retry-After": str(self.quota_retry_after)})  # fmt: skip
            self._quota_used += 1
        email = self.tokens.get((authorization or "").removeprefix("Bearer "))
        if email is None:
            raise ApiError(401, "Request had invalid authentication credentials.")
        book = self.spreadsheets.get(key)
        if book is None:
            raise ApiError(404, "Requested entity was not found.")
        if email not in book.shared_with:
            raise ApiError(403, "The caller does not have permission")
        return book

    def api(self, method: str, path: str, query: dict[str, list[str]], body: Any,
            authorization: str | None) -> dict[str, Any]:  # fmt: skip
        rest = path.removeprefix("/v4/spreadsheets/")
        key, _, tail = rest.partition("/values")
        key, _, action = key.partition(":")
        book = self.gate(authorization, unquote(key))
        if not tail:
            if method == "GET":
                return self.metadata(book)
            if action == "batchUpdate":
                return self.batch_update(book, body)
        elif tail == ":batchGet":
            return {
                "spreadsheetId": book.key,
                "valueRanges": [self.get(book, r) for r in query.get("ranges", [])],
            }
        else:
            quoted, _, verb = tail.removeprefix("/").partition(":")
            where = unquote(quoted)
            if method == "GET":
                return self.get(book, where)
            if verb == "append":
                return self.append(book, where, query, body)
            if verb == "clear":
                return self.clear(book, where)
            if method == "PUT":
                return self.update(book, where, query, body)
        raise ApiError(404, f"no such method {method} {path}")

    def metadata(self, book: Spreadsheet) -> dict[str, Any]:
        return {"spreadsheetId": book.key,
                "properties": {"title": book.title, "locale": "en_US", "timeZone": "Etc/GMT"},
                "sheets": [{"properties": s.properties()} for s in book.sheets]}  # fmt: skip

    def _range(
        self, book: Spreadsheet, a1: str
    ) -> tuple[Worksheet, int, int, int | None, int | None]:
        """Worksheet, first row, first column, end row, end column (exclusive; None: open)."""
        title, _, cells = a1.partition("!")
        if title.startswith("'"):
            title = title[1:-1].replace("''", "'")
        sheet = book.find(title)
        if sheet is None:
            raise ApiError(400, f"Unable to parse range: {a1}")
        if not cells:
            return sheet, 0, 0, None, None
        start, _, end = cells.partition(":")
        first = _CELL.match(start)
        last = _CELL.match(end or start)
        if first is None or last is None:
            raise ApiError(400, f"Unable to parse range: {a1}")
        row0 = int(first.group(2)) - 1 if first.group(2) else 0
        col0 = _column_index(first.group(1)) if first.group(1) else 0
        row1 = int(last.group(2)) if last.group(2) else None
        col1 = _column_index(last.group(1)) + 1 if last.group(1) else None
        return sheet, row0, col0, row1, col1

    def get(self, book: Spreadsheet, a1: str) -> dict[str, Any]:
        sheet, row0, col0, row1, col1 = self._range(book, a1)
        rows = [row[col0:col1] for row in sheet.values()[row0:row1]]
        while rows and not any(v != "" for v in rows[-1]):
            rows.pop()
        answer: dict[str, Any] = {"range": a1, "majorDimension": "ROWS"}
        if rows:
            answer["values"] = rows
        return answer

    def _write(
        self, sheet: Worksheet, row0: int, col0: int, values: list[list[Any]], raw: bool
    ) -> None:
        for r, row in enumerate(values):
            for c, value in enumerate(row):
                sheet.put(row0 + r, col0 + c, value if raw else _entered(value))

    def _input(self, query: dict[str, list[str]]) -> bool:
        option = query.get("valueInputOption", [""])[0]
        if option not in {"RAW", "USER_ENTERED"}:
            raise ApiError(400, "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
        return option == "RAW"

    def append(
        self, book: Spreadsheet, a1: str, query: dict[str, list[str]], body: Any
    ) -> dict[str, Any]:
        raw = self._input(query)
        sheet, _, col0, _, _ = self._range(book, a1)
        values = body.get("values", [])
        start = sheet.last_row() + 1
        self._write(sheet, start, col0, values, raw)
        width = max((len(r) for r in values), default=1)
        first, last = column_letter(col0), column_letter(col0 + width - 1)
        updated = f"{sheet.title}!{first}{start + 1}:{last}{start + len(values)}"
        return {"spreadsheetId": book.key, "tableRange": f"{sheet.title}!A1:Z{start}",
                "updates": {"spreadsheetId": book.key, "updatedRange": updated,
                            "updatedRows": len(values), "updatedColumns": width,
                            "updatedCells": sum(len(r) for r in values)}}  # fmt: skip

    def update(
        self, book: Spreadsheet, a1: str, query: dict[str, list[str]], body: Any
    ) -> dict[str, Any]:
        raw = self._input(query)
        sheet, row0, col0, _, _ = self._range(book, a1)
        values = body.get("values", [])
        self._write(sheet, row0, col0, values, raw)
        return {"spreadsheetId": book.key, "updatedRange": a1, "updatedRows": len(values)}

    def clear(self, book: Spreadsheet, a1: str) -> dict[str, Any]:
        sheet, row0, col0, row1, col1 = self._range(book, a1)
        for r, c in list(sheet.cells):
            if row0 <= r < (row1 or 10**9) and col0 <= c < (col1 or 10**9):
                del sheet.cells[(r, c)]
        return {"spreadsheetId": book.key, "clearedRange": a1}

    def batch_update(self, book: Spreadsheet, body: Any) -> dict[str, Any]:
        # All or nothing, as Google applies a batch.
        saved = copy.deepcopy(book.sheets)
        try:
            replies = [self._apply(book, n, r) for n, r in enumerate(body.get("requests", []))]
        except ApiError:
            book.sheets = saved
            raise
        return {"spreadsheetId": book.key, "replies": replies}

    def _apply(self, book: Spreadsheet, number: int, request: dict[str, Any]) -> dict[str, Any]:
        ((kind, spec),) = request.items()
        if kind == "addSheet":
            props = spec.get("properties", {})
            title = props.get("title", f"Sheet{len(book.sheets) + 1}")
            if book.find(title):
                raise ApiError(400, f"Invalid requests[{number}].addSheet: A sheet with the name "
                               f'"{title}" already exists. Please enter another name.')  # fmt: skip
            sheet_id = props.get("sheetId", max((s.sheet_id for s in book.sheets), default=0) + 1)
            grid = props.get("gridProperties", {})
            sheet = Worksheet(
                sheet_id,
                title,
                len(book.sheets),
                grid.get("rowCount", 1000),
                grid.get("columnCount", 26),
                grid.get("frozenRowCount", 0),
            )
            book.sheets.append(sheet)
            return {"addSheet": {"properties": sheet.properties()}}
        if kind == "updateSheetProperties":
            sheet = self._by_id(book, spec["properties"]["sheetId"])
            grid = spec["properties"].get("gridProperties", {})
            sheet.frozen_rows = grid.get("frozenRowCount", sheet.frozen_rows)
            return {}
        if kind == "updateCells":
            return self._update_cells(book, spec)
        if kind == "repeatCell":
            sheet, rows, columns = self._grid(book, spec["range"])
            for r in rows:
                for c in columns:
                    _merge(
                        sheet.formats.setdefault((r, c), {}),
                        spec["cell"].get("userEnteredFormat", {}),
                    )
            return {}
        raise ApiError(400, f"Invalid requests[{number}]: unsupported request {kind}")

    def _update_cells(self, book: Spreadsheet, spec: dict[str, Any]) -> dict[str, Any]:
        if "start" in spec:
            sheet = self._by_id(book, spec["start"]["sheetId"])
            row0, col0 = spec["start"].get("rowIndex", 0), spec["start"].get("columnIndex", 0)
        else:
            sheet, rows, columns = self._grid(book, spec["range"])
            row0, col0 = rows.start, columns.start
        for r, row in enumerate(spec.get("rows", [])):
            for c, cell in enumerate(row.get("values", [])):
                where = (row0 + r, col0 + c)
                entered = cell.get("userEnteredValue")
                if entered is not None:
                    value = entered.get(
                        "stringValue", entered.get("numberValue", entered.get("boolValue"))
                    )
                    if "formulaValue" in entered:
                        value = Formula(entered["formulaValue"])
                    sheet.put(*where, value)
                if "link" in spec.get("fields", "") and "userEnteredFormat" not in cell:
                    sheet.formats.get(where, {}).get("textFormat", {}).pop("link", None)
                _merge(sheet.formats.setdefault(where, {}), cell.get("userEnteredFormat", {}))
        return {}

    def _by_id(self, book: Spreadsheet, sheet_id: int) -> Worksheet:
        found = next((s for s in book.sheets if s.sheet_id == sheet_id), None)
        if found is None:
            raise ApiError(400, f"No grid with id: {sheet_id}")
        return found

    def _grid(self, book: Spreadsheet, grid: dict[str, Any]) -> tuple[Worksheet, range, range]:
        sheet = self._by_id(book, grid.get("sheetId", 0))
        rows = range(grid.get("startRowIndex", 0), grid.get("endRowIndex", sheet.rows))
        columns = range(grid.get("startColumnIndex", 0), grid.get("endColumnIndex", sheet.columns))
        return sheet, rows, columns


def _merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _entered(value: Any) -> Any:
    """What a person typing ``value`` gets: formulas for = + - @, numbers for numeric text."""
    if not isinstance(value, str):
        return value
    if value[:1] in {"=", "+", "-", "@"}:
        try:
            return float(value)
        except ValueError:
            return Formula(value)
    try:
        return float(value)
    except ValueError:
        return value


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSheets
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: the tests read ``fake.calls``, not the log."""

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        fake = self.fake
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with fake.lock:
            if url.path == "/token":
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                return self._token(form)
            fake.calls.append((method, unquote(url.path)))
            try:
                body = json.loads(raw) if raw else {}
                answer = fake.api(method, url.path, parse_qs(url.query), body,
                                  self.headers.get("Authorization"))  # fmt: skip
            except ApiError as exc:
                return self._error(exc)
            if url.path.endswith(":append"):
                if fake.after_append is not None:
                    fake.after_append()
                if fake.drop_appends:
                    fake.drop_appends -= 1
                    self.close_connection = True
                    return None
        self._send(200, answer)
        return None

    def _token(self, form: dict[str, str]) -> None:
        try:
            self._send(200, self.fake.token(form))
        except ApiError as exc:
            error, _, description = exc.message.partition(": ")
            self._send(exc.code, {"error": error, "error_description": description})

    def _error(self, exc: ApiError) -> None:
        body = {"error": {"code": exc.code, "message": exc.message,
                          "status": STATUS.get(exc.code, "UNKNOWN")}}  # fmt: skip
        self._send(exc.code, body, exc.headers)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
