"""Watchtime never fails on an event the Kick parser accepted, however hostile its strings.

Before the parser cleaned its strings, a username with a lone surrogate or a sender id over 64
characters failed in ``record_chat`` on every delivery until the bus set the event aside. Here
hostile payloads go through the real parser, then the real Dispatcher, into watchtime on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from core.bus.dispatch import Dispatcher
from core.config import WatchtimeSettings
from core.events import ChatMessageSent
from core.features.viewers.tables import viewers
from core.features.watchtime.service import WatchtimeService
from core.features.watchtime.tables import watch_presence
from core.metrics import Metrics
from core.platforms.kick.webhook import InvalidPayload
from core.platforms.kick.webhook_events import parse_event
from tests.conftest import FIXTURES

NOW = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
GUILD = 111
USERNAMES = ["\ud800", "bad\udfffname", "nul\x00", "\x00", "ü" * 300, "😀\ud83d", "é" * 101]
SENDER_IDS: list[Any] = ["9" * 64, "9" * 65, "1\x00", "\ud800", 1e308, 2**63, 12.0]


def chat_payload(user_id: Any, username: Any, n: int) -> dict[str, Any]:
    payload = json.loads((FIXTURES / "kick" / "chat.message.sent.json").read_text())
    payload["message_id"] = f"hostile-{n}"
    payload["created_at"] = (NOW - timedelta(seconds=n)).isoformat()
    payload["sender"] |= {"user_id": user_id, "username": username}
    return payload


def test_record_chat_takes_every_event_the_parser_accepts(engine):
    service = WatchtimeService(engine, WatchtimeSettings(), clock=lambda: NOW)
    dispatcher = Dispatcher(
        {ChatMessageSent: [service.record_chat]},
        lambda _platform, _id, _via=None: [GUILD],
        Metrics(),
    )
    accepted: list[ChatMessageSent] = []
    refused = 0
    cases = [(uid, "alice") for uid in SENDER_IDS]
    cases += [(5000 + n, name) for n, name in enumerate(USERNAMES)]
    for n, (user_id, username) in enumerate(cases):
        try:
            event = parse_event(
                "chat.message.sent",
                chat_payload(user_id, username, n),
                message_id=f"01MSG{n}",
                delivered_at=NOW,
            )
        except InvalidPayload:
            refused += 1
            continue
        assert isinstance(event, ChatMessageSent)
        asyncio.run(dispatcher(event))  # raises if a handler fails
        accepted.append(event)

    assert refused == 5  # 65 characters, NUL, surrogate, 1e308 and 2**63 as a sender id
    with engine.connect() as conn:
        present = set(conn.execute(sa.select(watch_presence.c.platform_user_id)).scalars())
        names = set(conn.execute(sa.select(viewers.c.username)).scalars())
    assert present == {event.viewer.platform_user_id for event in accepted}
    assert present == {"9" * 64, "12"} | {str(5000 + n) for n in range(len(USERNAMES))}
    assert "bad\ufffdname" in names
    assert all("\x00" not in name and len(name) <= 100 for name in names)


@pytest.mark.parametrize("username", USERNAMES)
def test_a_hostile_username_is_stored_cleaned(engine, username):
    service = WatchtimeService(engine, WatchtimeSettings(), clock=lambda: NOW)
    event = parse_event(
        "chat.message.sent", chat_payload(7, username, 0), message_id="01M", delivered_at=NOW
    )
    assert isinstance(event, ChatMessageSent)

    service.record_chat(GUILD, event)

    with engine.connect() as conn:
        stored = conn.execute(sa.select(viewers.c.username)).scalars().all()
    assert stored == ([event.viewer.username] if event.viewer.username else [])
