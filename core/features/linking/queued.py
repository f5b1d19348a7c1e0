"""What follows a link attempt leaves the event path (issue 26): the handler of
``AccountLinked``, ``AccountLinkFailed`` and ``AccountUnlinked`` only queues one call for the
Discord worker (service ``discord``), keyed by the event (``calls.py``; ``!unlink`` queues the
same call in the transaction that removes the link), and the worker runs the effects of
:class:`LinkEffects` (the DM, the linked role, the watchtime roles, the link log) in the process
connected to the guild's Discord shard.

So a guild's chat and ticks never wait on Discord, and a link made while Discord is away is
told and logged when it answers again. A redelivered event queues nothing new, and a call made
again (a worker killed mid-way) repeats only the steps that did not happen: each is marked done
per event (``LinkEffects._once``); the step that was cut off is made again, and its DM or log
post carries a nonce of the attempt, so Discord keeps it one message. A linked role Discord
would not change ends the call refused with why, after its other steps
(``core/outbox/undone.py`` lists it for the admins).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from core.events import AccountLinked, AccountLinkFailed, AccountUnlinked, utc
from core.events.codec import event_from_dict
from core.features.linking import calls
from core.features.linking.calls import KINDS, LinkEvent
from core.features.linking.effects import LinkEffects
from core.features.linking.ports import RoleChange
from core.outbox.worker import Done, Kind, Outcome, Refused


class QueuedLinkEffects:
    def __init__(self, engine: Engine, clock: Callable[[], datetime], effects: LinkEffects) -> None:
        self.engine = engine
        self.clock = clock
        self.effects = effects

    async def queue(self, guild_id: int, event: LinkEvent) -> None:
        """The event's handler: queue what follows it on Discord."""
        await asyncio.to_thread(self._queue, guild_id, event)

    def _queue(self, guild_id: int, event: LinkEvent) -> None:
        with self.engine.begin() as conn:
            calls.enqueue(conn, guild_id, event, utc(self.clock()))

    def kinds(self) -> dict[str, Kind]:
        runs: dict[type[LinkEvent], Callable[[int, Any], Awaitable[object]]] = {
            AccountLinked: self.effects.account_linked,
            AccountLinkFailed: self.effects.link_failed,
            AccountUnlinked: self.effects.account_unlinked,
        }
        # Each step is marked done per event, so making the call again repeats only what is left.
        return {KINDS[kind]: Kind(_running(run)) for kind, run in runs.items()}


def _running(run: Callable[[int, Any], Awaitable[object]]) -> Callable[..., Awaitable[Outcome]]:
    async def make(guild_id: int, payload: dict[str, Any]) -> Outcome:
        role = await run(guild_id, event_from_dict(payload["event"]))
        if isinstance(role, RoleChange) and not role.is_done and role.for_admin:
            # The other steps are done; the admin has the role to fix (the link log says so too).
            return Refused(f"the linked role was not changed: {role.problem or 'no reason given'}")
        return Done("told, roles and log brought up to date")

    return make
