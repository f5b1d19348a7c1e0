"""A channel's custom reward as both platforms' API replies give it: the shared fields are read
alike, each platform keeps its own."""

from __future__ import annotations

import pytest

from core.platforms.kick import api_models as kick
from core.platforms.lenient import TITLE_MAX
from core.platforms.rewards import ChannelReward
from core.platforms.twitch import helix_models as twitch

PARSERS = [kick.parse_reward, twitch.parse_reward]


@pytest.mark.parametrize("parse", PARSERS)
def test_the_shared_fields_are_read_alike_on_both_platforms(parse) -> None:
    reward = parse(
        {
            "id": 7,
            "title": "Hydrate\x00!",
            "cost": "500",
            "is_enabled": "false",
            "is_paused": 1,
            "is_user_input_required": True,
            "should_redemptions_skip_request_queue": "true",
        }
    )

    assert isinstance(reward, ChannelReward)
    assert (reward.id, reward.title, reward.cost) == ("7", "Hydrate!", 500)
    assert not reward.is_enabled
    assert reward.is_paused
    assert reward.is_user_input_required
    assert reward.should_redemptions_skip_request_queue


@pytest.mark.parametrize("parse", PARSERS)
def test_missing_fields_get_the_defaults_and_a_reward_without_an_id_is_left_out(parse) -> None:
    reward = parse({"id": "r1", "cost": -5, "title": "x" * 5000})

    assert reward is not None
    assert reward.cost == 0
    assert reward.title == "x" * TITLE_MAX
    assert reward.is_enabled
    assert not reward.is_paused
    assert parse({"title": "no id", "cost": 10}) is None


def test_each_platform_keeps_its_own_fields() -> None:
    on_kick = kick.parse_reward({"id": "1", "description": "Drink water"})
    on_twitch = twitch.parse_reward(
        {
            "id": "2",
            "broadcaster_id": "99",
            "prompt": "Drink water",
            "is_in_stock": False,
            "global_cooldown_setting": {"is_enabled": True, "global_cooldown_seconds": 60},
        }
    )

    assert on_kick == kick.Reward(id="1", title="", cost=0, description="Drink water")
    assert on_kick.background_color == "#00e701"
    assert on_twitch is not None
    assert (on_twitch.broadcaster_id, on_twitch.prompt) == ("99", "Drink water")
    assert not on_twitch.is_in_stock
    assert on_twitch.global_cooldown_seconds == 60
    assert on_twitch.background_color == ""
