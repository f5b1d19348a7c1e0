"""Temporary VIP for a guild's admins: the reward, the settings, the list and the log. This class
builds and holds the rest: ``redemptions`` (:mod:`~core.features.vip.redemptions`), ``kick_roles``
(:mod:`~core.features.vip.kick_roles`), ``expiry`` and VIPs changed on Twitch
(:mod:`~core.features.vip.expiry`), and grants by hand, ``manual``
(:mod:`~core.features.vip.manual`).

Methods raise :class:`VipRefused` (or the port's ``TwitchRefused``) with words for the admin.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from core.events import Platform
from core.features.chat_commands.notices import ChatNotices
from core.features.chat_commands.ports import ChatSender
from core.features.viewers.repository import usernames_of
from core.features.vip import (
    discord_calls,
    redemption_outbox,
    removal_calls,
    repository,
    reward_deletion,
    reward_gone,
    rules_repository,
)
from core.features.vip.analytics import VipAnalytics, analytics
from core.features.vip.effects import VipEffects, log
from core.features.vip.expiry import VipExpiry, track_outside_vips
from core.features.vip.kick_roles import KickRoleRedemptions, save_kick_reward
from core.features.vip.limits import (
    MAX_CONCURRENT,
    RewardLimits,
    VipRefused,
    check_cost,
    check_hours,
    check_limits,
    check_title,
    check_whole,
    describe_limits,
    limit_columns,
)
from core.features.vip.manual import ManualGrants
from core.features.vip.ports import (
    RewardInfo,
    TemporaryRoles,
    TwitchBusy,
    TwitchRefused,
    TwitchVipChannel,
    VipNotices,
)
from core.features.vip.reconnection import RECONNECTED, Reconnection
from core.features.vip.redemption_outbox import QueuedRedemptions
from core.features.vip.redemptions import VipRedemptions
from core.features.vip.repository import AuditEntry, Grant, VipSettings
from core.features.vip.reward_deletion import RewardDeletion
from core.features.vip.rule_grants import RuleGrants
from core.features.vip.rules import VipRules, refuse_another_servers
from core.outbox.worker import Kind, Outcome


@dataclass(frozen=True)
class SetupResult:
    reward: RewardInfo
    is_adopted: bool  # an existing reward of ours with this title
    outside_vips: int  # VIPs found on Twitch that StreamKeeper did not grant


class VipService:
    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        twitch: TwitchVipChannel,
        broadcaster_of: Callable[[int], str | None],
        *,
        notices: VipNotices | None = None,
        roles: TemporaryRoles | None = None,
        kick_chat: Callable[[], ChatSender | None] = lambda: None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        chat_notices: ChatNotices | None = None,
        process_name: str | None = None,
        needs_reauthorization: Callable[[int], bool] = lambda _guild_id: False,
        granted_scopes: Callable[[int], tuple[str, ...] | None] = lambda _guild_id: None,
        left_guilds: Callable[[], Collection[int]] = frozenset,
    ) -> None:
        """``broadcaster_of(guild_id)``: the Twitch broadcaster id the guild follows, or None.
        ``roles`` and ``kick_chat``: Kick's temporary role and chat (None: Kick is left out).
        ``chat_notices``: says in Twitch chat when the reward is paused or resumed, and a Kick
        VIP line once per event however many servers follow the channel.
        ``process_name``: this process's, whose heartbeat lease holds the redemptions it asks
        Twitch about (None: each is held a fixed time). ``needs_reauthorization(guild_id)``:
        whether the guild's Twitch connection waits for the streamer to connect again
        (``reconnection.py``). ``granted_scopes(guild_id)``: the Twitch scopes the streamer
        granted (None: not connected), checked when a rule is added (``rules.py``).
        ``left_guilds()``: servers that removed the bot, whose missed redemptions wait."""
        self.chat_notices = chat_notices
        ports = (twitch, notices, sleep, roles, kick_chat, needs_reauthorization, chat_notices)
        self.effects = VipEffects(engine, clock, *ports)
        self.broadcaster_of = broadcaster_of
        self.left_guilds = left_guilds
        self.redemptions = VipRedemptions(self.effects, process_name)
        # The bus handler: a redemption is queued, and the Twitch Helix worker makes it.
        self.queued = QueuedRedemptions(self.effects, self.redemptions)
        self.reconnection = Reconnection(
            self.effects, self.redemptions, self.queued, broadcaster_of, left_guilds
        )
        self.kick_roles = KickRoleRedemptions(self.effects)
        self.manual = ManualGrants(self.effects, self._broadcaster)
        self.expiry = VipExpiry(self.effects)
        self.rules = VipRules(self.effects, self._broadcaster, granted_scopes)
        self.rule_grants = RuleGrants(self.effects)  # subs, gifts, cheers, KICKs
        self.reward_deletion = RewardDeletion(self.effects, broadcaster_of)

    async def _broadcaster(self, guild_id: int) -> str:
        broadcaster_id = await asyncio.to_thread(self.broadcaster_of, guild_id)
        if broadcaster_id is None:
            raise VipRefused(
                "This server follows no Twitch channel yet: connect one with "
                "!twitch setup <channel>."
            )
        return broadcaster_id

    # --- the reward ------------------------------------------------------------------------

    async def setup(
        self,
        guild_id: int,
        actor_id: int,
        title: str,
        cost: int,
        hours: int,
        limits: RewardLimits | None = None,
    ) -> SetupResult:
        """Create the reward, or adopt one of ours with the same title; track today's VIPs.
        ``limits`` None: a new reward gets the default prompt and no limits, an adopted one
        keeps its own."""
        title, cost, hours = check_title(title), check_cost(cost), check_hours(hours)
        asked = None if limits is None else check_limits(limits)
        limits = asked or RewardLimits()
        broadcaster_id = await self._broadcaster(guild_id)
        twitch = self.effects.twitch
        ours = await twitch.list_rewards(guild_id, broadcaster_id)
        same = next((r for r in ours if r.title.casefold() == title.casefold()), None)
        if same is not None:
            await refuse_another_servers(self.effects, guild_id, same.id, same.title)
            reward = await twitch.update_reward(
                guild_id, broadcaster_id, same.id, cost=cost, limits=asked
            )
        else:
            reward = await twitch.create_reward(guild_id, broadcaster_id, title, cost, limits)
        vips = await twitch.list_vips(guild_id, broadcaster_id)
        now = self.effects.clock()

        def store(conn: Connection) -> int:
            # Its rule too (an adopted reward's rule may say other hours): redemptions earn it.
            kept = {"reward_title": reward.title, "reward_cost": reward.cost}
            kept["duration_hours"] = hours
            limited = limit_columns(limits) if same is None or asked else {}
            repository.save_settings(
                conn, guild_id, {"reward_id": reward.id, **kept, **limited}, now
            )
            rules_repository.follow_the_reward(conn, guild_id, reward.id, kept, now)
            return track_outside_vips(conn, guild_id, broadcaster_id, vips, now)

        outside = await self.effects.in_transaction(store)
        return SetupResult(reward, same is not None, outside)

    async def change_reward(self, guild_id: int, what: str, value: str | None = None) -> str:
        """``what``: cost, hours, title, pause, resume or delete. Returns what changed."""
        settings, broadcaster_id, reward_id = await self._reward(guild_id)
        changes: dict[str, Any] = {}
        paused_now: bool | None = None  # after a pause or resume that changed Twitch's state
        if what == "hours":
            changes["duration_hours"] = check_hours(check_whole(value))
            summary = f"Each redemption now gives {changes['duration_hours']} hour(s) of VIP."
        elif what == "delete":
            # Its rule goes now (save, below), its reward from Twitch by the Helix worker.
            changes = {"reward_id": None, "reward_title": None, "reward_cost": None}
            summary = (
                "The VIP reward is deleted: no redemption of it grants VIP from now on, and "
                "it goes from Twitch in a moment (redemptions still waiting there are "
                "refunded first). The VIPs it granted still expire."
            )
        else:
            fields: dict[str, Any]
            was_paused: bool | None = None
            if what == "cost":
                fields = {"cost": check_cost(check_whole(value))}
            elif what == "title":
                fields = {"title": check_title(value or "")}
            elif what in ("pause", "resume"):
                fields = {"is_paused": what == "pause"}
                was_paused = await self._is_paused(guild_id, broadcaster_id, reward_id)
            else:
                raise VipRefused(
                    "Change the reward's cost, hours or title, or pause, resume or delete it."
                )
            reward = await reward_gone.update_reward(
                self.effects, guild_id, broadcaster_id, reward_id, **fields
            )
            changes = {"reward_title": reward.title, "reward_cost": reward.cost}
            if "is_paused" in fields and was_paused != reward.is_paused:
                paused_now = reward.is_paused
            state = "paused" if reward.is_paused else "on"
            summary = f"The reward is now **{reward.title}**, {reward.cost:,} points, {state}."
        now = self.effects.clock()

        def save(conn: Connection) -> None:
            repository.save_settings(conn, guild_id, changes, now)
            if what == "delete":  # before its rule goes, which the call is named after
                reward_deletion.queue_setup_reward_deletion(conn, guild_id, settings, now)
            rules_repository.follow_the_reward(conn, guild_id, reward_id, changes, now)
            if paused_now is not None and self.chat_notices and settings.is_chat_notices:
                # In the change's transaction, keyed by it: the chat hears of it once.
                self.chat_notices.queue_vip_state(
                    conn,
                    guild_id,
                    broadcaster_id,
                    reward_id,
                    is_paused=paused_now,
                    reward_title=changes.get("reward_title"),
                    changed_at=now,
                )

        await self.effects.in_transaction(save)
        return summary

    async def change_limits(self, guild_id: int, limits: RewardLimits) -> str:
        """Set the reward's prompt and limits on Twitch (all four: an empty one is off)."""
        limits = check_limits(limits)
        _, broadcaster_id, reward_id = await self._reward(guild_id)
        reward = await reward_gone.update_reward(
            self.effects, guild_id, broadcaster_id, reward_id, limits=limits
        )
        changes = {"reward_title": reward.title, "reward_cost": reward.cost}
        changes |= limit_columns(limits)
        now = self.effects.clock()
        await self.effects.in_transaction(
            lambda conn: repository.save_settings(conn, guild_id, changes, now)
        )
        return f"The reward {reward.title} now has {describe_limits(limits)}."

    async def _reward(self, guild_id: int) -> tuple[VipSettings, str, str]:
        """The guild's settings, broadcaster and reward id, for a change of its reward; refused
        while it has no reward."""
        settings = await self.effects.settings(guild_id)
        if settings.reward_id is None:
            raise VipRefused("There is no VIP reward yet: !vip setup <title> <cost> <hours>.")
        return settings, await self._broadcaster(guild_id), settings.reward_id

    async def _is_paused(self, guild_id: int, broadcaster_id: str, reward_id: str) -> bool | None:
        """Whether Twitch has the reward paused now; None when Twitch cannot say."""
        try:
            rewards = await self.effects.twitch.list_rewards(guild_id, broadcaster_id)
        except TwitchRefused:
            return None
        return next((r.is_paused for r in rewards if r.id == reward_id), None)

    async def set_kick_reward(self, guild_id: int, title: str | None, role_id: int | None) -> str:
        """Kick's reward ``title`` gives its linked redeemer the role ``role_id`` for the VIP
        duration; None for both turns that off."""
        if title is None or role_id is None:
            changes: dict[str, Any] = {"kick_reward_title": None, "kick_role_id": None}
            summary = "Kick rewards give no role any more."
        else:
            title = " ".join(title.split())
            if not 1 <= len(title) <= 200:
                raise VipRefused("A Kick reward title has 1 to 200 characters.")
            changes = {"kick_reward_title": title, "kick_role_id": role_id}
            summary = f"The Kick reward {title!r} now gives its redeemer the role for a while."
        now = self.effects.clock()
        await self.effects.in_transaction(
            lambda conn: save_kick_reward(conn, guild_id, changes, now)
        )
        return summary

    # --- settings --------------------------------------------------------------------------

    async def settings(self, guild_id: int) -> VipSettings:
        return await self.effects.settings(guild_id)

    async def update_settings(self, guild_id: int, **changes: Any) -> VipSettings:
        """Change any of: is_stacking, max_hours, max_concurrent (None: no cap),
        is_chat_notices, is_auto_removal, notice_channel_id (None: no Discord notices)."""
        allowed = {
            "is_stacking",
            "max_hours",
            "max_concurrent",
            "is_chat_notices",
            "is_auto_removal",
            "notice_channel_id",
        }
        unknown = set(changes) - allowed
        if unknown:
            raise VipRefused(f"Unknown VIP setting: {', '.join(sorted(unknown))}.")
        if "max_hours" in changes:
            check_hours(changes["max_hours"])
        concurrent = changes.get("max_concurrent")
        if concurrent is not None and not 1 <= concurrent <= MAX_CONCURRENT:
            raise VipRefused(f"The most temporary VIPs at once goes from 1 to {MAX_CONCURRENT}.")
        now = self.effects.clock()

        def save(conn: Connection) -> VipSettings:
            repository.save_settings(conn, guild_id, changes, now)
            return repository.get_settings(conn, guild_id)

        return await self.effects.in_transaction(save)

    # --- the calls its workers make ------------------------------------------------------------

    def helix_kinds(self) -> dict[str, Kind]:
        """The Twitch Helix worker's calls: a redemption's chain, an expired VIP's removal, a
        removed rule's reward deleted."""
        return {
            redemption_outbox.KIND: self.queued.kind(),
            RECONNECTED: self.reconnection.kind(),  # the streamer connected Twitch again
            # Removing a VIP twice is harmless ("not a VIP" counts as done).
            removal_calls.TWITCH_EXPIRED: Kind(self._remove_expired),
            reward_deletion.KIND: self.reward_deletion.kind(),  # a removed rule's reward
        } | self.rule_grants.kinds()[0]

    def discord_kinds(self) -> dict[str, Kind]:
        """The Discord worker's calls: notices, Kick's roles given and taken off."""
        on_discord = discord_calls.kinds(self.effects.notices, self.kick_roles, self.expiry)
        return on_discord | self.rule_grants.kinds()[1]

    async def _remove_expired(self, guild_id: int, payload: dict[str, Any]) -> Outcome:
        return await self.expiry.remove_expired(guild_id, int(payload["grant_id"]))

    async def drain_missed(self) -> int:
        """In every guild with a reward (not one that removed the bot): queue the redemptions
        missed while away for the Twitch Helix worker, as their webhooks would have been (one
        outbox row per redemption, however it came, and the waiting ones again); how many read."""
        guild_ids = await self.effects.in_transaction(rules_repository.guilds_with_twitch_rewards)
        read, left = 0, await asyncio.to_thread(self.left_guilds)
        for guild_id in [g for g in guild_ids if g not in left]:
            broadcaster_id = await asyncio.to_thread(self.broadcaster_of, guild_id)
            if broadcaster_id is None:
                continue
            try:
                read += await self.reconnection.drain(guild_id, broadcaster_id)
            except (TwitchRefused, TwitchBusy) as problem:
                log.warning("guild %s: missed VIP redemptions not read: %s", guild_id, problem)
        return read

    # --- reading ---------------------------------------------------------------------------

    async def analytics(self, guild_id: int, days: int) -> VipAnalytics:
        """The last ``days`` days' numbers (the VIP page's charts)."""
        now = self.effects.clock()
        return await self.effects.in_transaction(lambda conn: analytics(conn, guild_id, days, now))

    async def list_vips(self, guild_id: int) -> list[Grant]:
        return await self.effects.in_transaction(
            lambda conn: repository.open_grants(conn, guild_id)
        )

    async def log(
        self,
        guild_id: int,
        login: str | None = None,
        limit: int = 20,
        *,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditEntry]:
        """The newest entries, optionally of one viewer, one action, and a span of time."""
        name = login.strip().lstrip("@") if login else None
        return await self.effects.in_transaction(
            lambda conn: repository.audit_log(
                conn, guild_id, username=name, limit=limit, action=action, since=since, until=until
            )
        )

    async def viewer_names(self, entries: Sequence[AuditEntry]) -> dict[str, str]:
        """The current names of the viewers in ``entries`` and of those who acted (a viewer
        who redeemed), under :func:`name_key`; a viewer no name is known for is absent."""
        keys = [(str(e.platform), e.platform_user_id) for e in entries]
        keys += [
            (str(e.platform), e.actor_id)
            for e in entries
            if e.actor_kind == "viewer" and e.actor_id
        ]
        if not keys:
            return {}
        return await self.effects.in_transaction(lambda conn: usernames_of(conn, keys))


def name_key(platform: Platform | str, platform_user_id: str) -> str:
    """The key :meth:`VipService.viewer_names` answers under."""
    return f"{platform}:{platform_user_id}"
