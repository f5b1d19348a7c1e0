"""``!linkowner`` looks an account up by name among every link and every viewer the bot has
seen: both sides of that look-up (the name it was linked under, the name its viewer goes by
now) must go through an index by platform and lowercased name, never through every row."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.linking.repository import find_links_by_username
from core.features.linking.tables import account_links
from core.features.viewers.tables import viewers
from tests.features.linking.test_holders import T0

LINKS_INDEX = "ix_account_links_platform_lower_username"
VIEWERS_INDEX = "ix_viewers_platform_lower_username"
BOTH = (Platform.KICK, Platform.TWITCH)


def _many_links(engine: Engine, count: int = 3000) -> None:
    """``count`` linked accounts on each platform, each with its viewer, and the statistics
    PostgreSQL plans with."""
    links, seen = [], []
    for n in range(count):
        for platform in BOTH:
            account = {"platform": str(platform), "platform_user_id": str(n)}
            links.append({**account, "discord_user_id": 10_000 + n, "username": f"Linked_{n}",
                          "linked_in_guild_id": 111, "linked_at": T0})  # fmt: skip
            seen.append({**account, "username": f"Now_{n}", "updated_at": T0})
    with engine.begin() as conn:
        conn.execute(sa.insert(account_links), links)
        conn.execute(sa.insert(viewers), seen)
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE account_links"))
        conn.execute(sa.text("ANALYZE viewers"))
        conn.commit()


def _reads_of_links(engine: Engine, platforms: tuple[Platform, ...]) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().startswith("SELECT"):
            seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", remember)
    try:
        with engine.connect() as conn:
            find_links_by_username(conn, platforms, "Ana_Plays")
    finally:
        sa.event.remove(engine, "before_cursor_execute", remember)
    return seen


@pytest.mark.parametrize("platforms", [BOTH, (Platform.TWITCH,)])
def test_the_look_up_by_name_searches_both_indexes(sqlite_engine, platforms):
    reads = _reads_of_links(sqlite_engine, platforms)

    assert len(reads) == 1
    statement, parameters = reads[0]
    with sqlite_engine.connect() as conn:
        plan = [
            row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        ]
    assert any(f"SEARCH account_links USING INDEX {LINKS_INDEX}" in step for step in plan), plan
    assert any(f"SEARCH viewers USING INDEX {VIEWERS_INDEX}" in step for step in plan), plan
    assert not [step for step in plan if step.startswith(("SCAN account_links", "SCAN viewers"))]


@pytest.mark.parametrize("platforms", [BOTH, (Platform.TWITCH,)])
def test_postgresql_can_look_up_through_the_indexes(engine, platforms):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan")
    _many_links(engine)
    reads = _reads_of_links(engine, platforms)

    assert len(reads) == 1
    statement, parameters = reads[0]
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars().all()
    # "Index Scan using <index>" or "Bitmap Index Scan on <index>"
    searches = [line for line in plan if "Index Scan" in line]
    assert any(LINKS_INDEX in line for line in searches), plan
    assert any(VIEWERS_INDEX in line for line in searches), plan
    assert not [line for line in plan if "Seq Scan" in line], plan
