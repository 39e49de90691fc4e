"""The web panel: the bot's database in Datasette, read-only, for analysts in a browser.

Offers, their price history, alerts sent and source health, with the table and column
descriptions, facets and canned queries of ``panel/metadata.yaml``. The database is opened
with SQLite's ``mode=ro`` rather than ``immutable=1``: the bot keeps writing it (WAL), and an
immutable reader would not see those writes. Writes through Datasette are refused as well.

It shows offers, not people: only the tables in PUBLIC_TABLES can be opened, every other
table (subscribers, their watches, the outbox with its chat ids, the Sheet's key) is hidden,
and below Datasette an SQLite authorizer reads any column of theirs as NULL, so not even a
query can get at them. Arbitrary SQL is off unless asked for (``--allow-sql``); CSV exports
are formula-safe. Bound to anything but the local machine, the panel asks for a password of
at least MIN_PASSWORD characters (HTTP basic auth) and throttles failed logins.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import logging
import math
import os
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from datasette import hookimpl
from datasette.app import Datasette
from datasette.database import Database
from datasette.plugins import pm
from datasette.utils.asgi import Base400, Request, Response
from datasette.views.base import DatasetteError
from markupsafe import Markup

from offers.errors import AwardwatchError, ConfigError
from offers.places import airport_location
from panel.export import FormulaSafeCSV
from settings.config import Config

log = logging.getLogger("panel.app")

#: The name the bot's database has in the panel's URLs, whatever its file is called.
DATABASE = "awardwatch"
METADATA = Path(__file__).resolve().parent / "metadata.yaml"
DEFAULT_PASSWORD_ENV = "AWARDWATCH_PANEL_PASSWORD"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: The tables the panel shows. Any other table, today's or a future migration's, is hidden.
PUBLIC_TABLES = frozenset({"offers", "events", "runs", "paused"})
#: Columns of other tables that canned queries read, and that hold nobody's data.
PUBLIC_COLUMNS = frozenset({
    ("outbox", "id"), ("outbox", "event_id"), ("outbox", "target"), ("outbox", "status"),
    ("outbox", "attempts"), ("outbox", "next_attempt"), ("outbox", "created"),
    ("outbox", "sent_at"), ("outbox", "last_error"),
})  # fmt: skip
MIN_PASSWORD = 12
SETTINGS = {
    "default_page_size": 50,
    "sql_time_limit_ms": 3000,
    "facet_time_limit_ms": 500,
    # a shared 2-core machine: no speculative facet queries on every table page
    "suggest_facets": False,
    "allow_download": False,
    # arbitrary SQL only with --allow-sql; the canned queries always run
    "default_allow_sql": False,
    # exports are rewritten formula-safe in one piece, at most max_returned_rows rows
    "allow_csv_stream": False,
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class PanelError(ConfigError):
    """The web panel cannot start"""


class NoDatabase(PanelError):
    """The bot's database does not exist yet: run the bot once first"""


class PasswordRequired(PanelError):
    """A panel reachable from other machines needs a password"""


class PasswordTooShort(PanelError):
    """The panel's password is too short"""


class ReadOnlyPanel(AwardwatchError):
    """The panel is read-only: it never writes the bot's database"""


class ReadOnlyDatabase(Database):
    """The bot's database as the panel sees it: read connections (``mode=ro``) only."""

    def connect(self, write: bool = False) -> sqlite3.Connection:
        if write:
            raise ReadOnlyPanel()
        connection: sqlite3.Connection = super().connect(write=False)
        return connection

    async def execute_write_fn(self, fn: Any, block: bool = True) -> Any:
        raise ReadOnlyPanel()


@hookimpl
def prepare_connection(conn: sqlite3.Connection, database: str) -> None:
    """SQL functions ``airport_latitude(code)`` and ``airport_longitude(code)`` for maps,
    registered on the panel's connections instead of stored in the bot's database; and the
    authorizer that keeps people's data out of every query."""
    conn.create_function("airport_latitude", 1, _latitude, deterministic=True)
    conn.create_function("airport_longitude", 1, _longitude, deterministic=True)
    if database == DATABASE:  # not Datasette's own internal database
        conn.set_authorizer(_authorize)


def _authorize(
    action: int, table: str | None, column: str | None, database: str | None, trigger: str | None
) -> int:
    """Columns of hidden tables read as NULL, whatever the query (SQLITE_IGNORE): counting
    rows still works, reading what is in them does not."""
    if action != sqlite3.SQLITE_READ or not table or table in PUBLIC_TABLES:
        return sqlite3.SQLITE_OK
    if table == "pragma_database_list":  # the database file's path
        return sqlite3.SQLITE_IGNORE
    if table.startswith(("sqlite_", "pragma_", "json_")) or (table, column) in PUBLIC_COLUMNS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_IGNORE


@hookimpl
def permission_allowed(datasette: Datasette, actor: Any, action: str, resource: Any) -> Any:
    """Hidden tables cannot be opened, and nothing the panel serves writes."""
    if action == "view-table" and resource and resource[1].lower() not in PUBLIC_TABLES:
        return False
    if action in WRITE_ACTIONS:
        return False
    return None


WRITE_ACTIONS = frozenset({
    "insert-row", "delete-row", "update-row", "create-table", "alter-table", "drop-table",
})  # fmt: skip


def _latitude(code: str | None) -> float | None:
    location = airport_location(code)
    return location[0] if location else None


def _longitude(code: str | None) -> float | None:
    location = airport_location(code)
    return location[1] if location else None


#: Column descriptions fold away above a table instead of pushing its rows off the screen.
_FOLD_DESCRIPTIONS = """
document.querySelectorAll("dl.column-descriptions").forEach(function (list) {
  var fold = document.createElement("details");
  fold.className = "column-descriptions-fold";
  fold.innerHTML = "<summary>What the columns mean</summary>";
  list.parentNode.insertBefore(fold, list);
  fold.appendChild(list);
});
"""


@hookimpl
def extra_body_script(view_name: str) -> str:
    return _FOLD_DESCRIPTIONS if view_name == "table" else ""


@hookimpl
def handle_exception(datasette: Datasette, request: Request, exception: Exception) -> Any:
    """Every error as an error page or JSON; server errors logged with their traceback.

    It replaces Datasette's own handler, which prints each error with ``rich`` when that is
    installed: outside an ``except`` block that print fails and turns every 404 into a 500.
    """
    status, message, title = _error(exception)

    async def page() -> Response:
        info = {"ok": False, "error": message, "status": status, "title": title}
        if request.path.endswith(".json"):
            return Response.json(info, status=status)
        template = datasette.jinja_env.select_template([f"{status}.html", "error.html"])
        context = dict(info, urls=datasette.urls, app_css_hash=datasette.app_css_hash(),
                       menu_links=lambda: [])  # fmt: skip
        return Response.html(await template.render_async(context), status=status)

    return page


def _error(exception: Exception) -> tuple[int, Any, str | None]:
    """Status, message and title of an error page."""
    if isinstance(exception, Base400):
        return exception.status, exception.args[0] if exception.args else "", None
    if isinstance(exception, DatasetteError):
        message = Markup(exception.message) if exception.message_is_html else exception.message
        return exception.status, message, exception.title
    log.error("panel error: %s", exception, exc_info=exception)
    return 500, str(exception), None


def _register_plugin() -> None:
    # this module is the plugin (Datasette lists plugins by module name); its error handler
    # stands in for the default one
    if pm.get_plugin("awardwatch-panel") is None:
        pm.register(sys.modules[__name__], name="awardwatch-panel")
    if pm.get_plugin("datasette.handle_exception") is not None:
        pm.unregister(name="datasette.handle_exception")


def metadata(path: Path = METADATA) -> dict[str, Any]:
    """The panel's Datasette metadata: descriptions, facets, sort orders, canned queries."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def build(config: Config, *, allow_sql: bool = False) -> Datasette:
    """A Datasette instance on the bot's database, read-only, with the panel's metadata."""
    path = Path(config.bot.database)
    if not path.is_file():
        raise NoDatabase(f"no database at {path}: run the bot once first (scheduler.py once)")
    _register_plugin()
    settings = {**SETTINGS, "default_allow_sql": allow_sql}
    datasette = Datasette(memory=False, metadata=metadata(), settings=settings)
    datasette.add_database(ReadOnlyDatabase(datasette, path=str(path), is_mutable=True), DATABASE)
    # without files Datasette adds an in-memory database; the panel shows only the bot's
    datasette.remove_database("_memory")
    return datasette


def is_local(host: str) -> bool:
    return host in LOCAL_HOSTS


def panel_password(host: str, password_env: str | None) -> str | None:
    """The password the panel asks for, or None when it need not ask (local and none set)."""
    name = password_env or DEFAULT_PASSWORD_ENV
    password = os.environ.get(name)
    if password and len(password) < MIN_PASSWORD and not is_local(host):
        raise PasswordTooShort(
            f"the panel on {host} is reachable from other machines: its password ({name}) needs"
            f" at least {MIN_PASSWORD} characters"
        )
    if password:
        return password
    if is_local(host):
        return None
    raise PasswordRequired(
        f"the panel on {host} is reachable from other machines: set the environment variable"
        f" {name} to its password, or bind it to 127.0.0.1"
    )


class GetOnly:
    """Answers only GET and HEAD: the panel has nothing to post, and refusing other methods in
    front of Datasette keeps any form or API of it (or of a plugin) from writing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        headers = [(b"allow", b"GET, HEAD"), (b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 405, "headers": headers})
        await send({"type": "http.response.body", "body": b"the panel is read-only\n"})


class Introspection:
    """Datasette's ``/-/`` pages (databases with their file paths, settings, plugins,
    versions, actor) are not served; its static files are."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/-/") or path.startswith(("/-/static/", "/-/static-plugins/")):
            await self.app(scope, receive, send)
            return
        await _plain(send, 404, b"not found\n")


async def _plain(
    send: Send, status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    start = [(b"content-type", b"text/plain"), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})


class PasswordGate:
    """HTTP basic auth in front of an ASGI app: any user name, the panel's password. After
    ``free_failures`` wrong passwords from one address, that address waits (429) twice as long
    after each further failure, up to ``max_wait`` seconds; the right password clears it."""

    realm = b'Basic realm="awardwatch panel", charset="UTF-8"'
    free_failures = 5
    first_wait = 2.0
    max_wait = 300.0
    tracked = 10_000

    def __init__(self, app: ASGIApp, password: str) -> None:
        self.app = app
        self.password = password.encode()
        self.failures: dict[str, tuple[int, float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = str((scope.get("client") or ("?",))[0])
        wait = self._wait(client)
        if wait > 0:
            retry = [(b"retry-after", str(math.ceil(wait)).encode())]
            await _plain(send, 429, b"too many failed logins: wait and try again\n", retry)
            return
        if self._authorized(scope):
            self.failures.pop(client, None)
            await self.app(scope, receive, send)
            return
        if self._credentials(scope) is not None:
            self._failed(client)
        await _plain(send, 401, b"password required\n", [(b"www-authenticate", self.realm)])

    def _wait(self, client: str) -> float:
        count, until = self.failures.get(client, (0, 0.0))
        return until - time.monotonic() if count > self.free_failures else 0.0

    def _failed(self, client: str) -> None:
        count = self.failures.get(client, (0, 0.0))[0] + 1
        over = count - self.free_failures
        wait = min(self.max_wait, self.first_wait * 2.0 ** (over - 1)) if over > 0 else 0.0
        if len(self.failures) >= self.tracked and client not in self.failures:
            self.failures.pop(next(iter(self.failures)))  # the oldest address is forgotten
        self.failures[client] = (count, time.monotonic() + wait)

    def _credentials(self, scope: Scope) -> bytes | None:
        for name, value in scope.get("headers", []):
            if name.lower() == b"authorization" and value[:6].lower() == b"basic ":
                return bytes(value[6:])
        return None

    def _authorized(self, scope: Scope) -> bool:
        token = self._credentials(scope)
        return token is not None and self._matches(token)

    def _matches(self, token: bytes) -> bool:
        try:
            _, _, password = base64.b64decode(token, validate=True).partition(b":")
        except ValueError:
            return False
        return hmac.compare_digest(password, self.password)


def application(
    config: Config,
    host: str = "127.0.0.1",
    password_env: str | None = None,
    *,
    allow_sql: bool = False,
) -> ASGIApp:
    """The panel's ASGI app (Datasette starts up on the first request), behind a password
    when ``host`` asks for one."""
    password = panel_password(host, password_env)
    app: ASGIApp = FormulaSafeCSV(GetOnly(Introspection(build(config, allow_sql=allow_sql).app())))
    return PasswordGate(app, password) if password else app


def serve(
    config: Config,
    host: str = "127.0.0.1",
    port: int = 8001,
    password_env: str | None = None,
    *,
    allow_sql: bool = False,
) -> None:
    """Run the panel until interrupted."""
    import uvicorn

    app = application(config, host, password_env, allow_sql=allow_sql)
    print(f"awardwatch panel on http://{host}:{port}/ (Ctrl-C stops it)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``scheduler.py panel``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="port (default: 8001)")
    parser.add_argument(
        "--password-env",
        default=None,
        metavar="NAME",
        help=f"environment variable holding the password (default: {DEFAULT_PASSWORD_ENV});"
        f" required, of at least {MIN_PASSWORD} characters, when the host is not"
        " 127.0.0.1/localhost",
    )
    parser.add_argument(
        "--allow-sql",
        action="store_true",
        help="let panel users run their own SELECT queries (hidden tables still read as NULL)",
    )


def command(args: argparse.Namespace) -> int:
    """``scheduler.py panel``: load the config and serve the panel."""
    from settings import config as config_module

    config = config_module.load(args.config, check_env=False)
    serve(
        config,
        host=args.host,
        port=args.port,
        password_env=args.password_env,
        allow_sql=getattr(args, "allow_sql", False),
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m panel.app``: the panel on its own, same options as the CLI."""
    parser = argparse.ArgumentParser(prog="awardwatch-panel", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--config", default="config.toml", help="config file (default: config.toml)"
    )
    add_arguments(parser)
    try:
        return command(parser.parse_args(argv))
    except AwardwatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
