"""Temporary VIP SQL for the rules that grant it (``vip_rules``): what earns it, on which
platform, for how many hours. A rule is the guild's; its id is what the audit names."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform, RewardRedeemed
from core.features.vip import repository
from core.features.vip.repository import VipSettings
from core.features.vip.tables import vip_rules, vip_settings

# What earns VIP
REWARD = "reward"  # a channel-point reward (Twitch: by id; Kick: by title)
SUB = "sub"  # a subscription, new or renewed, of at least tier ``at_least``
GIFT = "gift"  # a gift of at least ``at_least`` subs (the gifter earns it)
BITS = "bits"  # a cheer of at least ``at_least`` bits (Twitch)
KICKS = "kicks"  # KICKs of at least ``at_least`` (Kick)
KINDS = (REWARD, SUB, GIFT, BITS, KICKS)
# A Twitch reward rule whose reward the streamer deleted on twitch.tv, in their words.
REWARD_GONE = (
    "Its reward was deleted on twitch.tv: viewers cannot redeem it. "
    "Remove this rule, or make its reward again."
)


@dataclass(frozen=True)
class VipRule:
    id: int
    guild_id: int
    platform: Platform
    kind: str
    hours: int
    created_at: datetime
    reward_id: str | None = None
    reward_title: str | None = None
    reward_cost: int | None = None
    at_least: int | None = None
    reward_gone_at: datetime | None = None  # when Twitch was found to have deleted its reward

    @property
    def is_twitch_reward(self) -> bool:
        """Whether it names a Twitch reward of ours (its cost and title can change there, and
        the reward goes with the rule)."""
        return self.kind == REWARD and self.platform is Platform.TWITCH and bool(self.reward_id)

    @property
    def problem(self) -> str | None:
        """What keeps the rule from working, in the streamer's words; None when nothing does."""
        return REWARD_GONE if self.reward_gone_at is not None else None

    def describe(self) -> str:
        """What earns it, in a streamer's words: "a cheer of at least 500 bits"."""
        n = self.at_least or 1
        if self.kind == REWARD:
            cost = f" ({self.reward_cost:,} points)" if self.reward_cost is not None else ""
            return f"the reward {self.reward_title or self.reward_id!r}{cost}"
        if self.kind == SUB:
            return f"a subscription of tier {n} or higher, new or renewed"
        if self.kind == GIFT:
            return f"a gift of at least {n:,} sub{'s' if n != 1 else ''}"
        if self.kind == BITS:
            return f"a cheer of at least {n:,} bits"
        return f"at least {n:,} KICKs"

    def label(self) -> str:
        """The audit's words for the rule: "rule 3: a cheer of at least 500 bits"."""
        return f"rule {self.id}: {self.describe()}"[:200]


_FIELDS = tuple(f.name for f in fields(VipRule))


def _rule(row: Any) -> VipRule:
    values = {name: row._mapping[name] for name in _FIELDS}
    values["platform"] = Platform(values["platform"])
    return VipRule(**values)


def list_rules(
    conn: Connection, guild_id: int, platform: Platform | None = None, kind: str | None = None
) -> list[VipRule]:
    """The guild's rules, oldest first; of one platform and kind when given."""
    query = sa.select(vip_rules).where(vip_rules.c.guild_id == guild_id)
    if platform is not None:
        query = query.where(vip_rules.c.platform == platform.value)
    if kind is not None:
        query = query.where(vip_rules.c.kind == kind)
    return [_rule(row) for row in conn.execute(query.order_by(vip_rules.c.id))]


def get_rule(conn: Connection, guild_id: int, rule_id: int) -> VipRule | None:
    row = conn.execute(
        sa.select(vip_rules).where(vip_rules.c.guild_id == guild_id, vip_rules.c.id == rule_id)
    ).first()
    return None if row is None else _rule(row)


def add_rule(conn: Connection, rule: VipRule) -> int:
    values = {name: getattr(rule, name) for name in _FIELDS if name != "id"}
    values["platform"] = rule.platform.value
    return int(conn.execute(vip_rules.insert().values(values)).inserted_primary_key[0])


def change_rule(conn: Connection, guild_id: int, rule_id: int, changes: dict[str, Any]) -> bool:
    """False when the guild has no such rule."""
    result = conn.execute(
        vip_rules.update()
        .where(vip_rules.c.guild_id == guild_id, vip_rules.c.id == rule_id)
        .values(**changes)
        .returning(vip_rules.c.id)
    )
    return result.first() is not None


def remove_rule(conn: Connection, guild_id: int, rule_id: int) -> VipRule | None:
    """The rule removed, or None when the guild has no such rule."""
    rule = get_rule(conn, guild_id, rule_id)
    if rule is not None:
        conn.execute(vip_rules.delete().where(vip_rules.c.id == rule_id))
    return rule


def reward_rule(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    *,
    reward_id: str | None = None,
    title: str | None = None,
) -> VipRule | None:
    """The guild's rule for this reward: on Twitch by its id, on Kick by its title."""
    for rule in list_rules(conn, guild_id, platform, REWARD):
        if reward_id is not None and rule.reward_id == reward_id:
            return rule
        is_kick = platform is Platform.KICK and bool(title) and bool(rule.reward_title)
        if is_kick and same_title(rule.reward_title, title):
            return rule
    return None


def same_title(kept: str | None, sent: str | None) -> bool:
    """Whether a Kick reward's title as Kick sends it (as the streamer typed it) is one kept
    here (its spaces tidied when it was set), whatever the case and the spacing."""
    return (
        bool(kept)
        and " ".join((kept or "").split()).casefold() == " ".join((sent or "").split()).casefold()
    )


def best_rule(
    conn: Connection, guild_id: int, platform: Platform, kind: str, amount: int
) -> VipRule | None:
    """Of the guild's rules of ``kind`` whose ``at_least`` ``amount`` reaches, the one with the
    highest bar (then the most hours): one event earns one grant."""
    reached = [r for r in list_rules(conn, guild_id, platform, kind) if (r.at_least or 1) <= amount]
    return max(reached, key=lambda r: (r.at_least or 1, r.hours, -r.id), default=None)


def guilds_with_twitch_rewards(conn: Connection) -> list[int]:
    """Guilds with a Twitch reward that earns VIP, by a rule or from before rules (their
    unfulfilled redemptions are read back)."""
    query = (
        sa.select(vip_rules.c.guild_id)
        .where(vip_rules.c.platform == Platform.TWITCH.value, vip_rules.c.kind == REWARD)
        .distinct()
    )
    ruled = {row.guild_id for row in conn.execute(query)}
    return sorted(ruled | set(repository.guilds_with_reward(conn)))


def mark_reward_gone(
    conn: Connection, guild_id: int, reward_id: str, now: datetime
) -> list[VipRule]:
    """Mark the guild's Twitch rules of ``reward_id`` as having lost their reward on Twitch
    (Helix answered 404 for it); the rules marked now (none when they were already)."""
    marked = [
        rule
        for rule in list_rules(conn, guild_id, Platform.TWITCH, REWARD)
        if rule.reward_id == reward_id and rule.reward_gone_at is None
    ]
    for rule in marked:
        change_rule(conn, guild_id, rule.id, {"reward_gone_at": now})
    return marked


def gone_reward_ids(conn: Connection, guild_id: int) -> set[str]:
    """The ids of the guild's Twitch rewards known to be deleted on twitch.tv."""
    rules = list_rules(conn, guild_id, Platform.TWITCH, REWARD)
    return {r.reward_id for r in rules if r.reward_id and r.reward_gone_at is not None}


def twitch_reward_ids(conn: Connection, guild_id: int, settings: VipSettings) -> list[str]:
    """The ids of the guild's Twitch rewards that earn VIP."""
    ids = [r.reward_id for r in list_rules(conn, guild_id, Platform.TWITCH, REWARD) if r.reward_id]
    if settings.reward_id is not None and settings.reward_id not in ids:
        ids.append(settings.reward_id)
    return ids


def earning_reward(
    conn: Connection, guild_id: int, settings: VipSettings, event: RewardRedeemed
) -> tuple[int, VipRule | None] | None:
    """The hours a redemption of ``event``'s reward earns, and its rule (None: the guild's
    reward from before rules, at the settings' hours); None when the reward earns no VIP. On
    Kick a reward earns the server's Kick VIP role, so only while that role is set."""
    if event.platform is Platform.KICK:
        if settings.kick_role_id is None:
            return None
        rule = reward_rule(conn, guild_id, Platform.KICK, title=event.reward_title)
        legacy = settings.kick_reward_title
        is_legacy = same_title(legacy, event.reward_title)
    else:
        if event.reward_id is not None and reward_maker(conn, event.reward_id) not in (
            None,
            guild_id,
        ):
            return None  # another server's reward: that server grants it, once
        rule = reward_rule(conn, guild_id, event.platform, reward_id=event.reward_id)
        is_legacy = event.reward_id is not None and settings.reward_id == event.reward_id
    if rule is not None:
        return rule.hours, rule
    return (settings.duration_hours, None) if is_legacy else None


def reward_maker(conn: Connection, reward_id: str) -> int | None:
    """The server whose VIP rule named this Twitch reward first (its maker, or the first to
    adopt it), the one whose rules its redemptions follow when servers following one channel
    name it alike (as an earlier version let them); None when no rule names it."""
    query = (
        sa.select(vip_rules.c.guild_id)
        .where(
            vip_rules.c.platform == Platform.TWITCH.value,
            vip_rules.c.kind == REWARD,
            vip_rules.c.reward_id == reward_id,
        )
        .order_by(vip_rules.c.id)
        .limit(1)
    )
    return conn.execute(query).scalar()


def is_used_elsewhere(conn: Connection, guild_id: int, reward_id: str) -> bool:
    """Whether a server other than ``guild_id`` names this Twitch reward in a VIP rule or as
    its VIP reward. A reward id is one channel's, so that server follows the same channel."""
    rules = sa.select(vip_rules.c.id).where(
        vip_rules.c.guild_id != guild_id,
        vip_rules.c.platform == Platform.TWITCH.value,
        vip_rules.c.reward_id == reward_id,
    )
    settings = sa.select(vip_settings.c.guild_id).where(
        vip_settings.c.guild_id != guild_id, vip_settings.c.reward_id == reward_id
    )
    return any(conn.execute(query.limit(1)).first() for query in (rules, settings))


def follow_the_reward(
    conn: Connection, guild_id: int, reward_id: str, changes: dict[str, Any], now: datetime
) -> None:
    """Keep the rule of the reward ``!vip setup`` made in step with its settings' ``changes``
    (``vip_settings`` columns): made when missing, removed with the reward."""
    rule = reward_rule(conn, guild_id, Platform.TWITCH, reward_id=reward_id)
    if "reward_id" in changes and changes["reward_id"] is None:
        if rule is not None:
            remove_rule(conn, guild_id, rule.id)
        return
    values = {
        column: changes[key]
        for key, column in (
            ("reward_title", "reward_title"),
            ("reward_cost", "reward_cost"),
            ("duration_hours", "hours"),
        )
        if key in changes
    }
    if rule is not None:
        if values:
            change_rule(conn, guild_id, rule.id, values)
        return
    settings = repository.get_settings(conn, guild_id)
    rule = VipRule(
        0,
        guild_id,
        Platform.TWITCH,
        REWARD,
        values.get("hours", settings.duration_hours),
        now,
        reward_id=reward_id,
        reward_title=values.get("reward_title", settings.reward_title),
        reward_cost=values.get("reward_cost", settings.reward_cost),
    )
    add_rule(conn, rule)
