"""How the bot words a connection check's fix: its commands, with the server's prefix."""

from __future__ import annotations

from collections.abc import Callable

from core.discord_bot.render import inert, relative
from core.features.connections.checks import FixWords


def fix_words(prefix: str, *, name: Callable[[str], str] = inert) -> FixWords:
    """The fixes as commands. ``name`` makes a platform's text safe to show: ``str`` for a reply
    that passes each whole line through :func:`inert` itself (escaped twice, a ``_`` shows as
    ``\\_``)."""

    def setup(platform: str, slug: str | None) -> str:
        if slug is None:
            return f"run {prefix}{platform} setup <channel>"
        return f"run {prefix}{platform} setup {name(slug)} and open the link I send you"

    return FixWords(
        setup=setup, sync=lambda platform: f"run {prefix}{platform} sync", when=relative, name=name
    )
