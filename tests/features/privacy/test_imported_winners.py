"""A raffle winner imported from the other bot (``import kick-watchtime-bot``) whose Kick name
could not be resolved to an account is kept by that name only (importers/kwb_writes.py). It is
the person's all the same: their export shows it, and forgetting them deletes it; another
viewer's winner row stays."""

from __future__ import annotations

import sqlalchemy as sa

from core.features.schema import all_tables
from tests.features.test_person_data import ANA, exported, seeded  # noqa: F401 - seeded: a fixture
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - cli_env is a fixture


def _add_winners(runtime) -> None:  # type: ignore[no-untyped-def]
    winners = all_tables().tables["imported_winners"]
    with runtime.engine.begin() as conn:
        for ref, name, account in (
            ("raffle_draws:1", "Ana_Kick", None),  # Ana's name, not resolved at the import
            ("raffle_draws:2", "bob_kick", "k-bob"),
            ("raffle_draws:3", "dora_gone", None),  # a viewer this instance never saw
        ):
            conn.execute(sa.insert(winners).values(
                guild_id=int(GUILD), source="kick-watchtime-bot", source_ref=ref,
                platform="kick" if account else None, platform_user_id=account,
                username=name, prize="a mug"))  # fmt: skip


def _winner_names(runtime) -> list[str]:  # type: ignore[no-untyped-def]
    winners = all_tables().tables["imported_winners"]
    with runtime.engine.connect() as conn:
        return sorted(conn.execute(sa.select(winners.c.username)).scalars())


def test_a_winner_kept_by_name_only_is_in_the_members_export_and_forgotten(cli_env, seeded):  # noqa: F811
    _add_winners(seeded)

    document = exported(cli_env, "--member", str(ANA))
    result = cli(cli_env, "privacy", "forget", "--member", str(ANA), "--yes")

    assert [r["source_ref"] for r in document["tables"]["imported_winners"]] == ["raffle_draws:1"]
    assert result.returncode == 0, result.stderr
    assert "deleted 1 row(s) of imported_winners" in result.stdout
    assert _winner_names(seeded) == ["bob_kick", "dora_gone"]


def test_a_winner_named_by_the_operator_and_never_seen_is_found_and_forgotten(cli_env, seeded):  # noqa: F811
    _add_winners(seeded)

    document = exported(cli_env, "--account", "kick:Dora_Gone")
    result = cli(cli_env, "privacy", "forget", "--account", "kick:Dora_Gone", "--yes")

    assert [r["username"] for r in document["tables"]["imported_winners"]] == ["dora_gone"]
    assert "Nothing is kept about them" not in result.stdout
    assert "deleted 1 row(s) of imported_winners" in result.stdout
    assert _winner_names(seeded) == ["Ana_Kick", "bob_kick"]
