"""Linking a Discord user to their Kick and Twitch accounts, after the platform confirmed who
they are.

A link is global to the Discord user: per platform, one account per Discord user and one Discord
user per account. It is keyed by the platform's user id, so a rename keeps it. Every link, unlink
and refusal also leaves a row in the guild's link history, which unlinking never erases.

The OAuth round trip gives the viewer's token back to the platform at once (only the identity is
needed), so a link holds no token: unlinking has nothing left to revoke.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from core.events import Platform, utc
from core.events.base import visible_name
from core.features import managed_roles
from core.features.connections.kick.service import PURPOSE_VIEWER
from core.features.connections.twitch.viewer_signin import PURPOSE_TWITCH_VIEWER
from core.features.guilds import repository as guilds_repository
from core.features.linking import calls, holders, repository
from core.features.linking.holders import taken_text
from core.features.linking.platforms import LINKABLE, PlatformChoice, choose, offered
from core.features.linking.repository import AccountLink, HistoryEntry, LinkPanel, LinkSettings
from core.features.refusals import Refused
from core.security.links import LINK_LIFETIME, new_claims, signed_link

LINK_PATH = "/auth/kick"
# Where a viewer's signed start link leads, and what it is signed for, by platform.
START_LINKS = {
    Platform.KICK: (LINK_PATH, PURPOSE_VIEWER),
    Platform.TWITCH: ("/auth/twitch", PURPOSE_TWITCH_VIEWER),
}
PANEL_REACTION = "reaction"
PANEL_BUTTON = "button"
DEFAULT_PANEL_EMOJI = "\N{LINK SYMBOL}"

LINKED = "linked"
UNLINKED = "unlinked"
REFUSED = "refused"

# Why a link attempt failed. The front ends say these in plain words.
DECLINED = "declined"  # the member said no on Kick's consent page
LINK_EXPIRED = "link_expired"  # the signed link was older than LINK_EXPIRY_MINUTES
ALREADY_LINKED = "already_linked"  # the Kick account belongs to another Discord user
# The platform refused the sign-in or did not say who signed in: each platform's own code (link
# histories from before Twitch hold ``kick_error`` for either; the entry's platform says which).
KICK_ERROR = "kick_error"
TWITCH_ERROR = "twitch_error"
PLATFORM_ERRORS = {Platform.KICK: KICK_ERROR, Platform.TWITCH: TWITCH_ERROR}
REASONS = (DECLINED, LINK_EXPIRED, ALREADY_LINKED, KICK_ERROR, TWITCH_ERROR)


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
    replaced_username: str | None  # the account this Discord user had on that platform before


class LinkingService:
    """``link_secret`` and ``public_base_url`` make the signed start links (``start_link``);
    ``kick_configured`` and ``twitch_configured`` say whether the bot has an app to sign in
    with on that platform."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        *,
        link_secret: str | None = None,
        public_base_url: str = "",
        kick_configured: bool = True,
        twitch_configured: bool = False,
        link_lifetime: timedelta = LINK_LIFETIME,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.link_secret = link_secret
        self.public_base_url = public_base_url
        self.kick_configured = kick_configured
        self.twitch_configured = twitch_configured
        self.link_lifetime = link_lifetime

    # --- links ----------------------------------------------------------------------------

    def start_link(
        self, guild_id: int, discord_user_id: int, platform: Platform = Platform.KICK
    ) -> str:
        """A signed link, good for ``link_lifetime``, with which this member (and nobody else) links
        their account on ``platform`` from this guild."""
        if self.link_secret is None:
            raise RuntimeError("LinkingService was built without a link secret")
        path, purpose = START_LINKS[platform]
        claims = new_claims(
            purpose, discord_user_id, guild_id, utc(self.clock()), self.link_lifetime
        )
        return signed_link(self.public_base_url, path, self.link_secret, claims)

    def configured_platforms(self) -> tuple[Platform, ...]:
        """The platforms the bot has an app to sign in with."""
        configured = {Platform.KICK: self.kick_configured, Platform.TWITCH: self.twitch_configured}
        return tuple(platform for platform in LINKABLE if configured[platform])

    def platforms_for(self, guild_id: int) -> tuple[Platform, ...]:
        """What the guild offers its members to link (``platforms.offered``)."""
        configured = self.configured_platforms()
        if len(configured) < 2:
            return configured
        with self.engine.connect() as conn:
            channels = guilds_repository.list_channels_of_guild(conn, guild_id)
        return offered(configured, {channel.platform for channel in channels})

    def choose_platform(self, guild_id: int, requested: str | None) -> PlatformChoice:
        """Which platform ``!link [requested]`` links in this guild (see ``platforms.choose``)."""
        return choose(requested, self.platforms_for(guild_id), self.configured_platforms())

    def link(
        self,
        *,
        guild_id: int,
        discord_user_id: int,
        platform: Platform,
        platform_user_id: str,
        username: str,
        then: Callable[[Connection, LinkResult], object] | None = None,
    ) -> LinkResult:
        """Link the account the platform confirmed to the member, replacing their earlier
        account on that platform; :class:`LinkRefused` (kept in the history) when the account
        is another member's. ``then`` is called with the result in the same transaction (the
        sign-in queues what follows on Discord there, so a link is never left without it)."""
        username = visible_name(username)  # what the viewer's rows are stored as
        arguments = (guild_id, discord_user_id, platform, platform_user_id, username, then)
        try:
            return self._link(*arguments)
        except IntegrityError:
            # Another sign-in linked this account (or this member on this platform) between
            # this one's read and its write, on a database that runs both at once: read again,
            # which refuses or replaces as for any earlier link.
            return self._link(*arguments)

    def _link(
        self,
        guild_id: int,
        discord_user_id: int,
        platform: Platform,
        platform_user_id: str,
        username: str,
        then: Callable[[Connection, LinkResult], object] | None,
    ) -> LinkResult:
        now = utc(self.clock())
        with self.engine.begin() as conn:
            holder = repository.find_link_by_account(conn, platform, platform_user_id)
            taken = holder is not None and holder.discord_user_id != discord_user_id
            if not taken:
                previous = repository.find_link_by_discord_user(conn, platform, discord_user_id)
                link = AccountLink(platform, platform_user_id, discord_user_id, username, now)
                repository.save_link(conn, link, guild_id)
                replaced = (
                    previous.username
                    if previous and previous.platform_user_id != platform_user_id
                    else None
                )
                result = LinkResult(link, replaced)
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
            if not taken and then is not None:
                then(conn, result)
        if taken:
            held_here = holder is not None and holder.linked_in_guild_id == guild_id
            raise LinkRefused(
                taken_text(platform, username, held_here=held_here),
                reason=ALREADY_LINKED,
            )
        return result

    def record_refusal(
        self,
        guild_id: int,
        discord_user_id: int,
        reason: str,
        platform: Platform = Platform.KICK,
        *,
        then: Callable[[Connection], bool] | None = None,
        keep: bool = True,
    ) -> None:
        """Keep a failed attempt that never reached :meth:`link` (declined, expired...), unless
        ``keep`` is False (:meth:`link` kept it). ``then`` runs first in the same transaction
        (the sign-in queues the member's DM and the link log there); its False (the attempt
        was queued before) keeps nothing again."""
        at = utc(self.clock())
        entry = HistoryEntry(
            guild_id, discord_user_id, REFUSED, platform, None, None, reason, discord_user_id, at
        )
        with self.engine.begin() as conn:
            is_new = then(conn) if then is not None else True
            if is_new and keep:
                repository.add_history(conn, entry)

    def unlink(
        self,
        guild_id: int,
        discord_user_id: int,
        *,
        actor_id: int,
        platform: Platform = Platform.KICK,
        then: Callable[[Connection, AccountLink], object] | None = None,
        is_kept_there: bool = True,
    ) -> AccountLink | None:
        """Remove the member's link (everywhere: links are global); None when there was none.
        ``is_kept_there`` False: ``guild_id``'s data was deleted for good (``guild remove``), so
        nothing is written there (no history row, ``then`` not called).

        The member may always remove their own link. Anyone else (an admin) only a link the
        member made in ``guild_id``: a link made in another server is that server's and the
        member's business, so :class:`UnlinkRefused` is raised and nothing changes. ``then``
        is called with the removed link in the same transaction (``LinkEffects.unlink`` queues
        what follows on Discord there). Every other guild where the member linked an account,
        whose linked role they may hold, gets its part queued in that transaction too (the role
        taken back once no link remains, the watchtime roles): a link made in one server can be
        removed in another, or have moved there.
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
                if is_kept_there:
                    repository.add_history(conn, entry)
                    if then is not None:
                        then(conn, removed)
                for other in repository.guilds_where_member_linked(conn, discord_user_id):
                    if other != guild_id:
                        calls.enqueue_unlinked_elsewhere(
                            conn, other, discord_user_id, entry.created_at
                        )
        return removed

    def member_joined(self, guild_id: int, discord_user_id: int, joined_at: datetime) -> bool:
        """A member joined the server again: when they have a linked account and linked it
        here before (this server's linked role was theirs), queue the Discord worker's call
        that gives the role back with their watchtime roles (leaving took them all). True when
        a call was queued."""
        with self.engine.begin() as conn:
            if not repository.links_of_member(conn, discord_user_id):
                return False
            history = repository.list_history_of_member(conn, guild_id, discord_user_id)
            if not any(entry.action == LINKED for entry in history):
                return False
            return calls.enqueue_joined(
                conn, guild_id, discord_user_id, utc(joined_at), utc(self.clock())
            )

    def link_of(
        self, discord_user_id: int, platform: Platform = Platform.KICK
    ) -> AccountLink | None:
        with self.engine.connect() as conn:
            return repository.find_link_by_discord_user(conn, platform, discord_user_id)

    def holder_of(self, platform: Platform, platform_user_id: str) -> AccountLink | None:
        """The link of that account on ``platform``, whoever holds it."""
        with self.engine.connect() as conn:
            return repository.find_link_by_account(conn, platform, platform_user_id)

    def holders_named(self, typed: str) -> list[AccountLink]:
        """The links of the Kick or Twitch accounts ``typed`` names (``kick:name``,
        ``twitch:name`` or a name on either); :class:`Refused` when it names nobody."""
        return holders.named(self.engine, typed)

    def links_of(self, discord_user_id: int) -> list[AccountLink]:
        """The member's links on every platform, Kick first."""
        with self.engine.connect() as conn:
            return repository.links_of_member(conn, discord_user_id)

    def history(self, guild_id: int, discord_user_id: int) -> list[HistoryEntry]:
        """The member's links, unlinks and refusals in this guild, oldest first."""
        with self.engine.connect() as conn:
            return repository.list_history_of_member(conn, guild_id, discord_user_id)

    def history_everywhere(self, discord_user_id: int) -> list[HistoryEntry]:
        """The member's links, unlinks and refusals in every guild, oldest first."""
        with self.engine.connect() as conn:
            return repository.list_history_of_member_everywhere(conn, discord_user_id)

    def recent_history(self, guild_id: int, limit: int = 50) -> list[HistoryEntry]:
        """The guild's link log: its latest links, unlinks and refusals, newest first."""
        with self.engine.connect() as conn:
            return repository.list_recent_history(conn, guild_id, limit)

    # --- per-guild settings ---------------------------------------------------------------

    def settings(self, guild_id: int) -> LinkSettings:
        with self.engine.connect() as conn:
            return repository.get_settings(conn, guild_id)

    def set_log_channel(self, guild_id: int, channel_id: int | None) -> LinkSettings:
        """Log link attempts to ``channel_id`` (a channel of this guild); None turns it off."""
        return self._update_settings(guild_id, log_channel_id=channel_id)

    def set_linked_role(self, guild_id: int, role_id: int | None) -> LinkSettings:
        """Give linked members ``role_id`` (a role of this guild that no other feature gives
        and takes back, such as a watchtime role: ``managed_roles``); None turns it off."""
        with self.engine.begin() as conn:
            if role_id is not None:
                taken = managed_roles.refusal(conn, guild_id, role_id, feature=managed_roles.LINKED)
                if taken is not None:
                    raise LinkRefused(taken)
            repository.update_settings(conn, guild_id, utc(self.clock()), linked_role_id=role_id)
            return repository.get_settings(conn, guild_id)

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
