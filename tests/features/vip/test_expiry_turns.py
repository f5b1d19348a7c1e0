"""Due VIPs take turns (on SQLite and PostgreSQL): the expiry job reads at most a batch of due
grants, those never tried first and then those tried longest ago, so grants whose removal keeps
failing (a guild whose Twitch is gone) never keep other guilds' grants from being removed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.vip import repository
from core.features.vip.repository import Grant

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)


def grant(conn, guild_id: int, user: str, expired_minutes_ago: int) -> int:  # type: ignore[no-untyped-def]
    expires = T0 - timedelta(minutes=expired_minutes_ago)
    return repository.add_grant(
        conn,
        Grant(0, guild_id, Platform.TWITCH, "42", user, user, "redemption",
              expires - timedelta(hours=24), expires),
    )  # fmt: skip


def test_grants_that_keep_failing_take_their_turn_behind_the_others(engine: Engine):
    with engine.begin() as conn:
        stuck = [grant(conn, 1, f"s{n}", expired_minutes_ago=60 + n) for n in range(3)]
        fresh = grant(conn, 2, "fresh", expired_minutes_ago=1)  # expired last

    with engine.begin() as conn:
        first = [g.id for g in repository.due_grants(conn, T0, limit=3)]
        repository.note_removal_error(conn, first, "Twitch is not connected", T0)
    with engine.begin() as conn:
        second = [g.id for g in repository.due_grants(conn, T0 + timedelta(minutes=1), limit=3)]
        repository.note_removal_error(conn, second[1:], "still not", T0 + timedelta(minutes=1))

    assert first == sorted(stuck, reverse=True)  # oldest expiry first
    assert second[0] == fresh  # never tried: ahead of the grants that failed
    assert second[1:] == sorted(stuck, reverse=True)[:2]
    with engine.begin() as conn:
        third = [g.id for g in repository.due_grants(conn, T0 + timedelta(minutes=2), limit=3)]
    # Still never tried, then the one left out last time (tried longest ago).
    assert third[:2] == [fresh, stuck[0]]
