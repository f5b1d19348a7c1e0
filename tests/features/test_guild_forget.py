"""Every table with a ``guild_id`` column has a decision for ``guild remove``."""

from __future__ import annotations

from core.features.guild_forget import FORGET, KEPT, guild_tables


def test_every_table_keyed_by_a_guild_is_forgotten_or_kept_for_a_reason() -> None:
    undecided = {t.name for t in guild_tables()} - set(FORGET) - set(KEPT)
    assert not undecided, f"decide in core/features/guild_forget.py: {sorted(undecided)}"


def test_the_decisions_name_only_real_tables() -> None:
    assert set(FORGET) | set(KEPT) <= {t.name for t in guild_tables()}
