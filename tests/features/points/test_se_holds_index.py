"""A StreamElements join reads the viewer's payments waiting and made since their balance was
read. The outbox keeps 30 days of every service's finished calls (chat lines, roles, posts), so
that read must go through an index of StreamElements payments by guild, never through every
call of the guild or of the service."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.features.points.se_holds import held_in
from tests.features.points.test_earning import T0

GUILD = 4242
INDEX = "ix_outbox_se_payments_by_guild"


def _reads_of_payments(engine: Engine, since) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    seen: list[tuple[str, object]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().startswith("SELECT") and "outbox" in statement:
            seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", remember)
    try:
        with engine.connect() as conn:
            held_in(conn, GUILD, "viewer", since)
    finally:
        sa.event.remove(engine, "before_cursor_execute", remember)
    return seen


@pytest.mark.parametrize("since", [None, T0 - timedelta(seconds=5)])
def test_the_read_of_waiting_and_made_payments_goes_through_their_index(sqlite_engine, since):
    reads = _reads_of_payments(sqlite_engine, since)

    assert len(reads) == 1
    with sqlite_engine.connect() as conn:
        statement, parameters = reads[0]
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    reads_of_outbox = [row[3] for row in plan if "outbox" in row[3]]
    assert reads_of_outbox, plan
    assert all(f"SEARCH outbox USING INDEX {INDEX}" in read for read in reads_of_outbox), plan


@pytest.mark.parametrize("since", [None, T0 - timedelta(seconds=5)])
def test_postgresql_can_read_them_through_the_index(engine, since):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan")
    reads = _reads_of_payments(engine, since)

    assert len(reads) == 1
    statement, parameters = reads[0]
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars().all()
    reads_of_outbox = [line for line in plan if " on outbox" in line]
    assert reads_of_outbox, plan
    assert all(INDEX in read for read in reads_of_outbox), plan
