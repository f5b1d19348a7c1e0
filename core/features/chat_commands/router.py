"""The chat command router: the one way in for every command viewers type in a stream chat.

A message is a command when it starts with ``!`` and a known name or alias, in any case, once
cleaned as all chat text is (``text.clean_text``: invisible characters such as the mark
Chatterino and 7TV add to a repeated message dropped, compatibility forms folded). That is
checked first, against a dict in memory, so ordinary chat costs a string test and a lookup and
never touches the database. A command then needs the permission level its badges give, and must
be off cooldown. Cooldowns, and the commands already answered (a redelivered message is not
answered twice), are windows of one (``core/ratelimits``): in Redis when the deployment has it,
so they hold across bot processes whichever reads the message.

A command runs as a task on its guild's queue: commands of one guild run in order, each within
a time limit, guilds never wait for each other, and the bus consumer never waits for a command.
With a :class:`~core.features.chat_commands.pending.PendingCommands`, an accepted command is
kept in the database until it has run, so one a killed process never ran is run by another
(:meth:`ChatCommandRouter.recover`). The marks every process shares (answered, cooldowns) are
taken only once the command is kept: a process that dies before leaves none, and the message,
delivered again, is answered by another.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from core.events import ChatMessageSent, Platform, Viewer
from core.features.chat_commands.parsing import (  # the names the features import from here
    ParsedCommand,
    Permission,
    Refusal,
    command_line,
    parse_command,
    permission_of,
)
from core.features.chat_commands.pending import PendingCommands
from core.features.chat_commands.replies import ChatReplier
from core.features.chat_commands.speaking import Answers, GuildOn, runs_here, speaks_again
from core.ratelimits import Limit, MemoryWindows, Taken, Windows

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_WAITING_PER_GUILD = 20
ANSWERED = Limit(1, 600)  # a message redelivered within this is not answered again
# A viewer's refusals that give their cooldown back, per command and chat: past these, a flood
# of wrong commands waits out the cooldown as any other.
FORGIVEN = Limit(3, 60)


@dataclass(frozen=True)
class ChatInvocation:
    """One accepted command: what handlers receive."""

    guild_id: int
    event: ChatMessageSent
    command: str  # the command's own name, whichever alias was typed
    arguments: str
    permission: Permission
    speaks: bool = True  # False: another server following the channel says the reply

    @property
    def platform(self) -> Platform:
        return self.event.platform

    @property
    def viewer(self) -> Viewer:
        return self.event.viewer


ChatHandler = Callable[[ChatInvocation], Awaitable[str | None]]  # a str, or a Refusal


@dataclass(frozen=True)
class ChatCommand:
    """A chat command. The handler returns the reply (sent to the sender), or None for silence;
    a :class:`Refusal` for a wrong argument gives the viewer's cooldown back.

    Cooldowns are in seconds: ``cooldown_seconds`` for everyone in one of the guild's chats at
    once (Kick's and Twitch's cool down apart), ``user_cooldown_seconds`` for each viewer.
    Moderators and the broadcaster skip both. ``on_in``: the command's switch (``speaking.py``).
    """

    name: str
    handler: ChatHandler
    aliases: tuple[str, ...] = ()
    permission: Permission = Permission.EVERYONE
    cooldown_seconds: float = 0.0
    user_cooldown_seconds: float = 0.0
    on_in: GuildOn | None = None


class ChatCommandRouter:
    """Register :meth:`handle` as the dispatcher's async handler for ChatMessageSent."""

    def __init__(
        self,
        commands: Iterable[ChatCommand],
        replies: ChatReplier,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        max_waiting_per_guild: int = MAX_WAITING_PER_GUILD,
        windows: Windows | None = None,
        clock: Callable[[], float] = time.monotonic,
        pending: PendingCommands | None = None,
        stop_grace_seconds: float | None = None,
        answers: Answers | None = None,
    ) -> None:
        """``windows``: where cooldowns are kept (the runtime's, shared by its processes
        through Redis when it has one); None: this process's memory, on ``clock``.
        ``pending``: where accepted commands are kept until they have run; None: in memory
        only (a command queued when the process dies is lost). ``stop_grace_seconds``: how long
        :meth:`close` waits for the queued commands (the commands' time limit unless given).
        ``answers(guild_id, event, among=None)``: whether that guild answers in the event's
        chat, of the guilds following a channel (``answering.py``); None: every guild does."""
        self.replies = replies
        self.answers = answers
        self.stop_grace_seconds = (
            timeout_seconds if stop_grace_seconds is None else stop_grace_seconds
        )
        self.pending = pending
        self.timeout_seconds = timeout_seconds
        self.max_waiting_per_guild = max(1, max_waiting_per_guild)
        self.windows = windows if windows is not None else MemoryWindows(clock)
        self._table: dict[str, ChatCommand] = {}
        for command in commands:
            self.add(command)
        # Each guild's queued commands, with their pending row and the viewer's cooldown taken.
        self._queues: dict[int, deque[_Queued]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}

    def add(self, command: ChatCommand) -> None:
        """Register ``command``; a name or alias that is taken already raises ValueError."""
        names = [command.name, *command.aliases]
        for name in names:
            if name != name.casefold() or not name or any(c.isspace() for c in name):
                raise ValueError(f"chat command names are lowercase words, not {name!r}")
            if name in self._table:
                raise ValueError(f"chat command name {name!r} is taken")
        for name in names:
            self._table[name] = command

    @property
    def names(self) -> list[str]:
        return sorted(self._table)

    async def handle(self, guild_id: int, event: ChatMessageSent) -> None:
        """Queue the command in ``event``, if it holds one that the sender may use now."""
        parsed = parse_command(command_line(event))
        if parsed is None:
            return
        command = self._table.get(parsed.name)
        if command is None:
            return
        runs, speaks = await runs_here(self.answers, guild_id, event, command.on_in)
        if not runs:
            return  # another server following this channel answers in its one chat
        permission = permission_of(event)
        if permission < command.permission:
            log.debug("guild %s: %s may not use !%s", guild_id, event.viewer.username, command.name)
            return
        invocation = ChatInvocation(
            guild_id, event, command.name, parsed.arguments, permission, speaks
        )
        kept = None
        if self.pending is not None:
            try:
                kept = await asyncio.to_thread(
                    self.pending.keep, guild_id, event, command.name, parsed.arguments, permission
                )
            except Exception:  # the database away: run it all the same, as without ``pending``
                log.warning(
                    "guild %s: !%s not kept; it runs", guild_id, command.name, exc_info=True
                )
            else:
                if kept is None:
                    return  # accepted before (a redelivery after a restart): it runs there
        # Only now the marks every process shares: a process dying before its row was kept
        # took none (the message comes again and is answered), one dying after leaves its row.
        try:
            admitted = await self._admit(guild_id, command, event, permission)
            cooldown = admitted if isinstance(admitted, Taken) else None
            queued = admitted is not None and self._enqueue(command, invocation, kept, cooldown)
        except BaseException:  # cut short (a stop): any process runs it, once
            if kept is not None and self.pending is not None:
                await asyncio.to_thread(self.pending.let_go, [kept])
            raise
        if not queued:
            await self._forget(kept)

    async def _admit(
        self, guild_id: int, command: ChatCommand, event: ChatMessageSent, permission: Permission
    ) -> Taken | bool | None:
        """Mark the message answered and start the cooldowns: the viewer's cooldown taken, else
        True; None when it was answered before (a redelivery) or is cooling down."""
        answered = await self._mark_answered(guild_id, event)
        if answered is None:
            return None  # delivered again: it was answered the first time
        try:
            if permission >= Permission.MODERATOR:
                return True
            return await self._take_cooldowns(guild_id, command, event)
        except BaseException:
            await self.windows.give_back(answered)  # not answered: the message comes again
            raise

    async def _mark_answered(self, guild_id: int, event: ChatMessageSent) -> Taken | None:
        return await self.windows.try_take(f"chat:answered:{guild_id}:{event.key}", ANSWERED)

    async def recover(self) -> int:
        """Run the commands that processes gone (killed, or stopped before running them) left
        behind; how many were taken. The scheduler calls it every few seconds."""
        if self.pending is None:
            return 0
        found = await asyncio.to_thread(self.pending.left_behind)
        for row in found:
            command = self._table.get(row.command)
            permission = Permission(min(max(row.permission, 0), Permission.BROADCASTER))
            on_in = command.on_in if command is not None else None
            speaks = await speaks_again(self.answers, row.guild_id, row.event, on_in)
            invocation = ChatInvocation(
                row.guild_id, row.event, row.command, row.arguments, permission, speaks
            )
            if command is None:  # no longer a command here (renamed, its feature off)
                await self._forget(row.id)
            elif not self._enqueue(command, invocation, row.id, None):
                await asyncio.to_thread(self.pending.let_go, [row.id])  # the next look's
            else:  # answered here, should the message itself come again after its row went
                await self._mark_answered(row.guild_id, row.event)
        if found:
            log.info("took %d chat command(s) a stopped bot process left behind", len(found))
        return len(found)

    async def flush(self) -> None:
        """Wait until every queued command has run (tests, and shutting down)."""
        while self._workers:
            await asyncio.wait(list(self._workers.values()))

    async def close(self) -> None:
        """Let queued commands finish within their time limit, then stop; those still waiting
        are handed over to the other bot processes (or to this one's next start)."""
        try:
            await asyncio.wait_for(self.flush(), timeout=self.stop_grace_seconds)
        except TimeoutError:
            workers = list(self._workers.values())
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        waiting = [queued.kept for queue in self._queues.values() for queued in queue]
        self._queues.clear()
        if self.pending is not None:
            try:
                await asyncio.to_thread(self.pending.let_go, [k for k in waiting if k is not None])
            except Exception:
                log.warning(
                    "chat commands not handed over; another process takes them "
                    "when this one's heartbeat ends",
                    exc_info=True,
                )

    async def _take_cooldowns(
        self, guild_id: int, command: ChatCommand, event: ChatMessageSent
    ) -> Taken | bool | None:
        """Start the viewer's cooldown and then the chat's, each when the command has one: the
        viewer's taken (True when it has none); None (and neither started) when either is
        still cooling down."""
        chat = _cooldown_key(guild_id, command, event)
        user = None
        if command.user_cooldown_seconds > 0:
            limit = Limit(1, command.user_cooldown_seconds)
            user = await self.windows.try_take(f"{chat}:viewer:{_viewer(event)}", limit)
            if user is None:
                log.debug("guild %s: !%s is cooling down for them", guild_id, command.name)
                return None
        if command.cooldown_seconds > 0:
            limit = Limit(1, command.cooldown_seconds)
            if await self.windows.try_take(f"{chat}:{event.broadcaster_user_id}", limit) is None:
                if user is not None:
                    await self.windows.give_back(user)  # they were not answered
                log.debug("guild %s: !%s is cooling down", guild_id, command.name)
                return None
        return user or True

    # Running

    def _enqueue(
        self,
        command: ChatCommand,
        invocation: ChatInvocation,
        kept: int | None,
        cooldown: Taken | None,
    ) -> bool:
        """Queue the command on its guild's queue; False when too many wait there already."""
        guild_id = invocation.guild_id
        queue = self._queues.setdefault(guild_id, deque())
        if len(queue) >= self.max_waiting_per_guild:
            log.warning(
                "guild %s: %d chat commands already wait; dropping !%s",
                guild_id,
                len(queue),
                command.name,
            )
            return False
        queue.append(_Queued(command, invocation, kept, cooldown))
        if guild_id not in self._workers:
            self._workers[guild_id] = asyncio.get_running_loop().create_task(
                self._work(guild_id), name=f"chat-commands-{guild_id}"
            )
        return True

    async def _forget(self, kept: int | None) -> None:
        """The command's row goes: it ran, or it will not."""
        if kept is None or self.pending is None:
            return
        try:
            await asyncio.to_thread(self.pending.done, [kept])
        except Exception:  # kept until pending.FORGOTTEN; run again only if this process dies
            log.warning("a chat command's row was not deleted", exc_info=True)

    async def _work(self, guild_id: int) -> None:
        queue = self._queues[guild_id]
        try:
            while queue:
                queued = queue.popleft()
                await self._run(queued.command, queued.invocation, queued.cooldown)
                await self._forget(queued.kept)
        finally:
            # Nothing awaits between the last empty check and here, so a command queued
            # meanwhile finds either this worker running or no worker (and starts one).
            self._workers.pop(guild_id, None)
            if not queue:
                self._queues.pop(guild_id, None)

    async def _run(
        self, command: ChatCommand, invocation: ChatInvocation, cooldown: Taken | None
    ) -> None:
        try:
            async with asyncio.timeout(self.timeout_seconds):
                reply = await command.handler(invocation)
        except TimeoutError:
            log.warning(
                "guild %s: !%s took longer than %.0f s; gave up on it",
                invocation.guild_id,
                command.name,
                self.timeout_seconds,
            )
            return
        except Exception:
            log.exception("guild %s: !%s failed", invocation.guild_id, command.name)
            return
        if reply and invocation.speaks:
            await self.replies.reply(invocation.guild_id, invocation.event, reply)
        if isinstance(reply, Refusal) and cooldown is not None:
            await self._forgive(command, invocation, cooldown)

    async def _forgive(
        self, command: ChatCommand, invocation: ChatInvocation, cooldown: Taken
    ) -> None:
        """Give the viewer's cooldown back after a refusal of their typing, unless they had
        :data:`FORGIVEN`'s share already (a flood of wrong commands cools down as any other)."""
        key = _cooldown_key(invocation.guild_id, command, invocation.event)
        forgiven = f"{key}:forgiven:{_viewer(invocation.event)}"
        try:
            if await self.windows.try_take(forgiven, FORGIVEN) is not None:
                await self.windows.give_back(cooldown)
        except Exception:  # the cooldown stands: they wait it out, as before
            log.warning("a refused !%s kept its cooldown", command.name, exc_info=True)


@dataclass(frozen=True)
class _Queued:
    command: ChatCommand
    invocation: ChatInvocation
    kept: int | None  # its pending row's id (None without ``pending``)
    cooldown: Taken | None  # the viewer's cooldown it took


def _viewer(event: ChatMessageSent) -> str:
    return event.viewer.platform_user_id or event.viewer.username.casefold()


def _cooldown_key(guild_id: int, command: ChatCommand, event: ChatMessageSent) -> str:
    # Per chat: a command used on Kick does not silence it on Twitch.
    return f"chat:cooldown:{guild_id}:{command.name}:{event.platform}"


__all__ = [
    "ChatCommand",
    "ChatCommandRouter",
    "ChatHandler",
    "ChatInvocation",
    "ParsedCommand",
    "Permission",
    "Refusal",
    "parse_command",
    "permission_of",
]
