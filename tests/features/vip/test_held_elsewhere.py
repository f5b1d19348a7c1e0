"""What one server may read of another's VIP grants on the same Twitch channel: only whether
one holds the viewer's VIP, and until when; never its own grants, another channel's, an outside
VIP, a grant that ended, or a Kick role."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.vip import channel_repository, repository
from core.features.vip.channel_repository import HeldElsewhere
from core.features.vip.repository import MANUAL, OUTSIDE, RULE, Grant
from core.storage.db import transaction
from tests.features.vip.doubles import BROADCASTER, GUILD, T0

OTHER = GUILD + 1
VIEWER = "5000"
INDEX = "ix_vip_grants_platform_broadcaster_user_id_platform_user_id"


def grant(guild_id: int, **changes) -> Grant:  # type: ignore[no-untyped-def]
    values = {
        "id": 0,
        "guild_id": guild_id,
        "platform": Platform.TWITCH,
        "broadcaster_user_id": BROADCASTER,
        "platform_user_id": VIEWER,
        "username": "Viewer",
        "source": RULE,
        "granted_at": T0,
        "expires_at": T0 + timedelta(hours=24),
    }
    return Grant(**(values | changes))


def held(engine: Engine, **viewer: str) -> HeldElsewhere | None:
    with transaction(engine) as conn:
        return channel_repository.held_elsewhere(conn, GUILD, BROADCASTER, **viewer)


@pytest.mark.parametrize(
    "stored",
    [
        grant(GUILD),  # this server's own
        grant(OTHER, broadcaster_user_id="999"),  # another channel
        grant(OTHER, source=OUTSIDE, expires_at=None),  # given by hand: nobody's grant
        grant(OTHER, removed_at=T0 + timedelta(hours=1)),  # ended
        grant(OTHER, platform=Platform.KICK),  # a server's own Kick role
        grant(OTHER, platform_user_id="6000", username="Someone"),  # another viewer
    ],
)
def test_what_is_not_another_servers_vip(engine: Engine, stored: Grant) -> None:
    with transaction(engine) as conn:
        repository.add_grant(conn, stored)
    assert held(engine, platform_user_id=VIEWER) is None
    assert held(engine, username="viewer") is None


def test_another_servers_grant_is_told_with_its_latest_end(engine: Engine) -> None:
    with transaction(engine) as conn:
        repository.add_grant(conn, grant(OTHER))
        repository.add_grant(conn, grant(OTHER + 1, source=MANUAL, expires_at=T0 + timedelta(2)))
    assert held(engine, platform_user_id=VIEWER) == HeldElsewhere(T0 + timedelta(days=2))
    assert held(engine, username="VIEWER") == HeldElsewhere(T0 + timedelta(days=2))
    with pytest.raises(ValueError, match="id or name"):
        held(engine)


def _the_read(engine: Engine, **viewer: str) -> tuple[str, object]:
    seen: list[tuple[str, object]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", remember)
    try:
        held(engine, **viewer)
    finally:
        sa.event.remove(engine, "before_cursor_execute", remember)
    [read] = [(statement, p) for statement, p in seen if "vip_grants" in statement]
    return read


@pytest.mark.parametrize("viewer", [{"platform_user_id": VIEWER}, {"username": "viewer"}])
def test_it_is_read_through_the_channels_index_not_every_servers_grants(sqlite_engine, viewer):
    """Asked on each VIP event of the channel and for each VIP !vip setup reads: one probe of
    the channel's grants, however many grants (ended ones too) every server keeps."""
    statement, parameters = _the_read(sqlite_engine, **viewer)
    with sqlite_engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    reads = [row[3] for row in plan if "vip_grants" in row[3]]
    assert reads, plan
    assert all(f"USING INDEX {INDEX}" in read for read in reads), plan


def test_postgresql_can_read_it_through_the_index(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan")
    statement, parameters = _the_read(engine, platform_user_id=VIEWER)
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars().all()
    reads = [line for line in plan if " on vip_grants" in line]
    assert reads, plan
    assert all(INDEX in read for read in reads), plan
