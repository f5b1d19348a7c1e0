"""What the bot's cogs work with: the feature services, as the runtime built them.

A feature whose service is missing (None) has no cogs; tests build the bot with just the services
they need. ``BotServices.of(runtime)`` takes each one from the runtime's typed attribute
(:class:`core.services.FeatureServices`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from core.events import system_clock
from core.features.connections.kick.setup import KickSetup
from core.features.connections.twitch.setup import TwitchSetup
from core.features.directory.service import DirectoryService
from core.features.guilds.service import GuildService
from core.features.heist.service import HeistService
from core.features.linking.effects import LinkEffects
from core.features.linking.service import LinkingService
from core.features.overlays.service import OverlayService
from core.features.payments.service import PaymentDoubts
from core.features.points.se_wallet import SeWallet
from core.features.points.service import PointsService
from core.features.raffle.service import RaffleService
from core.features.raffle.wagers import WagerService
from core.features.roles.service import RolesService
from core.features.roles.sync import RoleSync
from core.features.slot_calls.chat import SlotCallChat
from core.features.slot_calls.service import SlotCallService
from core.features.sub_tiers.service import SubTierService
from core.features.vip.service import VipService
from core.features.watchtime.service import WatchtimeService
from core.health import HealthReport

if TYPE_CHECKING:
    from core.runtime import Runtime


@dataclass(frozen=True)
class BotServices:
    watchtime: WatchtimeService
    guilds: GuildService
    health: Callable[[], HealthReport]
    kick_setup: KickSetup | None = None
    twitch_setup: TwitchSetup | None = None
    roles: RolesService | None = None
    role_sync: RoleSync | None = None
    linking: LinkingService | None = None
    link_effects: LinkEffects | None = None
    slot_calls: SlotCallService | None = None
    slot_call_chat: SlotCallChat | None = None  # announces picks in the stream's chat
    raffle: RaffleService | None = None
    wagers: WagerService | None = None
    vip: VipService | None = None
    sub_tiers: SubTierService | None = None
    heist: HeistService | None = None
    overlays: OverlayService | None = None
    points: PointsService | None = None
    points_wallet: SeWallet | None = None  # the StreamElements backend
    payment_doubts: PaymentDoubts | None = None  # outbox calls that ended uncertain
    directory: DirectoryService | None = None  # what the bot sees of each server, for the web
    clock: Callable[[], datetime] = system_clock  # cooldowns run on it

    @classmethod
    def of(cls, runtime: Runtime) -> BotServices:
        """The services the runtime's features built, by their typed attributes
        (:class:`core.services.FeatureServices`)."""
        return cls(
            watchtime=runtime.watchtime,
            guilds=runtime.guilds,
            health=runtime.health,
            kick_setup=runtime.kick_setup,
            twitch_setup=runtime.twitch_setup,
            roles=runtime.roles,
            role_sync=runtime.role_sync,
            linking=runtime.linking,
            link_effects=runtime.link_effects,
            slot_calls=runtime.slot_calls,
            slot_call_chat=runtime.slot_call_chat,
            raffle=runtime.raffle,
            wagers=runtime.wagers,
            vip=runtime.vip,
            sub_tiers=runtime.sub_tiers,
            heist=runtime.heist,
            overlays=runtime.overlays,
            points=runtime.points,
            points_wallet=runtime.points_wallet,
            payment_doubts=runtime.payment_doubts,
            directory=runtime.directory,
            clock=runtime.clock,
        )
