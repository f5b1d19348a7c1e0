"""Linking a Discord user to their Kick account, after Kick confirmed who they are.

A link is global to the Discord user: one Kick account per Discord user, one Discord user per
Kick account. It is keyed by the Kick user id, so a rename on Kick keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from core.events import Platform, utc
from core.features.linking import repository
from core.features.linking.repository import AccountLink


class LinkRefused(Exception):
    """The link cannot be made; the message is for the user."""


@dataclass(frozen=True)
class LinkResult:
    link: AccountLink
    replaced_username: str | None  # the Kick account this Discord user was linked to before


class LinkingService:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def link(
        self,
        *,
        guild_id: int,
        discord_user_id: int,
        platform: Platform,
        platform_user_id: str,
        username: str,
    ) -> LinkResult:
        with self.engine.begin() as conn:
            holder = repository.find_link_by_account(conn, platform, platform_user_id)
            if holder is not None and holder.discord_user_id != discord_user_id:
                raise LinkRefused(
                    f"The {platform} account {username} is already linked to another Discord "
                    "user. If it is yours, ask a server admin to unlink it first."
                )
            previous = repository.find_link_by_discord_user(conn, platform, discord_user_id)
            link = AccountLink(
                platform, platform_user_id, discord_user_id, username, utc(self.clock())
            )
            repository.save_link(conn, link, guild_id)
        replaced = (
            previous.username
            if previous and previous.platform_user_id != platform_user_id
            else None
        )
        return LinkResult(link, replaced)

    def link_of(
        self, discord_user_id: int, platform: Platform = Platform.KICK
    ) -> AccountLink | None:
        with self.engine.connect() as conn:
            return repository.find_link_by_discord_user(conn, platform, discord_user_id)
