"""A local stand-in for the Graph API Send API (``POST /{version}/me/messages``) that keeps
Messenger's rules: a valid page token, the 24-hour standard messaging window per person,
marketing-message tokens, people who are no longer available, and rate limiting; errors in
Graph's own shape (``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from receiver import Answer, Receiver, Request

PAGE_TOKEN = "EAAG-test-page-token-0123456789"


@dataclass
class Person:
    last_interaction: datetime | None = None
    available: bool = True


@dataclass
class FakeGraph:
    version: str = "v23.0"
    people: dict[str, Person] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> PSID
    rate_limited: int = 0
    delivered: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (PSID, body)
    profile: dict[str, Any] = field(default_factory=dict)  # the Messenger profile last set

    def __post_init__(self) -> None:
        self.receiver = Receiver()
        self.receiver.responder = self.answer

    @property
    def base_url(self) -> str:
        return self.receiver.url

    def __enter__(self) -> FakeGraph:
        self.receiver.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.receiver.__exit__()

    def answer(self, request: Request) -> Answer:
        if urlsplit(request.path).path == f"/{self.version}/me/messenger_profile":
            if _token(request) != PAGE_TOKEN:
                return _error(400, "Invalid OAuth access token.", "OAuthException", 190, 463)
            self.profile = request.json()
            return Answer(200, {"result": "success"})
        if urlsplit(request.path).path != f"/{self.version}/me/messages":
            return _error(404, "Unknown path components", "OAuthException", 2500)
        if _token(request) != PAGE_TOKEN:
            return _error(400, "Invalid OAuth access token.", "OAuthException", 190, 463)
        if self.rate_limited:
            self.rate_limited -= 1
            return _error(400, "(#613) Calls to this api have exceeded the rate limit.",
                          "OAuthException", 613)  # fmt: skip
        return self._deliver(request.json())

    def _deliver(self, body: dict[str, Any]) -> Answer:
        recipient = body.get("recipient", {})
        if "notification_messages_token" in recipient:
            psid = self.tokens.get(recipient["notification_messages_token"])
            if psid is None:
                return _error(400, "Invalid notification messages token", "OAuthException", 100)
        else:
            psid = recipient.get("id", "")
            person = self.people.get(psid)
            if person is None:
                return _error(400, "No matching user found", "OAuthException", 100, 2018001)
            if not person.available:
                return _error(400, "This person isn't available right now.", "OAuthException",
                              551, 1545041)  # fmt: skip
            if body.get("messaging_type") != "MESSAGE_TAG" and not _in_window(person):
                return _error(400, "(#10) This message is sent outside of allowed window.",
                              "OAuthException", 10, 2018278)  # fmt: skip
        quick = body.get("message", {}).get("quick_replies", [])
        if len(quick) > 13 or any(len(q.get("title", "")) > 20 for q in quick):
            return _error(400, "(#100) Invalid quick replies", "OAuthException", 100)
        if len(body.get("message", {}).get("text", "")) >= 2000:
            return _error(400, "(#100) Length of param message[text] must be less than or "
                          "equal to 2000", "OAuthException", 100)  # fmt: skip
        self.delivered.append((psid, body))
        return Answer(200, {"recipient_id": psid, "message_id": f"m_{len(self.delivered)}"})


def _in_window(person: Person) -> bool:
    last = person.last_interaction
    return last is not None and datetime.now(UTC) - last < timedelta(hours=24)


def _token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ")
    return parse_qs(urlsplit(request.path).query).get("access_token", [""])[0]


def _error(status: int, message: str, kind: str, code: int, subcode: int | None = None) -> Answer:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code,
                             "fbtrace_id": "AbCdEfGh123"}  # fmt: skip
    if subcode is not None:
        error["error_subcode"] = subcode
    return Answer(status, {"error": error})
