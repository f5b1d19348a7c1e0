"""How the bot words a connection check's fix: its commands, with the server's prefix."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import discord

from core.discord_bot.render import inert
from core.events import utc
from core.features.connections.checks import FixWords


def ago(moment: datetime) -> str:
    """A moment as Discord shows it to each reader ("3 minutes ago", in their time zone)."""
    return discord.utils.format_dt(utc(moment), "R")


def fix_words(prefix: str, *, name: Callable[[str], str] = inert) -> FixWords:
    """The fixes as commands. ``name`` makes a platform's text safe to show: ``str`` for a reply
    that passes each whole line through :func:`inert` itself (escaped twice, a ``_`` shows as
    ``\\_``)."""

    def setup(platform: str, slug: str | None) -> str:
        if slug is None:
            return f"run {prefix}{platform} setup <channel>"
        return f"run {prefix}{platform} setup {name(slug)} and open the link I send you"

    return FixWords(
        setup=setup, sync=lambda platform: f"run {prefix}{platform} sync", when=ago, name=name
    )
