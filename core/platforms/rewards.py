"""A channel's custom reward (channel points), as both platforms' APIs describe it.

Kick's channel-rewards API copied Twitch's custom rewards: the fields both have mean the same
and are read the same way, here. Each platform's model adds what only it has (Kick's
``description``, Twitch's ``prompt``, stock and limits).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from core.platforms.lenient import TITLE_MAX, as_count, as_flag, as_id, as_str


@dataclass(frozen=True, kw_only=True)
class ChannelReward:
    id: str
    title: str
    cost: int
    is_enabled: bool = True
    is_paused: bool = False
    is_user_input_required: bool = False
    should_redemptions_skip_request_queue: bool = False


R = TypeVar("R", bound=ChannelReward)


def parse_channel_reward(
    item: Mapping[str, Any], reward_type: type[R], **platform_fields: Any
) -> R | None:
    """A ``reward_type`` of the reward object ``item``: the fields both platforms share read
    from it, ``platform_fields`` the ones the platform read itself. None without an id."""
    reward_id = as_id(item.get("id"))
    if reward_id is None:
        return None
    return reward_type(
        id=reward_id,
        title=as_str(item.get("title"), TITLE_MAX),
        cost=as_count(item.get("cost")) or 0,
        is_enabled=as_flag(item.get("is_enabled"), True),
        is_paused=as_flag(item.get("is_paused")),
        is_user_input_required=as_flag(item.get("is_user_input_required")),
        should_redemptions_skip_request_queue=as_flag(
            item.get("should_redemptions_skip_request_queue")
        ),
        **platform_fields,
    )


__all__ = ["ChannelReward", "parse_channel_reward"]
