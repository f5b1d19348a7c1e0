"""What one server may read of another's VIP grants on the same Twitch channel: only whether
one holds the viewer's VIP, and until when; never its own grants, another channel's, an outside
VIP, a grant that ended, or a Kick role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.vip import repository
from core.features.vip.repository import MANUAL, OUTSIDE, RULE, Grant, HeldElsewhere
from core.storage.db import transaction
from tests.features.vip.doubles import BROADCASTER, GUILD, T0

OTHER = GUILD + 1
VIEWER = "5000"


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
        return repository.held_elsewhere(conn, GUILD, BROADCASTER, **viewer)


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
