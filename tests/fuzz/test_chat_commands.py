"""Fuzz: stream chat lines through the real parser, Dispatcher, router and commands (SQLite).

Lines are mostly ``!<a real command or alias> <arbitrary arguments>`` from senders with arbitrary
badges. Property: no handler raises, no command fails (nothing logged at ERROR), and every reply
is a non-empty line of at most 500 characters.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.events import ChatMessageSent
from core.platforms.kick.webhook import InvalidPayload, UnusablePayload
from core.platforms.kick.webhook_events import parse_event
from tests.features.chat_commands.doubles import RecordingSender, replier_for
from tests.fuzz.conftest import record
from tests.fuzz.strategies import NASTY, kick_fixture
from tests.support.delivery import make_queued_calls

GUILD = 111
BROADCASTER = "123456789"
NOW = datetime.now(UTC).replace(microsecond=0)
BADGES = ["broadcaster", "moderator", "vip", "subscriber", "founder", "og", "", "\ud800"]


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def runtime(make_runtime):
    runtime = make_runtime(LOG_LEVEL="WARNING")
    runtime.guilds.set_kick_channel(GUILD, "broadcaster_channel", BROADCASTER)
    return runtime


def test_chat_lines_never_break_a_command(runtime):
    target = "chat-commands"
    sender = RecordingSender()
    runtime.chat_commands.replies = replier_for(sender)
    names = runtime.chat_commands.names
    errors = Errors()
    logging.getLogger("core").addHandler(errors)
    arguments = st.one_of(st.text(max_size=120), st.sampled_from([str(value) for value in NASTY]))
    lines = st.one_of(
        st.builds(
            lambda name, case, args: f"!{name.upper() if case else name} {args}",
            st.sampled_from(names),
            st.booleans(),
            arguments,
        ),
        st.builds(lambda name: f"!{name}", st.sampled_from(names)),
        st.text(max_size=200),
    )
    counter = iter(range(10**9))

    @given(
        lines,
        st.lists(st.sampled_from(BADGES), max_size=3),
        st.one_of(st.integers(1, 10**6), st.sampled_from(NASTY)),
    )
    def check(line: str, badges: list[str], sender_id: Any) -> None:
        payload = kick_fixture("chat.message.sent")
        payload |= {"content": line, "message_id": f"fuzz-{next(counter)}"}
        payload["created_at"] = NOW.isoformat()
        payload["sender"]["identity"]["badges"] = [{"type": badge} for badge in badges]
        payload["sender"]["user_id"] = sender_id
        before = len(sender.sent)
        try:
            event = parse_event("chat.message.sent", payload, message_id="01M", delivered_at=NOW)
        except (InvalidPayload, UnusablePayload):
            record(target, "refused by the parser")
            return
        assert isinstance(event, ChatMessageSent)

        async def deliver() -> None:
            await runtime.dispatcher(event)
            await runtime.chat_commands.flush()
            await make_queued_calls(runtime)

        try:
            asyncio.run(deliver())
            assert errors.records == [], [r.getMessage() for r in errors.records]
            replies = sender.texts[before:]
            assert all(0 < len(reply) <= 500 for reply in replies), replies
        except Exception:
            record(target, "error")
            raise
        record(target, "answered" if replies else "silent")

    try:
        check()
    finally:
        logging.getLogger("core").removeHandler(errors)
