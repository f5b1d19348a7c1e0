"""What the tier feature needs from a platform: Twitch's Get Broadcaster Subscriptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class KnownSubscription:
    """Helix's answer for one viewer: the tier (``"1000"``...) and whether it was a gift.
    Helix has no Prime flag: a Prime sub is reported as ``"1000"``."""

    user_id: str
    tier: str
    is_gift: bool = False


class LookupUnavailable(Exception):
    """The lookup cannot be made for this guild (Twitch not connected, scope missing, refused):
    asking again soon will not help."""


class LookupBusy(Exception):
    """The lookup failed for now (rate limit, Twitch down): worth asking again later."""


class SubscriptionLookup(Protocol):
    async def subscriptions(
        self, guild_id: int, user_ids: Sequence[str]
    ) -> dict[str, KnownSubscription]:
        """The current subscriptions of ``user_ids`` in the guild's Twitch channel (subscribed
        viewers only); :class:`LookupUnavailable` or :class:`LookupBusy` when it cannot say."""
        ...
