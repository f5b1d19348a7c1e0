"""A round of heist result posts when one server's channel is rate-limited: discord.py waits
out a rate limit of up to 30 s inside the post, and that wait holds up that server's results
only. The other servers' results are posted meanwhile, not after it."""

from __future__ import annotations

import asyncio

from core.features.heist.ports import HeistResult
from tests.features.heist.conftest import GUILD
from tests.features.heist.test_chat import resolve_one
from tests.features.heist.test_history import add_heist
from tests.support.waiting import eventually


async def test_a_guild_whose_channel_waits_out_a_rate_limit_holds_up_no_other_guilds_result(
    chat, heist_chat, points, draws, announcer, service, engine, clock
):
    other = GUILD + 1
    await resolve_one(chat, heist_chat, points, draws, service)  # GUILD's, first in the round
    service.set_setting(other, "channel", "778")
    with engine.begin() as conn:
        add_heist(conn, other, "resolved", clock.now, [(100, True, 150)])
    rate_limit_over = asyncio.Event()
    post = announcer.announce_result

    async def waits_in_one_guild(channel_id: int, result: HeistResult) -> str | None:
        if result.guild_id == GUILD:
            await rate_limit_over.wait()  # discord.py sleeping through the channel's 429
        return await post(channel_id, result)

    announcer.announce_result = waits_in_one_guild
    round_of_posts = asyncio.create_task(heist_chat.post_pending())

    await eventually(lambda: [r.guild_id for _channel, r in announcer.posts] == [other])
    rate_limit_over.set()
    assert await round_of_posts == 2
    assert [r.guild_id for _channel, r in announcer.posts] == [other, GUILD]
    assert await heist_chat.post_pending() == 0
