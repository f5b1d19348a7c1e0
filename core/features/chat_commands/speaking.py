"""Which of the servers following one channel run a chat command, and which one answers it.

The channel has one chat, so one server answers there (``answering.py``). Most commands run in
that server alone. A command each server turns on or off for itself (slot calls: on in a
streamer's server, off in a partner's) names its switch (``ChatCommand.on_in``): it runs in
every server that has it on, and one of those answers (the one ``answering.py`` prefers among
them); when no server has it on, the answering server alone runs it, and says it is off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from core.events import ChatMessageSent

log = logging.getLogger(__name__)

# Whether the command is on in a guild, for this message (synchronous: it may read the database).
GuildOn = Callable[[int, ChatMessageSent], bool]
# ``answers(guild_id, event, among=None)``: whether the guild answers in the event's chat, of
# the guilds following the channel (``among``: of those it holds for, when it holds for any).
Answers = Callable[..., Awaitable[bool]]


async def runs_here(
    answers: Answers | None, guild_id: int, event: ChatMessageSent, on_in: GuildOn | None
) -> tuple[bool, bool]:
    """Whether ``guild_id`` runs the command, and whether its reply is said in chat (both, for
    every guild, without ``answers``)."""
    if answers is None:
        return True, True
    if on_in is None:
        speaks = await answers(guild_id, event)
        return speaks, speaks
    if await answers(guild_id, event, lambda other: on_in(other, event)):
        return True, True
    try:
        return await asyncio.to_thread(on_in, guild_id, event), False
    except Exception:  # the database away: the answering server runs it, and says what fails
        log.warning("guild %s: could not tell whether the command is on", guild_id)
        return False, False


async def speaks_again(
    answers: Answers | None, guild_id: int, event: ChatMessageSent, on_in: GuildOn | None
) -> bool:
    """Whether the reply of a command a stopped process left behind is said: a command without
    a switch was kept by the one server that runs it; one with a switch, as :func:`runs_here`."""
    if on_in is None:
        return True
    return (await runs_here(answers, guild_id, event, on_in))[1]
