"""The Discord poster for slot calls when Discord is off or not connected yet."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from core.discord_bot.gateway import DiscordGateway, DiscordUnavailable
from core.discord_bot.slot_calls.outbound import DiscordSlotCallPoster
from core.events import Platform
from core.features.slot_calls.repository import SlotCall

CALL = SlotCall(
    7, 111, Platform.KICK, "1001", "42", "slotfan", None, "Book of Dead", "open",
    datetime(2030, 1, 1, tzinfo=UTC),
)  # fmt: skip


async def test_without_discord_a_call_is_not_posted_and_that_is_logged(caplog) -> None:
    caplog.set_level(logging.INFO)

    assert await DiscordSlotCallPoster(DiscordGateway()).post_call(5001, CALL, 1) == (
        "not posted: the Discord bot is not running"
    )
    assert "Discord is off; slot call 7 in guild 111 not posted" in caplog.text


async def test_a_configured_bot_that_is_not_connected_raises_for_a_later_try() -> None:
    gateway = DiscordGateway()
    gateway.enabled = True  # a bot is configured and starting

    with pytest.raises(DiscordUnavailable):
        await DiscordSlotCallPoster(gateway).post_call(5001, CALL, 1)
