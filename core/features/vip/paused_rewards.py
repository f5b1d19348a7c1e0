"""A server disconnected from Twitch (``!twitch disconnect``, the dashboard's button) pauses its
Twitch VIP rewards there first: until the streamer connects again nothing grants or refunds a
redemption, and viewers' points would wait in Twitch's reward queue. It is done as the streamer,
so before their tokens are given back, and at once, as the disconnect gives the tokens back at
once (both while the admin waits): a call queued for later would find the tokens gone.

Each reward the disconnect pauses is noted (``vip_paused_rewards``) before Twitch is asked, and
the streamer's next connection resumes exactly those (:meth:`PausedRewards.resume`, in the
reconnection's catch-up, a call of the Twitch Helix worker): one the streamer had paused
themselves is not noted, and stays paused. A reward another server following the channel uses
(as an earlier version let two servers share one) is left alone: that server still grants it.
When Twitch cannot be reached or refuses, the disconnect goes on and its words name the rewards
the streamer should pause by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.features.vip import paused_rewards_repository as repo
from core.features.vip import reward_gone, rules_repository, server_rewards
from core.features.vip.effects import VipEffects, log
from core.features.vip.limits import VipRefused
from core.features.vip.ports import TwitchBusy, TwitchRefused
from core.features.vip.server_rewards import ServerReward, listed


@dataclass(frozen=True)
class RewardsPaused:
    """What a disconnect did with the server's Twitch VIP rewards (their titles)."""

    paused: tuple[str, ...] = ()  # paused now, or by a disconnect before: resumed on connect
    already: tuple[str, ...] = ()  # paused on Twitch by the streamer: they stay paused
    kept: tuple[str, ...] = ()  # another server following the channel uses them
    failed: tuple[str, ...] = ()  # still on: the streamer pauses them by hand
    why: str = ""  # why ``failed`` were not paused, in the streamer's words


class PausedRewards:
    def __init__(self, effects: VipEffects, broadcaster_of: Callable[[int], str | None]) -> None:
        self.effects = effects
        self.broadcaster_of = broadcaster_of

    async def pause(self, guild_id: int, broadcaster_id: str) -> RewardsPaused:
        """Pause on Twitch, as the guild's streamer (connected as ``broadcaster_id``), the
        guild's own VIP rewards that are on. The first failure stops the rest (Twitch down, or
        the grant gone, would fail them alike); a failure is never raised."""
        rewards = await self.effects.in_transaction(
            lambda conn: server_rewards.rewards_of(conn, guild_id)
        )
        kept = tuple(r.title for r in rewards.kept)
        asked = [r for r in rewards.going if not r.is_gone]
        if not asked:
            return RewardsPaused(kept=kept)
        noted = await self.effects.in_transaction(
            lambda conn: {r.reward_id for r in repo.list_paused(conn, guild_id)}
        )
        try:
            on_twitch_by_id = {
                r.id: r for r in await self.effects.twitch.list_rewards(guild_id, broadcaster_id)
            }
        except (TwitchRefused, TwitchBusy) as failure:
            why = server_rewards.why_not(failure)
            return RewardsPaused(kept=kept, failed=_titles(asked), why=why)
        paused: list[str] = []
        already: list[str] = []
        to_pause: list[ServerReward] = []
        for reward in asked:
            on_twitch = on_twitch_by_id.get(reward.reward_id)
            if on_twitch is None:  # deleted on twitch.tv: the next read marks its rules
                continue
            if not on_twitch.is_paused:
                to_pause.append(reward)
            else:  # by a disconnect before (noted: it stays to be resumed), or the streamer
                (paused if reward.reward_id in noted else already).append(reward.title)
        # Noted first: resuming one that was not paused changes nothing, while one paused and
        # not noted would stay paused after the streamer connects.
        now = self.effects.clock()
        await self.effects.in_transaction(
            lambda conn: repo.record(
                conn, guild_id, broadcaster_id, [(r.reward_id, r.title) for r in to_pause], now
            )
        )
        for number, reward in enumerate(to_pause):
            try:
                await reward_gone.update_reward(
                    self.effects, guild_id, broadcaster_id, reward.reward_id, is_paused=True
                )
            except VipRefused:  # deleted on twitch.tv meanwhile (its rules marked)
                await self._forget(guild_id, [reward.reward_id])
                continue
            except (TwitchRefused, TwitchBusy) as failure:
                rest = to_pause[number:]
                if isinstance(failure, TwitchRefused):  # not paused: nothing to resume
                    await self._forget(guild_id, [r.reward_id for r in rest])
                # else Twitch may have paused it without answering: noted, it is resumed
                log.info("guild %s: VIP rewards not paused on disconnect: %s", guild_id, failure)
                why = server_rewards.why_not(failure)
                return RewardsPaused(tuple(paused), tuple(already), kept, _titles(rest), why)
            paused.append(reward.title)
        return RewardsPaused(tuple(paused), tuple(already), kept)

    async def resume(self, guild_id: int, broadcaster_id: str) -> int:
        """Resume on Twitch the rewards a disconnect paused (the streamer connected again as
        ``broadcaster_id``); how many. One of another channel (the server follows another
        now), or that the server no longer names, is forgotten without asking Twitch; one
        deleted on twitch.tv is forgotten (its rules marked). Raises ``TwitchBusy``; a
        refusal of the connection keeps the rest noted for the next connection."""
        settings = await self.effects.settings(guild_id)
        noted, named = await self.effects.in_transaction(
            lambda conn: (
                repo.list_paused(conn, guild_id),
                set(rules_repository.twitch_reward_ids(conn, guild_id, settings)),
            )
        )
        resumed = 0
        for reward in noted:
            if reward.broadcaster_user_id == broadcaster_id and reward.reward_id in named:
                try:
                    await reward_gone.update_reward(
                        self.effects, guild_id, broadcaster_id, reward.reward_id, is_paused=False
                    )
                except VipRefused:  # deleted on twitch.tv, or another server's now
                    pass
                except TwitchRefused as refused:
                    log.info("guild %s: paused VIP rewards not resumed: %s", guild_id, refused)
                    return resumed
                else:
                    resumed += 1
            await self._forget(guild_id, [reward.reward_id])
        return resumed

    async def _forget(self, guild_id: int, reward_ids: list[str]) -> None:
        await self.effects.in_transaction(lambda conn: repo.forget(conn, guild_id, reward_ids))


def _titles(rewards: list[ServerReward]) -> tuple[str, ...]:
    return tuple(r.title for r in rewards)


def paused_line(result: RewardsPaused) -> str | None:
    """The disconnect's words on the server's Twitch VIP rewards; None when it has none."""
    parts = []
    if result.paused:
        parts.append(
            "VIP rewards paused on Twitch until the streamer connects Twitch here again: "
            f"{listed(result.paused)}."
        )
    if result.already:
        one = len(result.already) == 1
        parts.append(
            f"{listed(result.already)} {'was' if one else 'were'} paused on Twitch already and "
            f"{'stays' if one else 'stay'} paused."
        )
    if result.kept:
        one = len(result.kept) == 1
        parts.append(
            f"{listed(result.kept)} {'stays' if one else 'stay'} on: another server following "
            f"the channel uses {'it' if one else 'them'}."
        )
    if result.failed:
        them = "it" if len(result.failed) == 1 else "them"
        parts.append(
            f"VIP rewards not paused on Twitch ({listed(result.failed)}): {result.why}. The "
            f"streamer should pause {them} in their Twitch dashboard (Channel Points > Manage "
            f"Rewards): until they connect Twitch here again, viewers can redeem {them} and "
            "nothing grants or refunds their points."
        )
    return " ".join(parts) or None
