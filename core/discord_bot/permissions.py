"""The bot's invite permissions as discord.py flags (the names, bits and the invite link live in
``core/features/guilds/invite.py``, which the web side uses without discord.py)."""

from __future__ import annotations

import discord

from core.features.guilds.invite import BOT_PERMISSIONS, invite_url

__all__ = ["BOT_PERMISSIONS", "bot_permissions", "invite_url"]


def bot_permissions() -> discord.Permissions:
    return discord.Permissions(**dict.fromkeys(BOT_PERMISSIONS, True))
