"""What the raffle's Shuffle poll counted of a member's wagers in each period
(``shuffle_wager_progress``, keyed by their Shuffle name case-folded) is theirs: their export
shows it, and forgetting them says it is kept and why, as it says of their wager totals.
Another member's progress is not in their export."""

from __future__ import annotations

import sqlalchemy as sa

from core.features.schema import all_tables
from tests.features.test_person_data import ANA, BOB, exported, seeded  # noqa: F401 - seeded: a fixture
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - cli_env is a fixture


def _add_shuffle(runtime) -> None:  # type: ignore[no-untyped-def]
    tables, now, guild = all_tables().tables, runtime.clock(), int(GUILD)
    with runtime.engine.begin() as conn:
        for member, name in ((ANA, "Ana_Shuffle"), (BOB, "bob_shuffle")):
            conn.execute(sa.insert(tables["shuffle_links"]).values(
                guild_id=guild, account_key=name.lower(), username=name,
                discord_user_id=member, verified_by=BOB, verified_at=now))  # fmt: skip
            conn.execute(sa.insert(tables["shuffle_wager_progress"]).values(
                period_id=1, account_key=name.lower(), guild_id=guild, baseline_cents=500,
                tickets_given=3, updated_at=now))  # fmt: skip


def test_their_shuffle_progress_is_in_their_export_and_kept_with_its_reason(cli_env, seeded):  # noqa: F811
    _add_shuffle(seeded)

    document = exported(cli_env, "--member", str(ANA))
    result = cli(cli_env, "privacy", "forget", "--member", str(ANA))

    progress = document["tables"]["shuffle_wager_progress"]
    assert [(r["account_key"], r["tickets_given"]) for r in progress] == [("ana_shuffle", 3)]
    assert result.returncode == 0, result.stderr
    assert "would keep 1 row(s) of shuffle_wager_progress: the Shuffle poll" in result.stdout
