"""Hand what was queued on the runtime's bus to the bot's handlers, as the bot process would."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.runtime import Runtime


async def deliver_queued(runtime: Runtime) -> None:
    """Run the consumer until the queue is empty (``backlog`` runs off the loop, as the bus's
    own blocking calls do), then make the outside calls the handlers queued in the outbox."""
    while await asyncio.to_thread(runtime.bus.backlog):
        await runtime.bus.deliver_due(runtime.dispatcher)
    await make_queued_calls(runtime)


async def make_queued_calls(runtime: Runtime) -> None:
    """What the outbox workers would do: make every call that is due now."""
    while sum([await worker.run_once() for worker in runtime.outbox_workers]):
        pass


def deliver_all(runtime: Runtime) -> None:
    """``deliver_queued`` from synchronous code (a test with no running loop)."""
    asyncio.run(deliver_queued(runtime))


async def settle(runtime: Runtime) -> None:
    """Deliver everything queued, let the chat commands it started finish, then make the
    outside calls they queued (their chat replies among them)."""
    await deliver_queued(runtime)
    await runtime.chat_commands.flush()
    await make_queued_calls(runtime)
