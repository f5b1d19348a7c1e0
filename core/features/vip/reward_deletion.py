"""A Twitch reward rule's reward goes with its rule: removing the rule (or deleting the
server's VIP reward, whose rule goes with it) queues the reward's deletion on Twitch, an outbox
call of the Twitch Helix worker, in the rule's transaction.

StreamKeeper made the reward (Twitch lets only the app that made a reward change, fulfil or
delete it), so left behind it would keep taking viewers' points for nothing, and the streamer
could not take it down. The call is queued, not made while the admin waits: Twitch slow or
down delays only the deletion, which is retried. A reward a rule or the server's setup uses
again by the time the call is made (an admin who added it back), or that another server
following the channel names (as an earlier version let it), is kept; one already gone
from Twitch counts as deleted, so making the call twice does no harm. Redemptions of the reward
still waiting on Twitch are refunded first: no rule grants them any more, and Twitch marks
them fulfilled when their reward is deleted. The call waits in the guild's lane behind the
redemptions queued before it, so a redemption being granted is never refunded too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.vip import repository, rules_repository
from core.features.vip.effects import VipEffects
from core.features.vip.ports import Refusal, TwitchBusy, TwitchRefused
from core.features.vip.removal_calls import HELIX
from core.features.vip.repository import VipSettings
from core.features.vip.rules_repository import VipRule
from core.outbox import store
from core.outbox.store import Effect
from core.outbox.worker import Done, Kind, Outcome, Refused, Retry

KIND = "vip.twitch-reward-delete"


def queue_deletion(conn: Connection, rule: VipRule, now: datetime, *, why: str = "") -> bool:
    """Queue the deletion of a removed rule's Twitch reward (a rule of another kind: nothing);
    False when nothing was queued. ``why``: the words of the summary's reason, when it is not
    the rule's removal."""
    if not rule.is_twitch_reward:
        return False
    key = f"{KIND}:{rule.guild_id}:{rule.id}:{rule.reward_id}"
    # The title names it to the streamer should its server be removed first (server_rewards.py).
    payload = {"reward_id": rule.reward_id, "title": rule.reward_title}
    summary = f"delete {rule.describe()} ({why or f'VIP rule {rule.id} was removed'})"
    return store.enqueue(conn, Effect(HELIX, KIND, rule.guild_id, key, payload, summary), now)


def queue_setup_reward_deletion(
    conn: Connection, guild_id: int, settings: VipSettings, now: datetime
) -> bool:
    """Queue the deletion of the server's VIP reward (``!vip reward delete``), as its rule's,
    in the transaction that clears it from the settings and removes that rule."""
    if settings.reward_id is None:
        return False
    rule = rules_repository.reward_rule(
        conn, guild_id, Platform.TWITCH, reward_id=settings.reward_id
    ) or VipRule(
        0, guild_id, Platform.TWITCH, rules_repository.REWARD, settings.duration_hours, now,
        reward_id=settings.reward_id, reward_title=settings.reward_title,
        reward_cost=settings.reward_cost,
    )  # fmt: skip
    return queue_deletion(conn, rule, now, why="the server's VIP reward was deleted")


def _in_use(conn: Connection, guild_id: int, reward_id: str) -> str | None:
    """Why the reward stays on Twitch; None when nothing uses it any more."""
    if rules_repository.reward_rule(conn, guild_id, Platform.TWITCH, reward_id=reward_id):
        return "kept: a rule uses the reward again"
    if repository.get_settings(conn, guild_id).reward_id == reward_id:
        return "kept: a rule uses the reward again"
    if rules_repository.is_used_elsewhere(conn, guild_id, reward_id):
        return "kept: another server following the channel uses the reward"
    return None


class RewardDeletion:
    def __init__(self, effects: VipEffects, broadcaster_of: Callable[[int], str | None]) -> None:
        """``broadcaster_of(guild_id)``: the Twitch broadcaster id the guild follows, or None."""
        self.effects = effects
        self.broadcaster_of = broadcaster_of

    def kind(self) -> Kind:
        return Kind(self._delete)  # deleting twice: Twitch's "not found", counted as done

    async def _delete(self, guild_id: int, payload: dict[str, Any]) -> Outcome:
        reward_id = str(payload["reward_id"])
        kept = await self.effects.in_transaction(lambda conn: _in_use(conn, guild_id, reward_id))
        if kept is not None:
            return Done(kept)
        broadcaster_id = await asyncio.to_thread(self.broadcaster_of, guild_id)
        if broadcaster_id is None:
            return Refused("the server follows no Twitch channel now")
        try:
            refunded = await self.delete_on_twitch(guild_id, broadcaster_id, reward_id)
        except TwitchBusy as busy:
            return Retry(str(busy), busy.retry_after)
        except TwitchRefused as refused:
            return Refused(str(refused))
        if refunded is None:
            return Done("gone from Twitch already")
        if not refunded:
            return Done("deleted")
        return Done(f"deleted; {refunded} waiting redemption(s) refunded")

    async def delete_on_twitch(
        self, guild_id: int, broadcaster_id: str, reward_id: str
    ) -> int | None:
        """Delete the reward on Twitch, its redemptions still UNFULFILLED refunded first: no
        rule grants them now, and deleting the reward would mark them FULFILLED, the points
        spent for nothing. Returns how many were refunded (one settled meanwhile is skipped),
        None when the reward was gone from Twitch already. Raises ``TwitchBusy``, or
        ``TwitchRefused`` for any other refusal."""
        twitch = self.effects.twitch
        refunded = 0
        try:
            for waiting in await twitch.list_unfulfilled(guild_id, broadcaster_id, reward_id):
                try:
                    await twitch.set_redemption_status(
                        guild_id, broadcaster_id, reward_id, waiting.id, "CANCELED"
                    )
                except TwitchRefused as refused:
                    if refused.reason != Refusal.NOT_FOUND:
                        raise
                else:
                    refunded += 1
            await twitch.delete_reward(guild_id, broadcaster_id, reward_id)
        except TwitchRefused as refused:
            if refused.reason != Refusal.NOT_FOUND:
                raise
            return None if refunded == 0 else refunded
        return refunded
