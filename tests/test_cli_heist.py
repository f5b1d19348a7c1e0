"""``python -m core export --what heists``, run as a real process."""

from __future__ import annotations

import csv
import io
import json

from core.events import Platform
from core.features.heist.rules import HeistRules
from core.features.heist.service import HeistService
from tests.features.heist.conftest import Draws, FakeSubTiers
from tests.support.clock import Clock
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - cli_env is a fixture

FIELDS = ["heist_id", "platform", "platform_user_id", "stake", "risk", "tier", "multiplier",
          "won", "payout", "resolved_at"]  # fmt: skip


def _seed(runtime) -> tuple[int, int]:
    guild = int(GUILD)
    clock = Clock()
    tiers = FakeSubTiers()
    tiers.set("t3", "3")
    service = HeistService(runtime.engine, clock, runtime.points, HeistRules(cooldown_seconds=0),
                           sub_tiers=tiers, draw=Draws([0.0, 0.999]))  # fmt: skip
    for user in ("t3", "plain", "late"):
        runtime.points.give(guild, Platform.TWITCH, user, 1000, actor="test")
    first = service.join(guild, Platform.TWITCH, "b", "t3", "t3", "200 low").heist.id
    service.join(guild, Platform.TWITCH, "b", "plain", "plain", "100 high")
    clock.advance(120)
    service.resolve_due()
    second = service.join(guild, Platform.TWITCH, "b", "late", "late", "50").heist.id
    return first, second


def test_heists_export_one_row_per_participant_as_json_and_csv(cli_env, make_runtime):  # noqa: F811
    first, second = _seed(make_runtime(DATA_DIR=cli_env["DATA_DIR"]))
    base = ("export", "--guild", GUILD, "--what", "heists", "--format")

    as_json = cli(cli_env, *base, "json")
    as_csv = cli(cli_env, *base, "csv")

    assert as_json.returncode == 0, as_json.stderr
    won, lost, open_ = json.loads(as_json.stdout)
    assert list(won) == FIELDS
    assert {k: won[k] for k in FIELDS if k != "resolved_at"} == {
        "heist_id": first, "platform": "twitch", "platform_user_id": "t3", "stake": 200,
        "risk": "low", "tier": "3", "multiplier": 1.5, "won": True, "payout": 450,
    }  # fmt: skip
    assert won["resolved_at"]
    assert (lost["tier"], lost["multiplier"], lost["won"], lost["payout"]) == ("", 1.0, False, 0)
    assert (open_["heist_id"], open_["won"], open_["payout"], open_["resolved_at"]) == (
        second,
        False,
        0,
        "",
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert list(rows[0]) == FIELDS
    assert [(r["platform_user_id"], r["won"], r["payout"]) for r in rows] == [
        ("t3", "true", "450"),
        ("plain", "false", "0"),
        ("late", "false", "0"),
    ]
