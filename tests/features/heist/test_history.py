"""Finished heists for the charts: only the guild's own, resolved or cancelled (never open),
from the given moment on, each with its crew, winners, stakes and payouts, and its outcome."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Connection, Engine

from core.features.heist import history_repository, repository
from core.features.heist.history_repository import OUTCOMES, FinishedHeist
from core.features.heist.tables import heist_participants, heists

GUILD, OTHER = 111, 222
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
_users = itertools.count(1)


def add_heist(
    conn: Connection,
    guild_id: int,
    state: str,
    finished_at: datetime | None,
    crew: Sequence[tuple[int, bool | None, int | None]] = (),
) -> int:
    """A heist finished at ``finished_at`` (None: still open) with ``crew`` as (stake, won,
    payout) rows, written as the heist service leaves them."""
    opened_at = (finished_at or NOW) - timedelta(minutes=2)
    heist_id = conn.execute(
        heists.insert().values(
            guild_id=guild_id,
            platform="kick",
            broadcaster_user_id="1",
            state=state,
            open_key=f"{guild_id}:kick" if state == repository.OPEN else None,
            opened_at=opened_at,
            closes_at=opened_at + timedelta(minutes=1),
            resolved_at=finished_at,
        )
    ).inserted_primary_key[0]
    for stake, won, payout in crew:
        user = str(next(_users))
        conn.execute(
            heist_participants.insert().values(
                heist_id=heist_id, guild_id=guild_id, platform="kick", platform_user_id=user,
                username=f"viewer{user}", stake=stake, risk="low", joined_at=opened_at,
                won=won, payout=payout,
            )
        )  # fmt: skip
    return heist_id


def test_finished_heists_of_the_guild_since_a_moment(engine: Engine) -> None:
    with engine.begin() as conn:
        add_heist(
            conn, GUILD, "resolved", NOW - timedelta(days=1), [(100, True, 150), (50, True, 75)]
        )
        add_heist(conn, GUILD, "resolved", NOW, [(100, True, 200), (40, False, 0)])
        add_heist(conn, GUILD, "resolved", NOW, [(30, False, 0)])
        add_heist(conn, GUILD, "cancelled", NOW, [(500, None, None)])
        add_heist(conn, GUILD, "cancelled", NOW)  # nobody joined
        add_heist(conn, GUILD, "open", None, [(10, None, None)])
        add_heist(conn, GUILD, "resolved", NOW - timedelta(days=40), [(9, True, 9)])
        add_heist(conn, OTHER, "resolved", NOW, [(1_000, True, 2_000)])

    with engine.connect() as conn:
        found = history_repository.finished_since(conn, GUILD, NOW - timedelta(days=30))

    assert [(f.state, f.crew, f.winners, f.staked, f.paid) for f in found] == [
        ("resolved", 2, 2, 150, 225),
        ("resolved", 2, 1, 140, 200),
        ("resolved", 1, 0, 30, 0),
        ("cancelled", 1, 0, 500, 0),
        ("cancelled", 0, 0, 0, 0),
    ]
    assert [f.outcome for f in found] == [
        "everyone got away", "some got away", "all caught", "cancelled", "cancelled"
    ]  # fmt: skip
    assert found[0].finished_at == NOW - timedelta(days=1)


@pytest.mark.parametrize(
    ("state", "crew", "winners", "outcome"),
    [
        ("resolved", 3, 3, "everyone got away"),
        ("resolved", 3, 1, "some got away"),
        ("resolved", 3, 0, "all caught"),
        ("cancelled", 3, 0, "cancelled"),
    ],
)
def test_outcome_names(state: str, crew: int, winners: int, outcome: str) -> None:
    finished = FinishedHeist(NOW, state, crew, winners, 0, 0)
    assert finished.outcome == outcome
    assert outcome in OUTCOMES
