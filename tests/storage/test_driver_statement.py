"""``DriverStatement``: what ``conn.execute`` would store, raise and show, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from core.storage.driver_statement import DriverStatement
from core.storage.tables import bus_events

_COLUMNS = ("event_key", "payload", "published_at")
_TEXT = sa.text(
    "INSERT INTO bus_events (event_key, payload, published_at) "
    "VALUES (:event_key, :payload, :published_at) ON CONFLICT DO NOTHING RETURNING id"
).bindparams(*(sa.bindparam(name, type_=bus_events.c[name].type) for name in _COLUMNS))
ADD = DriverStatement(_TEXT)


def _row(key: str, **changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "event_key": key,
        "payload": '{"text": "h\u00e9llo \U0001f389 \'quoted\'"}',
        # Not UTC: the column's own bind processor decides how an offset is stored.
        "published_at": datetime(2026, 11, 23, 9, 30, 15, 123456, timezone(timedelta(hours=2))),
    }
    return values | changes


def _stored(engine: sa.Engine, key: str) -> tuple[object, ...]:
    query = sa.select(bus_events.c.payload, bus_events.c.published_at, bus_events.c.acked_at)
    with engine.connect() as conn:
        return tuple(conn.execute(query.where(bus_events.c.event_key == key)).one())


def test_it_stores_exactly_what_conn_execute_stores(engine):
    with engine.begin() as conn:
        first = ADD.first(conn, _row("driver"))
        conn.execute(_TEXT, _row("sqlalchemy"))
    assert first is not None
    assert isinstance(first[0], int)
    assert _stored(engine, "driver") == _stored(engine, "sqlalchemy")
    payload, published_at, acked_at = _stored(engine, "driver")
    assert payload == _row("x")["payload"]
    assert acked_at is None
    assert published_at.replace(tzinfo=published_at.tzinfo or UTC) == datetime(
        2026, 11, 23, 7, 30, 15, 123456, UTC
    )


def test_a_conflict_returns_no_row_and_the_transaction_goes_on(engine):
    with engine.begin() as conn:
        assert ADD.first(conn, _row("twice")) is not None
        assert ADD.first(conn, _row("twice")) is None
        assert ADD.first(conn, _row("third")) is not None
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(bus_events)).scalar_one() == 2


def test_a_driver_error_is_raised_as_sqlalchemys_and_nothing_is_kept(engine):
    def store_two() -> None:
        with engine.begin() as conn:
            ADD.first(conn, _row("kept only if committed"))
            ADD.first(conn, _row("no payload", payload=None))  # NOT NULL

    with pytest.raises(sa.exc.IntegrityError):
        store_two()
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(bus_events)).scalar_one() == 0


def test_a_missing_table_is_an_operational_error(sqlite_engine):
    with sqlite_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE bus_events"))
    with pytest.raises(sa.exc.OperationalError, match="no such table"), sqlite_engine.begin() as c:
        ADD.first(c, _row("nowhere"))


def test_statement_listeners_see_it(sqlite_engine):
    seen: list[tuple[str, object]] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    sa.event.listen(sqlite_engine, "before_cursor_execute", note)
    try:
        with sqlite_engine.begin() as conn:
            ADD.first(conn, _row("watched"))
    finally:
        sa.event.remove(sqlite_engine, "before_cursor_execute", note)
    statements = [statement for statement, _ in seen if "bus_events" in statement]
    assert len(statements) == 1
    assert statements[0].startswith("INSERT INTO bus_events")


def test_a_lost_connection_is_invalidated_and_the_pool_recovers(postgres_engine):
    with postgres_engine.connect() as conn:
        pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with postgres_engine.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(sa.exc.OperationalError) as raised:
            ADD.first(conn, _row("lost"))
        assert raised.value.connection_invalidated is True
        assert conn.invalidated is True  # so it is not handed out again
    with postgres_engine.begin() as conn:  # a fresh connection, not the dead one
        assert ADD.first(conn, _row("after")) is not None
