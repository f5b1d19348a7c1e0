"""A VIP redemption leaves the event path: the bus handler only queues it in the outbox (one row,
in the handler's transaction), and the Twitch Helix worker makes its calls (Add VIP, then the
redemption's status and the notices: ``redemptions.py``) at Twitch's pace. A slow or failing
Helix therefore holds no event, no watchtime tick and no other guild's redemption.

What the worker's answers mean: Twitch busy → tried again when Twitch says (or with backoff);
another delivery holding the redemption → tried again shortly; done otherwise. The redemption's
own state machine (``vip_redemptions``) keeps each one exactly once, whoever makes the call.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.engine import Connection

from core.events import Platform, RewardRedeemed, event_from_dict, event_to_dict
from core.features.vip import redemptions_repository, repository, rules_repository, texts
from core.features.vip.effects import VipEffects
from core.features.vip.ports import TwitchBusy
from core.features.vip.redemptions import SETTLED, RedemptionInFlight, VipRedemptions
from core.features.vip.redemptions_repository import DONE, WAITING, redemption_key
from core.features.vip.removal_calls import HELIX
from core.outbox import store
from core.outbox.worker import Done, Kind, Outcome, Retry

SERVICE = HELIX
KIND = "vip-redemption"
IN_FLIGHT_RETRY_SECONDS = 5.0  # a killed holder's heartbeat lease lasts 6 s


class QueuedRedemptions:
    """The bus handler for ``RewardRedeemed`` on Twitch, and the worker's kind that makes it."""

    def __init__(self, effects: VipEffects, redemptions: VipRedemptions) -> None:
        self.effects = effects
        self.redemptions = redemptions

    async def handle(
        self,
        guild_id: int,
        event: RewardRedeemed,
        again: str | None = None,
        *,
        retry: str | None = None,
    ) -> None:
        """Queue a redemption of the guild's VIP reward (a status update is only recorded).
        ``again``: a redemption that waited for the streamer to connect Twitch again, queued
        once more (its first call ended when it was parked), under a key of its own; its row
        keeps it handled once however many times it is queued. ``retry`` (the read of missed
        redemptions, which finds it still UNFULFILLED on Twitch): when its earlier call ended
        without finishing it (the worker gave up while Twitch failed, or Twitch refused for a
        while), it is queued once more under that key, so it is granted or refunded after all."""
        if event.platform is not Platform.TWITCH or event.reward_id is None:
            return
        if event.viewer.platform_user_id is None:
            return
        if event.status in SETTLED:  # fulfilled or canceled elsewhere: our record follows
            await self.redemptions.handle(guild_id, event)
            return
        now = self.effects.clock()

        def queue(conn: Connection) -> None:
            settings = repository.get_settings(conn, guild_id)
            if rules_repository.earning_reward(conn, guild_id, settings, event) is None:
                return
            who, why = texts.redeeming(event)
            summary = f"make {who} a VIP {why}"
            effect = store.Effect(
                SERVICE,
                KIND,
                guild_id,
                f"{KIND}:{guild_id}:{redemption_key(event)}" + (f":{again}" if again else ""),
                event_to_dict(event),
                summary,
            )
            if store.enqueue(conn, effect, now) or retry is None:
                return
            if not _is_unfinished(conn, guild_id, event, effect.key):
                return
            store.enqueue(conn, replace(effect, key=f"{effect.key}:{retry}"), now)

        await self.effects.in_transaction(queue)

    def kind(self) -> Kind:
        return Kind(self._make)

    async def _make(self, guild_id: int, payload: dict[str, Any]) -> Outcome:
        event = event_from_dict(payload)
        if not isinstance(event, RewardRedeemed):
            return Done("not a redemption")
        try:
            await self.redemptions.handle(guild_id, event)
        except TwitchBusy as busy:
            return Retry(str(busy), busy.retry_after)
        except RedemptionInFlight as held:
            # Another delivery is asking Twitch about it right now, in a living process (a dead
            # one's hold ends with its heartbeat lease, within seconds): look again shortly.
            return Retry(f"in flight elsewhere: {held}", IN_FLIGHT_RETRY_SECONDS)
        return Done()


def _is_unfinished(conn: Connection, guild_id: int, event: RewardRedeemed, key: str) -> bool:
    """Whether the redemption queued under ``key`` is not done here and no call of it is still
    to be made: its calls ended (failed, or done after a refusal that changed nothing)."""
    found = redemptions_repository.find_redemption(
        conn, guild_id, event.platform, redemption_key(event)
    )
    if found is not None and found[0] in (DONE, WAITING):  # finished, or waits to be read
        return False
    return not store.is_pending(conn, SERVICE, key)
