"""The server directory: what the bot sees of each Discord server, kept for the dashboard
(core/features/directory/; the bot's listeners are core/discord_bot/directory/)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.features.directory.service import DirectoryService

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly


def install(rt: Assembly) -> None:
    rt.directory = DirectoryService(rt.engine, rt.clock)
