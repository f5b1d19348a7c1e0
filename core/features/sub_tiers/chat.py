"""``!tier [name]`` in stream chat (Kick and Twitch): what StreamKeeper knows of a sub."""

from __future__ import annotations

import asyncio

from core.features.chat_commands.router import ChatCommand, ChatInvocation
from core.features.chat_commands.text import chat_safe
from core.features.sub_tiers.service import SubTierService
from core.features.sub_tiers.texts import describe
from core.features.viewers.search import MAX_NAME

NAME_LIMIT = 40
TOO_MANY = "Several viewers are called that; ask in Discord with their @."


def _echo(name: str) -> str:
    """A typed name as chat may see it again: clean, short, not starting like a command, and
    without ``@``, so that no viewer can make the bot mention someone."""
    safe = chat_safe(name.replace("@", " "))
    return safe[:NAME_LIMIT]


class SubTierChat:
    def __init__(self, service: SubTierService) -> None:
        self.service = service

    def commands(self) -> list[ChatCommand]:
        return [ChatCommand("tier", self.show_tier, user_cooldown_seconds=10)]

    async def show_tier(self, invocation: ChatInvocation) -> str | None:
        return await asyncio.to_thread(self.reply, invocation)

    def reply(self, invocation: ChatInvocation) -> str | None:
        guild_id, platform = invocation.guild_id, str(invocation.platform)
        name = invocation.arguments.split()[0] if invocation.arguments.split() else ""
        if not name:
            user_id = invocation.viewer.platform_user_id
            if user_id is None:
                return None
            return f"Your sub: {describe(self.service.tier_of(guild_id, platform, user_id))}."
        shown = _echo(name) or "that viewer"
        name = name.strip().lstrip("@")
        if not name or len(name) > MAX_NAME:  # no viewer is called so: nothing to look up
            return f"{shown}: nothing known."
        found = self.service.find_by_name(guild_id, platform, name)
        if not found:
            return f"{shown}: nothing known."
        if len(found) > 1:
            return TOO_MANY
        return f"{shown}: {describe(found[0][1])}."
