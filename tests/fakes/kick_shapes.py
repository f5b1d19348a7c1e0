"""What the fake Kick's areas share (``tests/fakes/kick_server.py``): its client, scopes and
records, Kick's reply shapes (``{"data": ..., "message": "OK"}``, OAuth's ``{"error": ...}``) and
the reading of a request's numbers, cursors and JSON body, each refused as Kick refuses."""

from __future__ import annotations

import functools
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from core.platforms.kick.signing import generate_key_pair
from tests.fakes.paging import BadCursor, offset_page
from tests.fakes.threaded import json_or_none

CLIENT_ID = "fake-kick-client-id"
CLIENT_SECRET = "fake-kick-client-secret"
SCOPES: tuple[str, ...] = (
    "user:read",
    "channel:read",
    "channel:write",
    "channel:rewards:read",
    "channel:rewards:write",
    "chat:write",
    "streamkey:read",
    "events:subscribe",
    "moderation:ban",
    "moderation:chat_message:manage",
    "kicks:read",
)
APP_TOKEN_SECONDS = 5_184_000  # 60 days, as seen in Kick issue #239
TEN_YEARS_SECONDS = 10 * 365 * 24 * 3600
NO_BOT_MESSAGE = "Channel not found"


@dataclass
class RecordedRequest:
    method: str
    path: str
    auth: str  # "none", "user", "app" or "invalid" (a bearer token that is not a live access token)
    status: int
    query: dict[str, list[str]]
    json: Any = None
    answered_at: float = field(default_factory=time.monotonic)  # when the fake answered it


@dataclass
class IssuedToken:
    value: str
    kind: Literal["access", "refresh"]
    token_type: Literal["user", "app"]
    user_id: int | None
    scopes: tuple[str, ...]
    expires_at: datetime | None  # None: a refresh token, which does not expire
    revoked: bool = False


@dataclass
class AuthorizationCode:
    code: str
    redirect_uri: str
    code_challenge: str
    scopes: tuple[str, ...]
    user_id: int
    expires_at: datetime
    is_used: bool = False


@dataclass
class FakeChannel:
    slug: str
    broadcaster_user_id: int
    channel_id: int
    chatroom_id: int
    description: str = ""
    stream_title: str = ""
    category: dict[str, Any] | None = None
    is_live: bool = False
    viewer_count: int = 0
    started_at: datetime | None = None
    language: str = "en"
    is_mature: bool = False
    custom_tags: list[str] = field(default_factory=list)
    stream_key: str = field(default_factory=lambda: f"sk_{secrets.token_hex(8)}")


@dataclass
class SentChatMessage:
    message_id: str
    type: str
    content: str
    broadcaster_user_id: int
    sender_user_id: int
    reply_to_message_id: str | None = None


@dataclass
class Ban:
    broadcaster_user_id: int
    user_id: int
    duration_minutes: int | None
    reason: str | None


class Reply(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def api_error(status: int, message: str) -> Reply:
    return Reply(status, {"data": None, "message": message})


def oauth_error(status: int, error: str, description: str | None = None) -> Reply:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return Reply(status, body)


def ok(data: Any, **extra: Any) -> web.Response:
    return web.json_response({"data": data, **extra, "message": "OK"})


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.cache
def webhook_key_pair() -> tuple[RSAPrivateKey, str]:
    """The key pair every fake Kick in this process signs its webhooks with: making a 2048-bit
    RSA key takes about 80 ms of CPU, and no test wants two fakes with different keys (a test
    of a wrong signature makes its own stranger's key)."""
    return generate_key_pair()


def page_of(items: list[Any], cursor: str | None, size: int) -> tuple[list[Any], str | None]:
    try:
        return offset_page(items, cursor, size)
    except BadCursor:
        raise api_error(400, "invalid cursor") from None


def int_params(request: web.Request, name: str) -> list[int]:
    try:
        return [int(value) for value in request.query.getall(name, [])]
    except ValueError:
        raise api_error(400, f"{name} must be a whole number") from None


def int_param(request: web.Request, name: str, *, default: int) -> int:
    values = int_params(request, name)
    return values[0] if values else default


def body_int(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise api_error(400, f"{name} is required and must be a number")
    return value


async def json_object(request: web.Request) -> dict[str, Any]:
    body = await json_or_none(request)
    if not isinstance(body, dict):
        raise api_error(400, "the body must be a JSON object")
    return body
