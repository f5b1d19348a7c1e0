"""A recording fake of the temporary VIP ports: a Twitch channel with Twitch's refusals, and a
Discord notice channel."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import Platform, RewardRedeemed, Viewer
from core.features.vip import redemption_outbox, removal_calls
from core.features.vip.limits import RewardLimits
from core.features.vip.ports import (
    PendingRedemption,
    Refusal,
    RewardInfo,
    TwitchAccount,
    TwitchBusy,
    TwitchRefused,
)
from core.features.vip.service import VipService
from core.outbox import DISCORD, store
from core.outbox.worker import OutboxWorker
from core.storage.tables import outbox

BROADCASTER = "141981764"
GUILD = 111
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeVipChannel:
    """One Twitch channel. ``busy`` holds failures the next VIP changes and reward deletions
    raise, in order."""

    clock: Callable[[], datetime]
    vips: set[str] = field(default_factory=set)
    moderators: set[str] = field(default_factory=set)
    banned: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)  # accounts deleted or suspended since
    slots: int = 10
    has_community: bool = True
    is_connected: bool = True
    users: dict[str, str] = field(default_factory=dict)  # login -> id
    rewards: dict[str, RewardInfo] = field(default_factory=dict)
    limits: dict[str, RewardLimits] = field(default_factory=dict)  # reward id -> as last sent
    statuses: dict[str, str] = field(default_factory=dict)  # redemption id -> status
    chat: list[str] = field(default_factory=list)
    changes: list[tuple[str, str, datetime]] = field(default_factory=list)  # kind, user, when
    busy: list[TwitchBusy] = field(default_factory=list)
    rate_limited: int = 0  # VIP changes answered 429
    pending: list[PendingRedemption] = field(default_factory=list)  # redeemed while away

    def _connected(self) -> None:
        if not self.is_connected:
            raise TwitchRefused(Refusal.NOT_CONNECTED, "Twitch is not connected.")

    def _rate(self, kind: str, user_id: str) -> None:
        now = self.clock()
        recent = [c for c in self.changes if c[0] == kind and (now - c[2]).total_seconds() < 10]
        if len(recent) >= 10:
            self.rate_limited += 1
            raise TwitchBusy("429", retry_after=10.0)
        if self.busy:
            raise self.busy.pop(0)
        self.changes.append((kind, user_id, now))

    async def add_vip(self, guild_id: int, broadcaster_id: str, user_id: str) -> None:
        self._connected()
        self._rate("add", user_id)
        if user_id in self.gone:
            raise TwitchRefused(Refusal.NOT_FOUND, "user not found")
        if user_id in self.moderators:
            raise TwitchRefused(Refusal.MODERATOR, "moderator")
        if user_id in self.vips:
            raise TwitchRefused(Refusal.ALREADY_VIP, "already VIP")
        if user_id in self.banned:
            raise TwitchRefused(Refusal.BANNED, "banned")
        if not self.has_community:
            raise TwitchRefused(Refusal.NO_COMMUNITY, "no community")
        if len(self.vips) >= self.slots:
            raise TwitchRefused(Refusal.NO_SLOTS, "no slots")
        self.vips.add(user_id)

    async def remove_vip(self, guild_id: int, broadcaster_id: str, user_id: str) -> None:
        self._connected()
        self._rate("remove", user_id)
        if user_id not in self.vips:
            raise TwitchRefused(Refusal.NOT_VIP, "not a VIP")
        self.vips.discard(user_id)

    async def list_vips(self, guild_id: int, broadcaster_id: str) -> list[TwitchAccount]:
        self._connected()
        names = {v: k for k, v in self.users.items()}
        return [TwitchAccount(v, names.get(v, f"user{v}"), names.get(v, v)) for v in self.vips]

    async def find_user(self, guild_id: int, login: str) -> TwitchAccount | None:
        self._connected()
        user_id = self.users.get(login.lower())
        return None if user_id is None else TwitchAccount(user_id, login.lower(), login)

    async def list_rewards(self, guild_id: int, broadcaster_id: str) -> list[RewardInfo]:
        self._connected()
        return list(self.rewards.values())

    async def create_reward(
        self,
        guild_id: int,
        broadcaster_id: str,
        title: str,
        cost: int,
        limits: RewardLimits | None = None,
    ) -> RewardInfo:
        self._connected()
        reward = RewardInfo(str(uuid.uuid4()), title, cost)
        self.rewards[reward.id] = reward
        self.limits[reward.id] = limits or RewardLimits()
        return reward

    async def update_reward(
        self, guild_id: int, broadcaster_id: str, reward_id: str, **changes: object
    ) -> RewardInfo:
        self._connected()
        old = self.rewards.get(reward_id)
        if old is None:
            raise TwitchRefused(Refusal.NOT_FOUND, "no such reward")
        values = {k: v for k, v in changes.items() if v is not None}
        if isinstance(values.get("limits"), RewardLimits):
            self.limits[reward_id] = values["limits"]  # type: ignore[assignment]
        reward = RewardInfo(
            old.id,
            str(values.get("title", old.title)),
            int(values.get("cost", old.cost)),  # type: ignore[arg-type]
            bool(values.get("is_paused", old.is_paused)),
        )
        self.rewards[reward_id] = reward
        return reward

    async def delete_reward(self, guild_id: int, broadcaster_id: str, reward_id: str) -> None:
        self._connected()
        if self.busy:
            raise self.busy.pop(0)
        if self.rewards.pop(reward_id, None) is None:
            raise TwitchRefused(Refusal.NOT_FOUND, "no such reward")

    async def set_redemption_status(
        self, guild_id: int, broadcaster_id: str, reward_id: str, redemption_id: str, status: str
    ) -> None:
        self._connected()
        if self.statuses.get(redemption_id, "UNFULFILLED") != "UNFULFILLED":
            raise TwitchRefused(Refusal.NOT_FOUND, "not UNFULFILLED")
        self.statuses[redemption_id] = status

    async def list_unfulfilled(
        self, guild_id: int, broadcaster_id: str, reward_id: str
    ) -> list[PendingRedemption]:
        self._connected()
        if reward_id not in self.rewards:
            raise TwitchRefused(Refusal.NOT_FOUND, "no such reward")
        return [p for p in self.pending if self.statuses.get(p.id, "UNFULFILLED") == "UNFULFILLED"]

    async def send_chat(self, guild_id: int, broadcaster_id: str, text: str) -> None:
        self.chat.append(text)


@dataclass
class RecordingNotices:
    posts: list[tuple[int, int, str]] = field(default_factory=list)
    # Why Discord would not take a notice, in words (the channel is gone, or the bot may not
    # post there); None: it takes them.
    refused: str | None = None

    async def post_notice(self, guild_id: int, channel_id: int, text: str) -> str | None:
        if self.refused is not None:
            return self.refused
        self.posts.append((guild_id, channel_id, text))
        return None


def redemption(
    viewer_id: str,
    reward_id: str,
    *,
    redemption_id: str | None = None,
    username: str | None = None,
    at: datetime = T0,
    cost: int = 500,
) -> RewardRedeemed:
    return RewardRedeemed(
        platform=Platform.TWITCH,
        event_id=redemption_id or str(uuid.uuid4()),
        broadcaster_user_id=BROADCASTER,
        occurred_at=at,
        viewer=Viewer(viewer_id, username or f"viewer{viewer_id}"),
        reward_id=reward_id,
        reward_title="VIP for a day",
        cost=cost,
        status="unfulfilled",
    )


@dataclass
class FakeRoles:
    """Discord roles on members: ``members`` maps a member to their role ids."""

    members: dict[int, set[int]] = field(default_factory=dict)
    assignable: set[int] = field(default_factory=set)
    away: bool = False  # as Discord is while the bot is not connected

    async def add_role(self, guild_id: int, discord_user_id: int, role_id: int) -> bool:
        from core.bus.base import NotReady
        from core.features.vip.ports import RoleRefused

        if self.away:
            raise NotReady("the Discord bot is not connected yet")
        if discord_user_id not in self.members:
            raise RoleRefused("you are not in the Discord server")
        if role_id not in self.assignable:
            raise RoleRefused("the VIP role cannot be given (ask a moderator)")
        held = self.members[discord_user_id]
        if role_id in held:
            return False
        held.add(role_id)
        return True

    async def remove_role(self, guild_id: int, discord_user_id: int, role_id: int) -> None:
        from core.bus.base import NotReady

        if self.away:
            raise NotReady("the Discord bot is not connected yet")
        self.members.get(discord_user_id, set()).discard(role_id)


async def make_discord_calls(service: VipService) -> None:
    """What the Discord worker does: make the calls VIP queued for it (notices, Kick roles)."""
    await _make_calls(service, DISCORD, service.discord_kinds())


async def make_helix_calls(service: VipService) -> None:
    """What the Twitch Helix worker does: make the redemptions and removals queued for it."""
    await _make_calls(service, redemption_outbox.SERVICE, service.helix_kinds())


async def _make_calls(service: VipService, name: str, kinds: dict) -> None:  # type: ignore[type-arg]
    effects = service.effects
    worker = OutboxWorker(effects.engine, name, kinds, effects.clock)
    while await worker.run_once():
        pass


@dataclass(frozen=True)
class Expired:
    removed: int  # grants closed by this run's calls
    postponed: int  # calls that could not be made now (noted on the grant)


async def expire(service: VipService) -> Expired:
    """The expiry job's run, then what its workers make of the calls it queued."""
    with service.effects.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.coalesce(sa.func.max(outbox.c.id), 0))).scalar()
    await service.expiry.expire_due()
    await make_helix_calls(service)
    await make_discord_calls(service)
    kinds = (removal_calls.TWITCH_EXPIRED, removal_calls.KICK_EXPIRED)
    with service.effects.engine.connect() as conn:
        rows = conn.execute(
            sa.select(outbox.c.state, outbox.c.result).where(
                outbox.c.id > before, outbox.c.kind.in_(kinds)
            )
        ).all()
    removed = sum(1 for row in rows if row.state == "done" and row.result == "removed")
    return Expired(removed, sum(1 for row in rows if row.state == "refused"))


def outbox_states(engine: Engine, kind: str) -> list[tuple[str, str]]:
    """The guild's calls of ``kind``: (state, result), newest first."""
    with engine.connect() as conn:
        return [(s.state, s.result or "") for s in store.of_guild(conn, GUILD) if s.kind == kind]
