"""What the bot's cogs work with: the feature services, as the runtime built them.

A feature whose service is missing (None) has no cogs; tests build the bot with just the services
they need. ``BotServices.of(runtime)`` takes each one from the runtime's attribute of the same name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from core.events import system_clock
from core.features.connections.setup import KickSetup
from core.features.connections.twitch_setup import TwitchSetup
from core.features.guilds.service import GuildService
from core.features.heist.service import HeistService
from core.features.linking.effects import LinkEffects
from core.features.linking.service import LinkingService
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
    points: PointsService | None = None
    points_wallet: SeWallet | None = None  # the StreamElements backend
    clock: Callable[[], datetime] = system_clock  # cooldowns run on it

    @classmethod
    def of(cls, source: object) -> BotServices:
        """The services ``source`` (the runtime) holds, each by its field's name."""
        return cls(
            **{
                field.name: getattr(source, field.name)
                for field in dataclasses.fields(cls)
                if hasattr(source, field.name)
            }
        )
