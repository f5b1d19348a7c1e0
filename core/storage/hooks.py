"""Callbacks that run inside the transaction that wrote something, registered per engine.

A feature that lets others follow its writes (the VIP audit log, the raffle's ticket awards)
calls :func:`emit` beside the write with its connection; the wiring of the feature that follows
registers a callback with :func:`listen` on the same engine. The callback gets the writer's
connection, so what it records commits or rolls back with the write it follows. Nothing here
knows a feature: a name is a plain string the writing feature declares in its ``ports.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Connection, Engine

Hook = Callable[..., None]
_HOOKS: WeakKeyDictionary[Engine, dict[str, list[Hook]]] = WeakKeyDictionary()


def listen(engine: Engine, name: str, hook: Hook) -> None:
    """Call ``hook(conn, *args)`` whenever a transaction on ``engine`` emits ``name``."""
    _HOOKS.setdefault(engine, {}).setdefault(name, []).append(hook)


def has_listeners(conn: Connection, name: str) -> bool:
    return bool(_HOOKS.get(conn.engine, {}).get(name))


def emit(conn: Connection, name: str, *args: Any) -> None:
    """Run the hooks of ``name`` on ``conn``'s engine, in this transaction; a hook that raises
    fails the write it follows (the caller's transaction rolls back and is tried again)."""
    for hook in list(_HOOKS.get(conn.engine, {}).get(name, ())):
        hook(conn, *args)
