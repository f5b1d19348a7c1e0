"""The overlays on a real database (both backends), followed by the VIP and raffle hooks as
``core/wiring/overlays.py`` installs them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.events import Platform
from core.features.overlays.service import OverlayService
from core.features.raffle.ports import TICKETS_AWARDED
from core.features.vip import repository as vip_repository
from core.features.vip.ports import AUDIT_WRITTEN
from core.security.secrets import TokenCipher
from core.storage import hooks
from tests.conftest import TEST_FERNET_KEY
from tests.support.clock import Clock

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
GUILD_A = 111
GUILD_B = 222


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def overlays(engine, clock) -> OverlayService:
    service = OverlayService(engine, clock, TokenCipher(TEST_FERNET_KEY))
    hooks.listen(engine, AUDIT_WRITTEN, service.alerts.vip_audited)
    hooks.listen(engine, TICKETS_AWARDED, service.alerts.tickets_awarded)
    return service


def vip_entry(guild_id: int, action: str = "granted", user: str = "77", **changes):
    values = {
        "guild_id": guild_id,
        "platform": Platform.TWITCH,
        "broadcaster_user_id": "4242",
        "platform_user_id": user,
        "username": f"viewer{user}",
        "action": action,
        "actor_kind": "viewer",
        "at": NOW,
        "redemption_id": f"r-{user}-{action}",
        "new_expires_at": datetime(2026, 3, 11, 12, 0, tzinfo=UTC),
    }
    return vip_repository.AuditEntry(**(values | changes))


def audit(engine, entry) -> None:
    with engine.begin() as conn:
        vip_repository.add_audit(conn, entry)
