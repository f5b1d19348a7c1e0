"""Points: the per-guild economy that games (the heist) spend and pay out, earned by watching
(after each watchtime tick) and by chatting, and asked about with ``!points`` in chat."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from core.events import ChatMessageSent, Platform
from core.features.points.chat import PointsChat
from core.features.points.earning import PointsEarning
from core.features.points.ports import NobodySubscribes, Subscribers
from core.features.points.se_wallet import SeWallet
from core.features.points.service import PointsService
from core.platforms.streamelements.api import StreamElementsPoints

if TYPE_CHECKING:
    from core.runtime import Runtime


class TierSubscribers:
    """Subscribers as the subscription tiers feature knows them (``rt.sub_tiers``)."""

    def __init__(self, sub_tiers: Any) -> None:
        self.sub_tiers = sub_tiers

    def subscribed(self, guild_id: int, platform: Platform, user_ids: Iterable[str]) -> set[str]:
        tiers = self.sub_tiers.tiers_of(guild_id, platform, list(user_ids))
        return {user_id for user_id, tier in tiers.items() if tier is not None}


def subscribers_of(rt: Runtime) -> Subscribers:
    sub_tiers = getattr(rt, "sub_tiers", None)
    return NobodySubscribes() if sub_tiers is None else TierSubscribers(sub_tiers)


def install(rt: Runtime) -> None:
    rt.points = PointsService(rt.engine, rt.clock)
    rt.points_earning = PointsEarning(
        rt.engine,
        rt.clock,
        subscribers_of(rt),
        timedelta(minutes=rt.settings.watchtime.active_window_minutes),
        rt.guilds.guild_ids,
    )
    rt.handle(ChatMessageSent, rt.points_earning.record_chat)
    rt.scheduler.after_tick(
        "points earned by watching", lambda: asyncio.to_thread(rt.points_earning.earn_all)
    )
    # The StreamElements backend: its payments go out after each tick (a retry never repays).
    rt.points_wallet = SeWallet(rt.engine, rt.clock, rt.cipher, StreamElementsPoints())
    rt.scheduler.after_tick("StreamElements payments", rt.points_wallet.flush)
    rt.on_shutdown(rt.points_wallet.client.aclose)
    for command in PointsChat(rt.points).commands():
        rt.chat_commands.add(command)
