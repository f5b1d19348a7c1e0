"""What the link panels say: the panel itself (a reaction or a button per platform) and the
replies to the admin who posts one."""

from __future__ import annotations

import discord

from core.discord_bot.linking.render import names_of
from core.events import Platform


def reaction_panel(emoji: str, platforms: tuple[Platform, ...] = (Platform.KICK,)) -> discord.Embed:
    links = "a personal link" if len(platforms) == 1 else "a personal link for each"
    return _panel(platforms, f"React with {emoji} and I'll send you {links} by DM.")


def button_panel(platforms: tuple[Platform, ...] = (Platform.KICK,)) -> discord.Embed:
    button = "the button" if len(platforms) == 1 else "the button of your platform"
    return _panel(
        platforms, f"Press {button} and I'll show you a personal link that only you can see."
    )


def _panel(platforms: tuple[Platform, ...], how: str) -> discord.Embed:
    """A link panel: ``how`` to ask for a link, then what linking is for."""
    names = names_of(platforms)
    return discord.Embed(
        title=f"Link your {names} account",
        description=(
            f"{how} Linking lets this server count your {names} watchtime and give you roles "
            "for it."
        ),
        colour=discord.Colour.green(),
    )


def panel_posted(pinned: bool) -> str:
    if pinned:
        return "Link panel posted and pinned."
    return (
        "Link panel posted, but I couldn't pin it: I need the Manage Messages permission in "
        "this channel."
    )


def no_reactions_here(prefix: str) -> str:
    return (
        "I can't react in this channel: give me Add Reactions and Read Message History here, "
        f"or post a button panel with {prefix}setup_link_button."
    )


BAD_EMOJI = (
    "That isn't an emoji I can use. Give a standard emoji, or one of this server's own emoji."
)
