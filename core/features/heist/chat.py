"""The heist in stream chat: ``!heist`` / ``!join`` to join, ``!heist cancel`` (moderators),
``!heist stats`` and ``!heist settings``; and the results, said in chat and posted on Discord.

Every refusal has its own short answer. Nothing said here starts like a command.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.engine import Connection

from core.events import Platform, utc
from core.features.chat_commands.queued import queue_line
from core.features.chat_commands.replies import ChatReplier
from core.features.chat_commands.router import (
    ANSWERED,
    ChatCommand,
    ChatInvocation,
    Permission,
    Refusal,
)
from core.features.chat_commands.text import chat_safe
from core.features.heist import repository
from core.features.heist.answers import Cancelled, Joined, lying_low
from core.features.heist.ports import HeistAnnouncer, HeistResult
from core.features.heist.rules import HeistRefused, parse_join, tier_bonus_text
from core.features.heist.service import HeistService
from core.features.shard_posts import ShardPosts, record_refused_post
from core.features.watchtime.durations import describe_seconds

log = logging.getLogger(__name__)

POST_WITHIN = timedelta(hours=1)  # a result Discord has not taken by then is not posted
GIVE_UP_LOOKS_BACK = timedelta(days=1)  # how far past that a result is still listed as given up
NOT_IN_TIME = (
    "not posted: Discord did not take it within an hour of the heist (the bot was not "
    "connected, or Discord failed; the server log says why)"
)

# Kick's and Twitch's chat both take 500 characters a message (core/platforms/kick/api.py,
# core/platforms/twitch/helix.py); a result is one message, never split.
CHAT_LIMIT = 500
NAME_LIMIT = 25  # characters of a username in a result line
JOIN_HINT = "join with: !join <amount> [low|medium|high]"
MODERATORS_ONLY = "Only moderators can cancel a heist."
RESULTS_SOON = "the results come in a moment."
# A message older than the router's memory of the ones it answered may be one answered before,
# delivered again: its join would take a second stake, for a heist the viewer never joined.
TOO_LATE = "That !join came in too late to count; type it again to join."
SUBCOMMANDS = ("cancel", "stats", "settings")


def short_name(username: str) -> str:
    name = chat_safe(username) or "someone"
    return name if len(name) <= NAME_LIMIT else name[: NAME_LIMIT - 1] + "\N{HORIZONTAL ELLIPSIS}"


def join_reply(joined: Joined) -> str:
    """The join's answer; a subscriber's also says their tier and bonus ("Tier 3 - 1.5x
    rewards"), as the StreamElements heist widget does."""
    stake = f"{joined.stake:,} {joined.currency} ({joined.risk} risk)"
    if joined.tier is not None:
        stake += f", {tier_bonus_text(joined.tier, joined.tier_multiplier_x100)}"
    if joined.opened:
        return (
            f"A heist is being planned! You are in with {stake}. The crew gathers for "
            f"{joined.seconds_left} s, {JOIN_HINT}"
        )
    crew = "1 in the crew" if joined.crew_size == 1 else f"{joined.crew_size} in the crew"
    return f"You are in with {stake}: {crew}, {joined.seconds_left} s left to join."


def cancel_reply(cancelled: Cancelled, currency: str) -> str:
    viewers = "1 viewer" if cancelled.refunded == 1 else f"{cancelled.refunded} viewers"
    return (
        f"The heist is called off. Every stake went back: {cancelled.points:,} {currency} "
        f"to {viewers}."
    )


def result_message(result: HeistResult, limit: int = CHAT_LIMIT) -> str:
    """The result for chat, at most ``limit`` characters: who made it out with what (the
    biggest winners first, the rest counted), how many were caught, the total paid."""
    winners = result.winners
    caught = len(result.crew) - len(winners)
    currency = result.currency
    if not winners:
        who = "the whole crew" if len(result.crew) > 1 else "the lone robber"
        return (
            f"The heist went wrong: the guards caught {who}. "
            f"{result.total_stake:,} {currency} lost to the vault."
        )
    head = f"The vault is open! {len(winners)} of {len(result.crew)} got away: "
    tail_caught = f" {caught} caught." if caught else ""
    tail = f"{tail_caught} Total loot: {result.total_payout:,} {currency}."
    named: list[str] = []
    for winner in winners:
        part = f"@{short_name(winner.username)} (+{winner.payout:,})"
        left = len(winners) - len(named) - 1
        ending = f" and {left} more." if left else "."
        if len(head) + len(", ".join([*named, part])) + len(ending) + len(tail) > limit:
            break
        named.append(part)
    left = len(winners) - len(named)
    listing = ", ".join(named) + (f" and {left} more" if left else "") + "."
    return (head + listing + tail)[:limit]


class ChatResultLine:
    """The heist's result line, queued in the chat outbox in the transaction that resolves the
    heist: a process killed right after a heist resolved has its line said by the chat worker
    all the same, once (the line's key is the heist's). ``can_talk(platform)``: whether the bot
    can talk in that chat; where it cannot, nothing is queued (as :class:`ChatReplier` drops a
    line)."""

    def __init__(self, can_talk: Callable[[Platform], bool]) -> None:
        self.can_talk = can_talk

    def __call__(self, conn: Connection, result: HeistResult) -> None:
        text = chat_safe(result_message(result))
        if not self.can_talk(result.platform):
            log.info(
                "guild %s: cannot talk in %s chat; not saying %r",
                result.guild_id,
                result.platform,
                text,
            )
            return
        key = f"heist:{result.heist_id}:result"
        queue_line(
            conn,
            result.platform,
            result.guild_id,
            result.broadcaster_user_id,
            text,
            key,
            utc(result.resolved_at),
        )


class HeistChat:
    def __init__(
        self,
        service: HeistService,
        replies: ChatReplier,
        announcer: HeistAnnouncer,
        on_this_shard: Callable[[int], bool] = lambda guild_id: True,
    ) -> None:
        """``on_this_shard(guild_id)``: whether this process's Discord client reaches the guild
        (it posts only those guilds' results; the process of each other shard posts its)."""
        self.service = service
        self.replies = replies
        self.announcer = announcer
        self.posts = ShardPosts(on_this_shard)

    def commands(self) -> list[ChatCommand]:
        # A short per-viewer cooldown keeps one viewer from flooding the queue; the heist's own
        # rules (one join per heist, the cooldown between heists) answer everything else.
        return [
            ChatCommand("heist", self.heist, user_cooldown_seconds=3),
            ChatCommand("join", self.join, user_cooldown_seconds=3),
        ]

    async def heist(self, invocation: ChatInvocation) -> str | None:
        word, _, rest = invocation.arguments.partition(" ")
        if word.lower() in SUBCOMMANDS and rest.strip():  # not a join: its usage would mislead
            return Refusal(f"Type !heist {word.lower()} with nothing after it.")
        match word.lower():
            case "cancel":
                return await self.cancel(invocation)
            case "stats":
                return await asyncio.to_thread(self._stats, invocation.guild_id)
            case "settings":
                return await asyncio.to_thread(self._settings, invocation.guild_id)
            case "":
                return await asyncio.to_thread(self._status, invocation)
        return await self.join(invocation)

    async def join(self, invocation: ChatInvocation) -> str | None:
        user_id = invocation.viewer.platform_user_id
        if user_id is None:
            return None
        event = invocation.event
        age = self.service.clock() - utc(event.occurred_at)
        if age.total_seconds() >= ANSWERED.seconds:
            return TOO_LATE
        has_badge = event.subscriber_badge_version is not None or any(
            badge.strip().lower() in ("subscriber", "founder") for badge in event.badges
        )
        try:
            parse_join(invocation.arguments)  # a wrong stake is answered before asking SE
        except HeistRefused as refused:  # their typing: they may type it again at once
            return Refusal(str(refused))
        try:
            # StreamElements keeps points by Twitch login: the chat's where it gives one.
            se = await self.service.se_stake(
                invocation.guild_id,
                invocation.platform,
                user_id,
                event.login or invocation.viewer.username,
            )
            joined = await asyncio.to_thread(
                self.service.join,
                invocation.guild_id,
                invocation.platform,
                event.broadcaster_user_id,
                user_id,
                invocation.viewer.username,
                invocation.arguments,
                has_sub_badge=has_badge,
                badge_version=event.subscriber_badge_version,
                se=se,
                typed_at=utc(event.occurred_at),
            )
        except HeistRefused as refused:
            return str(refused)
        return join_reply(joined)

    async def cancel(self, invocation: ChatInvocation) -> str:
        if invocation.permission < Permission.MODERATOR:
            return MODERATORS_ONLY
        try:
            cancelled = await asyncio.to_thread(
                self.service.cancel,
                invocation.guild_id,
                invocation.platform,
                utc(invocation.event.occurred_at),
            )
        except HeistRefused as refused:
            return str(refused)
        currency = await asyncio.to_thread(self.service.points.name, invocation.guild_id)
        return cancel_reply(cancelled, currency)

    def _status(self, invocation: ChatInvocation) -> str:
        found = self.service.status(invocation.guild_id, invocation.platform)
        if found is None:  # a join during the cooldown is refused: say when, invite none
            wait = self.service.rest_left(invocation.guild_id, invocation.platform)
            return lying_low(wait) if wait else f"No heist is under way; start one, {JOIN_HINT}"
        heist, crew = found
        now = self.service.clock()
        if heist.closes_at <= now:  # the window closed: a join now is refused, so invite none
            return f"The crew is already on the job ({crew} in the crew); {RESULTS_SOON}"
        left = int((heist.closes_at - now).total_seconds())
        return f"A heist is being planned: {crew} in the crew, {left} s left; {JOIN_HINT}"

    def _stats(self, guild_id: int) -> str:
        stats = self.service.stats(guild_id)
        currency = self.service.points.name(guild_id)
        if not stats.heists:
            return "No heist has been pulled off here yet."
        return (
            f"{stats.heists:,} heists, {stats.participants:,} joins, {stats.staked:,} {currency} "
            f"staked, {stats.paid:,} paid out; the biggest haul was {stats.biggest_win:,}."
        )

    def _settings(self, guild_id: int) -> str:
        rules = self.service.rules(guild_id)
        currency = self.service.points.name(guild_id)
        odds = ", ".join(
            f"{risk} {rules.chance(risk)}% x{rules.multiplier(risk) / 100:g}"
            for risk in ("low", "medium", "high")
        )
        return (
            f"Stakes {rules.min_bet:,} to {rules.max_bet:,} {currency}; {odds}; "
            f"time to join {describe_seconds(rules.join_window_seconds)}, rest between heists "
            f"{describe_seconds(rules.cooldown_seconds)}."
        )

    # --- results -----------------------------------------------------------------------------

    async def resolve_due(self) -> list[HeistResult]:
        """Resolve the heists whose window closed. Each resolution queues its chat line
        (:class:`ChatResultLine`) and StreamElements payments; the posts on Discord are
        :meth:`post_pending`'s, a job of its own in each process."""
        return await asyncio.to_thread(self.service.resolve_due)

    async def post_pending(self) -> int:
        """Post the results not posted yet of the guilds this process's Discord client reaches;
        how many. What Discord cannot take now waits for the next call; what it refuses for
        good (a permission, the channel gone) is not tried again but listed under "What the bot
        could not do" with the fix."""
        async with self.posts.one_round():
            await asyncio.to_thread(self._give_up_late)
            results = []
            for heist_id in await asyncio.to_thread(self.service.unannounced, POST_WITHIN):
                result = await asyncio.to_thread(self.service.result_of, heist_id)
                if result is not None:
                    results.append(result)

            async def mark(result: HeistResult) -> None:
                await asyncio.to_thread(self.service.mark_announced, result.heist_id)

            def waits(result: HeistResult, exc: Exception) -> None:
                log.info("heist %s result waits for Discord (%r)", result.heist_id, exc)

            # A guild whose post failed: the rest of its results wait too; others' go on.
            return await self.posts.per_guild(
                results, lambda result: result.guild_id, self._post, mark, waits
            )

    async def _post(self, result: HeistResult) -> None:
        rules = await asyncio.to_thread(self.service.rules, result.guild_id)
        if rules.channel_id is None:
            log.info(
                "guild %s: heist %s not posted; no heist channel is set",
                result.guild_id,
                result.heist_id,
            )
            return
        refused = await self.announcer.announce_result(rules.channel_id, result)
        if refused is not None:
            await asyncio.to_thread(self._not_posted, result.guild_id, result.heist_id, refused)

    def _not_posted(
        self, guild_id: int, heist_id: int, reason: str, *, given_up: bool = False
    ) -> None:
        """List the result under "What the bot could not do", once: ``reason`` says why."""
        record_refused_post(
            *(self.service.engine, guild_id, "heist-result", f"heist:{heist_id}:discord-result"),
            f"post heist #{heist_id}'s result in the heist channel",
            *(reason, self.service.clock()),
            given_up=given_up,
        )

    def _give_up_late(self) -> None:
        """The results of this process's guilds that Discord took nowhere within
        :data:`POST_WITHIN` of their heist (not connected, failing): not posted any more (they
        would be stale), but listed, once, and marked so."""
        now = self.service.clock()
        since = now - POST_WITHIN - GIVE_UP_LOOKS_BACK
        with self.service.engine.connect() as conn:
            late = repository.unannounced_between(conn, since, now - POST_WITHIN)
        for heist_id, guild_id in late:
            if self.posts.reaches(guild_id):
                log.warning(
                    "guild %s: heist %s result given up: not posted in time", guild_id, heist_id
                )
                self._not_posted(guild_id, heist_id, NOT_IN_TIME, given_up=True)
                self.service.mark_announced(heist_id)
