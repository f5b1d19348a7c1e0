"""The subscription tiers' lookup on Helix (the ``SubscriptionLookup`` port): Get Broadcaster
Subscriptions as the guild's connected streamer (``call_as_streamer`` of the Twitch connection,
refreshed on a 401, as VIP does); the broadcaster id is the guild's tracked Twitch channel."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from core.features.connections.twitch.service import TwitchNotConnected
from core.features.sub_tiers.ports import KnownSubscription, LookupBusy, LookupUnavailable
from core.platforms.twitch import helix
from core.platforms.twitch.helix import HelixClient, HelixError
from core.platforms.twitch.helix_on_loop import HelixOnLoop
from core.platforms.twitch.oauth_client import TwitchOAuthError

T = TypeVar("T")
StreamerCall = Callable[[int, Callable[[str], Awaitable[T]]], Awaitable[T]]

# Helix refusals that asking again will not cure (Twitch must be connected again, or the scope
# granted); anything else (429 after the client's own waiting, 5xx, unreachable) is for later.
_FOR_GOOD = (helix.Unauthorized, helix.Forbidden, helix.BadRequest, helix.NotFound)


class HelixSubscriptionLookup(HelixOnLoop):
    """:class:`~core.features.sub_tiers.ports.SubscriptionLookup` on Helix's Get Broadcaster
    Subscriptions, one request per call (the service sends at most 100 ids)."""

    def __init__(
        self,
        make_client: Callable[[], HelixClient],
        call_as_streamer: Callable[[], StreamerCall],
        broadcaster_of: Callable[[int], str | None],
    ) -> None:
        super().__init__(make_client)
        self._call_as_streamer = call_as_streamer
        self._broadcaster_of = broadcaster_of

    async def subscriptions(
        self, guild_id: int, user_ids: Sequence[str]
    ) -> dict[str, KnownSubscription]:
        broadcaster_id = await asyncio.to_thread(self._broadcaster_of, guild_id)
        if broadcaster_id is None:
            raise LookupUnavailable("no Twitch channel is followed")
        ids = list(user_ids)
        try:
            found = await self._call_as_streamer()(
                guild_id,
                lambda token: self.client.get_subscriptions(token, broadcaster_id, ids),
            )
        except TwitchNotConnected:
            raise LookupUnavailable("Twitch is not connected") from None
        except _FOR_GOOD as exc:
            raise LookupUnavailable(f"Twitch said {exc.status}") from None
        except HelixError as exc:
            raise LookupBusy(f"Twitch said {exc.status or 'nothing'}") from None
        except TwitchOAuthError as exc:  # the token's refresh failed (not refused): try later
            why = exc.status or "no answer"
            raise LookupBusy(f"Twitch did not refresh the token ({why})") from None
        return {
            sub.user_id: KnownSubscription(sub.user_id, sub.tier, sub.is_gift)
            for sub in found
            if sub.user_id in ids
        }
