"""Chat commands and slot calls: the one router every chat command goes through."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.discord_bot.slot_calls.outbound import DiscordSlotCallPoster
from core.events import ChatMessageSent
from core.features.chat_commands.commands import StandardCommands
from core.features.chat_commands.replies import ChatReplier
from core.features.chat_commands.router import ChatCommandRouter
from core.features.slot_calls.chat import SlotCallChat
from core.features.slot_calls.service import SlotCallService

if TYPE_CHECKING:
    from core.runtime import Runtime


def install(rt: Runtime) -> None:
    rt.chat_replies = ChatReplier(rt.chat_sender_for)
    rt.slot_calls = SlotCallService(
        rt.engine, rt.clock, default_channel_id=rt.settings.slot_calls.channel_id
    )
    rt.slot_call_chat = SlotCallChat(
        rt.slot_calls, DiscordSlotCallPoster(rt.discord), rt.chat_replies, rt.guilds.name_of
    )
    rt.chat_commands = ChatCommandRouter(
        [
            *StandardCommands(rt.watchtime, rt.guilds.name_of, rt.ticket_balances).commands(),
            *rt.slot_call_chat.commands(),
        ],
        rt.chat_replies,
    )
    rt.handle(ChatMessageSent, rt.chat_commands.handle)
    # Post the calls Discord missed while it was not connected.
    rt.scheduler.after_tick(
        "posting missed slot calls", rt.slot_call_chat.post_pending, when=lambda: rt.discord.enabled
    )
    rt.on_shutdown(rt.chat_commands.close)
