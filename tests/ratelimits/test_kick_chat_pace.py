"""Kick chat's pace (one line per ``min_interval_seconds`` per channel, counted in the shared
windows) holds across a 429: the bot's Kick chat client, as the runtime builds it, against a
loopback Kick. The resend after Kick's ``Retry-After`` takes a slot of its own, as Kick counts
it; it used to go out inside the first try's slot, a second request where the pace allows
one, and the next line went out beside it."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime

from core.config import KickSettings
from core.metrics import Metrics
from core.ratelimits import MemoryWindows
from core.wiring.kick import KickClients
from tests.fakes.kick_server import FakeKick

CHAT = "/public/v1/chat"
PACE_SECONDS = 1.0  # Kick's: a line a second per channel


async def test_a_resend_after_a_429_keeps_the_channels_pace() -> None:
    with FakeKick(user_id=1001, username="streamer") as fake:
        token = fake.issue_user_token(1001)

        async def as_streamer(guild_id: int, call):  # type: ignore[no-untyped-def]
            return await call(token)

        fake.fail_next(CHAT, 429, retry_after=0.5)
        settings = KickSettings(api_base_url=fake.url)
        clients = KickClients(settings, lambda: datetime.now(UTC), Metrics(), MemoryWindows())
        async with clients.chat_client() as api:
            kick = clients.chat_sender(api, as_streamer)
            lines = [
                kick.deliver_now(guild_id=1, broadcaster_user_id="1001", text=text)
                for text in ("first", "second")
            ]
            assert await asyncio.gather(*lines) == [None, None]

    sent = [r for r in fake.requests if r.path == CHAT]
    assert [r.status for r in sent] == [429, 200, 200]
    answered = [r.answered_at for r in sent]
    gaps = [later - earlier for earlier, later in itertools.pairwise(answered)]
    assert min(gaps) >= PACE_SECONDS
