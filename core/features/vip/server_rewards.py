"""A Discord server removed for good (``python -m core guild remove``) takes its Twitch VIP
rewards with it: the channel-point rewards its VIP rules and its VIP reward name (and those of
rules removed before, whose deletion was still queued), made on the streamer's channel by
StreamKeeper's app, are deleted on Twitch as the streamer (their waiting redemptions refunded
first, as :mod:`~core.features.vip.reward_deletion` does for one rule).

It is done at once, before the streamer's tokens are given back, not queued: the server's rules
and outbox go with its rows, so nothing would ever delete them later, and left behind they keep
taking viewers' points with nobody to grant or refund a redemption. A reward another server
following the channel still names stays (as an earlier version let two servers share one);
one Twitch already deleted counts as deleted. When Twitch cannot be reached or refuses, the
removal goes on and the words tell the streamer which rewards to delete by hand.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.vip import repository, reward_deletion, rules_repository
from core.features.vip.ports import Refusal, TwitchBusy, TwitchRefused
from core.features.vip.removal_calls import HELIX
from core.features.vip.reward_deletion import RewardDeletion
from core.outbox import store


@dataclass(frozen=True)
class ServerReward:
    reward_id: str
    title: str
    is_gone: bool = False  # Twitch answered 404 for it before: deleted on twitch.tv


@dataclass(frozen=True)
class ServerRewards:
    """The server's Twitch VIP rewards: those that go with it and those another server uses."""

    going: tuple[ServerReward, ...]
    kept: tuple[ServerReward, ...]


@dataclass(frozen=True)
class RewardsRemoved:
    """What became of the server's Twitch VIP rewards (titles)."""

    deleted: tuple[str, ...]
    kept: tuple[str, ...]  # another server following the channel uses them
    failed: tuple[str, ...]  # still on Twitch: the streamer deletes them by hand
    why: str = ""  # why ``failed`` were not deleted, in the streamer's words
    refunded: int = 0  # waiting redemptions refunded before their reward went


def rewards_of(conn: Connection, guild_id: int) -> ServerRewards:
    """The server's Twitch VIP rewards by id (its rules', its VIP reward, those whose deletion
    is queued), split into those that are its own and those another server uses too."""
    rules = rules_repository.list_rules(conn, guild_id, Platform.TWITCH, rules_repository.REWARD)
    found: dict[str, ServerReward] = {}
    for rule in rules:
        if rule.reward_id and rule.reward_id not in found:
            title = rule.reward_title or f"reward {rule.reward_id}"
            found[rule.reward_id] = ServerReward(
                rule.reward_id, title, rule.reward_gone_at is not None
            )
    settings = repository.get_settings(conn, guild_id)
    if settings.reward_id and settings.reward_id not in found:
        title = settings.reward_title or f"reward {settings.reward_id}"
        found[settings.reward_id] = ServerReward(settings.reward_id, title)
    # A rule removed whose reward's deletion is still queued (the bot stopped, Twitch busy) or was
    # given up: the queued call goes with the server's rows.
    for payload in store.undone_payloads(conn, HELIX, reward_deletion.KIND, guild_id):
        reward_id = str(payload["reward_id"])
        if reward_id not in found:
            found[reward_id] = ServerReward(
                reward_id, payload.get("title") or f"reward {reward_id}"
            )
    going: list[ServerReward] = []
    kept: list[ServerReward] = []
    for reward in found.values():
        is_shared = rules_repository.is_used_elsewhere(conn, guild_id, reward.reward_id)
        (kept if is_shared else going).append(reward)
    return ServerRewards(tuple(going), tuple(kept))


def why_not(failure: TwitchRefused | TwitchBusy) -> str:
    """Why Twitch did not do it, in the streamer's words."""
    if isinstance(failure, TwitchBusy):
        return "Twitch could not be reached"
    if failure.reason is Refusal.NOT_CONNECTED:
        return "the server's Twitch connection no longer works"
    if failure.reason is Refusal.UNAUTHORIZED:
        return "Twitch refused the streamer's token"
    return str(failure)


class ServerRewardRemoval:
    """The server's Twitch VIP rewards, and their deletion when the server is removed."""

    def __init__(self, deletion: RewardDeletion) -> None:
        self.deletion = deletion
        self.effects = deletion.effects

    async def rewards(self, guild_id: int) -> ServerRewards:
        return await self.effects.in_transaction(lambda conn: rewards_of(conn, guild_id))

    async def remove(self, guild_id: int) -> RewardsRemoved:
        """Delete on Twitch, as the guild's streamer, the rewards that go with the guild. The
        first failure stops the rest (Twitch down, or the streamer's grant gone, would fail
        them alike); the rows are left to the caller, who deletes them all the same."""
        rewards = await self.rewards(guild_id)
        kept = tuple(r.title for r in rewards.kept)
        deleted = [r.title for r in rewards.going if r.is_gone]  # by the streamer, on twitch.tv
        asked = [r for r in rewards.going if not r.is_gone]
        if not asked:
            return RewardsRemoved(tuple(deleted), kept, ())
        broadcaster_id = await asyncio.to_thread(self.deletion.broadcaster_of, guild_id)
        if broadcaster_id is None:
            why = "the server follows no Twitch channel now"
            return RewardsRemoved(tuple(deleted), kept, tuple(r.title for r in asked), why)
        refunded = 0
        for number, reward in enumerate(asked):
            try:
                done = await self.deletion.delete_on_twitch(
                    guild_id, broadcaster_id, reward.reward_id
                )
            except (TwitchRefused, TwitchBusy) as failure:
                failed = tuple(r.title for r in asked[number:])
                return RewardsRemoved(tuple(deleted), kept, failed, why_not(failure), refunded)
            deleted.append(reward.title)
            refunded += done or 0  # None: Twitch had deleted it already
        return RewardsRemoved(tuple(deleted), kept, (), "", refunded)


def listed(titles: tuple[str, ...]) -> str:
    """Reward titles as the lines name them: quoted, comma-separated."""
    return ", ".join(repr(title) for title in titles)


def _count(number: int, what: str) -> str:
    return f"{number} {what}{'' if number == 1 else 's'}"


def _kept(titles: tuple[str, ...], verb: str) -> str:
    them = "it" if len(titles) == 1 else "them"
    return (
        f"{len(titles)} {verb} because another server following the channel uses {them} "
        f"({listed(titles)})"
    )


def rewards_line(removed: RewardsRemoved | ServerRewards) -> str | None:
    """One line on the server's Twitch VIP rewards for the operator to pass on: what was done
    (:class:`RewardsRemoved`) or would be (:class:`ServerRewards`, a dry run); None when the
    server has none."""
    if isinstance(removed, ServerRewards):
        going = tuple(r.title for r in removed.going)
        kept = tuple(r.title for r in removed.kept)
        parts = [f"{len(going)} would be deleted ({listed(going)})"] if going else []
        if kept:
            parts.append(_kept(kept, "would be kept"))
        return f"Twitch VIP rewards: {'; '.join(parts)}." if parts else None
    parts = []
    if removed.deleted:
        deleted = f"{len(removed.deleted)} deleted ({listed(removed.deleted)})"
        if removed.refunded:
            deleted += f", {_count(removed.refunded, 'waiting redemption')} refunded"
        parts.append(deleted)
    if removed.kept:
        parts.append(_kept(removed.kept, "kept"))
    if removed.failed:
        them = "it" if len(removed.failed) == 1 else "them"
        parts.append(
            f"{len(removed.failed)} not deleted ({listed(removed.failed)}): {removed.why}. "
            f"The streamer should refund what waits in Twitch's reward queue and delete {them} "
            f"in their Twitch dashboard (Channel Points > Manage Rewards): no bot will after "
            f"this removal, and until then viewers spend points on {them} for nothing"
        )
    return f"Twitch VIP rewards: {'; '.join(parts)}." if parts else None
