"""Secrets stay secret: with a Telegram token, a webhook signing key, a Messenger page token,
Apprise URLs with a password and a token, and a Google service-account key set in the
environment, the bot runs against stand-ins that refuse everything (so errors are logged and
stored), with ``--log-format json -v``. None of the values may show in the output, the logs,
any table of the database, the spreadsheet file, or the text of an error."""

from __future__ import annotations

import asyncio
import base64
import json
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import cli
from fake_graph import FakeGraph, Person
from fake_sheets import FakeSheets
from fake_telegram import FakeTelegram
from openpyxl import load_workbook
from receiver import Answer, Receiver, Request, queue_events, receiver

from notifiers.apprise import AppriseNotifier
from notifiers.base import Notifier
from notifiers.messenger import MessengerNotifier
from notifiers.telegram import TelegramNotifier
from notifiers.webhook import WebhookNotifier
from offers.errors import AwardwatchError
from runner.deliver import drain
from settings.config import NotifierConfig, SheetsSettings
from storage.db import connect
from storage.sheets import GoogleSheet

TELEGRAM_TOKEN = "987654321:AAsecretTelegramTokenZZ9yy8xx7"
HOOK_KEY = "whsecSecretHookKey7766"
PAGE_TOKEN = "EAAsecretPageToken778899"
APPRISE_PASSWORD = "SecretPass5544"
APPRISE_TOKEN = "SecretPathToken6633"
SA_KEY_ID = "secretkeyid0044"
SA_EMAIL = "awardwatch@secret-test.iam.gserviceaccount.com"
SHEET_KEY = "1SecretsSheetKey"
ENV_NAMES = {
    "telegram": "AW_SECRET_TELEGRAM",
    "hook": "AW_SECRET_HOOK",
    "page": "AW_SECRET_PAGE",
    "apprise": "AW_SECRET_APPRISE",
    "account": "AW_SECRET_ACCOUNT",
}


def echo(request: Request) -> Answer:
    """A service that fails and, as some do, repeats the request back in its error."""
    return Answer(500, {"error": "internal", "path": request.path, "headers": request.headers,
                        "body": request.body.decode(errors="replace")[:500]})  # fmt: skip


@pytest.fixture
def stand_ins() -> Iterator[dict[str, Any]]:
    with FakeTelegram() as telegram, receiver() as hook, receiver() as apprise_endpoint, \
            FakeGraph(people={"psid-1": Person(last_interaction=datetime.now(UTC))}) as graph:  # fmt: skip
        hook.responder = echo
        apprise_endpoint.responder = echo
        sheets = FakeSheets().serve()
        account = sheets.add_account(SA_EMAIL) | {"private_key_id": SA_KEY_ID}
        sheets.add_spreadsheet(SHEET_KEY, shared_with={"someone-else@example.com"})  # not shared
        yield {"telegram": telegram, "hook": hook, "apprise": apprise_endpoint, "graph": graph,
               "sheets": sheets, "account": account}  # fmt: skip
        sheets.close()


def apprise_url(endpoint: Receiver) -> str:
    return f"json://awuser:{APPRISE_PASSWORD}@127.0.0.1:{endpoint.port}/{APPRISE_TOKEN}"


def environment(stand_ins: dict[str, Any]) -> dict[str, str]:
    return {
        ENV_NAMES["telegram"]: TELEGRAM_TOKEN,
        ENV_NAMES["hook"]: HOOK_KEY,
        ENV_NAMES["page"]: PAGE_TOKEN,
        ENV_NAMES["apprise"]: apprise_url(stand_ins["apprise"]),
        ENV_NAMES["account"]: json.dumps(stand_ins["account"]),
    }


def secrets(stand_ins: dict[str, Any]) -> dict[str, str]:
    """Each value that must never show, by name; the private key by several of its lines."""
    pem = [line for line in stand_ins["account"]["private_key"].splitlines() if len(line) > 40]
    found = {
        "telegram token": TELEGRAM_TOKEN,
        "telegram token secret part": TELEGRAM_TOKEN.split(":")[1],
        "webhook key": HOOK_KEY,
        "page token": PAGE_TOKEN,
        "apprise password": APPRISE_PASSWORD,
        "apprise token": APPRISE_TOKEN,
        "apprise url": apprise_url(stand_ins["apprise"]),
        "apprise basic auth": base64.b64encode(f"awuser:{APPRISE_PASSWORD}".encode()).decode(),
        "service account key id": SA_KEY_ID,
    }
    found |= {f"private key line {n}": line for n, line in enumerate(pem[:: max(1, len(pem) // 5)])}
    return found


def leaks(text: str, stand_ins: dict[str, Any]) -> list[str]:
    return [name for name, value in secrets(stand_ins).items() if value in text]


def notifier_tables(stand_ins: dict[str, Any]) -> str:
    telegram, hook, graph = stand_ins["telegram"], stand_ins["hook"], stand_ins["graph"]
    return f"""
[[notifiers]]
name = "telegram"
type = "telegram"
token_env = "{ENV_NAMES["telegram"]}"
base_url = "{telegram.base_url}"
chats = [{{chat = "-100500"}}]
chat_interval = 0
timeout = 5

[[notifiers]]
name = "hook"
type = "webhook"
url = "{hook.url}/in"
secret_env = "{ENV_NAMES["hook"]}"

[[notifiers]]
name = "apprise"
type = "apprise"
urls_env = "{ENV_NAMES["apprise"]}"
chat_interval = 0

[[notifiers]]
name = "messenger"
type = "messenger"
page_token_env = "{ENV_NAMES["page"]}"
base_url = "{graph.base_url}"
chat_interval = 0
recipients = [{{id = "psid-1", last_interaction = "{datetime.now(UTC).isoformat()}"}}]
"""


def dump(db_path: Path) -> str:
    """Every row of every table of the database, as text."""
    db = connect(db_path)
    rows = [json.dumps(row, default=str) for name in db.table_names() for row in db[name].rows]
    return "\n".join(rows)


def xlsx_text(path: Path) -> str:
    book = load_workbook(path)
    return "\n".join(str(cell.value) for sheet in book.worksheets for row in sheet.iter_rows()
                     for cell in row if cell.value is not None)  # fmt: skip


def test_a_failing_run_leaks_no_secret(
    config_for: Any, stand_ins: dict[str, Any], tmp_path: Path
) -> None:
    sheets = stand_ins["sheets"]
    tables = notifier_tables(stand_ins)
    with_sheet = config_for(only=["skydeals"], extra=tables + f"""
[sheets]
spreadsheet_key = "{SHEET_KEY}"
credentials_env = "{ENV_NAMES['account']}"
api_base = "{sheets.api_base}"
""")  # fmt: skip
    env = environment(stand_ins)
    first = cli(
        "--config", str(with_sheet), "--log-format", "json", "-v", "once", "--json", env=env
    )
    # the same database, now with the XLSX sink: the file holds every run and its errors
    local = config_for(only=["skydeals"], extra=tables)
    second = cli("--config", str(local), "--log-format", "json", "-v", "once", "--json", env=env)

    output = "\n".join([first.stdout, first.stderr, second.stdout, second.stderr])
    assert '"runs"' in first.stdout and '"runs"' in second.stdout, output[-3000:]
    # the run really failed at every service, and said so
    assert "sink sheets failed" in first.stderr
    assert stand_ins["telegram"].calls and stand_ins["hook"].requests
    assert stand_ins["apprise"].requests
    database = dump(tmp_path / "bot.db")
    assert "HTTP 500" in database and "rejected the bot token" in database
    leaking = [f"{leaks(line, stand_ins)}: {line[:300]}" for line in output.splitlines()
               if leaks(line, stand_ins)]  # fmt: skip
    assert not leaking, "secrets in the output:\n" + "\n".join(leaking[:6])
    assert leaks(database, stand_ins) == []
    assert leaks(xlsx_text(tmp_path / "offers.xlsx"), stand_ins) == []


# -- the same refusals in-process: the error texts themselves --------------------------------


def failing_notifiers(stand_ins: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[Notifier]:
    for name, value in environment(stand_ins).items():
        monkeypatch.setenv(name, value)
    telegram, hook, graph = stand_ins["telegram"], stand_ins["hook"], stand_ins["graph"]
    return [
        TelegramNotifier(NotifierConfig(name="telegram", type="telegram",
                                        token_env=ENV_NAMES["telegram"], base_url=telegram.base_url,
                                        chats=[{"chat": "-100500"}], chat_interval=0)),
        WebhookNotifier(NotifierConfig(name="hook", type="webhook", url=f"{hook.url}/in",
                                       secret_env=ENV_NAMES["hook"])),
        AppriseNotifier(NotifierConfig(name="apprise", type="apprise",
                                       urls_env=ENV_NAMES["apprise"], chat_interval=0)),
        MessengerNotifier(NotifierConfig(name="messenger", type="messenger",
                                         page_token_env=ENV_NAMES["page"], base_url=graph.base_url,
                                         chat_interval=0, recipients=[{"id": "psid-1",
                                         "last_interaction": datetime.now(UTC).isoformat()}])),
    ]  # fmt: skip


def test_delivery_errors_and_sink_errors_name_no_secret(
    stand_ins: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    notifiers = failing_notifiers(stand_ins, monkeypatch)
    db = connect(":memory:")
    queue_events(db, 2, {n.name: n.recipients(None) if n.name != "telegram" else ["-100500"]  # type: ignore[arg-type]
                         for n in notifiers})  # fmt: skip

    async def go() -> Any:
        try:
            return await drain(db, notifiers)
        finally:
            for notifier in notifiers:
                await notifier.close()

    report = asyncio.run(go())
    assert report.sent == 0 and report.retrying + report.dead == 8
    errors = [row["last_error"] or "" for row in db.query("SELECT * FROM outbox")]
    assert all(errors), errors
    assert leaks("\n".join(errors), stand_ins) == []

    sheet = GoogleSheet(SheetsSettings(spreadsheet_key=SHEET_KEY,
                                       credentials_env=ENV_NAMES["account"],
                                       api_base=stand_ins["sheets"].api_base), base_delay=0.01)  # fmt: skip
    queue_events(db, 1, {})
    with pytest.raises(AwardwatchError) as caught:
        sheet.write(db)
    text = "".join(traceback.format_exception(caught.value)) + repr(caught.value)
    assert leaks(text, stand_ins) == []
