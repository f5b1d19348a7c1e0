"""``!kick setup``, ``!kick sync`` and ``!kick status`` as plain service calls.

Setup ties the guild to a Kick channel (the broadcaster id comes from Kick's public API, the
chatroom id from Kick's site, or from the admin when the site confirms it or the server is the
operator's own) and hands back a signed, one-hour link with which the streamer connects their
account. Setting up another channel disconnects the account connected for the one before (its
tokens given back to Kick), as ``!twitch setup`` does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.events import Platform
from core.features.connections.channel_setup import (
    ChannelSetup,
    Replaced,
    SetupFailed,
    SetupResult,
    Unsubscribed,
)
from core.features.connections.kick.service import ApiFactory, KickConnections
from core.features.connections.kick.subscriptions import (
    WANTED_EVENTS,
    SubscriptionKeeper,
    SyncReport,
)
from core.features.connections.status import SetupStatus
from core.features.guilds.default_channel import ChannelLookupFailed, FoundChannel
from core.features.guilds.service import InvalidGuildInput
from core.platforms.kick.api import KickApiError
from core.platforms.kick.oauth_client import OAuthError
from core.platforms.kick.pusher import PusherState
from core.platforms.kick.site import InternalIds

_SLUG = re.compile(r"^[a-z0-9_-]{1,25}$")
_SLUG_IN_URL = re.compile(r"^(?:https?://)?(?:www\.)?kick\.com/([^/?#\s]+)", re.IGNORECASE)
CHATROOM_HINT = (
    "run !kick setup <channel> again once Kick's site answers me (it is how I find and check "
    "the chatroom id)"
)


@dataclass(frozen=True)
class KickSetupResult(SetupResult):
    chatroom_found: bool = True


@dataclass(frozen=True)
class KickStatus(SetupStatus):
    pusher: PusherState | None
    last_events: Mapping[str, datetime]
    client_configured: bool


@dataclass(eq=False, kw_only=True)
class KickSetup(ChannelSetup):
    connections: KickConnections
    subscriptions: SubscriptionKeeper
    make_api: ApiFactory
    # ``app_call(call)``: ``call(token)`` with the app token, minted again on a 401.
    app_call: Callable[[Callable[[str], Awaitable[Any]]], Awaitable[Any]]
    look_up_ids: Callable[[str], Awaitable[InternalIds | None]]
    pusher_states: Callable[[], Mapping[tuple[str, int], PusherState]]
    last_events: Callable[[str], Mapping[str, datetime]]
    # DISCORD_GUILD_ID: the operator's own server, whose typed chatroom id is taken unchecked
    # when Kick's site cannot be asked (the operator answers for every guild of the bot anyway).
    operator_guild_id: int | None = None

    async def setup(
        self, guild_id: int, admin_id: int, channel: str, chatroom_id: int | None = None
    ) -> KickSetupResult:
        """Tie ``guild_id`` to the Kick ``channel``. A typed ``chatroom_id`` is kept when Kick's
        site names the same one; when the site cannot be asked, only in the operator's server."""
        if not self.client_configured:
            raise SetupFailed(
                "This bot has no Kick app yet: set KICK_CLIENT_ID and KICK_CLIENT_SECRET "
                "(from kick.com/settings/developer) and restart it."
            )
        slug = _slug(channel)
        if slug is None:
            raise SetupFailed(
                "A Kick channel is the name in its kick.com link: letters, digits, - and _, at "
                "most 25 (e.g. !kick setup streamer)."
            )
        try:
            found = await self.find_channel(slug)
        except ChannelLookupFailed as exc:
            raise SetupFailed(f"{exc}. Try again soon.") from exc
        if found is None:
            raise SetupFailed(f"Kick has no channel called {slug!r}. Check the name in its URL.")
        chatroom_found = found.chatroom_id is not None
        if chatroom_id is not None:
            site = found.chatroom_id  # None: Kick's site could not be asked
            trusted = site is None and guild_id == self.operator_guild_id
            checked = chatroom_id if trusted else _checked_chatroom(slug, chatroom_id, site)
            found = dataclasses.replace(found, chatroom_id=checked)
            chatroom_found = True
        try:
            view = await asyncio.to_thread(
                self.guilds.set_kick_channel,
                guild_id,
                found.slug,
                found.broadcaster_user_id,
                channel_id=found.channel_id,
                chatroom_id=found.chatroom_id,
            )
        except InvalidGuildInput as exc:
            raise SetupFailed(str(exc)) from exc
        broadcaster = found.broadcaster_user_id
        tracked = next(c for c in view.channels if c.broadcaster_user_id == broadcaster)
        replaced = await self.release_other_streamer(guild_id, broadcaster)
        link = self.connect_link(guild_id, admin_id)
        return KickSetupResult(tracked, link, replaced, chatroom_found=chatroom_found)

    async def release_other_streamer(self, guild_id: int, broadcaster: str) -> Replaced | None:
        """The guild follows ``broadcaster``'s channel now (``!kick setup``, ``KICK_CHANNEL``):
        a streamer connected for another channel is disconnected, their grant given back, not
        kept subscribing a channel this server no longer follows. None when there was none."""
        connected = await asyncio.to_thread(self.connections.status, guild_id)
        if connected.broadcaster_user_id in (None, broadcaster):
            return None
        given_back = await self.connections.give_back(guild_id)
        if given_back is None:
            return None
        account = connected.username or f"Kick user {connected.broadcaster_user_id}"
        return Replaced(account, given_back)

    async def sync(self, guild_id: int) -> SyncReport:
        await asyncio.to_thread(self.connections.request_sync, guild_id)
        await self.subscriptions.remove_untracked()
        return await self.subscriptions.sync_guild(guild_id)

    async def remove_subscriptions(self, guild_id: int) -> Unsubscribed | None:
        """Delete the webhook subscriptions of the guild's Kick channel (and of the account it
        is connected as, when another), unless another server follows that channel too
        (``SHARED``: Kick delivers its events to every server that follows it); None when there
        are none to delete (neither connected nor subscribed, or no Kick app)."""
        connected = await asyncio.to_thread(self.connections.status, guild_id)
        tracked = await asyncio.to_thread(self.guilds.kick_channel_of, guild_id)
        broadcasters = {connected.broadcaster_user_id}
        broadcasters.add(None if tracked is None else tracked.broadcaster_user_id)
        outcomes = set()
        for broadcaster in sorted(b for b in broadcasters if b is not None):
            stored = await asyncio.to_thread(self.connections.stored_subscriptions, broadcaster)
            if not stored and broadcaster != connected.broadcaster_user_id:
                continue  # never subscribed here
            others = await asyncio.to_thread(
                self.guilds.guilds_tracking, Platform.KICK, broadcaster
            )
            if set(others) - {guild_id}:
                outcomes.add(Unsubscribed.SHARED)
                continue
            is_deleted = await self.subscriptions.remove_broadcaster(guild_id, broadcaster)
            if is_deleted is not None:
                outcomes.add(Unsubscribed.DELETED if is_deleted else Unsubscribed.UNREACHABLE)
        for worst in (Unsubscribed.UNREACHABLE, Unsubscribed.SHARED, Unsubscribed.DELETED):
            if worst in outcomes:
                return worst
        return None

    async def find_channel(self, channel: str) -> FoundChannel | None:
        """A channel's ids for ``KICK_CHANNEL``: the broadcaster from Kick's API when this bot
        has a Kick app, else from Kick's site (which also gives the ids Pusher needs)."""
        slug = _slug(channel)
        if slug is None:
            return None  # no channel can be called so
        if not self.client_configured:
            ids = await self.look_up_ids(slug)
            if ids is None or ids.broadcaster_user_id is None:
                raise ChannelLookupFailed(
                    "Kick's site did not answer and this bot has no Kick app: set "
                    "KICK_CLIENT_ID and KICK_CLIENT_SECRET, or add the channel with "
                    "python -m core guild add --unchecked"
                )
            return FoundChannel(
                slug, ids.broadcaster_user_id, ids.channel_id or None, ids.chatroom_id
            )
        try:
            async with self.make_api() as api:
                found = await self.app_call(lambda token: api.get_channel_by_slug(token, slug))
        except (KickApiError, OAuthError) as exc:
            raise ChannelLookupFailed(f"Kick did not answer the channel lookup ({exc})") from exc
        if found is None:
            return None
        # The site's ids count only when they are this broadcaster's.
        ids = _belonging_to(await self.look_up_ids(slug), str(found.broadcaster_user_id))
        return FoundChannel(
            found.slug or slug,
            str(found.broadcaster_user_id),
            (ids.channel_id or None) if ids else None,
            ids.chatroom_id if ids else None,
        )

    def status(self, guild_id: int) -> KickStatus:
        channel = self.guilds.kick_channel_of(guild_id)
        connection = self.connections.status(guild_id)
        subscribed: tuple[str, ...] = ()
        pusher = None
        last: Mapping[str, datetime] = {}
        if channel is not None:
            stored = self.connections.stored_subscriptions(channel.broadcaster_user_id)
            subscribed = tuple(sorted({s.event for s in stored}))
            if channel.chatroom_id is not None:
                key = (channel.broadcaster_user_id, channel.chatroom_id)
                pusher = self.pusher_states().get(key)
            last = self.last_events(channel.broadcaster_user_id)
        missing = tuple(name for name in WANTED_EVENTS if name not in subscribed)
        return KickStatus(
            channel, connection, subscribed, missing, pusher, last, self.client_configured
        )


def _belonging_to(ids: InternalIds | None, broadcaster_user_id: str) -> InternalIds | None:
    """The site's ids, unless the site says they belong to another broadcaster."""
    if ids is None or ids.broadcaster_user_id not in (None, broadcaster_user_id):
        return None
    return ids


def _checked_chatroom(slug: str, typed: int, site: int | None) -> int:
    """A typed chatroom id, accepted only when it is the one Kick's site gives for the channel.

    When the site cannot be asked (Cloudflare), the typed id is refused, not taken unchecked:
    another channel's chatroom would queue that channel's chat under this guild's broadcaster
    with the keys of its own copies (``kick:chat_message_sent:<message id>``, one per bus), so
    the servers following that channel would lose those messages as duplicates. (The operator's
    own server is not asked this: :meth:`KickSetup.setup`.)
    """
    if site is None:
        raise SetupFailed(
            f"Kick's site did not answer, so I cannot check the chatroom id {typed} of {slug}. "
            f"Run !kick setup {slug} without it (webhooks work without it), or again later."
        )
    if site != typed:
        raise SetupFailed(
            f"Kick says the chatroom of {slug} is {site}, not {typed}. "
            f"Run !kick setup {slug} without a chatroom id and the bot uses Kick's."
        )
    return typed


def _slug(channel: str) -> str | None:
    """The slug in ``streamer``, ``@Streamer`` or ``https://kick.com/streamer``; None when it
    cannot be one (Kick's channel lookup takes at most 25 characters)."""
    channel = channel.strip()
    match = _SLUG_IN_URL.match(channel)
    slug = (match.group(1) if match else channel).lstrip("@").lower()
    return slug if _SLUG.match(slug) else None
