"""Slot calls: `!call` / `!sr` in chat, the queue, and the posts in Discord (through the outbox)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from core.discord_bot.slot_calls.outbound import DiscordSlotCallPoster
from core.events import ViewerBanned
from core.features.slot_calls.chat import SlotCallChat
from core.features.slot_calls.posts import SlotCallPosts
from core.features.slot_calls.service import SlotCallService

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly


def install(rt: Assembly) -> None:
    rt.slot_calls = SlotCallService(
        rt.engine, rt.clock, default_channel_id=rt.settings.slot_calls.channel_id
    )
    rt.slot_call_chat = SlotCallChat(
        rt.slot_calls, rt.chat_replies, rt.guilds.name_of, windows=rt.windows
    )
    for command in rt.slot_call_chat.commands():
        rt.chat_commands.add(command)
    rt.handle(ViewerBanned, rt.slot_calls.viewer_banned)  # a ban closes their open calls
    # An accepted call's post is queued with it; the Discord worker posts it.
    posts = SlotCallPosts(rt.slot_calls, DiscordSlotCallPoster(rt.discord))
    rt.discord_calls.kinds.update(posts.kinds())
    rt.scheduler.every(
        "forgetting closed slot calls",
        lambda: 3600.0,
        lambda: asyncio.to_thread(rt.slot_calls.forget_old_calls),
    )
