"""``python -m core export --what vip-audit``, run as a real process."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from core.events import Platform
from core.features.vip import repository
from core.features.vip.repository import AuditEntry
from core.storage.db import transaction
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - cli_env is a fixture

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _seed(runtime) -> None:
    with transaction(runtime.engine) as conn:
        for guild_id, action in ((int(GUILD), "granted"), (int(GUILD), "refunded"), (42, "seen")):
            repository.add_audit(
                conn,
                AuditEntry(
                    guild_id=guild_id,
                    platform=Platform.TWITCH,
                    broadcaster_user_id="141981764",
                    platform_user_id="5000",
                    username="viewer",
                    action=action,
                    actor_kind="viewer",
                    actor_id="5000",
                    reason="redemption",
                    at=AT,
                    redemption_id="abc-123",
                    reward_cost=500,
                    new_expires_at=AT.replace(day=2) if action == "granted" else None,
                ),
            )


def test_vip_audit_exports_as_json_and_csv(cli_env, make_runtime):  # noqa: F811
    _seed(make_runtime(DATA_DIR=cli_env["DATA_DIR"]))
    base = ("export", "--guild", GUILD, "--what", "vip-audit", "--format")

    as_json = cli(cli_env, *base, "json")
    as_csv = cli(cli_env, *base, "csv")

    assert as_json.returncode == 0, as_json.stderr
    granted, refunded = json.loads(as_json.stdout)
    assert (granted["action"], refunded["action"]) == ("granted", "refunded")
    assert granted["guild_id"] == int(GUILD)
    assert granted["platform"] == "twitch"
    assert (granted["redemption_id"], granted["reward_cost"]) == ("abc-123", 500)
    assert granted["new_expires_at"] == "2026-03-02T12:00:00+00:00"
    lines = as_csv.stdout.splitlines()
    assert lines[0].startswith("at,guild_id,platform,broadcaster_user_id,platform_user_id,")
    assert len(lines) == 3
    assert lines[1].startswith("2026-03-01T12:00:00+00:00,")
    assert ",granted,viewer,5000,redemption,abc-123,500,,2026-03-02T12:00:00+00:00" in lines[1]
