"""The heist: `!heist` / `!join` in chat, resolution when the join window closes, results in
chat and on Discord."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.discord_bot.heist.outbound import DiscordHeistAnnouncer
from core.events import Platform, StreamEnded
from core.features.heist.chat import ChatResultLine, HeistChat
from core.features.heist.rules import HeistRules
from core.features.heist.service import HeistService
from core.features.heist.stream_end import LOOK_AT_MOST, HeistStreamEnd, end_queued

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly

RESOLVE_EVERY_SECONDS = 2.0  # a closed window resolves within this


def install(rt: Assembly) -> None:
    defaults = HeistRules(
        join_window_seconds=rt.settings.heist.join_window_seconds,
        cooldown_seconds=rt.settings.heist.cooldown_seconds,
    )

    def can_talk(platform: Platform) -> bool:  # the chat outbox (installed before) says results
        return rt.queued_chat_sender_for(platform) is not None

    # The sub_tiers feature (installed before) provides the tiers.
    # The StreamElements wallet (installed with points) holds and pays in guilds that use it.
    rt.heist = HeistService(
        rt.engine,
        rt.clock,
        rt.points,
        defaults,
        sub_tiers=rt.sub_tiers,
        wallet=rt.points_wallet,
        result_line=ChatResultLine(can_talk),
        # A heist whose stream's end is still queued (after a restart) waits for it.
        held=end_queued(lambda before: rt.bus.unhandled_before(before, LOOK_AT_MOST)),
    )
    rt.heist_chat = HeistChat(
        rt.heist, rt.chat_replies, DiscordHeistAnnouncer(rt.discord), rt.on_discord_shard
    )
    for command in rt.heist_chat.commands():
        rt.chat_commands.add(command)
    # A heist still gathering its crew when the stream ends is called off, its stakes given back.
    rt.handle(StreamEnded, HeistStreamEnd(rt.heist, can_talk).handle_stream_ended)
    # Also resolves, at start, every heist whose window closed while the bot was down.
    rt.scheduler.every("resolving heists", lambda: RESOLVE_EVERY_SECONDS, rt.heist_chat.resolve_due)
    # Each process posts the results of its own Discord shard's guilds.
    rt.scheduler.every(
        "posting heist results",
        lambda: RESOLVE_EVERY_SECONDS,
        rt.heist_chat.post_pending,
        everywhere=True,
    )
