"""The feature services, typed: what each feature's install (``core/wiring/<feature>.py``) sets
on the runtime under its own name. :class:`~core.runtime.Runtime` is a ``FeatureServices``; both
front ends take their services from it by these attributes (``BotServices.of``,
``dashboard_config``), never by looking a name up.

A feature adds its service here (one line, typed) and in its own install; every install runs in
every process, so none of these is missing once the runtime is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.features.chat_commands.notices import ChatNotices
    from core.features.connections.kick.arrivals import WebhookArrivals
    from core.features.connections.kick.service import KickConnections
    from core.features.connections.kick.setup import KickSetup
    from core.features.connections.twitch.service import TwitchConnections
    from core.features.connections.twitch.setup import TwitchSetup
    from core.features.directory.service import DirectoryService
    from core.features.heist.service import HeistService
    from core.features.linking.effects import LinkEffects
    from core.features.linking.service import LinkingService
    from core.features.live.changes import LiveBackend, LiveNotifier
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


class FeatureServices:
    directory: DirectoryService
    live: LiveNotifier
    live_backend: LiveBackend | None  # None: this process hears no live updates
    watchtime: WatchtimeService
    roles: RolesService
    role_sync: RoleSync
    linking: LinkingService
    link_effects: LinkEffects
    connections: KickConnections
    kick_setup: KickSetup
    webhook_arrivals: WebhookArrivals
    twitch_connections: TwitchConnections
    twitch_setup: TwitchSetup
    raffle: RaffleService
    wagers: WagerService
    slot_calls: SlotCallService
    slot_call_chat: SlotCallChat
    chat_notices: ChatNotices
    vip: VipService
    sub_tiers: SubTierService
    points: PointsService
    points_wallet: SeWallet
    payment_doubts: PaymentDoubts  # outbox calls that ended uncertain, settled by an admin
    heist: HeistService
    overlays: OverlayService
