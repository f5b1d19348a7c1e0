"""The chat commands every guild has: ``!watchtime``, ``!tickets`` and ``!link``.

Each answers the viewer who asked, about themselves, in the guild whose channel they chat in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from core.events import ChatMessageSent, Platform
from core.features.chat_commands.ports import TicketBalance, TicketBalances
from core.features.chat_commands.router import ChatCommand, ChatInvocation
from core.features.chat_commands.text import clean_text
from core.features.watchtime.durations import format_duration
from core.features.watchtime.service import RankedWatchtime, WatchtimeService

RAFFLE_NOT_RUNNING = "The raffle is not running right now."
NO_TICKETS = "You have no raffle tickets yet."
NO_WATCHTIME = "No watchtime yet: chat while the stream is live to earn it."
SERVER_NAME_LIMIT = 60

GuildName = Callable[[int], "str | None"]


def link_instructions(platform: Platform, server_name: str | None) -> str:
    """How a viewer links their account: the command is typed in the guild's Discord server."""
    where = discord_place(server_name)
    return f"To link your {platform_title(platform)} account, type !link {platform} in {where}."


def discord_place(server_name: str | None) -> str:
    """``<server>'s Discord``, or a plain description when the name is unknown."""
    name = clean_text(server_name or "")[:SERVER_NAME_LIMIT].strip()
    return f"{name}'s Discord" if name else "the Discord server"


def platform_title(platform: Platform) -> str:
    return str(platform).capitalize()


def watchtime_reply(found: RankedWatchtime | None, total_viewers: int) -> str:
    if found is None:
        return NO_WATCHTIME
    watched = format_duration(found.entry.seconds)
    return f"You have watched {watched}: rank {found.label} of {total_viewers}."


def tickets_reply(balance: TicketBalance | None) -> str:
    if balance is None:
        return RAFFLE_NOT_RUNNING
    if balance.tickets <= 0:
        return NO_TICKETS
    noun = "ticket" if balance.tickets == 1 else "tickets"
    rank = f": rank #{balance.rank} of {balance.participants}" if balance.rank else ""
    return f"You have {balance.tickets} raffle {noun}{rank}."


class StandardCommands:
    """``tickets`` is the raffle's :class:`TicketBalances`; None while no raffle is built in."""

    def __init__(
        self,
        watchtime: WatchtimeService,
        guild_name: GuildName,
        tickets: TicketBalances | None = None,
    ) -> None:
        self.watchtime = watchtime
        self.guild_name = guild_name
        self.tickets = tickets

    def commands(self) -> list[ChatCommand]:
        return [
            ChatCommand(
                "watchtime", self.show_watchtime, aliases=("wt",), user_cooldown_seconds=15
            ),
            # In a channel several servers follow, one whose raffle runs answers.
            ChatCommand(
                "tickets", self.show_tickets, user_cooldown_seconds=15, on_in=self.raffle_runs
            ),
            ChatCommand("link", self.explain_link, user_cooldown_seconds=30, cooldown_seconds=5),
        ]

    async def show_watchtime(self, invocation: ChatInvocation) -> str | None:
        user_id = invocation.viewer.platform_user_id
        if user_id is None:
            return None
        found, total = await asyncio.to_thread(
            self._watchtime_of, invocation.guild_id, invocation.platform, user_id
        )
        return watchtime_reply(found, total)

    def _watchtime_of(
        self, guild_id: int, platform: Platform, user_id: str
    ) -> tuple[RankedWatchtime | None, int]:
        found = self.watchtime.find_by_user_id(guild_id, user_id, platform)
        total = self.watchtime.count_viewers(guild_id) if found is not None else 0
        return found, total

    def raffle_runs(self, guild_id: int, event: ChatMessageSent) -> bool:
        return self.tickets is not None and self.tickets.running(guild_id)

    async def show_tickets(self, invocation: ChatInvocation) -> str | None:
        user_id = invocation.viewer.platform_user_id
        if self.tickets is None:
            return RAFFLE_NOT_RUNNING
        if user_id is None:
            return None
        balance = await asyncio.to_thread(
            self.tickets.balance, invocation.guild_id, invocation.platform, user_id
        )
        return tickets_reply(balance)

    async def explain_link(self, invocation: ChatInvocation) -> str:
        name = await asyncio.to_thread(self.guild_name, invocation.guild_id)
        return link_instructions(invocation.platform, name)
