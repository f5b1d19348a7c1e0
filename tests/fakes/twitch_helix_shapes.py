"""What the fake Twitch's Helix routes share (``tests/fakes/twitch_helix.py``): the Twitch
fixtures, Helix's error envelope, a channel's and a chat message's records, and the reading of a
request's ``first``, cursor and JSON body, each refused as Helix refuses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.paging import BadCursor, offset_page

if TYPE_CHECKING:
    from tests.fakes.twitch_server import IssuedToken

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "twitch"
OTHER_CLIENT_ID = "twitch-dashboard-client-id"  # the client id of rewards made on twitch.tv


@cache
def fixture(name: str) -> Any:
    """A fixture by its path under tests/fixtures/twitch, e.g. ``helix/get_users.json``."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class Reply(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def helix_error(status: int, message: str) -> Reply:
    return Reply(status, {"error": HTTPStatus(status).phrase, "status": status, "message": message})


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeChannel:
    broadcaster_id: str
    vips: list[str] = field(default_factory=list)
    moderators: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)
    vip_slots: int = 10
    has_build_a_community: bool = True
    broadcaster_type: str = "affiliate"  # "", "affiliate" or "partner"
    subscribers: dict[str, dict[str, Any]] = field(default_factory=dict)
    vip_changes: list[tuple[str, datetime]] = field(default_factory=list)  # (kind, when)


@dataclass
class SentChatMessage:
    message_id: str
    broadcaster_id: str
    sender_id: str
    message: str
    reply_parent_message_id: str | None = None


def public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def without_email(user: dict[str, Any], caller: IssuedToken) -> dict[str, Any]:
    if caller.user_id == user["id"] and "user:read:email" in caller.scopes:
        return dict(user)
    return {k: v for k, v in user.items() if k != "email"}


def first_param(request: web.Request, *, default: int, high: int) -> int:
    raw = request.query.get("first")
    if raw is None:
        return default
    if not raw.isdecimal() or not 1 <= int(raw) <= high:
        raise helix_error(400, f"first must be 1 to {high}")
    return int(raw)


def page_of(items: list[Any], cursor: str | None, size: int) -> tuple[list[Any], str | None]:
    try:
        return offset_page(items, cursor, size)
    except BadCursor:
        raise helix_error(400, "The cursor is not valid") from None


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise helix_error(400, "The body must be a JSON object")
    return body
