"""The statements every platform's webhook subscriptions table shares (``_webhook_subscriptions``
in ``tables.py``: a broadcaster's subscriptions as the upkeep last left them); each takes the
platform's table and the frozen dataclass its rows are read into, whose fields are the table's
columns but ``created_at``. What differs between platforms stays in ``kick/repository.py`` and
``twitch/repository.py``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import Table
from sqlalchemy.engine import Connection

RowT = TypeVar("RowT")  # a frozen dataclass of the row's columns


def replace(
    conn: Connection,
    table: Table,
    broadcaster_user_id: str,
    subscriptions: Sequence[Any],  # the platform's row dataclasses
    now: datetime,
) -> None:
    """The broadcaster's stored subscriptions become ``subscriptions`` (made ``now``)."""
    conn.execute(sa.delete(table).where(table.c.broadcaster_user_id == broadcaster_user_id))
    if subscriptions:
        conn.execute(
            sa.insert(table),
            [
                {
                    **dataclasses.asdict(subscription),
                    "broadcaster_user_id": broadcaster_user_id,
                    "created_at": now,
                }
                for subscription in subscriptions
            ],
        )


def list_of_broadcaster(
    conn: Connection,
    table: Table,
    row_type: type[RowT],
    broadcaster_user_id: str,
    order_by: Sequence[str],
) -> list[RowT]:
    """The broadcaster's stored subscriptions, ordered by the columns named."""
    columns = [table.c[field.name] for field in dataclasses.fields(row_type)]  # type: ignore[arg-type]
    query = (
        sa.select(*columns)
        .where(table.c.broadcaster_user_id == broadcaster_user_id)
        .order_by(*(table.c[name] for name in order_by))
    )
    make = cast(Callable[..., RowT], row_type)  # a dataclass takes its fields in order
    return [make(*row) for row in conn.execute(query)]
