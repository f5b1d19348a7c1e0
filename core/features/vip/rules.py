"""The guild's VIP rules for its admins: list, add, change, remove (the dashboard, ``!vip rule``
and ``python -m core vip rule`` call these), and make a reward the streamer deleted on twitch.tv
again (the dashboard and ``!vip rule remake``). A rule says what earns temporary VIP (a
channel-point reward; a subscription of at least a tier, new or renewed; a gift of at least N
subs; a cheer of at least N bits; at least N KICKs), on which platform, for how many hours.

A Twitch reward rule names a reward StreamKeeper made (Twitch lets an app fulfil and refund only
its own): by its id, or by a title and cost, created on Twitch then (or adopted, when one of
ours has that title); removing the rule deletes the reward there. A Kick rule gives the
server's Kick VIP role, so it needs that role set.
A rule that needs a scope the streamer has not granted (``bits:read`` for cheers,
``channel:read:subscriptions`` for subs and gifts) is refused with the "connect again" prompt.

Methods raise :class:`VipRefused` with words for the admin.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.vip import repository, reward_deletion, reward_gone, rules_repository
from core.features.vip.effects import VipEffects
from core.features.vip.limits import (
    VipRefused,
    check_cost,
    check_hours,
    check_title,
    limits_of,
)
from core.features.vip.rules_repository import BITS, GIFT, KICKS, KINDS, REWARD, SUB, VipRule

MAX_AT_LEAST = 1_000_000
# The Twitch scopes a rule's events need, beyond what every connection has.
SUBSCRIPTIONS_SCOPE = "channel:read:subscriptions"
SCOPES_NEEDED = {BITS: "bits:read", SUB: SUBSCRIPTIONS_SCOPE, GIFT: SUBSCRIPTIONS_SCOPE}
KINDS_WORDS = "reward, sub, gift, bits or kicks"


@dataclass(frozen=True)
class RuleAsked:
    """A rule as an admin asked for it (``at_least``: subs, bits or KICKs; ``tier``: 1-3)."""

    platform: Platform
    when: str
    hours: int
    reward_id: str | None = None
    title: str | None = None
    cost: int | None = None
    tier: int | None = None
    at_least: int | None = None


class VipRules:
    def __init__(
        self,
        effects: VipEffects,
        broadcaster: Callable[[int], Awaitable[str]],
        granted_scopes: Callable[[int], tuple[str, ...] | None],
    ) -> None:
        """``broadcaster(guild_id)``: the Twitch broadcaster id, or VipRefused.
        ``granted_scopes(guild_id)``: the scopes the streamer granted (None: not connected)."""
        self.effects = effects
        self.broadcaster = broadcaster
        self.granted_scopes = granted_scopes

    async def list(self, guild_id: int) -> list[VipRule]:
        return await self.effects.in_transaction(
            lambda conn: rules_repository.list_rules(conn, guild_id)
        )

    async def add(self, guild_id: int, asked: RuleAsked) -> VipRule:
        """Check the rule, make its reward on Twitch when asked by title and cost, store it."""
        rule = check_rule(guild_id, asked, self.effects.clock())
        settings = await self.effects.settings(guild_id)
        if rule.platform is Platform.KICK and settings.kick_role_id is None:
            raise VipRefused(
                "Kick rules give the server's Kick VIP role: set it first "
                "(!vip kick @role <reward title>, or the VIP page)."
            )
        existing = await self.list(guild_id)
        if rule.platform is Platform.TWITCH:
            await self._check_scopes(guild_id, rule.kind)
            if rule.kind == REWARD:
                rule = await self._twitch_reward(guild_id, rule, asked, existing)
        _refuse_a_second(existing, rule)
        rule_id = await self.effects.in_transaction(
            lambda conn: rules_repository.add_rule(conn, rule)
        )
        return replace(rule, id=rule_id)

    async def change(
        self,
        guild_id: int,
        rule_id: int,
        *,
        hours: int | None = None,
        cost: int | None = None,
        title: str | None = None,
    ) -> VipRule:
        """A rule's hours; a Twitch reward rule's cost and title too (changed on Twitch)."""
        rule = await self._rule(guild_id, rule_id)
        changes: dict[str, Any] = {}
        if hours is not None:
            changes["hours"] = check_hours(hours)
        if cost is not None or title is not None:
            if not rule.is_twitch_reward:
                raise VipRefused("Only a Twitch reward rule has a cost and a title to change.")
            fields: dict[str, Any] = {}
            if cost is not None:
                fields["cost"] = check_cost(cost)
            if title is not None:
                fields["title"] = check_title(title)
            broadcaster_id = await self.broadcaster(guild_id)
            reward = await reward_gone.update_reward(
                self.effects, guild_id, broadcaster_id, rule.reward_id, **fields
            )
            changes |= {"reward_title": reward.title, "reward_cost": reward.cost}
        if not changes:
            raise VipRefused("Say what to change: the hours, or a Twitch reward's cost or title.")
        now = self.effects.clock()

        def save(conn: Connection) -> VipRule:
            rules_repository.change_rule(conn, guild_id, rule_id, changes)
            settings = repository.get_settings(conn, guild_id)
            if rule.reward_id and settings.reward_id == rule.reward_id:
                kept = {"duration_hours": changes.get("hours", rule.hours)}
                kept |= {k: v for k, v in changes.items() if k.startswith("reward_")}
                repository.save_settings(conn, guild_id, kept, now)
            changed = rules_repository.get_rule(conn, guild_id, rule_id)
            assert changed is not None  # noqa: S101 (changed in this transaction)
            return changed

        return await self.effects.in_transaction(save)

    async def remove(self, guild_id: int, rule_id: int) -> VipRule:
        """Remove the rule (the VIPs it granted still expire). A Twitch reward rule's reward is
        deleted on Twitch by the Twitch Helix worker (:mod:`reward_deletion`, queued here);
        the guild's reward from before rules, when it is this one, is let go too."""
        now = self.effects.clock()

        def remove(conn: Connection) -> VipRule | None:
            rule = rules_repository.remove_rule(conn, guild_id, rule_id)
            if rule is None or rule.kind != REWARD:
                return rule
            reward_deletion.queue_deletion(conn, rule, now)
            settings = repository.get_settings(conn, guild_id)
            if rule.reward_id and settings.reward_id == rule.reward_id:
                changes = {"reward_id": None, "reward_title": None, "reward_cost": None}
                repository.save_settings(conn, guild_id, changes, now)
            title = settings.kick_reward_title
            if rule.platform is Platform.KICK and title and rule.reward_title == title:
                repository.save_settings(conn, guild_id, {"kick_reward_title": None}, now)
            return rule

        removed = await self.effects.in_transaction(remove)
        if removed is None:
            raise VipRefused(f"This server has no VIP rule {rule_id}: see !vip rules.")
        return removed

    async def make_reward_again(self, guild_id: int, rule_id: int) -> VipRule:
        """Make a Twitch reward rule's reward again on Twitch, with the rule's title and cost,
        after the streamer deleted it on twitch.tv; the rule (and the server's VIP reward, when
        it was this one, with its prompt and limits) then names the new reward, and is no longer
        marked broken."""
        rule = await self._rule(guild_id, rule_id)
        if not rule.is_twitch_reward or rule.reward_gone_at is None:
            raise VipRefused(f"Rule {rule_id}'s reward is not known to be deleted on Twitch.")
        broadcaster_id = await self.broadcaster(guild_id)
        settings = await self.effects.settings(guild_id)
        limits = limits_of(settings) if settings.reward_id == rule.reward_id else None
        title = rule.reward_title or "VIP"
        reward = await self.effects.twitch.create_reward(
            guild_id, broadcaster_id, title, rule.reward_cost or 1, limits
        )
        now = self.effects.clock()
        changes = {"reward_id": reward.id, "reward_title": reward.title}
        changes |= {"reward_cost": reward.cost}

        def save(conn: Connection) -> VipRule:
            rules_repository.change_rule(
                conn, guild_id, rule_id, changes | {"reward_gone_at": None}
            )
            if repository.get_settings(conn, guild_id).reward_id == rule.reward_id:
                repository.save_settings(conn, guild_id, changes, now)
            made = rules_repository.get_rule(conn, guild_id, rule_id)
            assert made is not None  # noqa: S101 (changed in this transaction)
            return made

        return await self.effects.in_transaction(save)

    async def _rule(self, guild_id: int, rule_id: int) -> VipRule:
        rule = await self.effects.in_transaction(
            lambda conn: rules_repository.get_rule(conn, guild_id, rule_id)
        )
        if rule is None:
            raise VipRefused(f"This server has no VIP rule {rule_id}: see !vip rules.")
        return rule

    async def _check_scopes(self, guild_id: int, kind: str) -> None:
        granted = await asyncio.to_thread(self.granted_scopes, guild_id)
        if granted is None:
            raise VipRefused("Twitch is not connected for this server: !twitch setup <channel>.")
        needed = SCOPES_NEEDED.get(kind)
        if needed is not None and needed not in granted:
            raise VipRefused(
                f"The streamer has not granted {needed}, which this rule needs: they must "
                "connect again with a new link (!twitch setup <channel>)."
            )

    async def _twitch_reward(
        self, guild_id: int, rule: VipRule, asked: RuleAsked, existing: list[VipRule]
    ) -> VipRule:
        """The rule with its reward: one of ours by id, or made (or adopted) by title; refused
        before the reward changes on Twitch when one of the ``existing`` rules has it."""
        broadcaster_id = await self.broadcaster(guild_id)
        twitch = self.effects.twitch
        ours = await twitch.list_rewards(guild_id, broadcaster_id)
        if asked.reward_id is not None:
            found = next((r for r in ours if r.id == asked.reward_id), None)
            if found is None:
                raise VipRefused(
                    f"No reward {asked.reward_id!r} made by StreamKeeper on this channel "
                    "(Twitch lets it fulfil and refund only its own): use --title and --cost."
                )
            await refuse_another_servers(self.effects, guild_id, found.id, found.title)
            reward = found
        else:
            title, cost = check_title(asked.title or ""), check_cost(asked.cost or 0)
            same = next((r for r in ours if r.title.casefold() == title.casefold()), None)
            if same is not None:
                _refuse_a_second(existing, replace(rule, reward_id=same.id))
                await refuse_another_servers(self.effects, guild_id, same.id, same.title)
                reward = await twitch.update_reward(guild_id, broadcaster_id, same.id, cost=cost)
            else:
                reward = await twitch.create_reward(guild_id, broadcaster_id, title, cost)
        return replace(
            rule, reward_id=reward.id, reward_title=reward.title, reward_cost=reward.cost
        )


async def refuse_another_servers(
    effects: VipEffects, guild_id: int, reward_id: str, title: str
) -> None:
    """Refuse to take up a reward of this channel that another Discord server following it
    uses: one redemption would be granted by both, and a change or deletion here would be
    theirs too. Refused before anything changes on Twitch."""
    if await effects.in_transaction(
        lambda conn: rules_repository.is_used_elsewhere(conn, guild_id, reward_id)
    ):
        raise VipRefused(
            f"The reward {title!r} on this channel is another Discord server's VIP reward "
            "(that server follows this channel too): give this server's reward its own title."
        )


def check_rule(guild_id: int, asked: RuleAsked, now: datetime) -> VipRule:
    """The rule asked for, or the refusal of its first bad part (nothing asked of Twitch)."""
    when = asked.when.strip().casefold()
    if when not in KINDS:
        raise VipRefused(f"A rule is earned by a {KINDS_WORDS}.")
    hours = check_hours(asked.hours)
    platform = asked.platform
    if when == BITS and platform is not Platform.TWITCH:
        raise VipRefused("Bits are Twitch's: a bits rule is for Twitch.")
    if when == KICKS and platform is not Platform.KICK:
        raise VipRefused("KICKs are Kick's: a kicks rule is for Kick.")
    rule = VipRule(0, guild_id, platform, when, hours, now)
    if when == REWARD:
        if platform is Platform.KICK:
            if not asked.title:
                raise VipRefused("A Kick reward rule names the reward: --title T.")
            return replace(rule, reward_title=check_title(asked.title))
        if asked.reward_id is None and (asked.title is None or asked.cost is None):
            raise VipRefused("A Twitch reward rule needs --reward-id ID, or --title T --cost N.")
        if asked.reward_id is not None and asked.title is not None:
            raise VipRefused("Give --reward-id or --title with --cost, not both.")
        if asked.cost is not None:
            check_cost(asked.cost)
        return rule
    if when == SUB:
        top = 3 if platform is Platform.TWITCH else 1
        if asked.tier is None or not 1 <= asked.tier <= top:
            raise VipRefused(
                "A sub rule needs --tier 1, 2 or 3."
                if top == 3
                else "Kick subscriptions have one tier: --tier 1."
            )
        return replace(rule, at_least=asked.tier)
    what = {GIFT: "subs", BITS: "bits", KICKS: "KICKs"}[when]
    if asked.at_least is None or not 1 <= asked.at_least <= MAX_AT_LEAST:
        raise VipRefused(f"A {when} rule needs --at-least N {what} (1 to {MAX_AT_LEAST:,}).")
    return replace(rule, at_least=asked.at_least)


def _refuse_a_second(existing: list[VipRule], rule: VipRule) -> None:
    """Refuse ``rule`` when one of the ``existing`` rules answers the same event."""
    for other in existing:
        if _same_trigger(other, rule):
            raise VipRefused(f"Rule {other.id} is already for {other.describe()}.")


def _same_trigger(a: VipRule, b: VipRule) -> bool:
    """Whether two rules answer the same event alike (the same reward, or the same bar)."""
    if (a.platform, a.kind) != (b.platform, b.kind):
        return False
    if a.kind == REWARD:
        if a.platform is Platform.TWITCH:
            return a.reward_id == b.reward_id
        return (a.reward_title or "").casefold() == (b.reward_title or "").casefold()
    return a.at_least == b.at_least


def rule_line(rule: VipRule) -> str:
    """One rule on one line: id, platform, what earns it, hours (the CLI's and Discord's list)."""
    return f"{rule.id}\t{rule.platform.value}\t{rule.describe()}\t{rule.hours} h"
