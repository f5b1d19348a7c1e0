"""``!points`` in stream chat: your own balance, or ``!points <name>`` another viewer's.

Names are looked up on the platform the question was asked on; a name is said back only in its
cleaned form, never starting like a command.
"""

from __future__ import annotations

import asyncio
import re

from core.events import Platform
from core.features.chat_commands.router import ChatCommand, ChatInvocation
from core.features.chat_commands.text import chat_safe
from core.features.points.service import PointsService

NAME_PATTERN = re.compile(r"@?[A-Za-z0-9_][A-Za-z0-9_.\-]{0,39}")
NOT_A_NAME = "That is not a viewer's name: type !points, or !points <name>."


def amount_text(points: int, name: str) -> str:
    return f"{points:,} {name}"


class PointsChat:
    def __init__(self, points: PointsService) -> None:
        self.points = points

    def commands(self) -> list[ChatCommand]:
        return [ChatCommand("points", self.show, user_cooldown_seconds=10)]

    async def show(self, invocation: ChatInvocation) -> str | None:
        wanted = invocation.arguments.strip()
        if not wanted:
            user_id = invocation.viewer.platform_user_id
            if user_id is None:
                return None
            return await asyncio.to_thread(
                self.own_reply, invocation.guild_id, invocation.platform, user_id
            )
        if " " in wanted or not NAME_PATTERN.fullmatch(wanted):
            return NOT_A_NAME
        return await asyncio.to_thread(
            self.other_reply, invocation.guild_id, invocation.platform, wanted.lstrip("@")
        )

    def own_reply(self, guild_id: int, platform: Platform, user_id: str) -> str:
        name = self.points.name(guild_id)
        balance = self.points.balance(guild_id, platform, user_id)
        pending = self.points.pending(guild_id, platform, user_id)
        coming = f" (+{pending:,} on the way)" if pending else ""
        if balance <= 0:
            return f"You have 0 {name}{coming}: watch and chat while the stream is live to earn."
        rank = self.points.rank(guild_id, balance)
        holders = self.points.count_holders(guild_id)
        return f"You have {amount_text(balance, name)}{coming}: rank #{rank} of {holders}."

    def other_reply(self, guild_id: int, platform: Platform, username: str) -> str:
        name = self.points.name(guild_id)
        shown = chat_safe(username) or "that viewer"
        ids = self.points.find_ids(platform, username)
        if not ids:
            return f"No one called {shown} has chatted here yet."
        balance = max(self.points.balance(guild_id, platform, user_id) for user_id in ids)
        return f"{shown} has {amount_text(balance, name)}."
