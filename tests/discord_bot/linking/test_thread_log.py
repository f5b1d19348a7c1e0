"""The link log kept in a thread: when Discord does not take an entry there, the admins read
what to change in the thread's own words (Send Messages in Threads, an archived thread), under
the dashboard's "What the bot could not do"."""

from __future__ import annotations

import discord
import pytest
from sqlalchemy.engine import Engine

from core.events import AccountLinked, Platform, Viewer
from core.features.linking.effects import LinkEffects
from core.features.linking.queued import QueuedLinkEffects
from core.features.linking.service import LinkingService
from core.outbox import DISCORD
from core.outbox.undone import UndoneCalls
from core.outbox.worker import OutboxWorker
from tests.discord_bot.fake_discord import make_thread, thread_send_refused
from tests.discord_bot.linking_support import drain, is_dm_to
from tests.support.clock import Clock


@pytest.fixture
def discord_calls(sqlite_engine: Engine, clock: Clock, link_effects: LinkEffects) -> OutboxWorker:
    """The Discord worker: it writes the queued link log entry."""
    kinds = QueuedLinkEffects(sqlite_engine, clock, link_effects).kinds()
    return OutboxWorker(sqlite_engine, DISCORD, kinds, clock)


@pytest.mark.parametrize(
    ("status", "code", "message", "problem"),
    [
        (
            403,
            50013,
            "Missing Permissions",
            "I may not post in #link-log; give me Send Messages in Threads and Embed Links there",
        ),
        (
            400,
            50083,
            "Thread is archived",
            "#link-log is an archived or locked thread; open it again, or turn the log on in "
            "another channel with !linklogs on",
        ),
    ],
)
async def test_a_link_log_a_thread_does_not_take_names_what_the_thread_needs(
    status: int,
    code: int,
    message: str,
    problem: str,
    guild_a: discord.Guild,
    alice: discord.Member,
    linking: LinkingService,
    link_effects: LinkEffects,
    sqlite_engine: Engine,
    discord_calls: OutboxWorker,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    thread = make_thread(guild_a.text_channels[0], "link-log")
    linking.set_log_channel(guild_a.id, thread.id)
    monkeypatch.setattr(discord.Thread, "send", thread_send_refused(status, code, message))
    linked = AccountLinked(platform=Platform.KICK, event_id="link-1", occurred_at=clock(),
                           guild_id=guild_a.id, discord_user_id=alice.id,
                           viewer=Viewer("7001", "kick_al"))  # fmt: skip
    await QueuedLinkEffects(sqlite_engine, clock, link_effects).queue(guild_a.id, linked)

    assert await discord_calls.run_once() == 1

    [dm] = await drain()
    assert is_dm_to(dm, alice)  # the member was told all the same
    [undone] = UndoneCalls(sqlite_engine, clock).recent(guild_a.id).calls
    assert undone.answer == f"link log not written: {problem}"


async def test_a_link_log_thread_archived_since_says_it_may_be_archived(
    guild_a: discord.Guild,
    alice: discord.Member,
    linking: LinkingService,
    link_effects: LinkEffects,
    sqlite_engine: Engine,
    discord_calls: OutboxWorker,
    clock: Clock,
) -> None:
    """discord.py drops an archived thread from what the bot knows: the entry's reason names
    that case too, not only a deleted channel."""
    thread = make_thread(guild_a.text_channels[0], "link-log")
    linking.set_log_channel(guild_a.id, thread.id)
    guild_a._remove_thread(thread)  # archived: as discord.py's THREAD_UPDATE handling does
    linked = AccountLinked(platform=Platform.KICK, event_id="link-1", occurred_at=clock(),
                           guild_id=guild_a.id, discord_user_id=alice.id,
                           viewer=Viewer("7001", "kick_al"))  # fmt: skip
    await QueuedLinkEffects(sqlite_engine, clock, link_effects).queue(guild_a.id, linked)

    assert await discord_calls.run_once() == 1

    [undone] = UndoneCalls(sqlite_engine, clock).recent(guild_a.id).calls
    assert undone.answer == (
        f"link log not written: its channel ({thread.id}) is gone, no text channel, or an "
        "archived thread; turn the log on again in a channel with !linklogs on"
    )
