"""What temporary VIP needs from Twitch and from Discord, so the feature imports neither.

Every Twitch call may raise :class:`TwitchRefused` (Twitch said no for a reason that will not
change by waiting: the ``reason`` says which) or :class:`TwitchBusy` (try again later:
``retry_after`` seconds when Twitch rate-limited the call, None when it did not answer).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from core.features.refusals import Refused
from core.features.vip.limits import RewardLimits


class Refusal(enum.StrEnum):
    NOT_CONNECTED = "not_connected"
    # 401 even with a token Twitch just issued: the connection now needs re-authorization
    UNAUTHORIZED = "unauthorized"
    MODERATOR = "moderator"  # Add VIP 422, and the viewer is not a VIP
    ALREADY_VIP = "already_vip"  # Add VIP 422, and the viewer is a VIP
    NO_SLOTS = "no_slots"  # Add VIP 409
    NO_COMMUNITY = "no_community"  # Add VIP 425: no "Build a Community" achievement yet
    BANNED = "banned"  # Add VIP 400: the viewer is blocked from the channel
    NOT_VIP = "not_vip"  # Remove VIP 422: already done
    NOT_FOUND = "not_found"  # unknown user or reward, or a redemption no longer UNFULFILLED
    FORBIDDEN = "forbidden"  # not affiliate, or a reward made outside StreamKeeper
    INVALID = "invalid"  # any other 400 (a reward title the channel has already, 50 rewards)


# Refusals Twitch gives for Add VIP that no retry cures: the redemption is CANCELED (refund).
FINAL_ADD_REFUSALS = {
    Refusal.UNAUTHORIZED,  # the connection was marked: no retry until the streamer reconnects
    Refusal.MODERATOR,
    Refusal.ALREADY_VIP,
    Refusal.NO_SLOTS,
    Refusal.NO_COMMUNITY,
    Refusal.BANNED,
    Refusal.NOT_FOUND,  # Add VIP 404: the viewer's account was deleted or suspended
}


class TwitchRefused(Refused):
    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class RoleRefused(Refused):
    """Discord cannot give or take the role: the member left, or the role is gone or above the
    bot's. Removing a role from someone who left is done, not an error."""


class TwitchBusy(Exception):
    """Twitch did not do it now: rate-limited (``retry_after`` seconds) or not answering."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TwitchBusyUnchanged(TwitchBusy):
    """Twitch changed nothing, but did not answer what it would take to say why: Add VIP's
    422 (a moderator, or a VIP already) whose Get VIPs failed. The next try is a first one
    (a VIP found then is not this try's)."""


@dataclass(frozen=True)
class TwitchAccount:
    user_id: str
    login: str
    display_name: str


@dataclass(frozen=True)
class RewardInfo:
    id: str
    title: str
    cost: int
    is_paused: bool = False


@dataclass(frozen=True)
class PendingRedemption:
    """A redemption of our reward still UNFULFILLED on Twitch."""

    id: str
    user_id: str
    user_name: str
    redeemed_at: datetime | None = None


class TwitchVipChannel(Protocol):
    """The broadcaster's channel, with the guild's stored Twitch connection."""

    async def add_vip(self, guild_id: int, broadcaster_id: str, user_id: str) -> None: ...

    async def remove_vip(self, guild_id: int, broadcaster_id: str, user_id: str) -> None: ...

    async def list_vips(self, guild_id: int, broadcaster_id: str) -> list[TwitchAccount]: ...

    async def find_user(self, guild_id: int, login: str) -> TwitchAccount | None: ...

    async def list_rewards(self, guild_id: int, broadcaster_id: str) -> list[RewardInfo]:
        """The rewards StreamKeeper created (the only ones it may change)."""
        ...

    async def create_reward(
        self,
        guild_id: int,
        broadcaster_id: str,
        title: str,
        cost: int,
        limits: RewardLimits | None = None,
    ) -> RewardInfo:
        """``limits`` None: the default prompt and no limits."""
        ...

    async def update_reward(
        self,
        guild_id: int,
        broadcaster_id: str,
        reward_id: str,
        *,
        title: str | None = None,
        cost: int | None = None,
        is_paused: bool | None = None,
        limits: RewardLimits | None = None,
    ) -> RewardInfo:
        """Only what is given changes; ``limits`` replaces all four (prompt and limits)."""
        ...

    async def delete_reward(self, guild_id: int, broadcaster_id: str, reward_id: str) -> None: ...

    async def set_redemption_status(
        self,
        guild_id: int,
        broadcaster_id: str,
        reward_id: str,
        redemption_id: str,
        status: Literal["FULFILLED", "CANCELED"],
    ) -> None:
        """CANCELED refunds the viewer's points. NOT_FOUND: it is no longer UNFULFILLED."""
        ...

    async def list_unfulfilled(
        self, guild_id: int, broadcaster_id: str, reward_id: str
    ) -> list[PendingRedemption]:
        """Our reward's UNFULFILLED redemptions, oldest first (those missed while offline)."""
        ...

    async def send_chat(self, guild_id: int, broadcaster_id: str, text: str) -> None:
        """Best effort: never raises."""
        ...


class VipNotices(Protocol):
    """Posts VIP notices in a Discord channel of the guild."""

    async def post_notice(self, guild_id: int, channel_id: int, text: str) -> str | None:
        """None when it was posted; else why not, in words naming what to do (logged too):
        Discord is off, the channel is not the guild's, or the bot may not post there (which
        permission to give). Raises ``DiscordUnavailable`` while Discord is configured but not
        connected."""
        ...


class TemporaryRoles(Protocol):
    """Kick's outbound port: the guild's temporary role on a linked member."""

    async def add_role(self, guild_id: int, discord_user_id: int, role_id: int) -> bool:
        """Whether this call gave the role: False when the member held it already (given by
        hand, or by an earlier call of ours). Raises RoleRefused, or DiscordUnavailable while
        Discord is not connected."""
        ...

    async def remove_role(self, guild_id: int, discord_user_id: int, role_id: int) -> None:
        """Done (no error) when the member left or no longer has it; RoleRefused when the role
        cannot be taken; DiscordUnavailable while Discord is not connected."""
        ...


# Emitted (core/storage/hooks.py) with each audit entry, in the transaction that makes the change
# it logs (``vip.repository.AuditEntry``): a follower such as the overlays' VIP alerts records
# what it must beside it.
AUDIT_WRITTEN = "vip.audit_written"
