from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine

from core.features.vip.service import VipService
from tests.features.vip.doubles import BROADCASTER, GUILD, T0, FakeVipChannel, RecordingNotices
from tests.support.clock import Clock
from tests.support.waiting import RecordingSleep


@dataclass
class Vip:
    service: VipService
    twitch: FakeVipChannel
    notices: RecordingNotices
    clock: Clock
    sleeps: list[float]
    reward_id: str = ""


@pytest.fixture
async def vip(engine: Engine) -> Vip:
    """A guild with the VIP reward set up (24 hours, notices in channel 5001)."""
    clock = Clock(T0)
    sleep = RecordingSleep(clock)

    twitch = FakeVipChannel(clock)
    notices = RecordingNotices()
    service = VipService(
        engine,
        clock,
        twitch,
        lambda guild_id: BROADCASTER if guild_id == GUILD else None,
        notices=notices,
        sleep=sleep,
    )
    result = await service.setup(GUILD, 900, "VIP for a day", 500, 24)
    await service.update_settings(GUILD, notice_channel_id=5001)
    return Vip(service, twitch, notices, clock, sleep.delays, result.reward.id)
