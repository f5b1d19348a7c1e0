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
would not change, or a link log Discord would not take (its channel gone, a permission lost),
ends the call refused with why, after its other steps (``core/outbox/undone.py`` lists it for
the admins: ``!health`` and the dashboard's "What the bot could not do").
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
from core.features.linking.effects import Aftermath, LinkEffects
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
        runs: dict[type[LinkEvent], Callable[[int, Any], Awaitable[Aftermath]]] = {
            AccountLinked: self.effects.account_linked,
            AccountLinkFailed: self.effects.link_failed,
            AccountUnlinked: self.effects.account_unlinked,
        }
        # Each step is marked done per event, so making the call again repeats only what is left.
        made = {KINDS[kind]: Kind(_running(run, _event)) for kind, run in runs.items()}
        joined = _running(self.effects.member_joined, _member)
        elsewhere = _running(self.effects.unlinked_elsewhere, _member)
        forgotten = _running(self.effects.forgotten, _member_and_roles)
        return made | {
            calls.JOINED: Kind(joined),
            calls.UNLINKED_ELSEWHERE: Kind(elsewhere),
            calls.FORGOTTEN: Kind(forgotten),
        }


def _member(payload: dict[str, Any]) -> int:
    return int(payload["discord_user_id"])


def _member_and_roles(payload: dict[str, Any]) -> tuple[int, tuple[int, ...]]:
    return _member(payload), tuple(int(role_id) for role_id in payload.get("role_ids", ()))


def _event(payload: dict[str, Any]) -> LinkEvent:
    return event_from_dict(payload["event"])  # type: ignore[return-value]


def _running(
    run: Callable[[int, Any], Awaitable[Aftermath]], argument: Callable[[dict[str, Any]], Any]
) -> Callable[..., Awaitable[Outcome]]:
    async def make(guild_id: int, payload: dict[str, Any]) -> Outcome:
        after = await run(guild_id, argument(payload))
        # The other steps are done; what is left is the admin's to fix, so it is listed for them.
        problems = []
        role = after.role
        if role is not None and not role.is_done and role.for_admin:
            problems.append(f"the linked role was not changed: {role.problem or 'no reason given'}")
        if after.log_problem is not None:
            problems.append(f"link log not written: {after.log_problem}")
        if problems:
            return Refused("; ".join(problems))
        return Done("told, roles and log brought up to date")

    return make
