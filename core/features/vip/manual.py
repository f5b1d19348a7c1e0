"""VIPs granted, extended and revoked by a Discord admin (``!vip grant|extend|revoke``, and the
dashboard's VIP page); a Kick grant (a temporary role) is extended and revoked the same way. A
Twitch VIP another server following the channel granted is that server's: each is refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from core.bus.base import NotReady
from core.events import Platform
from core.features.quoting import shown
from core.features.vip import channel_repository, repository, texts
from core.features.vip.channel_repository import HeldElsewhere
from core.features.vip.effects import VipEffects
from core.features.vip.expiry import grant_entry, removal_entry, track_outside_vips
from core.features.vip.limits import VipRefused, check_hours
from core.features.vip.ports import Refusal, TwitchRefused
from core.features.vip.repository import MANUAL, OUTSIDE, AuditEntry, Grant


class ManualGrants:
    def __init__(self, effects: VipEffects, broadcaster: Callable[[int], Awaitable[str]]) -> None:
        """``broadcaster(guild_id)``: the guild's Twitch broadcaster id, or VipRefused."""
        self.effects = effects
        self._broadcaster = broadcaster

    async def grant(self, guild_id: int, actor_id: int, login: str, hours: int) -> Grant:
        """Make a viewer VIP for ``hours`` (a Discord admin's grant)."""
        hours = check_hours(hours)
        broadcaster_id = await self._broadcaster(guild_id)
        account = await self.effects.twitch.find_user(guild_id, login.strip().lstrip("@"))
        if account is None:
            raise VipRefused(f"Twitch knows no user called {shown(login.strip())}.")

        def read(conn: Connection) -> tuple[Grant | None, HeldElsewhere | None]:
            existing = repository.open_grant(conn, guild_id, Platform.TWITCH, account.user_id)
            if existing is not None and existing.source != OUTSIDE:
                return existing, None
            held = channel_repository.held_elsewhere(
                conn, guild_id, broadcaster_id, platform_user_id=account.user_id
            )
            return existing, held

        existing, held = await self.effects.in_transaction(read)
        if held is not None:
            raise VipRefused(texts.held_elsewhere(account.display_name, held.expires_at))
        if existing is not None and existing.source == OUTSIDE:
            raise _outside(account.display_name)
        if existing is not None:
            raise VipRefused(f"{account.display_name} is already a VIP: !vip extend adds time.")
        try:
            await self.effects.add_vip(guild_id, broadcaster_id, account.user_id)
        except TwitchRefused as refused:
            if refused.reason != Refusal.ALREADY_VIP:
                raise
            # Given by hand while StreamKeeper was not watching: listed from now on (unless
            # another server of the channel granted it meanwhile: theirs).
            seen = self.effects.clock()

            def track(conn: Connection) -> HeldElsewhere | None:
                held = channel_repository.held_elsewhere(
                    conn, guild_id, broadcaster_id, platform_user_id=account.user_id
                )
                if held is None:
                    track_outside_vips(conn, guild_id, broadcaster_id, [account], seen)
                return held

            held = await self.effects.in_transaction(track)
            if held is not None:
                raise VipRefused(
                    texts.held_elsewhere(account.display_name, held.expires_at)
                ) from None
            raise _outside(account.display_name) from None
        now = self.effects.clock()
        grant = Grant(
            id=0,
            guild_id=guild_id,
            platform=Platform.TWITCH,
            broadcaster_user_id=broadcaster_id,
            platform_user_id=account.user_id,
            username=account.display_name,
            source=MANUAL,
            granted_at=now,
            expires_at=now + timedelta(hours=hours),
        )

        def store(conn: Connection) -> Grant:
            echo = repository.open_grant(conn, guild_id, Platform.TWITCH, account.user_id)
            if echo is not None:  # channel.vip.add of this very grant came first
                repository.adopt_grant(conn, echo.id, MANUAL, grant.expires_at)
                stored = echo.id
            else:
                stored = repository.add_grant(conn, grant)
            repository.add_audit(conn, self._entry(grant, "granted", actor_id, now))
            channel_repository.close_outside_elsewhere(  # its echo seen there first
                conn, guild_id, broadcaster_id, account.user_id, now, texts.GRANTED_ELSEWHERE
            )
            return Grant(**{**grant.__dict__, "id": stored})

        return await self.effects.in_transaction(store)

    async def extend(self, guild_id: int, actor_id: int, login: str, hours: int) -> Grant:
        hours = check_hours(hours)
        broadcaster_id = await self._broadcaster_or_none(guild_id)
        now = self.effects.clock()

        def store(conn: Connection) -> Grant:
            grant = self._open_by_name(conn, guild_id, login, broadcaster_id)
            if grant.source == OUTSIDE:
                raise VipRefused(
                    f"{grant.username} was made VIP outside StreamKeeper, with no end to extend."
                )
            new_expiry = max(grant.expires_at or now, now) + timedelta(hours=hours)
            repository.set_expiry(conn, grant.id, new_expiry)
            entry = self._entry(grant, "extended", actor_id, now)
            repository.add_audit(
                conn,
                AuditEntry(
                    **{
                        **entry.__dict__,
                        "new_expires_at": new_expiry,
                        "previous_expires_at": grant.expires_at,
                    }
                ),
            )
            return Grant(**{**grant.__dict__, "expires_at": new_expiry})

        return await self.effects.in_transaction(store)

    async def revoke(self, guild_id: int, actor_id: int, login: str) -> Grant:
        broadcaster_id = await self._broadcaster_or_none(guild_id)
        grant = await self.effects.in_transaction(
            lambda conn: self._open_by_name(conn, guild_id, login, broadcaster_id)
        )
        try:
            if grant.platform is Platform.KICK:
                if self.effects.roles is not None and grant.discord_user_id is not None:
                    await self.effects.roles.remove_role(
                        guild_id, grant.discord_user_id, grant.role_id or 0
                    )
            else:
                await self.effects.remove_vip(
                    guild_id, grant.broadcaster_user_id, grant.platform_user_id
                )
        except TwitchRefused as refused:
            # Not a VIP any more, or no such account (deleted or suspended): no VIP is left.
            if refused.reason not in (Refusal.NOT_VIP, Refusal.NOT_FOUND):
                raise
        except NotReady:  # the bot's Discord connection is down (or not in this process)
            raise VipRefused(
                "Discord is not connected right now, so the VIP role cannot be taken off: "
                "try again in a moment."
            ) from None
        now = self.effects.clock()

        def store(conn: Connection) -> None:
            reason = "revoked by a Discord admin"  # who: the audit entry's actor
            if repository.close_grant(conn, grant.id, now, reason):
                entry = removal_entry(grant, "removed", reason, "discord", now, str(actor_id))
                repository.add_audit(conn, entry)

        await self.effects.in_transaction(store)
        return grant

    async def _broadcaster_or_none(self, guild_id: int) -> str | None:
        try:
            return await self._broadcaster(guild_id)
        except VipRefused:  # a server on Kick alone
            return None

    def _open_by_name(
        self, conn: Connection, guild_id: int, login: str, broadcaster_id: str | None
    ) -> Grant:
        """The open grant of the viewer called ``login`` here; refused when there is none, or
        when the VIP is another server's grant on this server's Twitch channel."""
        name = login.strip().lstrip("@")
        grant = repository.open_grant_by_name(
            conn, guild_id, Platform.TWITCH, name
        ) or repository.open_grant_by_name(conn, guild_id, Platform.KICK, name)
        if broadcaster_id is not None and (grant is None or _is_twitch_outside(grant)):
            held = channel_repository.held_elsewhere(conn, guild_id, broadcaster_id, username=name)
            if held is not None:
                holder = grant.username if grant is not None else name
                raise VipRefused(texts.held_elsewhere(holder, held.expires_at))
        if grant is None:
            raise VipRefused(f"{shown(name)} is not a VIP StreamKeeper knows of.")
        return grant

    def _entry(self, grant: Grant, action: str, actor_id: int, now: datetime) -> AuditEntry:
        reason = "by a Discord admin"
        return grant_entry(grant, action, reason, "discord", now, str(actor_id), is_ending=False)


def _is_twitch_outside(grant: Grant) -> bool:
    return grant.platform is Platform.TWITCH and grant.source == OUTSIDE


def _outside(name: str) -> VipRefused:
    return VipRefused(
        f"{name} is a VIP given outside StreamKeeper, never removed by it: "
        "!vip revoke removes that VIP, then a grant gives it for a while."
    )
