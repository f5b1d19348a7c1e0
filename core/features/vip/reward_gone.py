"""A Twitch reward rule whose reward the streamer deleted on twitch.tv (Twitch does not tell
StreamKeeper; it answers 404 for the reward from then on): the first 404 marks the rule
(``vip_rules.reward_gone_at``) with one warning in the log, the 10-minute read of missed
redemptions asks no more about it, and the streamer reads why on the VIP page, in ``!vip rules``
and in ``!twitch status``. Making the reward again (``VipRules.make_reward_again``) clears it."""

from __future__ import annotations

from typing import Any

from core.features.vip import rules_repository
from core.features.vip.effects import VipEffects, log
from core.features.vip.limits import VipRefused
from core.features.vip.ports import Refusal, RewardInfo, TwitchRefused
from core.features.vip.rules_repository import VipRule

ANOTHER_SERVERS = (
    "This reward is another Discord server's VIP reward (that server follows this channel too), "
    "so only that server changes it: give this server a reward of its own with !vip setup."
)


async def mark(effects: VipEffects, guild_id: int, reward_id: str) -> list[VipRule]:
    """Twitch answered 404 for the reward: mark the guild's rules of it broken, each with one
    warning; the rules marked now (none when none has it, or they were marked already)."""
    now = effects.clock()
    marked = await effects.in_transaction(
        lambda conn: rules_repository.mark_reward_gone(conn, guild_id, reward_id, now)
    )
    for rule in marked:
        log.warning(
            "guild %s: VIP rule %s is broken: its Twitch reward %s was deleted on twitch.tv; "
            "it is no longer read",
            guild_id,
            rule.id,
            reward_id,
        )
    return marked


async def update_reward(
    effects: VipEffects, guild_id: int, broadcaster_id: str, reward_id: str, **fields: Any
) -> RewardInfo:
    """Change the reward on Twitch; a reward deleted on twitch.tv marks its rules broken and is
    refused in the streamer's words (VipRefused), as is another server's reward that this
    server names too (as an earlier version let it): a change here would be that server's."""
    maker = await effects.in_transaction(
        lambda conn: rules_repository.reward_maker(conn, reward_id)
    )
    if maker not in (None, guild_id):
        raise VipRefused(ANOTHER_SERVERS)
    try:
        return await effects.twitch.update_reward(guild_id, broadcaster_id, reward_id, **fields)
    except TwitchRefused as refused:
        if refused.reason != Refusal.NOT_FOUND:
            raise
        await mark(effects, guild_id, reward_id)
        raise VipRefused(rules_repository.REWARD_GONE) from refused
