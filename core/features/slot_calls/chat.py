"""Slot calls in stream chat: ``!call <slot>`` (or ``!sr``), and the chat side of a pick.

An accepted call is answered in chat; its post in Discord is queued with it (``posts.py``).
Every refusal has its own short answer, except for blacklisted viewers and repeated deliveries,
which get none. ``!sr`` while calls are off, or left to a song request bot (``!slotcalls sr
off``), is no slot call at all: no answer either. A viewer's refusals are answered at most once
per :data:`REFUSALS_ANSWERED`, so one viewer typing ``!call`` over and over does not fill the
chat (and the bot's line queue).
Nothing said here starts like a command, and a slot name is never repeated with the command
characters it began with, so no other bot in the chat reacts to our lines.
"""

from __future__ import annotations

import asyncio
import logging

from core.events import ChatMessageSent
from core.features.chat_commands.commands import GuildName, discord_place, platform_title
from core.features.chat_commands.parsing import command_line, parse_command
from core.features.chat_commands.replies import ChatReplier
from core.features.chat_commands.router import ChatCommand, ChatInvocation
from core.features.chat_commands.text import chat_safe
from core.features.slot_calls.service import (
    MAX_SLOT_NAME,
    CallOutcome,
    Pick,
    SlotCallService,
    Verdict,
)
from core.ratelimits import Limit, MemoryWindows, Windows

log = logging.getLogger(__name__)

ECHO_LIMIT = 80  # characters of a slot name repeated in chat
EMPTY_NAME = "Please name a slot: !call <slot>"
CALLS_OFF = "Slot calls are off right now."
TOO_LONG = f"That slot name is too long ({MAX_SLOT_NAME} characters at most)."
REFUSALS_ANSWERED = Limit(1, 10.0)  # per viewer: the refusals after the first are not answered
RUN_AGAIN = Limit(1, 600.0)  # a message's command run again within this is answered again


def echo(name: str) -> str:
    """A slot name as chat may see it again: clean, short, never starting like a command, and
    without ``@``, so that no viewer can make the bot mention someone."""
    safe = chat_safe(name.replace("@", " "))
    return safe if len(safe) <= ECHO_LIMIT else safe[: ECHO_LIMIT - 1] + "\N{HORIZONTAL ELLIPSIS}"


def call_reply(outcome: CallOutcome) -> str | None:
    """The chat answer to a ``!call``; None to stay silent. (NOT_LINKED is answered apart.)"""
    call = outcome.call
    match outcome.verdict:
        case Verdict.ACCEPTED if call is not None:
            name = echo(call.slot_name)
            return f"Slot call added: {name} (#{outcome.position} in the queue)."
        case Verdict.CALLS_OFF:
            return CALLS_OFF
        case Verdict.EMPTY:
            return EMPTY_NAME
        case Verdict.TOO_LONG:
            return TOO_LONG
        case Verdict.COOLDOWN:
            return f"Please wait {outcome.retry_after_seconds} s before your next slot call."
        case Verdict.TOO_MANY_OPEN:
            calls = "call" if outcome.limit == 1 else "calls"
            return f"You already have {outcome.limit} open slot {calls}; wait until one is picked."
        case Verdict.CLEARED_SINCE if outcome.slot_name:
            name = echo(outcome.slot_name)
            cleared = "The slot calls were cleared after you called"
            return f"{cleared} {name}; please call it again."
        case Verdict.ALREADY_OPEN if call is not None:
            name = echo(call.slot_name)
            return f"Already in the queue: {name} (#{outcome.position})."
        case _:
            return None


def pick_announcement(pick: Pick) -> str:
    username = chat_safe(pick.call.username) or "a viewer"
    return f"Picked slot: {echo(pick.call.slot_name)}, called by @{username}!"


class SlotCallChat:
    """``guild_name`` gives a guild's Discord server name (for "link your account first").
    ``windows``: where the answered refusals are counted (the runtime's, shared by its bot
    processes through Redis when it has one); None: this process's memory."""

    def __init__(
        self,
        service: SlotCallService,
        replies: ChatReplier,
        guild_name: GuildName,
        *,
        windows: Windows | None = None,
    ) -> None:
        self.service = service
        self.replies = replies
        self.guild_name = guild_name
        self.windows = windows if windows is not None else MemoryWindows()

    def commands(self) -> list[ChatCommand]:
        # No router cooldown: the service's per-viewer cooldown applies, with its own answer.
        # Each server following the channel with calls on takes the call; one answers.
        return [ChatCommand("call", self.call, aliases=("sr",), on_in=self.takes_calls)]

    def takes_calls(self, guild_id: int, event: ChatMessageSent) -> bool:
        """Whether the guild has slot calls on for this message (``!sr`` only when it takes
        ``!sr`` too). Synchronous: it reads the database."""
        typed = parse_command(command_line(event))
        settings = self.service.status(guild_id).settings
        as_sr = typed is not None and typed.name == "sr"
        return settings.enabled and (settings.answer_sr or not as_sr)

    async def call(self, invocation: ChatInvocation) -> str | None:
        typed = parse_command(command_line(invocation.event))
        outcome = await asyncio.to_thread(
            self.service.request,
            invocation.guild_id,
            invocation.event,
            invocation.arguments,
            as_sr=typed is not None and typed.name == "sr",
        )
        reply = await self._answer(invocation, outcome)
        refused = reply is not None and outcome.verdict != Verdict.ACCEPTED
        if refused and not await self._may_refuse(invocation):
            return None  # they were refused a moment ago: one answer is enough
        return reply

    async def _may_refuse(self, invocation: ChatInvocation) -> bool:
        """Whether to answer this refusal: the viewer's first in :data:`REFUSALS_ANSWERED`,
        or a message refused before (run again after a kill, maybe before its answer was
        queued; the chat outbox says one answer per message)."""
        guild_id, event = invocation.guild_id, invocation.event
        message = f"slotcalls:refusing:{guild_id}:{event.key}"
        if await self.windows.try_take(message, RUN_AGAIN) is None:
            return True
        viewer = invocation.viewer.platform_user_id or invocation.viewer.username.casefold()
        key = f"slotcalls:refused:{guild_id}:{invocation.platform}:{viewer}"
        return await self.windows.try_take(key, REFUSALS_ANSWERED) is not None

    async def _answer(self, invocation: ChatInvocation, outcome: CallOutcome) -> str | None:
        if outcome.verdict == Verdict.NOT_LINKED:
            name = await asyncio.to_thread(self.guild_name, invocation.guild_id)
            on, where = invocation.platform, discord_place(name)
            return f"Please link your {platform_title(on)} account first: !link {on} in {where}."
        return call_reply(outcome)

    async def announce_pick(self, pick: Pick) -> None:
        """Say in the stream's chat which slot was picked, and whose call it was."""
        call = pick.call
        await self.replies.say(
            call.guild_id, call.platform, call.broadcaster_user_id, pick_announcement(pick)
        )
