"""Migration 0044: overlay alerts recorded before get the viewer's account where their reference
says whose they were (a VIP alert, a ticket milestone); the others stay without one."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from core.storage import db
from core.storage.db import create_engine
from tests.storage.test_db import _load_baseline

REFERENCES = {
    "vip:twitch:77:granted:r-77-granted": ("twitch", "77"),
    "vip:kick:9:extended:2026-03-10T12:00:00+00:00": ("kick", "9"),
    "tickets:3:kick:k-ana:100": ("kick", "k-ana"),
    "event:kick:followed:f-1": (None, None),  # the event's key names no viewer
    "sub:kick:555:ana_kick:new:2026-03": (None, None),  # a Kick name, not an account
    "gift:g0123456789abcde": (None, None),
    "replay:00ff00ff00ff00ff:event:twitch:cheered:c-1": (None, None),
    "test:00ff00ff00ff00ff": (None, None),
}


def test_alerts_recorded_before_get_the_account_their_reference_names(database_url):
    engine = create_engine(database_url)
    try:
        _load_baseline(engine)
        with engine.begin() as conn:
            command.upgrade(db._alembic_config(conn), "0043")
            columns = ("guild_id", "seq", "kind", "title", "detail", "source_ref", "created_at")
            alerts = sa.table("overlay_alerts", *(sa.column(name) for name in columns))
            at = datetime(2026, 3, 10, tzinfo=UTC)
            conn.execute(alerts.insert(), [
                {"guild_id": 1, "seq": seq, "kind": "k", "title": "t", "detail": "",
                 "source_ref": ref, "created_at": at}
                for seq, ref in enumerate(REFERENCES, start=1)
            ])  # fmt: skip
            command.upgrade(db._alembic_config(conn), "0044")
            rows = conn.execute(
                sa.text("SELECT source_ref, platform, platform_user_id FROM overlay_alerts")
            ).all()
    finally:
        engine.dispose()
    assert {ref: (platform, user) for ref, platform, user in rows} == REFERENCES
