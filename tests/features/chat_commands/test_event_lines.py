"""One chat line per event that the servers following a channel decide apart, on SQLite and
PostgreSQL, read as the chat worker would find it in the outbox: which lines are to be said
(pending), in whose words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.chat_commands.event_lines import TOO_LATE, settle_event_line
from core.features.chat_commands.queued import service_of
from core.outbox import store
from core.storage.tables import outbox

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
GUILD, OTHER = 111, 112
KEY = "notice:line:twitch:999:vip:bits:cheer-1"
REFUSED = "@viewer no VIP this time: the most temporary VIPs at once are already granted."
GRANTED = "viewer is a VIP until 2030-06-02 20:00 UTC."


def settle(
    engine: Engine, guild_id: int, text: str | None, at: datetime = T0, **decided: bool
) -> bool:
    with engine.begin() as conn:
        return settle_event_line(
            conn, Platform.TWITCH, guild_id, "999", KEY, at, text=text, **decided
        )


def to_say(engine: Engine) -> list[tuple[int, str]]:
    """The lines the chat worker would say: (guild, text)."""
    o = outbox.c
    query = sa.select(o.guild_id, o.payload).where(
        o.service == service_of(Platform.TWITCH), o.state == store.PENDING
    )
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(o.id)).all()
    return [(int(row.guild_id), json.loads(row.payload)["text"]) for row in rows]


def said(engine: Engine) -> None:
    """The chat worker said every pending line."""
    with engine.begin() as conn:
        conn.execute(
            outbox.update()
            .where(outbox.c.state == store.PENDING)
            .values(state=store.DONE, finished_at=T0)
        )


def test_a_refusal_waits_for_the_other_server_and_is_said_once(engine: Engine):
    assert settle(engine, GUILD, REFUSED, is_grant=False, is_settled=False)
    assert to_say(engine) == []  # the other server may still grant
    assert settle(engine, OTHER, REFUSED.replace("most", "MOST"), is_grant=False, is_settled=True)
    assert to_say(engine) == [(GUILD, REFUSED)]  # one line, the first refusal's words


def test_a_grant_takes_over_a_refusal_held_or_not_said_yet(engine: Engine):
    settle(engine, GUILD, REFUSED, is_grant=False, is_settled=False)
    assert settle(engine, OTHER, GRANTED, is_grant=True, is_settled=True)
    assert to_say(engine) == [(OTHER, GRANTED)]


def test_a_refusal_after_a_grant_is_not_said(engine: Engine):
    settle(engine, OTHER, GRANTED, is_grant=True, is_settled=False)
    assert not settle(engine, GUILD, REFUSED, is_grant=False, is_settled=True)
    assert to_say(engine) == [(OTHER, GRANTED)]  # the grant's line kept, not dropped


def test_a_grant_with_chat_notices_off_silences_the_refusal(engine: Engine):
    settle(engine, GUILD, REFUSED, is_grant=False, is_settled=False)
    assert not settle(engine, OTHER, None, is_grant=True, is_settled=True)
    assert to_say(engine) == []
    # Also a refusal decided after such a grant:
    with engine.begin() as conn:
        conn.execute(outbox.delete())
    settle(engine, OTHER, None, is_grant=True, is_settled=False)
    assert not settle(engine, GUILD, REFUSED, is_grant=False, is_settled=True)
    assert to_say(engine) == []


def test_the_last_server_saying_nothing_still_releases_the_refusal(engine: Engine):
    settle(engine, GUILD, REFUSED, is_grant=False, is_settled=False)
    assert settle(engine, OTHER, None, is_grant=False, is_settled=True)
    assert to_say(engine) == [(GUILD, REFUSED)]


def test_a_refusal_held_too_long_is_not_said(engine: Engine):
    settle(engine, GUILD, REFUSED, is_grant=False, is_settled=False)
    later = T0 + timedelta(minutes=30)  # the other server's call was retried that long

    assert not settle(engine, OTHER, REFUSED, later, is_grant=False, is_settled=True)

    assert to_say(engine) == []
    with engine.connect() as conn:
        [call] = store.of_guild(conn, GUILD)
    assert (call.state, call.result) == (store.DONE, TOO_LATE)


def test_a_grant_after_a_refusal_was_said_is_said_too(engine: Engine):
    """Rare (a server deciding after the others settled the event): the viewer still learns
    the VIP is theirs."""
    settle(engine, GUILD, REFUSED, is_grant=False, is_settled=True)
    said(engine)

    assert settle(engine, OTHER, GRANTED, is_grant=True, is_settled=True)
    assert to_say(engine) == [(OTHER, GRANTED)]
    assert not settle(engine, OTHER, GRANTED, is_grant=True, is_settled=True)  # once
