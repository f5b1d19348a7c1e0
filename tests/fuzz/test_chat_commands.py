"""Fuzz: stream chat lines through the real parser, Dispatcher, router and commands (SQLite).

Lines are mostly ``!<a real command or alias> <arbitrary arguments>`` from senders with arbitrary
badges, the arguments often strewn with invisible characters. Property: no handler raises, no
command fails (nothing logged at ERROR), and every reply is a non-empty line of at most 500
characters. And what the commands keep of such text (``clean_text``, a slot call's name and the
key duplicates are found by) holds no invisible character, and invisible characters added to a
slot name neither empty a visible one nor make it another slot. The router's parse of a line
(``parse_command``) keeps no invisible character in a command's name or arguments, and invisible
characters strewn in a command (the mark Chatterino and 7TV append to a repeat) change nothing.
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
from core.features.chat_commands.router import parse_command
from core.features.chat_commands.text import DEFAULT_IGNORABLE_RANGES, INVISIBLE, clean_text
from core.features.slot_calls.names import clean_slot_name, slot_key
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
# Default-ignorable characters (each range's ends and the grapheme joiner, variation selectors),
# and other invisible ones: what a viewer may hide in a slot name or a display name.
INVISIBLES = sorted(
    {chr(code) for low, high in DEFAULT_IGNORABLE_RANGES for code in (low, high)}
    | set("\u034f\ufe0e\ufe0f\u200d\u2800\x00\u0085\u2028\U000e0020\U000e0100")
)
invisible_text = st.text(st.sampled_from(INVISIBLES), max_size=8)
strewn = st.lists(st.one_of(st.text(max_size=6), invisible_text), max_size=12).map("".join)


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
    arguments = st.one_of(
        st.text(max_size=120), strewn, st.sampled_from([str(value) for value in NASTY])
    )
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


@given(strewn)
def test_cleaned_text_keeps_no_invisible_character(text: str) -> None:
    cleaned = clean_text(text)
    assert not INVISIBLE.intersection(cleaned), ascii(cleaned)
    assert clean_text(cleaned) == cleaned
    assert not INVISIBLE.intersection(slot_key(clean_slot_name(text))), ascii(text)
    record("clean-text", "empty" if not cleaned else "kept")


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ]{0,30}", fullmatch=True), invisible_text, st.data())
def test_invisible_characters_make_no_other_slot(name: str, hidden: str, data) -> None:
    at = data.draw(st.integers(0, len(name)))
    typed = name[:at] + hidden + name[at:]
    assert clean_slot_name(hidden) == ""
    assert slot_key(clean_slot_name(typed)) == slot_key(clean_slot_name(name)), ascii(typed)
    record("slot-names", "same slot")


# Invisible characters that are not whitespace: strewn into a line, they must vanish.
HIDDEN = st.text(st.sampled_from([c for c in INVISIBLES if c in INVISIBLE and not c.isspace()]))


@given(st.one_of(st.text(max_size=200), strewn, st.builds("!{}".format, strewn)))
def test_a_parsed_command_holds_no_invisible_character(line: str) -> None:
    parsed = parse_command(line)
    if parsed is None:
        record("parse-command", "not a command")
        return
    assert parsed.name
    assert not INVISIBLE.intersection(parsed.name + parsed.arguments), ascii(parsed)
    assert parse_command(clean_text(line)) == parsed
    record("parse-command", "with arguments" if parsed.arguments else "bare")


@given(
    st.from_regex(r"![A-Za-z]{1,12}( [A-Za-z0-9]{1,8}){0,3}", fullmatch=True),
    st.lists(st.tuples(st.integers(0, 60), HIDDEN), max_size=4),
)
def test_invisible_characters_strewn_in_a_command_change_nothing(
    line: str, hidden: list[tuple[int, str]]
) -> None:
    typed = line
    for at, text in sorted(hidden, reverse=True):
        typed = typed[:at] + text + typed[at:]
    assert parse_command(typed) == parse_command(line), ascii(typed)
    record("parse-command-strewn", "same command")
