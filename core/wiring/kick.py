"""Kick: the streamer's connection, webhook subscriptions, the webhook receiver, Pusher, chat."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from core.config import KickSettings, SettingsError
from core.events import Platform
from core.features.connections.channel_setup import ConnectLinks, given_back_words
from core.features.connections.event_arrivals import EventArrivals, newest
from core.features.connections.kick.arrivals import WebhookArrivals
from core.features.connections.kick.public_key import CHECK_EVERY, KickPublicKeys
from core.features.connections.kick.service import KickAppToken, KickConnections
from core.features.connections.kick.setup import KickSetup
from core.features.connections.kick.subscriptions import SubscriptionKeeper
from core.features.guilds.default_channel import DefaultChannel
from core.platforms.kick.api import KickApi
from core.platforms.kick.chat import KickChatSender
from core.platforms.kick.oauth_client import KickOAuthClient
from core.platforms.kick.receiver import KickWebhookReceiver
from core.platforms.kick.site import look_up_internal_ids
from core.platforms.kick.sources import ChannelIds, PusherSupervisor, pusher_wanted
from core.platforms.kick.webhook import load_public_key
from core.platforms.kick.webhook_keys import WebhookKeys, canonical_pem
from core.settings_guards import KICK_AGE_CHECK_OFF
from core.wiring.kick_bot_user import own_account_learner
from core.wiring.platform_clients import PlatformClients, receiver_options
from core.wiring.upkeep import SubscriptionUpkeep

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly

log = logging.getLogger(__name__)


class KickClients(PlatformClients[KickChatSender]):
    """Kick's HTTP clients, made from settings; the chat sender is one per process."""

    oauth_type = KickOAuthClient
    settings: KickSettings
    connections: KickConnections | None
    operator_guild_id: int | None = None  # DISCORD_GUILD_ID: where KICK_CHANNEL's chat is

    def api(self) -> KickApi:
        return KickApi(self.settings.api_base_url)

    def chat_client(self) -> KickApi:
        # No retries of its own: the chat sender retries a 429 or a failed connection itself,
        # each try in a slot of the channel's window, as Kick counts it (a retry inside the
        # client would go out in the first try's slot, past Kick's line a second).
        return KickApi(self.settings.api_base_url, max_retries=0)

    def chat_sender(self, client: KickApi, streamer_call: Any) -> KickChatSender:
        """Replies in Kick chat, as the streamer or the bot account."""
        return KickChatSender(
            client,
            streamer_call=streamer_call,
            bot_user_token=self.settings.bot_user_token,
            operator_guild_id=self.operator_guild_id,
            failures=self.metrics.chat_failed,
            windows=self.windows,
        )


def install(rt: Assembly) -> None:
    kick = rt.settings.kick
    try:
        public_key = load_public_key(kick.webhook_public_key)
    except ValueError as exc:  # a start-up refusal in one line, as a bad setting's
        raise SettingsError([str(exc)]) from exc
    rt.kick = KickClients(kick, rt.clock, rt.metrics, rt.windows)
    rt.kick.operator_guild_id = rt.settings.discord.guild_id
    configured = rt.kick.is_configured
    rt.kick_connections = rt.kick.streamer_connections(KickConnections, rt, rt.kick.api)
    rt.app_token = KickAppToken(rt.kick.oauth_client, rt.clock)
    rt.subscriptions = SubscriptionKeeper(
        rt.kick_connections,
        rt.guilds,
        rt.kick.api,
        app_call=rt.app_token.call if configured else None,
    )
    rt.kick_upkeep = SubscriptionUpkeep(rt.subscriptions, "Kick")
    # Pusher passes on the event types whose webhooks are not arriving (per broadcaster).
    rt.webhook_arrivals = WebhookArrivals(rt.engine, rt.clock)
    # The dispatcher notes what it handles; the "last event" lines read it in every process.
    rt.event_arrivals = arrivals = EventArrivals(rt.engine, rt.clock)
    rt.pusher = None
    if pusher_wanted(kick.pusher_enabled, rt.settings.web.oauth_base_url):
        rt.pusher = PusherSupervisor(
            kick.pusher_url,
            channels=lambda: [
                ChannelIds(c.broadcaster_user_id, c.chatroom_id, c.channel_id)
                for c in rt.guilds.kick_channels()
                if c.chatroom_id is not None
            ],
            publish=rt.bus.publish,
            deliveries=rt.webhook_arrivals.deliveries,
            clock=rt.clock,
        )
        rt.scheduler.loop("Kick Pusher", rt.pusher.run)
    if rt.settings.web.oauth_base_url:
        rt.scheduler.loop("Kick subscription upkeep", rt.kick_upkeep.run)
    # KICK_WEBHOOK_PUBLIC_KEY set to a key of the operator's (a test's, a benchmark's): that
    # key alone. Else (unset, or Kick's published key pasted in) the bundled key, and Kick's as
    # the bot fetches it: a key Kick rotates keeps working without an upgrade.
    bundled_pem = canonical_pem(load_public_key(None))
    is_operators_key = canonical_pem(public_key) != bundled_pem
    rt.kick_public_key = KickPublicKeys(
        rt.engine,
        rt.clock,
        make_api=None if is_operators_key else rt.kick.api,
        bundled_pem=bundled_pem,
    )
    if rt.kick_public_key.fetches:
        rt.scheduler.every(
            "fetching Kick's webhook key",
            CHECK_EVERY.total_seconds,
            rt.kick_public_key.refresh_if_due,
        )
    fetches = rt.kick_public_key.fetches
    keys = WebhookKeys(
        [public_key],
        look_up=rt.kick_public_key.stored_pem if fetches else None,
        on_unverified=rt.kick_public_key.ask_soon if fetches else lambda: None,
        clock=rt.clock,
    )
    if kick.webhook_max_age_seconds == 0:
        log.warning(KICK_AGE_CHECK_OFF)
    rt.kick_receiver = KickWebhookReceiver(
        public_key=keys,
        max_age_seconds=kick.webhook_max_age_seconds,
        broadcaster_of_subscription=rt.kick_connections.broadcaster_of_subscription,
        on_arrival=rt.webhook_arrivals.record,
        **receiver_options(rt),
    )
    rt.kick_setup = KickSetup(
        guilds=rt.guilds,
        connections=rt.kick_connections,
        subscriptions=rt.subscriptions,
        make_api=rt.kick.api,
        app_call=rt.app_token.call,
        look_up_ids=lambda slug: look_up_internal_ids(kick.site_base_url, slug),
        links=ConnectLinks(rt.link_secret, rt.public_base_url, rt.clock, rt.link_lifetime),
        pusher_states=lambda: rt.pusher.states() if rt.pusher else {},
        last_events=lambda broadcaster: newest(
            rt.dispatcher.last_events(broadcaster), arrivals.last_events(Platform.KICK, broadcaster)
        ),
        client_configured=configured,
        operator_guild_id=rt.settings.discord.guild_id,
    )

    # KICK_CHANNEL + DISCORD_GUILD_ID: that guild follows that channel, no command needed.
    async def release_other(guild_id: int, broadcaster: str) -> str | None:
        replaced = await rt.kick_setup.release_other_streamer(guild_id, broadcaster)
        if replaced is None:
            return None
        return f"{replaced.account}. {given_back_words('Kick', replaced.given_back)}"

    rt.default_channel = DefaultChannel(
        rt.guilds,
        rt.settings.discord.guild_id,
        kick.channel,
        rt.kick_setup.find_channel,
        release_other=release_other,
    )
    rt.scheduler.loop("KICK_CHANNEL's default channel", rt.default_channel.run)
    rt.chat_senders[Platform.KICK] = lambda: rt.kick.chat
    if kick.bot_user_token and rt.chat_bots is not None:  # its messages are the bot's own
        learn = own_account_learner(rt.kick.api, kick.bot_user_token, rt.chat_bots)
        rt.scheduler.loop("the Kick bot user's account", learn, everywhere=True)
    rt.on_shutdown(rt.kick.close_chat)
