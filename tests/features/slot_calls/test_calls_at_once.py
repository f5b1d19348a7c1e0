"""Several bot processes on one PostgreSQL handle one guild's ``!call`` messages at once: a
call's checks (the same slot open, the viewer's cooldown, their open calls) and its insert hold
the guild's lock, so a call made while another process is adding one waits for it and then
sees it. (SQLite's writers are serial: BEGIN IMMEDIATE.)

Another process's call is played by a connection that holds the guild's settings row, as a
call under way does, and adds its call; the test sees the second call wait in PostgreSQL's own
lock table, so nothing here depends on timing."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from core.events import Platform
from core.features.slot_calls import repository
from core.features.slot_calls.names import slot_key
from core.features.slot_calls.service import CallOutcome, SlotCallService, Verdict
from tests.features.chat_commands.doubles import BROADCASTER, T0, webhook_chat
from tests.features.slot_calls.conftest import GUILD
from tests.support.clock import Clock
from tests.support.locks import waits_for_a_lock


def _call_of_another_process(conn, user_id: str, slot: str) -> None:  # type: ignore[no-untyped-def]
    """What another process's call does in its transaction: the guild's row, then its insert."""
    conn.execute(
        sa.text("SELECT guild_id FROM slot_call_settings WHERE guild_id = :g FOR UPDATE"),
        {"g": GUILD},
    )
    repository.insert_call(
        conn,
        repository.NewSlotCall(
            guild_id=GUILD,
            event_key=f"other-process:{user_id}",
            platform=Platform.KICK,
            broadcaster_user_id=BROADCASTER,
            platform_user_id=user_id,
            username=f"viewer{user_id}",
            discord_user_id=None,
            slot_name=slot,
            slot_key=slot_key(slot),
            called_at=T0,
        ),
    )


@pytest.mark.parametrize(
    ("first", "second", "verdict"),
    [
        # two viewers call the same slot: it is queued once
        (("2", "Gates of Olympus"), ("1", "Gates of Olympus"), Verdict.ALREADY_OPEN),
        # one viewer calls twice: the second meets the cooldown
        (("1", "Book of Dead"), ("1", "Sugar Rush"), Verdict.COOLDOWN),
    ],
)
def test_a_call_made_while_another_process_adds_one_waits_and_then_sees_it(
    postgres_engine, first, second, verdict
):
    service = SlotCallService(postgres_engine, Clock(T0))
    service.set_enabled(GUILD, True)  # cooldown 30 s
    other = postgres_engine.connect()
    other.begin()
    _call_of_another_process(other, *first)
    user_id, slot = second
    event = webhook_chat(f"!call {slot}", sender_id=int(user_id), username=f"viewer{user_id}")
    outcomes: list[CallOutcome] = []
    caller = threading.Thread(target=lambda: outcomes.append(service.request(GUILD, event, slot)))
    caller.start()
    try:
        waited = waits_for_a_lock(caller, postgres_engine)
        assert waited, f"the call did not wait for the other process's: {outcomes[0].verdict}"
    finally:
        other.commit()
        other.close()
        caller.join()

    [outcome] = outcomes
    assert outcome.verdict == verdict
    assert [(c.platform_user_id, c.slot_name) for c in service.open_calls(GUILD, 10)] == [first]


def test_the_lock_is_the_guilds_own(postgres_engine):
    """A call in another guild does not wait for this one's."""
    service = SlotCallService(postgres_engine, Clock(T0))
    service.set_enabled(GUILD, True)
    service.set_enabled(GUILD + 1, True)
    other = postgres_engine.connect()
    other.begin()
    _call_of_another_process(other, "2", "Gates of Olympus")
    event = webhook_chat("!call Gates of Olympus", sender_id=1, username="viewer1")
    outcomes: list[CallOutcome] = []
    caller = threading.Thread(
        target=lambda: outcomes.append(service.request(GUILD + 1, event, "Gates of Olympus"))
    )
    caller.start()
    try:
        assert not waits_for_a_lock(caller, postgres_engine)
    finally:
        other.rollback()
        other.close()
        caller.join()
    assert [outcome.verdict for outcome in outcomes] == [Verdict.ACCEPTED]
