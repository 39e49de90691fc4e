"""A local stand-in for the Telegram Bot API, for tests that drive python-telegram-bot.

It answers getMe, sendMessage, getUpdates, deleteWebhook and close on 127.0.0.1 the way
Telegram does: the same JSON envelopes and error bodies (429 with ``retry_after``, 400 for
HTML it cannot parse or a message that is too long, 403 for a chat that blocked the bot,
5xx), and it checks HTML parse mode as strictly as Telegram. It records every call, queues
updates for getUpdates, and can be told to fail or to answer slowly.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

TOKEN = "123456789:AAFakeTokenForTests-0123456789abcdef"
#: Tags Telegram's HTML parse mode accepts.
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                "span", "tg-spoiler", "tg-emoji", "blockquote"}  # fmt: skip
_ENTITY = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")
_BARE_LT = re.compile(r"<(?!/?[a-zA-Z])")


class EntityError(ValueError):
    """Telegram's 'can't parse entities' answer"""


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise EntityError(f'Unsupported start tag "{tag}"')
        if tag == "a" and not dict(attrs).get("href"):
            raise EntityError("Can't find href of a link")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise EntityError(f'Unmatched end tag "{tag}"')
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.text.append(html.unescape(f"&#{name};"))


def parse_html(text: str) -> str:
    """The visible text of an HTML-mode message, or EntityError as Telegram would refuse it."""
    for pattern, what in ((_ENTITY, "Character '&' is reserved"),
                          (_BARE_LT, "Character '<' is reserved")):  # fmt: skip
        bad = pattern.search(text)
        if bad:
            offset = len(text[: bad.start()].encode())
            raise EntityError(f"{what} and must be escaped, at byte offset {offset}")
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.open:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{checker.open[-1]}"')
    return "".join(checker.text)


@dataclass
class Failure:
    """An answer to give instead of the normal one, ``times`` times (to ``chat`` only, if set)."""

    method: str
    status: int
    description: str
    parameters: dict[str, Any] | None = None
    times: int = 1
    chat: str | None = None
    delay: float = 0.0


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str
    status: int = 0
    at: float = field(default_factory=time.monotonic)


class FakeTelegram:
    """The fake Bot API server. Use as a context manager; ``base_url`` goes to ``Bot``."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.failures: list[Failure] = []
        self.blocked: set[str] = set()
        self.updates: list[dict[str, Any]] = []
        self.admins: set[str] = set()  # "chat:user" pairs getChatMember calls administrators
        self.webhook: dict[str, Any] = {}
        self.confirmed = 0  # every update below this id was confirmed by an offset
        self._next_update = 1
        self._next_message = 1
        self._lock = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeTelegram:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._lock.notify_all()
        self.server.shutdown()
        self.server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/bot"

    # -- what a test asks of it ---------------------------------------------------------------

    def fail(self, method: str, status: int, description: str, **how: Any) -> None:
        """Answer the next ``method`` call(s) with this error; ``how``: the other Failure
        fields (``parameters``, ``times``, ``chat``, ``delay``)."""
        with self._lock:
            self.failures.append(Failure(method, status, description, **how))

    def slow(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Answer ``method`` normally, but only after ``seconds``."""
        self.fail(method, 200, "", times=times, delay=seconds)

    def block(self, chat: str) -> None:
        """The user ``chat`` blocked the bot: every send to it is 403 from now on."""
        self.blocked.add(str(chat))

    def user_says(
        self,
        chat: int,
        text: str,
        *,
        name: str = "Ada",
        kind: str = "private",
        user: int | None = None,
    ) -> int:
        """Queue a message from ``chat`` (sent by ``user``, in a group) for getUpdates; return
        its update id."""
        with self._lock:
            update_id = self._next_update
            self._next_update += 1
            chat_obj: dict[str, Any] = {"id": chat, "type": kind}
            if kind == "private":
                chat_obj["first_name"] = name
            else:
                chat_obj["title"] = name
            self.updates.append({"update_id": update_id, "message": {
                "message_id": 1000 + update_id, "date": int(time.time()), "chat": chat_obj,
                "from": {"id": user or abs(chat), "is_bot": False, "first_name": name},
                "text": text,
                "entities": [{"type": "bot_command", "offset": 0,
                              "length": len(text.split()[0])}] if text.startswith("/") else [],
            }})  # fmt: skip
            self._lock.notify_all()
        return update_id

    def sent(self, chat: str | None = None) -> list[dict[str, Any]]:
        """The sendMessage calls that Telegram accepted (to ``chat``, if given)."""
        return [c.params for c in self.calls if c.method == "sendMessage" and c.status == 200
                and (chat is None or str(c.params["chat_id"]) == str(chat))]  # fmt: skip

    def attempts(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    # -- the server ---------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                self._serve()

            def do_GET(self) -> None:  # noqa: N802
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                status, answer = fake.answer(self.path, self.headers.get("Content-Type", ""), body)
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def answer(self, path: str, content_type: str, body: str) -> tuple[int, dict[str, Any]]:
        parts = urlparse(path).path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            return 404, _error(404, "Not Found")
        token, method = parts[0][3:], parts[1]
        params = _params(content_type, body)
        call = Call(method, params, token)
        with self._lock:
            self.calls.append(call)
        if token != self.token:
            call.status = 401
            return 401, _error(401, "Unauthorized")
        failure = self._failure(method, params)
        if failure is not None:
            time.sleep(failure.delay)
            if failure.status != 200:
                call.status = failure.status
                return failure.status, _error(failure.status, failure.description,
                                              failure.parameters)  # fmt: skip
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return 404, _error(404, "Not Found: method not found")
        call.status, answer = handler(params)
        return call.status, answer

    def _failure(self, method: str, params: dict[str, Any]) -> Failure | None:
        with self._lock:
            for failure in self.failures:
                if (
                    failure.method == method
                    and failure.times > 0
                    and (failure.chat is None or failure.chat == str(params.get("chat_id")))
                ):
                    failure.times -= 1
                    return failure
        return None

    # -- methods --------------------------------------------------------------------------------

    def _m_getMe(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        return 200, {"ok": True, "result": {"id": int(self.token.split(":")[0]), "is_bot": True,
                                            "first_name": "Award Watch",
                                            "username": "award_watch_bot"}}  # fmt: skip

    def _m_sendMessage(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        chat = str(params.get("chat_id", ""))
        text = str(params.get("text", ""))
        if chat in self.blocked:
            return 403, _error(403, "Forbidden: bot was blocked by the user")
        if not text.strip():
            return 400, _error(400, "Bad Request: message text is empty")
        if params.get("parse_mode") == "HTML":
            try:
                text = parse_html(text)
            except EntityError as exc:
                return 400, _error(400, f"Bad Request: can't parse entities: {exc}")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return 400, _error(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        if markup:
            for row in json.loads(markup)["inline_keyboard"]:
                for button in row:
                    if not str(button.get("url", "")).startswith(("http://", "https://")):
                        return 400, _error(400, "Bad Request: inline keyboard button URL "
                                           "is invalid: Wrong HTTP URL")  # fmt: skip
        with self._lock:
            message_id = self._next_message
            self._next_message += 1
        chat_id: int | str = int(chat) if re.fullmatch(r"-?\d+", chat) else -1001234567890
        kind = "private" if isinstance(chat_id, int) and chat_id > 0 else "channel"
        return 200, {"ok": True, "result": {"message_id": message_id, "date": int(time.time()),
                                            "chat": {"id": chat_id, "type": kind},
                                            "text": text}}  # fmt: skip

    def _m_getUpdates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), 5.0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + wait
        with self._lock:
            self.confirmed = max(self.confirmed, offset)
            self.updates = [u for u in self.updates if u["update_id"] >= self.confirmed]
            while not self.updates and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())
            found = self.updates[:limit]
        return 200, {"ok": True, "result": found}

    def update(self, chat: int, text: str, **how: Any) -> dict[str, Any]:
        """An update as Telegram would post it to a webhook (not queued for getUpdates)."""
        with self._lock:
            self.user_says(chat, text, **how)
            return self.updates.pop()

    def _m_getChatMember(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        chat, user = str(params.get("chat_id")), str(params.get("user_id"))
        status = "administrator" if f"{chat}:{user}" in self.admins else "member"
        member: dict[str, Any] = {
            "status": status,
            "user": {"id": int(user), "is_bot": False, "first_name": "Member"},
        }
        if status == "administrator":
            member.update({flag: False for flag in (
                "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
                "can_manage_video_chats", "can_restrict_members", "can_promote_members",
                "can_change_info", "can_invite_users", "can_post_stories",
                "can_edit_stories", "can_delete_stories")})  # fmt: skip
        return 200, {"ok": True, "result": member}

    def _m_setWebhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        self.webhook = params
        return 200, {"ok": True, "result": True}

    def _m_deleteWebhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        return 200, {"ok": True, "result": True}

    def _m_close(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, {"ok": True, "result": True}


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def _params(content_type: str, body: str) -> dict[str, Any]:
    if not body:
        return {}
    if "json" in content_type:
        return dict(json.loads(body))
    return dict(parse_qsl(body, keep_blank_values=True))
