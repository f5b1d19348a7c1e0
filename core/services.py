"""The feature services, declared once: what each feature's install (``core/wiring/<feature>.py``)
builds, typed by the name it is set under.

The runtime is a ``FeatureServices`` (every install sets its own, so none is missing once it is
built); each front end's configuration extends this class with what only it needs
(``BotServices`` for the Discord cogs, ``DashboardConfig`` for the dashboard) and is filled from
the runtime by :func:`services_of`, field by field as declared here. So a new service is one
line here and one in its install, and the front end that uses it reads it by name; nothing in
between lists it again. ``None``: that service is not in this object (a test's bot or dashboard
built with just the services it needs; a page or cog of a missing service is off).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.features.chat_bots import ChatBots
    from core.features.chat_commands.notices import ChatNotices
    from core.features.connections.event_arrivals import EventArrivals
    from core.features.connections.kick.arrivals import WebhookArrivals
    from core.features.connections.kick.public_key import KickPublicKeys
    from core.features.connections.kick.service import KickConnections
    from core.features.connections.kick.setup import KickSetup
    from core.features.connections.twitch.service import TwitchConnections
    from core.features.connections.twitch.setup import TwitchSetup
    from core.features.directory.service import DirectoryService
    from core.features.guilds.service import GuildService
    from core.features.heist.service import HeistService
    from core.features.linking.effects import LinkEffects
    from core.features.linking.service import LinkingService
    from core.features.live.changes import LiveBackend, LiveNotifier
    from core.features.overlays.service import OverlayService
    from core.features.payments.service import PaymentDoubts
    from core.features.points.se_wallet import SeWallet
    from core.features.points.service import PointsService
    from core.features.raffle.service import RaffleService
    from core.features.raffle.wagers.service import WagerService
    from core.features.roles.service import RolesService
    from core.features.roles.sync import RoleSync
    from core.features.slot_calls.chat import SlotCallChat
    from core.features.slot_calls.service import SlotCallService
    from core.features.sub_tiers.service import SubTierService
    from core.features.vip.service import VipService
    from core.features.watchtime.service import WatchtimeService
    from core.features.web_sessions.service import MemorySessions, WebSessions
    from core.outbox.undone import UndoneCalls


@dataclass(kw_only=True)
class FeatureServices:
    guilds: GuildService | None = None  # the guilds the bot serves and what tracks them
    directory: DirectoryService | None = None  # what the bot sees of each server, for the web
    live: LiveNotifier | None = None
    live_backend: LiveBackend | None = None  # None also when this process hears no live updates
    chat_bots: ChatBots | None = None  # who in chat is a bot (no presence, points, commands)
    watchtime: WatchtimeService | None = None
    roles: RolesService | None = None
    role_sync: RoleSync | None = None
    linking: LinkingService | None = None
    link_effects: LinkEffects | None = None
    kick_connections: KickConnections | None = None  # the Kick sign-in round trip
    kick_setup: KickSetup | None = None
    webhook_arrivals: WebhookArrivals | None = None
    event_arrivals: EventArrivals | None = None  # the last event of each kind, every process's
    kick_public_key: KickPublicKeys | None = None  # Kick's webhook key, fetched and stored
    twitch_connections: TwitchConnections | None = None  # the Twitch sign-in round trip
    twitch_setup: TwitchSetup | None = None
    raffle: RaffleService | None = None
    wagers: WagerService | None = None
    slot_calls: SlotCallService | None = None
    slot_call_chat: SlotCallChat | None = None  # announces picks in the stream's chat
    chat_notices: ChatNotices | None = None
    vip: VipService | None = None
    sub_tiers: SubTierService | None = None
    points: PointsService | None = None
    points_wallet: SeWallet | None = None  # the StreamElements backend
    payment_doubts: PaymentDoubts | None = None  # outbox calls that ended uncertain
    undone_calls: UndoneCalls | None = None  # outbox calls that ended refused or failed
    heist: HeistService | None = None
    overlays: OverlayService | None = None
    # Signed-in dashboard sessions kept on the server (start, is_live, end); a dashboard built
    # without the database keeps them in memory (MemorySessions).
    sessions: WebSessions | MemorySessions | None = None


def services_of(source: FeatureServices) -> dict[str, Any]:
    """Every declared service of ``source`` by name: the keyword arguments a front end's
    configuration (a subclass) is built with."""
    return {field.name: getattr(source, field.name) for field in fields(FeatureServices)}
