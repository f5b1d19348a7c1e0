"""Linking a Discord user to their Kick account, after Kick confirmed who they are.

A link is global to the Discord user: one Kick account per Discord user, one Discord user per
Kick account. It is keyed by the Kick user id, so a rename on Kick keeps it. Every link, unlink
and refusal also leaves a row in the guild's link history, which unlinking never erases.

The OAuth round trip gives the viewer's token back to Kick at once (only the identity is
needed), so a link holds no token: unlinking has nothing left to revoke.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from core.events import Platform, utc
from core.features.connections.service import PURPOSE_VIEWER
from core.features.linking import repository
from core.features.linking.repository import AccountLink, HistoryEntry, LinkPanel, LinkSettings
from core.features.refusals import Refused
from core.security.links import new_claims, signed_link

LINK_PATH = "/auth/kick"
PANEL_REACTION = "reaction"
PANEL_BUTTON = "button"
DEFAULT_PANEL_EMOJI = "\N{LINK SYMBOL}"

LINKED = "linked"
UNLINKED = "unlinked"
REFUSED = "refused"

# Why a link attempt failed. The front ends say these in plain words.
DECLINED = "declined"  # the member said no on Kick's consent page
LINK_EXPIRED = "link_expired"  # the signed link was more than an hour old
ALREADY_LINKED = "already_linked"  # the Kick account belongs to another Discord user
KICK_ERROR = "kick_error"  # Kick refused the sign-in or did not say who signed in
REASONS = (DECLINED, LINK_EXPIRED, ALREADY_LINKED, KICK_ERROR)


class LinkRefused(Refused):
    """The link cannot be made; the message is for the user, ``reason`` one of REASONS."""

    def __init__(self, message: str, *, reason: str = ALREADY_LINKED) -> None:
        super().__init__(message)
        self.reason = reason


class UnlinkRefused(Refused):
    """An admin tried to remove a link the member made in another server; the message says so."""


@dataclass(frozen=True)
class LinkResult:
    link: AccountLink
    replaced_username: str | None  # the Kick account this Discord user was linked to before


class LinkingService:
    """``link_secret`` and ``public_base_url`` make the signed start links (``start_link``);
    ``kick_configured`` says whether the bot has a Kick app to sign in with."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        *,
        link_secret: str | None = None,
        public_base_url: str = "",
        kick_configured: bool = True,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.link_secret = link_secret
        self.public_base_url = public_base_url
        self.kick_configured = kick_configured

    # --- links ----------------------------------------------------------------------------

    def start_link(self, guild_id: int, discord_user_id: int) -> str:
        """A signed link, good for one hour, with which this member (and nobody else) links
        their Kick account from this guild."""
        if self.link_secret is None:
            raise RuntimeError("LinkingService was built without a link secret")
        claims = new_claims(PURPOSE_VIEWER, discord_user_id, guild_id, utc(self.clock()))
        return signed_link(self.public_base_url, LINK_PATH, self.link_secret, claims)

    def link(
        self,
        *,
        guild_id: int,
        discord_user_id: int,
        platform: Platform,
        platform_user_id: str,
        username: str,
    ) -> LinkResult:
        now = utc(self.clock())
        with self.engine.begin() as conn:
            holder = repository.find_link_by_account(conn, platform, platform_user_id)
            taken = holder is not None and holder.discord_user_id != discord_user_id
            if not taken:
                previous = repository.find_link_by_discord_user(conn, platform, discord_user_id)
                link = AccountLink(platform, platform_user_id, discord_user_id, username, now)
                repository.save_link(conn, link, guild_id)
            action = REFUSED if taken else LINKED
            entry = HistoryEntry(
                guild_id=guild_id,
                discord_user_id=discord_user_id,
                action=action,
                platform=platform,
                platform_user_id=platform_user_id,
                username=username,
                reason=ALREADY_LINKED if taken else None,
                actor_id=discord_user_id,
                created_at=now,
            )
            repository.add_history(conn, entry)
        if taken:
            raise LinkRefused(
                f"The {platform.name.title()} account {username} is already linked to another "
                "Discord user. If it is yours, ask a server admin to unlink it first.",
                reason=ALREADY_LINKED,
            )
        replaced = (
            previous.username
            if previous and previous.platform_user_id != platform_user_id
            else None
        )
        return LinkResult(link, replaced)

    def record_refusal(
        self,
        guild_id: int,
        discord_user_id: int,
        reason: str,
        platform: Platform = Platform.KICK,
    ) -> None:
        """Keep a failed attempt that never reached :meth:`link` (declined, expired...)."""
        entry = HistoryEntry(
            guild_id, discord_user_id, REFUSED, platform, None, None, reason, discord_user_id,
            utc(self.clock()),
        )  # fmt: skip
        with self.engine.begin() as conn:
            repository.add_history(conn, entry)

    def unlink(
        self,
        guild_id: int,
        discord_user_id: int,
        *,
        actor_id: int,
        platform: Platform = Platform.KICK,
    ) -> AccountLink | None:
        """Remove the member's link (everywhere: links are global); None when there was none.

        The member may always remove their own link. Anyone else (an admin) only a link the
        member made in ``guild_id``: a link made in another server is that server's and the
        member's business, so :class:`UnlinkRefused` is raised and nothing changes.
        """
        with self.engine.begin() as conn:
            current = repository.find_link_by_discord_user(conn, platform, discord_user_id)
            if (
                current is not None
                and actor_id != discord_user_id
                and current.linked_in_guild_id != guild_id
            ):
                raise UnlinkRefused(
                    f"That member linked their {platform.name.title()} account in another server, "
                    "so only they can remove it (with !unlink)."
                )
            removed = repository.delete_link(conn, platform, discord_user_id)
            if removed is not None:
                entry = HistoryEntry(
                    guild_id=guild_id,
                    discord_user_id=discord_user_id,
                    action=UNLINKED,
                    platform=platform,
                    platform_user_id=removed.platform_user_id,
                    username=removed.username,
                    reason=None,
                    actor_id=actor_id,
                    created_at=utc(self.clock()),
                )
                repository.add_history(conn, entry)
        return removed

    def link_of(
        self, discord_user_id: int, platform: Platform = Platform.KICK
    ) -> AccountLink | None:
        with self.engine.connect() as conn:
            return repository.find_link_by_discord_user(conn, platform, discord_user_id)

    def history(self, guild_id: int, discord_user_id: int) -> list[HistoryEntry]:
        """The member's links, unlinks and refusals in this guild, oldest first."""
        with self.engine.connect() as conn:
            return repository.list_history_of_member(conn, guild_id, discord_user_id)

    # --- per-guild settings ---------------------------------------------------------------

    def settings(self, guild_id: int) -> LinkSettings:
        with self.engine.connect() as conn:
            return repository.get_settings(conn, guild_id)

    def set_log_channel(self, guild_id: int, channel_id: int | None) -> LinkSettings:
        """Log link attempts to ``channel_id`` (a channel of this guild); None turns it off."""
        return self._update_settings(guild_id, log_channel_id=channel_id)

    def set_linked_role(self, guild_id: int, role_id: int | None) -> LinkSettings:
        """Give linked members ``role_id`` (a role of this guild); None turns it off."""
        return self._update_settings(guild_id, linked_role_id=role_id)

    def _update_settings(self, guild_id: int, **changes: int | None) -> LinkSettings:
        with self.engine.begin() as conn:
            repository.update_settings(conn, guild_id, utc(self.clock()), **changes)
            return repository.get_settings(conn, guild_id)

    # --- link panels ----------------------------------------------------------------------

    def add_panel(
        self,
        *,
        guild_id: int,
        channel_id: int,
        message_id: int,
        kind: str,
        emoji: str | None,
        created_by: int,
    ) -> LinkPanel:
        panel = LinkPanel(
            guild_id, channel_id, message_id, kind, emoji, created_by, utc(self.clock())
        )
        with self.engine.begin() as conn:
            repository.save_panel(conn, panel)
        return panel

    def panel(self, guild_id: int, message_id: int) -> LinkPanel | None:
        with self.engine.connect() as conn:
            return repository.find_panel(conn, guild_id, message_id)

    def forget_panel(self, guild_id: int, message_id: int) -> None:
        with self.engine.begin() as conn:
            repository.delete_panel(conn, guild_id, message_id)

    # --- effects done once per event ------------------------------------------------------

    def effect_done(self, guild_id: int, step: str, event_key: str) -> bool:
        with self.engine.connect() as conn:
            return repository.effect_done(conn, guild_id, step, event_key)

    def mark_effect_done(self, guild_id: int, step: str, event_key: str) -> None:
        with self.engine.begin() as conn:
            repository.claim_effect(conn, guild_id, step, event_key, utc(self.clock()))
