"""kick-watchtime-bot's role tiers become watchtime roles only where ``!roles add`` would take
them: a role the bot may give, no more than 25 of them, and a threshold of a minute or more."""

from __future__ import annotations

import sqlalchemy as sa

from core.features.directory import repository as directory
from core.features.roles import repository as roles
from core.features.roles.service import MAX_TIERS
from core.storage.db import normalize_url
from tests.features.importers.kwb_rows import FAN, REGULAR, SERVER_A, SERVER_B, VIEWER
from tests.features.importers.test_kwb_import import NOW, numbers, run


def add_source_tiers(source_url: str, server_id: int, tiers: list[tuple[str, int]]) -> None:
    engine = sa.create_engine(normalize_url(source_url))
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO watchtime_roles (role_name, minutes_required, display_order,"
                    " enabled, discord_server_id) VALUES (:name, :minutes, 1, TRUE, :server)"
                ),
                [{"name": n, "minutes": m, "server": server_id} for n, m in tiers],
            )
    finally:
        engine.dispose()


def tier_ids(engine: sa.Engine, guild_id: int) -> list[int]:
    with engine.connect() as conn:
        return [tier.role_id for tier in roles.list_tiers(conn, guild_id)]


def test_a_tier_whose_role_the_bot_cannot_give_is_left_out(engine, kick, source_url, period_id):
    """B's Regular role is an integration's (or above the bot's own): role sync could never
    give it, and !roles add refuses it; so does the import, saying why."""
    with engine.begin() as conn:
        directory.replace_roles(
            conn,
            SERVER_B,
            [
                directory.Role(SERVER_B, "@everyone", 0, is_default=True),
                directory.Role(VIEWER, "viewer", 1, assignable=True),
                directory.Role(REGULAR, "Regular", 2, assignable=False),
            ],
        )

    reports = run(engine, kick, source_url, guild_id=SERVER_B)

    assert tier_ids(engine, SERVER_B) == [VIEWER]
    assert numbers(reports[SERVER_B])["role tiers"] == (1, 0, 1)
    assert "role tiers: 'Regular' (600 min): I can't give that role" in "\n".join(
        reports[SERVER_B].problems
    )


def test_a_tier_named_everyone_is_left_out(engine, kick, source_url, period_id):
    with engine.begin() as conn:
        directory.replace_roles(
            conn, SERVER_A, [directory.Role(SERVER_A, "@everyone", 0, is_default=True)]
        )
    add_source_tiers(source_url, SERVER_A, [("@everyone", 30)])

    reports = run(engine, kick, source_url, guild_id=SERVER_A)

    assert tier_ids(engine, SERVER_A) == []
    problems = "\n".join(reports[SERVER_A].problems)
    assert "'@everyone' (30 min): @everyone can't be a watchtime role" in problems


def test_no_more_than_25_tiers_are_imported(engine, kick, source_url, period_id):
    """A has 3 tiers there (Fan, Superfan, Missing Role); 30 more, each with its role here."""
    extra = [(f"Level {n}", 1000 + n) for n in range(1, 31)]
    with engine.begin() as conn:
        directory.replace_roles(
            conn,
            SERVER_A,
            [
                directory.Role(8000 + n, name, n, assignable=True)
                for n, (name, _) in enumerate(extra)
            ],
        )
    add_source_tiers(source_url, SERVER_A, extra)

    reports = run(engine, kick, source_url, guild_id=SERVER_A)

    assert len(tier_ids(engine, SERVER_A)) == MAX_TIERS
    imported, already, _ = numbers(reports[SERVER_A])["role tiers"]
    assert (imported, already) == (MAX_TIERS, 0)
    problems = "\n".join(reports[SERVER_A].problems)
    assert f"already has {MAX_TIERS} watchtime roles" in problems
    # The lowest thresholds came in; the five highest are reported, not imported.
    assert "'Level 30' (1,030 min)" in problems
    assert "'Level 25' (1,025 min)" not in problems

    again = run(engine, kick, source_url, now=NOW.replace(day=2), guild_id=SERVER_A)

    assert len(tier_ids(engine, SERVER_A)) == MAX_TIERS
    assert numbers(again[SERVER_A])["role tiers"][:2] == (0, MAX_TIERS)


def test_a_tier_of_no_minutes_is_left_out(engine, kick, source_url, period_id):
    """A 0-minute tier is reached by every member of the server, linked or not: role sync would
    give its role to everyone. !roles add takes 1 minute or more; so does the import."""
    with engine.begin() as conn:
        directory.replace_roles(
            conn, SERVER_A, [directory.Role(8001, "Everyone linked", 1, assignable=True)]
        )
    add_source_tiers(source_url, SERVER_A, [("Everyone linked", 0)])

    reports = run(engine, kick, source_url, guild_id=SERVER_A)

    assert 8001 not in tier_ids(engine, SERVER_A)
    assert "minutes_required is 0" in "\n".join(reports[SERVER_A].problems)


def test_a_second_tier_of_the_same_role_is_a_problem_not_already_there(
    engine, kick, source_url, period_id
):
    """A has Fan at 120 minutes there, and a second row for the same role at 240 (names differ
    in case only). One role holds one threshold: the second row was never imported, and the
    report says so instead of counting it as imported before, on every run."""
    add_source_tiers(source_url, SERVER_A, [("fan", 240)])

    for day in (1, 2):
        reports = run(engine, kick, source_url, now=NOW.replace(day=day), guild_id=SERVER_A)

        problems = "\n".join(reports[SERVER_A].problems)
        assert "'fan' (240 min): the same role as 'Fan' (120 min); left out" in problems
        imported, already, skipped = numbers(reports[SERVER_A])["role tiers"]
        assert imported + already == 2  # Fan and Superfan
        assert skipped == 2  # Missing Role, and the second Fan
    with engine.connect() as conn:
        tiers = {tier.role_id: tier.minutes for tier in roles.list_tiers(conn, SERVER_A)}
    assert tiers[FAN] == 120
