"""``!twitch setup``, ``!twitch status``, ``!twitch sync`` and ``!twitch disconnect`` as plain
service calls.

Setup resolves the channel's login to its broadcaster id with Helix (on the app token), ties the
guild to it and hands back a signed, one-hour link with which the streamer consents. Status
shows the connection, the scopes the token lacks (with a link to consent again), the
subscriptions kept and those Twitch revoked.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from core.events import Platform, utc
from core.features.connections.channel_setup import (
    ChannelSetup,
    Replaced,
    SetupFailed,
    SetupResult,
    Unsubscribed,
)
from core.features.connections.status import SetupStatus
from core.features.connections.streamer_tokens import GivenBack
from core.features.connections.twitch.revocations import TwitchRevocations
from core.features.connections.twitch.revocations_repository import StoredRevocation
from core.features.connections.twitch.service import TwitchConnections
from core.features.connections.twitch.signin import HelixFactory
from core.features.connections.twitch.subscriptions import (
    AppCall,
    TwitchSubscriptionKeeper,
    TwitchSyncReport,
    missing_types,
    subscribed_types,
    types_needing_consent,
)
from core.features.guilds.service import InvalidGuildInput
from core.platforms.twitch.eventsub_ws import EventSubState
from core.platforms.twitch.helix import HelixError
from core.platforms.twitch.oauth_client import TwitchOAuthError

_LOGIN_IN_URL = re.compile(r"^(?:https?://)?(?:www\.|m\.)?twitch\.tv/([^/?#\s]+)", re.IGNORECASE)
_LOGIN = re.compile(r"^[a-z0-9_]{1,25}$")


@dataclass(frozen=True)
class TwitchStatus(SetupStatus):
    revocations: tuple[StoredRevocation, ...]
    reconsent_link: str | None  # when scopes are missing or the grant is dead
    client_configured: bool
    upkeep_enabled: bool  # EventSub webhooks: a public HTTPS address and the secret are set
    socket_enabled: bool = False  # else the EventSub WebSocket carries the events
    # Temporary VIP's redemptions that wait for the streamer to connect again, and its refunds
    # not told in chat (chat goes as the streamer): both are handled when they connect.
    vip_waiting: int = 0
    vip_untold: int = 0
    # Temporary VIP's Twitch reward rules whose reward the streamer deleted on twitch.tv.
    vip_broken: int = 0
    # Of ``missing``, the types the streamer's grant lacks a scope for (follows, cheers for a
    # streamer who connected before they were asked): connecting again brings them.
    needs_consent: tuple[str, ...] = ()
    # The channel's EventSub WebSocket, when it runs in this process: its status and the types
    # Twitch refused to subscribe on it.
    socket: EventSubState | None = None


@dataclass(frozen=True)
class Disconnected:
    """What ``!twitch disconnect`` did: what Twitch did with the tokens, and with the server's
    VIP rewards, in the streamer's words (None: it has none)."""

    given_back: GivenBack
    rewards: str | None = None


@dataclass(eq=False, kw_only=True)
class TwitchSetup(ChannelSetup):
    connections: TwitchConnections
    revocations: TwitchRevocations
    subscriptions: TwitchSubscriptionKeeper | None  # None: no webhooks (see sync)
    make_helix: HelixFactory
    app_call: AppCall
    socket_enabled: bool = False  # the EventSub WebSocket runs (no public address for webhooks)
    # (waiting, untold) of the guild's VIP redemptions, set by the VIP wiring (a blocking read)
    vip_counts: Callable[[int], tuple[int, int, int]] | None = None
    # The EventSub WebSocket's state per broadcaster user id (the supervisor's ``states()``)
    socket_states: Callable[[], Mapping[str, EventSubState]] = dict
    # Set by the VIP wiring: ``pause_rewards(guild_id, broadcaster_id)`` pauses the guild's VIP
    # rewards on Twitch as the streamer (core/features/vip/paused_rewards.py) and says what it
    # did; it raises nothing for Twitch's failures.
    pause_rewards: Callable[[int, str], Awaitable[str | None]] | None = None

    async def setup(self, guild_id: int, admin_id: int, channel: str) -> SetupResult:
        if not self.client_configured:
            raise SetupFailed(
                "This bot has no Twitch app yet: set TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET "
                "(from dev.twitch.tv/console) and restart it."
            )
        login = twitch_login(channel)
        if login is None:
            raise SetupFailed(
                "A Twitch channel is its login: letters, digits and _, at most 25 "
                "(e.g. !twitch setup twitchdev)."
            )
        try:
            async with self.make_helix() as helix:
                users = await self.app_call(lambda token: helix.get_users(token, logins=[login]))
        except (HelixError, TwitchOAuthError) as exc:
            raise SetupFailed(
                f"Twitch did not answer the channel lookup ({exc.status or 'no answer'}). "
                "Try again soon."
            ) from exc
        user = next((u for u in users if u.login.lower() == login), None)
        if user is None:
            raise SetupFailed(f"Twitch has no channel called {login!r}. Check its name.")
        try:
            view = await asyncio.to_thread(
                self.guilds.set_twitch_channel, guild_id, user.login.lower(), user.id
            )
        except InvalidGuildInput as exc:
            raise SetupFailed(str(exc)) from exc
        tracked = next(c for c in view.channels if c.broadcaster_user_id == user.id)
        replaced = await self.release_other_streamer(guild_id, user.id)
        return SetupResult(tracked, self.connect_link(guild_id, admin_id), replaced)

    async def release_other_streamer(self, guild_id: int, broadcaster: str) -> Replaced | None:
        """The guild follows ``broadcaster``'s channel now (``!twitch setup``, ``guild add``):
        a streamer connected for another channel is disconnected, their grant given back, not
        kept unused. None when there was none."""
        connected = await asyncio.to_thread(self.connections.status, guild_id)
        if connected.broadcaster_user_id in (None, broadcaster):
            return None
        given_back = await self._give_back(guild_id)
        if given_back is None:
            return None
        account = connected.username or f"Twitch user {connected.broadcaster_user_id}"
        return Replaced(account, given_back)

    async def sync(self, guild_id: int) -> TwitchSyncReport:
        """Reconcile the guild's EventSub subscriptions now."""
        if self.subscriptions is None:
            raise SetupFailed(
                "Twitch can only deliver events to a public HTTPS address: set OAUTH_BASE_URL "
                "and TWITCH_EVENTSUB_SECRET, then restart the bot."
            )
        if not (await asyncio.to_thread(self.connections.status, guild_id)).is_connected:
            raise SetupFailed(
                "This server has no working Twitch connection: connect the streamer first (!twitch "
                "setup <channel> in Discord, or the Kick & Twitch page of the dashboard)."
            )
        await asyncio.to_thread(self.connections.request_sync, guild_id)
        return await self.subscriptions.sync_guild(guild_id)

    async def disconnect(self, guild_id: int) -> Disconnected | None:
        """Pause the server's VIP rewards on Twitch, delete the channel's EventSub
        subscriptions, give the streamer's tokens back to Twitch and forget them; None when
        there was no connection. Twitch is called at once, as the admin waits, not queued: the
        rewards are paused as the streamer, so while their tokens still work, and the tokens go
        now. Twitch failing or refusing stops nothing: the words say so."""
        status = await asyncio.to_thread(self.connections.status, guild_id)
        rewards = None
        if self.pause_rewards is not None and status.broadcaster_user_id is not None:
            rewards = await self.pause_rewards(guild_id, status.broadcaster_user_id)
        given_back = await self._give_back(guild_id)
        return None if given_back is None else Disconnected(given_back, rewards)

    async def _give_back(self, guild_id: int) -> GivenBack | None:
        """Delete the channel's EventSub subscriptions, give the streamer's tokens back to
        Twitch and forget them: what Twitch did with them, None when there was no connection.
        The subscriptions stay while another server is connected as the same streamer: they
        deliver its events too."""
        await self.remove_subscriptions(guild_id)
        return await self.connections.give_back(guild_id)

    async def remove_subscriptions(self, guild_id: int) -> Unsubscribed | None:
        """Delete the EventSub subscriptions of the streamer the guild is connected as, unless
        another server is connected as them too (``SHARED``); None when there are none to
        delete (no connection, or no webhooks: the WebSocket's end with its session).

        A server that only follows the channel does not keep them: the upkeep keeps a
        channel's subscriptions only while a server is connected as its streamer (it deletes
        the others' at its next pass), and those of chat, subs and redemptions live on the
        streamer's consent, given back next. Such a server loses the channel's events
        (``DELETED_WHILE_FOLLOWED``) until the streamer connects it."""
        status = await asyncio.to_thread(self.connections.status, guild_id)
        broadcaster = status.broadcaster_user_id
        if broadcaster is None or self.subscriptions is None:
            return None
        shared = await asyncio.to_thread(
            self.connections.serves_other_guilds, broadcaster, guild_id
        )
        if shared:
            return Unsubscribed.SHARED
        if not await self.subscriptions.remove_broadcaster(broadcaster):
            return Unsubscribed.UNREACHABLE
        followers = await asyncio.to_thread(
            self.guilds.guilds_tracking, Platform.TWITCH, broadcaster
        )
        if set(followers) - {guild_id}:
            return Unsubscribed.DELETED_WHILE_FOLLOWED
        return Unsubscribed.DELETED

    def status(self, guild_id: int, admin_id: int | None = None) -> TwitchStatus:
        """With ``admin_id``, a connect link for them when the streamer must consent again."""
        channel = self.guilds.twitch_channel_of(guild_id)
        connection = self.connections.status(guild_id)
        subscribed: tuple[str, ...] = ()
        revocations: tuple[StoredRevocation, ...] = ()
        socket = None
        if channel is not None:
            stored = self.connections.stored_subscriptions(channel.broadcaster_user_id)
            subscribed = subscribed_types(stored)
            socket = self.socket_states().get(channel.broadcaster_user_id)
            revocations = tuple(
                r
                for r in self.revocations.standing(channel.broadcaster_user_id)
                if not subscribed_again_on(socket, r)
            )
        link = None
        needs_consent = connection.missing_scopes or connection.needs_reauthorization
        if admin_id is not None and channel is not None and needs_consent:
            link = self.connect_link(guild_id, admin_id)
        counts = self.vip_counts(guild_id) if self.vip_counts is not None else (0, 0, 0)
        waiting, untold, broken = counts
        missing = missing_types(subscribed)
        return TwitchStatus(
            channel,
            connection,
            subscribed,
            missing,
            revocations,
            link,
            self.client_configured,
            self.subscriptions is not None,
            self.socket_enabled,
            vip_waiting=waiting,
            vip_untold=untold,
            vip_broken=broken,
            needs_consent=types_needing_consent(missing, connection.scopes)
            if connection.is_connected
            else (),
            socket=socket,
        )


def subscribed_again_on(socket: EventSubState | None, revocation: StoredRevocation) -> bool:
    """Whether the EventSub WebSocket's live session made ``revocation``'s type again after
    it was revoked (a new grant, or a new session) and Twitch has not refused or revoked it on
    that session: the revocation is then history."""
    if socket is None or socket.status != "connected" or socket.subscribed_at is None:
        return False
    kind = revocation.subscription_type
    return (
        utc(revocation.revoked_at) < socket.subscribed_at
        and kind not in socket.revoked
        and kind not in dict(socket.refused)
    )


def twitch_login(channel: str) -> str | None:
    """The login in ``twitchdev``, ``@TwitchDev`` or ``https://twitch.tv/twitchdev``."""
    text = channel.strip()
    match = _LOGIN_IN_URL.match(text)
    login = (match.group(1) if match else text).lstrip("@").lower()
    return login if _LOGIN.match(login) else None
