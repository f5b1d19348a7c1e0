"""The buttons on a slot call's post: Pick (this call), Skip (pass it over) and Clear (every
open call), as a bonus-hunt integration had them. Clear asks first, in a message only the
moderator sees, since it sits beside Skip and cannot be undone: its "Yes, clear all" button
(``clearall``, carrying the moment it was asked in milliseconds) closes the calls typed by
that moment, so a call that came in while the moderator read the question stays.

Their custom ids name the action and the call (``streamkeeper:slotcall:pick:<call id>``), and
one :class:`discord.ui.DynamicItem` the bot registers at start answers every one of them, so the
buttons of posts made before a restart keep working. Only members with Manage Server (the
moderators that run the queue) may press them; anyone else gets a refusal only they see. Each
press is one call of the slot-calls service.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import discord

from core.discord_bot.render import NO_MENTIONS
from core.discord_bot.slot_calls import render
from core.events import utc
from core.features.slot_calls.chat import SlotCallChat
from core.features.slot_calls.repository import SlotCall
from core.features.slot_calls.service import SlotCallService

CUSTOM_ID = "streamkeeper:slotcall:{action}:{call_id}"
TEMPLATE = r"streamkeeper:slotcall:(?P<action>pick|skip|clear|clearall):(?P<call_id>[0-9]{1,19})"
ON_EACH_POST = ("pick", "skip", "clear")
LABELS = {"pick": "Pick", "skip": "Skip", "clear": "Clear all", "clearall": "Yes, clear all"}
STYLES = {
    "pick": discord.ButtonStyle.success,
    "skip": discord.ButtonStyle.secondary,
    "clear": discord.ButtonStyle.danger,
    "clearall": discord.ButtonStyle.danger,
}
NOT_ALLOWED = "Only moderators (Manage Server) can pick, skip or clear slot calls."
NOT_OPEN = "This slot call is not open any more: it was picked, skipped or cleared."


def button(action: str, call_id: int) -> discord.ui.Button[Any]:
    return discord.ui.Button(
        label=LABELS[action],
        style=STYLES[action],
        custom_id=CUSTOM_ID.format(action=action, call_id=call_id),
    )


def call_view(call_id: int) -> discord.ui.View:
    """The buttons a call's post carries (answered by the registered dynamic item)."""
    view = discord.ui.View(timeout=None)
    for action in ON_EACH_POST:
        view.add_item(button(action, call_id))
    return view


def confirm_view(asked_at: datetime) -> discord.ui.View:
    """The one button of the "Clear all?" question."""
    view = discord.ui.View(timeout=None)
    view.add_item(button("clearall", int(asked_at.timestamp() * 1000)))
    return view


def asked_moment(millis: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(millis / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def skipped(call: SlotCall) -> str:
    return f"Skipped **{render.literal(call.slot_name)}** ({render.literal(call.username)})."


class SlotCallButtons:
    """What a press does, through the service; ``chat`` announces a pick in the stream's chat."""

    def __init__(self, service: SlotCallService, chat: SlotCallChat | None = None) -> None:
        self.service = service
        self.chat = chat

    async def press(self, interaction: discord.Interaction, action: str, call_id: int) -> None:
        guild, member = interaction.guild, interaction.user
        if (
            guild is None
            or not isinstance(member, discord.Member)
            or not member.guild_permissions.manage_guild
        ):
            await interaction.response.send_message(
                NOT_ALLOWED, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        if action == "clear":
            await self._ask_to_clear(interaction, guild.id)
        elif action == "clearall":
            moment = asked_moment(call_id)
            if moment is None:
                await self._refuse(interaction)
                return
            count = await asyncio.to_thread(
                lambda: self.service.clear(guild.id, member.id, typed_by=moment)
            )
            await self._say(interaction, render.cleared(count))
        elif action == "skip":
            call = await asyncio.to_thread(self.service.skip, guild.id, call_id, member.id)
            if call is None:
                await self._refuse(interaction)
                return
            await self._say(interaction, skipped(call))
        else:
            pick = await asyncio.to_thread(self.service.pick_call, guild.id, call_id, member.id)
            if pick is None:
                await self._refuse(interaction)
                return
            caller = pick.call.discord_user_id
            embed = render.pick_embed(pick, guild.get_member(caller) if caller else None)
            await interaction.response.send_message(embed=embed, allowed_mentions=NO_MENTIONS)
            if self.chat is not None:
                await self.chat.announce_pick(pick)

    async def _ask_to_clear(self, interaction: discord.Interaction, guild_id: int) -> None:
        count = await asyncio.to_thread(self.service.count_open, guild_id)
        if count == 0:
            await interaction.response.send_message(
                render.NOTHING_TO_CLEAR, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        await interaction.response.send_message(
            render.clear_question(count),
            view=confirm_view(utc(self.service.clock())),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @staticmethod
    async def _say(interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message(text, allowed_mentions=NO_MENTIONS)

    @staticmethod
    async def _refuse(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            NOT_OPEN, ephemeral=True, allowed_mentions=NO_MENTIONS
        )


def dynamic_item(buttons: SlotCallButtons) -> type[discord.ui.DynamicItem[Any]]:
    """The item class the bot registers (``bot.add_dynamic_items``): discord.py builds one from
    each pressed custom id that matches :data:`TEMPLATE`, whenever the post was made."""

    class SlotCallButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
        def __init__(self, action: str, call_id: int) -> None:
            super().__init__(button(action, call_id))
            self.action, self.call_id = action, call_id

        @classmethod
        async def from_custom_id(
            cls,
            interaction: discord.Interaction,
            item: discord.ui.Item[Any],
            match: re.Match[str],
        ) -> SlotCallButton:
            return cls(match["action"], int(match["call_id"]))

        async def callback(self, interaction: discord.Interaction) -> None:
            await buttons.press(interaction, self.action, self.call_id)

    return SlotCallButton
