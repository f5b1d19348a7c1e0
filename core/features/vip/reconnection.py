"""What waits for the streamer to connect Twitch again, and what happens when they do.

While a guild's Twitch connection needs re-authorization, Twitch refuses every call made as the
streamer, chat included (Send Chat Message as the broadcaster needs their user token; with an
app token Twitch wants a bot account's own ``user:bot`` consent, which StreamKeeper has not).
So a redemption that arrives then waits (``vip_redemptions.state = 'waiting'``, Twitch not
asked), and a refund made then keeps its chat line (``untold_notice``) while its Discord notice
says why. Both are counted for ``!twitch status`` and the VIP page.

When the streamer connects again, the sign-in's transaction emits the connections' hook, and
:meth:`Reconnection.queue` queues one call for the Twitch Helix worker (any bot process, within
a poll): it resumes the VIP rewards a disconnect paused (:mod:`paused_rewards`), says the kept
chat lines, then reads the reward's UNFULFILLED redemptions from Helix
at once, as the 10-minute drain does, queueing the waiting ones again under keys of their own
(their first call ended when they were parked). A waiting one Twitch no longer lists (settled in
the reward queue meanwhile) is done, as settled on Twitch; one an earlier attempt may have added
is closed so that its cancel's update looks for that VIP on Twitch (``cancels.py``). One whose
reward was deleted on Twitch meanwhile (Twitch answers 404 for the reward) is closed as refused,
with its reason in the audit log, once: its points cannot be refunded (Twitch marks a deleted
reward's redemptions fulfilled), and nothing of it is asked of Twitch again.

The first 404 for a rule's reward marks that rule broken (:mod:`reward_gone`): from then on its
reward is counted as deleted without asking Twitch, and the streamer is shown why.

A server that removed the bot acts on nothing: its catch-up ends at once (``LEFT``), and what
waits stays for the scheduled read once the bot is invited again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from core.events import InvalidEvent, Platform, RewardRedeemed, Viewer
from core.features.vip import (
    redemptions_repository,
    repository,
    reward_gone,
    rules_repository,
)
from core.features.vip.effects import VipEffects, log
from core.features.vip.paused_rewards import PausedRewards
from core.features.vip.ports import Refusal, TwitchBusy, TwitchRefused
from core.features.vip.redemption_outbox import QueuedRedemptions
from core.features.vip.redemptions import VipRedemptions
from core.features.vip.redemptions_repository import Waiting, redemption_key
from core.features.vip.removal_calls import HELIX
from core.features.vip.repository import AuditEntry
from core.outbox import store
from core.outbox.worker import Done, Kind, Outcome, Retry

RECONNECTED = "vip-reconnected"
SETTLED_WHILE_WAITING = "settled on Twitch while waiting"
# A waiting redemption whose reward was deleted on Twitch meanwhile (404 for its redemptions):
# Twitch marked it fulfilled with the reward, so nothing can be granted or refunded any more.
REWARD_DELETED = "its reward was deleted on Twitch, so its points could not be refunded"
LEFT = "the bot was removed from the server: nothing read until it is invited again"
PLATFORM = Platform.TWITCH  # Kick has no waiting redemptions (no VIP API to wait for)
# Twitch's refusals of one reward's redemptions (the reward is gone, or another client's), not
# of the guild's connection.
REWARD_REFUSALS = {Refusal.NOT_FOUND, Refusal.FORBIDDEN}


@dataclass(frozen=True)
class WaitingCounts:
    waiting: int  # redemptions that wait for the streamer to connect Twitch again
    untold: int  # refunds whose chat line was not said (it is said when they connect)
    broken: int = 0  # Twitch reward rules whose reward was deleted on twitch.tv


class Reconnection:
    def __init__(
        self,
        effects: VipEffects,
        redemptions: VipRedemptions,
        queued: QueuedRedemptions,
        broadcaster_of: Callable[[int], str | None],
        left_guilds: Callable[[], Collection[int]] = frozenset,
    ) -> None:
        """``left_guilds()``: the servers that removed the bot, whose catch-up waits."""
        self.effects = effects
        self.redemptions = redemptions
        self.queued = queued
        self.broadcaster_of = broadcaster_of
        self.left_guilds = left_guilds
        self.paused = PausedRewards(effects, broadcaster_of)  # by a disconnect

    def queue(self, conn: Connection, guild_id: int) -> None:
        """The hook of a streamer's Twitch consent, in its transaction: queue the catch-up."""
        key = f"{RECONNECTED}:{guild_id}:{uuid.uuid4().hex}"  # each consent catches up
        summary = "catch up on the VIP redemptions made while Twitch was disconnected"
        effect = store.Effect(HELIX, RECONNECTED, guild_id, key, {}, summary)
        store.enqueue(conn, effect, self.effects.clock())

    def kind(self) -> Kind:
        return Kind(self._catch_up)

    async def _catch_up(self, guild_id: int, payload: dict[str, Any]) -> Outcome:
        if guild_id in await asyncio.to_thread(self.left_guilds):
            # Nothing of a server that removed the bot is acted on: its waiting redemptions and
            # untold lines stay, and the scheduled read takes them once it is invited again.
            return Done(LEFT)
        if await self.effects.is_twitch_marked(guild_id):
            return Done("the connection needs re-authorization again")
        broadcaster_id = await asyncio.to_thread(self.broadcaster_of, guild_id)
        if broadcaster_id is None:
            return Done("no Twitch channel")
        try:  # first, and tried again before the rest when Twitch is busy
            resumed = await self.paused.resume(guild_id, broadcaster_id)
        except TwitchBusy as busy:
            return Retry(str(busy), busy.retry_after)
        told = await self._say_untold(guild_id, broadcaster_id)
        try:
            read = await self.drain(guild_id, broadcaster_id)
        except TwitchBusy as busy:
            return Retry(str(busy), busy.retry_after)
        except TwitchRefused as refused:
            return Done(f"missed redemptions not read: {refused}")
        return Done(
            f"{resumed} reward(s) resumed, {told} chat line(s) said, {read} redemption(s) read"
        )

    async def _say_untold(self, guild_id: int, broadcaster_id: str) -> int:
        """Say the refunds' kept chat lines, each once (the row is cleared before it is said:
        chat is best effort and never said twice)."""
        platform = Platform.TWITCH
        untold = await self.effects.in_transaction(
            lambda conn: redemptions_repository.untold_notices(conn, guild_id, platform)
        )
        said = 0
        for redemption_id, text in untold:
            is_mine = await self.effects.in_transaction(
                lambda conn, rid=redemption_id: redemptions_repository.forget_untold(
                    conn, guild_id, platform, rid
                )
            )
            if is_mine:
                await self.effects.twitch.send_chat(guild_id, broadcaster_id, text)
                said += 1
        return said

    async def drain(self, guild_id: int, broadcaster_id: str) -> int:
        """Queue the guild's UNFULFILLED redemptions for the Helix worker (the waiting ones
        again, and those whose earlier call ended unfinished); how many Twitch listed.
        Raises TwitchRefused or TwitchBusy when not read."""
        platform = Platform.TWITCH
        # Read before Helix is: a redemption waiting then is listed if it is still UNFULFILLED.
        waiting = await self.effects.in_transaction(
            lambda conn: redemptions_repository.list_waiting(conn, guild_id, platform)
        )
        missed, unread = await self.missed(guild_id, broadcaster_id)
        run = uuid.uuid4().hex[:12]
        waiting_ids = {parked.redemption_id for parked in waiting}
        for event in missed:
            again = run if redemption_key(event) in waiting_ids else None
            await self.queued.handle(guild_id, event, again=again, retry=run)
        settings = await self.effects.settings(guild_id)
        has_rewards = await self.effects.in_transaction(
            lambda conn: rules_repository.twitch_reward_ids(conn, guild_id, settings)
        )
        if not has_rewards:  # no reward to read: the waiting ones are left as they are
            return len(missed)
        listed = {redemption_key(event) for event in missed}
        for parked in waiting:
            outcome = None if parked.redemption_id in listed else _unlisted(parked, unread)
            if outcome is not None:
                await self._close(guild_id, broadcaster_id, parked, outcome)
        return len(missed)

    async def _close(
        self, guild_id: int, broadcaster_id: str, parked: Waiting, outcome: str
    ) -> None:
        """Close a waiting redemption Twitch no longer lists, with ``outcome``; a refusal
        (its reward deleted) gets its audit row in the same transaction, once."""
        now = self.effects.clock()

        def close(conn: Connection) -> bool:
            rid = parked.redemption_id
            if not redemptions_repository.settle_waiting(conn, guild_id, PLATFORM, rid, outcome):
                return False
            if outcome == REWARD_DELETED and not parked.was_adding:
                entry = AuditEntry(
                    guild_id=guild_id, platform=PLATFORM, broadcaster_user_id=broadcaster_id,
                    platform_user_id=parked.platform_user_id or "",
                    username=parked.username or "", action="refused", actor_kind="system",
                    at=now, reason=REWARD_DELETED, redemption_id=rid,
                )  # fmt: skip
                repository.add_audit(conn, entry)
            return True

        if await self.effects.in_transaction(close):
            log.info(
                "guild %s: waiting VIP redemption %s closed: %s",
                guild_id,
                parked.redemption_id,
                outcome,
            )

    async def missed(
        self, guild_id: int, broadcaster_id: str
    ) -> tuple[list[RewardRedeemed], dict[str, str]]:
        """The rewards' redemptions still UNFULFILLED on Twitch (those redeemed while
        StreamKeeper was away), as the events EventSub would have sent, and the rewards Twitch
        would not list, with its refusal (``NOT_FOUND``: deleted on twitch.tv; ``FORBIDDEN``:
        not StreamKeeper's): one of those does not keep the others' redemptions from being
        read. Raises TwitchRefused when the guild's Twitch is not usable."""
        settings = await self.effects.settings(guild_id)
        reward_ids, gone = await self.effects.in_transaction(
            lambda conn: (
                rules_repository.twitch_reward_ids(conn, guild_id, settings),
                rules_repository.gone_reward_ids(conn, guild_id),
            )
        )
        events: list[RewardRedeemed] = []
        unread: dict[str, str] = dict.fromkeys(gone, Refusal.NOT_FOUND)
        for reward_id in reward_ids:
            if reward_id in gone:  # deleted on twitch.tv: not asked again
                continue
            try:
                events += await self._unfulfilled(guild_id, broadcaster_id, reward_id)
            except TwitchRefused as refused:
                if refused.reason not in REWARD_REFUSALS:
                    raise
                unread[reward_id] = refused.reason
                is_marked = refused.reason == Refusal.NOT_FOUND and bool(
                    await reward_gone.mark(self.effects, guild_id, reward_id)
                )
                if not is_marked:
                    log.warning(
                        "guild %s: redemptions of VIP reward %s not read: %s",
                        guild_id,
                        reward_id,
                        refused,
                    )
        return events, unread

    async def _unfulfilled(
        self, guild_id: int, broadcaster_id: str, reward_id: str
    ) -> list[RewardRedeemed]:
        pending = await self.effects.twitch.list_unfulfilled(guild_id, broadcaster_id, reward_id)
        events = []
        for missed in pending:
            try:
                events.append(
                    RewardRedeemed(
                        platform=Platform.TWITCH,
                        event_id=f"{missed.id}:unfulfilled",  # as EventSub names it
                        redemption_id=missed.id,
                        broadcaster_user_id=broadcaster_id,
                        occurred_at=missed.redeemed_at or self.effects.clock(),
                        viewer=Viewer(missed.user_id, missed.user_name or missed.user_id),
                        reward_id=reward_id,
                        status="unfulfilled",
                    )
                )
            except InvalidEvent:
                log.warning("guild %s: skipped an unreadable redemption", guild_id)
        return events

    async def counts(self, guild_id: int) -> WaitingCounts:
        return await self.effects.in_transaction(lambda conn: counts_of(conn, guild_id))


def _unlisted(parked: Waiting, unread: dict[str, str]) -> str | None:
    """What became of a waiting redemption the read of the rewards did not list: its reward
    deleted on Twitch, settled there (in the reward queue, or with its rule's reward), or None
    when that cannot be told (its reward's list was not read: not StreamKeeper's; or, parked
    before its reward was kept, some reward's list was not)."""
    if parked.reward_id is None:
        return None if unread else SETTLED_WHILE_WAITING
    refusal = unread.get(parked.reward_id)
    if refusal == Refusal.NOT_FOUND:
        return REWARD_DELETED
    return SETTLED_WHILE_WAITING if refusal is None else None


def counts_of(conn: Connection, guild_id: int) -> WaitingCounts:
    waiting, untold = redemptions_repository.count_waiting_and_untold(conn, guild_id)
    rules = rules_repository.list_rules(conn, guild_id, PLATFORM, rules_repository.REWARD)
    broken = sum(1 for rule in rules if rule.reward_gone_at is not None)
    return WaitingCounts(waiting, untold, broken)
