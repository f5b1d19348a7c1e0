"""Leases in the database: a name held by one process until the lease runs out.

A process takes a name that nobody holds, or whose lease ran out, and renews the names it holds
before they run out; a process that dies stops renewing, and its names are free to take once
their leases end. The same statements on SQLite and PostgreSQL. On PostgreSQL the rows are
locked in name order before they change, so two processes taking overlapping names never
deadlock; a lease is taken by one of them, never both (the update re-reads a row that another
transaction changed meanwhile).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.storage.db import insert_for
from core.storage.tables import leases


class Leases:
    def __init__(
        self,
        engine: Engine,
        holder: str,
        clock: Callable[[], datetime],
        *,
        seconds: float,
    ) -> None:
        self.engine = engine
        self.holder = holder[:64]
        self.clock = clock
        self.seconds = seconds

    def hold(self, names: Iterable[str]) -> set[str]:
        """Take or renew each of ``names`` that is free, ran out or is ours already; the ones
        held now (for ``seconds`` from now)."""
        wanted = sorted(set(names))
        if not wanted:
            return set()
        now = self.clock()
        until = now + timedelta(seconds=self.seconds)
        ours_or_free = sa.or_(leases.c.holder == self.holder, leases.c.expires_at <= now)
        with self.engine.begin() as conn:
            conn.execute(
                sa.select(leases.c.name)
                .where(leases.c.name.in_(wanted))
                .order_by(leases.c.name)
                .with_for_update()
            ).all()
            conn.execute(
                sa.update(leases)
                .where(leases.c.name.in_(wanted), ours_or_free)
                .values(holder=self.holder, expires_at=until)
            )
            conn.execute(
                insert_for(conn, leases)
                .values([{"name": n, "holder": self.holder, "expires_at": until} for n in wanted])
                .on_conflict_do_nothing(index_elements=["name"])
            )
            held = conn.execute(
                sa.select(leases.c.name).where(
                    leases.c.name.in_(wanted),
                    leases.c.holder == self.holder,
                    leases.c.expires_at > now,
                )
            )
            return {name for (name,) in held}

    def release(self, names: Iterable[str]) -> None:
        """Give up ``names`` at once (those this process holds), for another to take."""
        dropped = sorted(set(names))
        if not dropped:
            return
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(leases).where(leases.c.name.in_(dropped), leases.c.holder == self.holder)
            )

    def end_held_by(self, holders: Iterable[str]) -> None:
        """End now every lease that ``holders`` hold (processes known to be dead), for the
        others to take at once."""
        dead = sorted(set(holders))
        if not dead:
            return
        now = self.clock()
        theirs = sa.and_(leases.c.holder.in_(dead), leases.c.expires_at > now)
        with self.engine.begin() as conn:
            # Locked in name order, as hold() locks them: the two never deadlock.
            conn.execute(
                sa.select(leases.c.name).where(theirs).order_by(leases.c.name).with_for_update()
            ).all()
            conn.execute(sa.update(leases).where(theirs).values(expires_at=now))

    def forget(self, prefix: str, ended_before_seconds: float) -> None:
        """Delete the leases under ``prefix`` that ran out over ``ended_before_seconds`` ago
        (the process leases of processes killed long ago)."""
        cutoff = self.clock() - timedelta(seconds=ended_before_seconds)
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(leases).where(
                    leases.c.name.startswith(prefix, autoescape=True),
                    leases.c.expires_at < cutoff,
                )
            )

    def stamp(self, name: str, holder: str, until: datetime) -> None:
        """Set the row ``name`` to ``holder`` until ``until``, whoever held it: a record kept
        beside the leases (a job's next run, ``runs.py``), never taken with :meth:`hold`."""
        values = {"holder": holder[:64], "expires_at": until}
        with self.engine.begin() as conn:
            conn.execute(
                insert_for(conn, leases)
                .values(name=name, **values)
                .on_conflict_do_update(index_elements=["name"], set_=values)
            )

    def restamp(self, name: str, held_by: str, holder: str, until: datetime | None = None) -> bool:
        """Hand the row ``name`` to ``holder`` (ending ``until``, when given) if ``held_by``
        holds it; whether it did."""
        values: dict[str, object] = {"holder": holder[:64]}
        if until is not None:
            values["expires_at"] = until
        with self.engine.begin() as conn:
            updated = conn.execute(
                sa.update(leases)
                .where(leases.c.name == name, leases.c.holder == held_by[:64])
                .values(values)
            )
            return updated.rowcount == 1

    def row(self, name: str) -> tuple[str, datetime] | None:
        """The holder of the row ``name`` and its end, run out or not; None without a row."""
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(leases.c.holder, leases.c.expires_at).where(leases.c.name == name)
            ).first()
        return None if found is None else (str(found.holder), found.expires_at)

    def holders(self, prefix: str = "") -> dict[str, str]:
        """Every lease not run out whose name starts with ``prefix``: name -> holder."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(leases.c.name, leases.c.holder).where(
                    leases.c.name.startswith(prefix, autoescape=True),
                    leases.c.expires_at > self.clock(),
                )
            )
            return {str(name): str(holder) for name, holder in rows}

    def next_expiry(self, prefix: str = "") -> datetime | None:
        """When the first lease under ``prefix`` that another process holds runs out (None
        when there is none): a process that died stops renewing, and its names are free then."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.min(leases.c.expires_at)).where(
                    leases.c.name.startswith(prefix, autoescape=True),
                    leases.c.holder != self.holder,
                    leases.c.expires_at > self.clock(),
                )
            ).scalar_one()
