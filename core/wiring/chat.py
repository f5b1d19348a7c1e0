"""Chat commands: the one router every chat command goes through, and the commands every guild has.

A feature with chat commands of its own adds them in its install (``rt.chat_commands.add``), so
its install comes after this one in ``FEATURES``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from core.events import ChatMessageSent, Platform, StreamStarted
from core.features.chat_bots import ChatBots
from core.features.chat_commands.answering import AnsweringGuilds
from core.features.chat_commands.commands import StandardCommands
from core.features.chat_commands.notices import ChatNotices
from core.features.chat_commands.pending import PendingCommands
from core.features.chat_commands.queued import SAY, TIMEOUT_SECONDS, QueuedChat, service_of
from core.features.chat_commands.replies import ChatReplier
from core.features.chat_commands.router import ChatCommandRouter
from core.outbox.worker import OutboxWorker

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly

# How often each bot process looks for commands a gone process left (a heartbeat's length).
RECOVER_EVERY_SECONDS = 2.0


def commands_of_this_channel(
    router: ChatCommandRouter, chat_bots: ChatBots
) -> Callable[[int, ChatMessageSent], Awaitable[None]]:
    """``router.handle`` for the messages people typed in the channel itself. A Twitch Shared
    Chat shows another channel's messages here too: a command typed there is that channel's to
    answer (an answer here would show in every shared chat, and twice if it runs StreamKeeper
    too). A chat bot's message runs nothing: another bot's line that starts with ``!`` is no
    viewer asking, and our own account never answers itself."""

    async def handle(guild_id: int, event: ChatMessageSent) -> None:
        if chat_bots.person_here(event):
            await router.handle(guild_id, event)

    return handle


def install(rt: Assembly) -> None:
    # Lines go through the outbox: each platform's chat worker posts them with its own sender.
    queued = QueuedChat(rt.engine, rt.clock, rt.chat_sender_for)  # type: ignore[arg-type]
    for platform in (Platform.KICK, Platform.TWITCH):
        kinds = {SAY: queued.kind(platform)}
        worker = OutboxWorker(
            rt.engine, service_of(platform), kinds, rt.clock, timeout_seconds=TIMEOUT_SECONDS
        )
        rt.call_through(worker)
    rt.chat_replies = ChatReplier(queued.sender_for)
    # Senders that queue a line in the outbox: what another feature says in chat on its own
    # (VIP's notices) survives a restart and is listed when the bot could not say it.
    rt.queued_chat_sender_for = queued.sender_for
    # A channel several servers follow has one chat: one of them answers there.
    answering = AnsweringGuilds(rt.engine, rt.guilds.guilds_served)
    rt.chat_commands = ChatCommandRouter(
        StandardCommands(rt.watchtime, rt.guilds.name_of, rt.ticket_balances).commands(),
        rt.chat_replies,
        windows=rt.windows,  # cooldowns shared by every bot process (Redis, when there is one)
        # Each accepted command kept until it has run: a killed process's pass to another.
        pending=PendingCommands(rt.engine, rt.clock, rt.process_name),
        answers=answering.answers,
    )
    rt.handle(ChatMessageSent, commands_of_this_channel(rt.chat_commands, rt.chat_bots))
    rt.scheduler.every(
        "chat commands left behind",
        lambda: RECOVER_EVERY_SECONDS,
        rt.chat_commands.recover,
        everywhere=True,
    )
    # "StreamKeeper is online" when a channel goes live, and VIP's pause and resume (wiring/vip).
    rt.chat_notices = ChatNotices(
        rt.engine,
        rt.clock,
        lambda platform: rt.chat_sender_for(platform) is not None,
        lambda: rt.chat_commands.names,
        answering,
    )
    rt.handle(StreamStarted, rt.chat_notices.handle_stream_started)
    rt.on_shutdown(rt.chat_commands.close)
