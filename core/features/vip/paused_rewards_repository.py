"""The Twitch VIP rewards a disconnect paused (``vip_paused_rewards``): written before Twitch
is asked, forgotten once the reward is resumed or no longer to be (``paused_rewards.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.vip.tables import vip_paused_rewards
from core.storage.db import insert_for


@dataclass(frozen=True)
class PausedReward:
    reward_id: str
    broadcaster_user_id: str
    title: str | None


def record(
    conn: Connection,
    guild_id: int,
    broadcaster_user_id: str,
    rewards: Iterable[tuple[str, str]],
    now: datetime,
) -> None:
    """Note ``(reward_id, title)`` pairs as paused by a disconnect; one noted already stays."""
    for reward_id, title in rewards:
        values = {
            "guild_id": guild_id,
            "reward_id": reward_id,
            "broadcaster_user_id": broadcaster_user_id,
            "reward_title": title,
            "paused_at": now,
        }
        insert = insert_for(conn, vip_paused_rewards).values(**values)
        conn.execute(insert.on_conflict_do_nothing(index_elements=["guild_id", "reward_id"]))


def list_paused(conn: Connection, guild_id: int) -> list[PausedReward]:
    c = vip_paused_rewards.c
    query = (
        sa.select(c.reward_id, c.broadcaster_user_id, c.reward_title)
        .where(c.guild_id == guild_id)
        .order_by(c.paused_at, c.reward_id)
    )
    return [PausedReward(*row) for row in conn.execute(query)]


def forget(conn: Connection, guild_id: int, reward_ids: Iterable[str]) -> None:
    ids = list(reward_ids)
    if ids:
        c = vip_paused_rewards.c
        conn.execute(
            sa.delete(vip_paused_rewards).where(c.guild_id == guild_id, c.reward_id.in_(ids))
        )
