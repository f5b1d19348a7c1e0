"""A VIP redemption fulfilled or canceled on Twitch
(``channel.channel_points_custom_reward_redemption.update``): by StreamKeeper itself (the echo of
its own status change: nothing to do), or elsewhere, e.g. by a moderator in Twitch's reward
queue. Our record follows, once, however often the update arrives:

- canceled before StreamKeeper handled it (the points are back with the viewer): the redemption
  is recorded as done with a "refunded" audit row, and its add, if it still comes, changes
  nothing (no VIP for points given back);
- canceled after the VIP was granted (before StreamKeeper could mark it fulfilled: Twitch then
  answered 404, taken for "done"): the grant stays (it expires as usual) and the refund gets its
  audit row, once;
- fulfilled elsewhere: accepted; a redemption not handled yet is granted by its add as usual.
"""

from __future__ import annotations

from datetime import datetime

from core.bus.base import NotReady
from core.events import RewardRedeemed
from core.features.vip import redemptions_repository, repository
from core.features.vip.effects import VipEffects, log
from core.features.vip.redemptions_repository import ADDING, IN_FLIGHT
from core.features.vip.repository import AuditEntry

SETTLED = frozenset({"fulfilled", "canceled"})
GRANTED = "granted"  # the states of core/features/vip/redemptions.py
CANCELED_OUTCOME = "canceled on Twitch"
CANCELED_BEFORE = "canceled on Twitch before StreamKeeper handled it"
CANCELED_AFTER = "canceled on Twitch after the VIP was granted; the VIP stays until it expires"


def redemption_key(event: RewardRedeemed) -> str:
    """The redemption's own id: the same whichever transport or status update brought it (its
    event id adds the status), and what Helix names it by."""
    return event.redemption_id or event.event_id


def refund_entry(guild_id: int, event: RewardRedeemed, reason: str, at: datetime) -> AuditEntry:
    """The audit row of a Twitch redemption whose points went back to the viewer."""
    return AuditEntry(
        guild_id=guild_id,
        platform=event.platform,
        broadcaster_user_id=event.broadcaster_user_id,
        platform_user_id=str(event.viewer.platform_user_id),
        username=event.viewer.username,
        action="refunded",
        actor_kind="system",
        reason=reason,
        at=at,
        redemption_id=redemption_key(event),
        reward_cost=event.cost,
    )


class UpdateWaits(NotReady):
    """The redemption is being handled right now: the bus delivers the update again later."""


class RedemptionUpdates:
    def __init__(self, effects: VipEffects) -> None:
        self.effects = effects

    async def handle(self, guild_id: int, event: RewardRedeemed) -> None:
        if event.status != "canceled":
            return  # fulfilled: by us, or accepted elsewhere; the add grants as usual
        settings = await self.effects.settings(guild_id)
        if settings.reward_id is None or settings.reward_id != event.reward_id:
            return
        key = redemption_key(event)
        now = self.effects.clock()

        def settle(conn):  # type: ignore[no-untyped-def]
            claimed = redemptions_repository.claim_redemption(
                conn, guild_id, event.platform, key, now, now
            )
            if claimed is None:  # never seen: canceled before we handled it
                redemptions_repository.move_redemption(
                    conn,
                    guild_id,
                    event.platform,
                    key,
                    redemptions_repository.DONE,
                    CANCELED_OUTCOME,
                )
                reason = CANCELED_BEFORE
            else:
                state, _ = claimed
                if state in (ADDING, IN_FLIGHT):  # Add VIP may be under way: look again later
                    return "wait"
                # Granted (done or not): we never cancel a grant, so a moderator did, and the
                # points went back. A refusal of ours, or this update seen before: nothing.
                if state not in (GRANTED, redemptions_repository.DONE) or not (
                    redemptions_repository.note_settled_elsewhere(
                        conn, guild_id, event.platform, key, CANCELED_OUTCOME
                    )
                ):
                    return None
                reason = CANCELED_AFTER
            repository.add_audit(conn, refund_entry(guild_id, event, reason, now))
            return reason

        outcome = await self.effects.in_transaction(settle)
        if outcome == "wait":
            raise UpdateWaits(key)
        if outcome is not None:
            log.info("guild %s: VIP redemption %s %s", guild_id, key, outcome)
