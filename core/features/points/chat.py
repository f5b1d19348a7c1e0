"""``!points`` in stream chat: your own balance, or ``!points <name>`` another viewer's.

Names are looked up on the platform the question was asked on; a name is said back only in its
cleaned form, never starting like a command. In a guild that keeps its points on StreamElements,
a Kick account's balance is that of the Twitch account linked to it (:mod:`.se_logins`).
"""

from __future__ import annotations

import asyncio
import re

from core.events import Platform
from core.features.chat_commands.router import ChatCommand, ChatInvocation, Refusal
from core.features.chat_commands.text import chat_safe
from core.features.points.se_logins import kick_without_twitch
from core.features.points.se_wallet import SeWallet
from core.features.points.se_words import held_words
from core.features.points.service import PointsRefused, PointsService
from core.platforms.streamelements.api import checked_username

NAME_PATTERN = re.compile(r"@?[A-Za-z0-9_][A-Za-z0-9_.\-]{0,39}")
NOT_A_NAME = Refusal("That is not a viewer's name: type !points, or !points <name>.")


def amount_text(points: int, name: str) -> str:
    return f"{points:,} {name}"


class PointsChat:
    """``wallet``: in a guild that keeps its points in StreamElements, balances are its."""

    def __init__(self, points: PointsService, wallet: SeWallet | None = None) -> None:
        self.points = points
        self.wallet = wallet

    def commands(self) -> list[ChatCommand]:
        return [ChatCommand("points", self.show, user_cooldown_seconds=10)]

    async def show(self, invocation: ChatInvocation) -> str | None:
        wanted = invocation.arguments.strip()
        if self.wallet is not None and await asyncio.to_thread(
            self.wallet.uses_streamelements, invocation.guild_id
        ):
            if wanted and (" " in wanted or not NAME_PATTERN.fullmatch(wanted)):
                return NOT_A_NAME
            try:
                login = await asyncio.to_thread(
                    self._se_login, self.wallet, invocation, wanted.lstrip("@")
                )
            except PointsRefused as refused:
                return str(refused)
            return await self.streamelements_reply(
                self.wallet, invocation.guild_id, login, own=not wanted
            )
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

    def _se_login(self, wallet: SeWallet, invocation: ChatInvocation, wanted: str) -> str:
        """The StreamElements login asked about: on Twitch the name typed, else the chat's
        login; on Kick the Twitch login linked to the asker's (or the named viewer's) Discord
        member, never a Kick name (:mod:`.se_logins`)."""
        if invocation.platform is Platform.TWITCH:
            return wanted or invocation.event.login or invocation.viewer.username
        if not wanted:
            user_id = invocation.viewer.platform_user_id or ""
            return wallet.login_of(Platform.KICK, user_id, invocation.viewer.username)
        shown = chat_safe(wanted) or "that viewer"
        ids = self.points.find_ids(invocation.guild_id, Platform.KICK, wanted)
        if not ids:
            raise PointsRefused(f"No one called {shown} has chatted here yet.")
        found = wallet.logins_of([(Platform.KICK, user_id, wanted) for user_id in ids])
        logins = [login for login in found if login is not None]
        if not logins:
            raise PointsRefused(kick_without_twitch(shown))
        return logins[0]

    def own_reply(self, guild_id: int, platform: Platform, user_id: str) -> str:
        name = self.points.name(guild_id)
        balance = self.points.balance(guild_id, platform, user_id)
        pending = self.points.pending(guild_id, platform, user_id)
        coming = f" (+{pending:,} on the way)" if pending else ""
        if balance <= 0:
            return f"You have 0 {name}{coming}: watch and chat while the stream is live to earn."
        place = self.points.place(guild_id, balance)
        holders = self.points.count_holders(guild_id)
        return f"You have {amount_text(balance, name)}{coming}: rank {place} of {holders}."

    def other_reply(self, guild_id: int, platform: Platform, username: str) -> str:
        name = self.points.name(guild_id)
        shown = chat_safe(username) or "that viewer"
        ids = self.points.find_ids(guild_id, platform, username)
        if not ids:
            return f"No one called {shown} has chatted here yet."
        balance = max(self.points.balance(guild_id, platform, user_id) for user_id in ids)
        return f"{shown} has {amount_text(balance, name)}."

    async def streamelements_reply(
        self, wallet: SeWallet, guild_id: int, login: str, *, own: bool
    ) -> str:
        """The balance StreamElements keeps, less what is held in heists here and what waits
        to be taken from it."""
        name = await asyncio.to_thread(self.points.name, guild_id)
        shown = chat_safe(login) or "that viewer"
        try:
            balance = await wallet.balance(guild_id, login)
            held = await asyncio.to_thread(wallet.held, guild_id, login)
        except (PointsRefused, ValueError) as refused:
            if own or _is_login(login):  # StreamElements did not answer: said as it is
                return str(refused)
            return f"StreamElements has no points for {shown}."
        free = amount_text(max(balance - held.total, 0), name)
        who = "You have" if own else f"{shown} has"
        return f"{who} {free} on StreamElements{held_words(held)}."


def _is_login(name: str) -> bool:
    """Whether ``name`` is one StreamElements could keep points for (a Twitch login)."""
    try:
        checked_username(name)
    except ValueError:
        return False
    return True
