"""Chat commands between the router's accepting them and their end, kept in the database.

The bus acknowledges a chat message once its handlers returned, and the router returns as soon
as it has queued the command (a command may wait on StreamElements; the bus must not). So the
router keeps a row per accepted command (:meth:`PendingCommands.keep`, in the handler: our
database only) and deletes it when the command has run (:meth:`PendingCommands.done`). A
process killed in between leaves its rows behind, stamped with its name; another process (or
this one restarted under a new name) takes them once that name's heartbeat lease has run out
(``core/ownership/claims.py``) and runs them (:meth:`PendingCommands.left_behind`). A process
that stops cleanly hands over the commands it did not get to (:meth:`PendingCommands.let_go`).

Running a command twice is harmless: each one's effect is decided once by its own rules (one
join per heist and viewer, one slot call per message, a cancelled heist refunds once) and a
reply is said once per message, whatever the second run says (``queued.py``). What a command
says is for the moment it was typed, so one left behind for longer than :data:`STALE` is
dropped, not run; and a row nobody can take (a process that never beat: a tool, a test) is
forgotten after :data:`FORGOTTEN`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import ChatMessageSent, system_clock, utc
from core.events.codec import event_from_dict, event_to_dict
from core.features.chat_commands.tables import chat_commands_pending
from core.ownership import claims
from core.storage.db import insert_for

log = logging.getLogger(__name__)

STALE = timedelta(minutes=2)  # a command left behind longer than this is not answered any more
FORGOTTEN = timedelta(minutes=10)  # any row this old is dropped, whoever holds it
LET_GO = ""  # the holder of a command a stopping process handed over: anyone may take it


@dataclass(frozen=True)
class Pending:
    """A command as the router accepted it."""

    id: int
    guild_id: int
    event: ChatMessageSent
    command: str
    arguments: str
    permission: int


class PendingCommands:
    """The rows of ``chat_commands_pending``, held as the process ``holder`` (its heartbeat
    lease's name, ``Assembly.process_name``)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime], holder: str) -> None:
        self.engine = engine
        self.clock = clock
        self.holder = holder[: claims.HOLDER_LENGTH]

    def keep(
        self, guild_id: int, event: ChatMessageSent, command: str, arguments: str, permission: int
    ) -> int | None:
        """Keep an accepted command; its row's id, or None when this message's command was
        accepted before (by this process or another)."""
        t = chat_commands_pending
        with self.engine.begin() as conn:
            return conn.execute(
                insert_for(conn, t)
                .values(
                    guild_id=guild_id,
                    event_key=event.key,
                    command=command,
                    arguments=arguments,
                    permission=int(permission),
                    event=json.dumps(event_to_dict(event)),
                    holder=self.holder,
                    received_at=utc(self.clock()),
                )
                .on_conflict_do_nothing(index_elements=[t.c.guild_id, t.c.event_key])
                .returning(t.c.id)
            ).scalar_one_or_none()

    def done(self, ids: Iterable[int]) -> None:
        """The commands have run (or were given up): their rows go."""
        wanted = list(ids)
        if not wanted:
            return
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(chat_commands_pending).where(chat_commands_pending.c.id.in_(wanted))
            )

    def let_go(self, ids: Iterable[int]) -> None:
        """This process stops before running them: any other process may take them at once."""
        wanted = list(ids)
        if not wanted:
            return
        t = chat_commands_pending
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(t)
                .where(t.c.id.in_(wanted), t.c.holder == self.holder)
                .values(holder=LET_GO)
            )

    def left_behind(self) -> list[Pending]:
        """Take the commands of processes that are gone (or handed them over), received within
        :data:`STALE`; drop those too old to answer (logged). The oldest first."""
        t = chat_commands_pending
        now = utc(self.clock())
        alive_at = system_clock()  # leases are written on the wall clock
        gone = sa.or_(t.c.holder == LET_GO, claims.holder_is_dead(t.c.holder, alive_at))
        with self.engine.begin() as conn:
            dropped = conn.execute(
                sa.delete(t)
                .where(
                    sa.or_(
                        t.c.received_at <= now - FORGOTTEN,
                        sa.and_(gone, t.c.received_at <= now - STALE),
                    )
                )
                .returning(t.c.guild_id, t.c.command)
            ).all()
            taken = conn.execute(
                sa.update(t)
                .where(gone, t.c.holder != self.holder)
                .values(holder=self.holder)
                .returning(
                    t.c.id, t.c.guild_id, t.c.event, t.c.command, t.c.arguments, t.c.permission
                )
            ).all()
        for guild_id, command in dropped:
            log.warning("guild %s: !%s was left unanswered too long; dropped", guild_id, command)
        found = []
        for row in sorted(taken, key=lambda row: row.id):
            event = _event(row.event)
            if event is None:
                log.warning("guild %s: a chat command left behind could not be read", row.guild_id)
                self.done([row.id])
                continue
            found.append(
                Pending(row.id, row.guild_id, event, row.command, row.arguments, row.permission)
            )
        return found


def _event(text: str) -> ChatMessageSent | None:
    try:
        event = event_from_dict(json.loads(text))
    except (ValueError, TypeError, KeyError):
        return None
    return event if isinstance(event, ChatMessageSent) else None
