"""What the bot says about the Kick connection: pure functions from plain values to text.

Slugs, Kick usernames, server names and error text from Kick or from the socket pass through
:func:`~core.discord_bot.render.inert` before they reach Discord. The connect link is text the
caller decides where to post: only in a DM or an ephemeral reply, never in a channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import discord

from core.discord_bot.connections.setup_words import replaced_warning
from core.discord_bot.render import MESSAGE_LIMIT, inert, relative, truncate, works_until
from core.features.connections.kick.setup import CHATROOM_HINT, KickSetupResult, KickStatus
from core.features.connections.kick.subscriptions import (
    NEEDS_REAUTH_PROBLEM,
    OTHER_ACCOUNT_PROBLEM,
    WANTED_EVENTS,
    SyncReport,
)
from core.platforms.kick.pusher import PusherState

OK = "\N{WHITE HEAVY CHECK MARK}"
BAD = "\N{CROSS MARK}"
WARN = "\N{WARNING SIGN}\N{VARIATION SELECTOR-16}"
CONNECT_LABEL = "Connect the Kick account"
APP_FIX = (
    "set KICK_CLIENT_ID and KICK_CLIENT_SECRET (from kick.com/settings/developer) "
    "and restart the bot"
)


def kick_usage(prefix: str) -> str:
    return (
        f"Usage: {prefix}kick setup <channel> [chatroom id] | {prefix}kick sync | "
        f"{prefix}kick status"
    )


def _described(result: KickSetupResult) -> str:
    channel = result.channel
    return (
        f"Kick channel {inert(channel.channel_slug)} (broadcaster id {channel.broadcaster_user_id})"
    )


def chatroom_hint(slug: str) -> str:
    """How to get the chatroom id (Kick's site, asked again), for this channel."""
    return CHATROOM_HINT.replace("<channel>", slug)


def _warnings(result: KickSetupResult) -> list[str]:
    """After a setup: the account connected before, now disconnected; a chatroom id not found."""
    lines = []
    if result.replaced is not None:
        lines.append(replaced_warning("Kick", result.channel.channel_slug, result.replaced))
    if not result.chatroom_found:
        lines.append(
            f"{WARN} I couldn't find its chatroom id. Pusher needs it (webhooks work without "
            f"it): {chatroom_hint(result.channel.channel_slug)}."
        )
    return lines


def setup_done(result: KickSetupResult) -> str:
    """The reply in the channel when the link went out by DM. It never holds the link."""
    lines = [
        f"{_described(result)} is set up. I sent you a link by DM to connect the streamer account.",
        *_warnings(result),
    ]
    return "\n".join(lines)


def setup_done_dms_closed(result: KickSetupResult) -> str:
    """The reply in the channel when the DM could not be delivered. It never holds the link."""
    lines = [
        f"{_described(result)} is set up, but I couldn't DM you the link to connect the "
        "streamer account: your direct messages are closed to me. Use the slash command "
        "/kick setup instead; it shows the link to you alone.",
        *_warnings(result),
    ]
    return "\n".join(lines)


def connect_link_dm(result: KickSetupResult, guild_name: str) -> str:
    """The DM with the link: whoever opens it can connect a Kick account to the server."""
    return (
        f"Open this link to connect the {_described(result)} to {inert(guild_name)}. Sign in to "
        "Kick as the streamer there, or send the link privately to the streamer; "
        f"{works_until(result.connect_link)}. Don't post it anywhere others can see it.\n"
        f"{result.connect_link}"
    )


def setup_done_private(result: KickSetupResult) -> str:
    """The ephemeral reply to ``/kick setup``, which only the admin sees: it holds the link."""
    lines = [
        f"{_described(result)} is set up. Open this link to connect the streamer account "
        f"(only you can see it; {works_until(result.connect_link)}). Sign in to Kick as the "
        "streamer, or send the link privately to the streamer:",
        result.connect_link,
        *_warnings(result),
    ]
    return "\n".join(lines)


def connect_link_view(link: str) -> discord.ui.View:
    """A link button to ``link``. Needs a running event loop (discord.py's views do)."""
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(style=discord.ButtonStyle.link, label=CONNECT_LABEL, url=link))
    return view


def setup_failed(message: str) -> str:
    # The message repeats what the admin typed (the slug), so it is shown inert.
    return inert(message)


def not_a_channel(prefix: str) -> str:
    return (
        "That doesn't look like a Kick channel. Give its name, @name or kick.com link: "
        f"{prefix}kick setup <channel> [chatroom id]"
    )


# --- !kick sync ----------------------------------------------------------------------------


def sync_report(report: SyncReport, prefix: str) -> str:
    if report.problem == NEEDS_REAUTH_PROBLEM:
        return (
            f"{BAD} The Kick connection needs re-authorization: Kick no longer accepts the "
            f"streamer's sign-in. Run {prefix}kick setup <channel> again and open the new link."
        )
    if report.problem == OTHER_ACCOUNT_PROBLEM:
        return (
            f"{BAD} The connected Kick account does not own this server's channel, so I "
            f"subscribed nothing: run {prefix}kick setup <channel> again and have the channel's "
            "owner open the new link."
        )
    if report.problem is not None and report.broadcaster_user_id is None:
        return (
            f"{BAD} The streamer account is not connected yet: run {prefix}kick setup <channel> "
            "and open the link I send you."
        )
    if report.problem is not None:
        return f"{BAD} Couldn't sync the webhook subscriptions: {inert(report.problem)}"
    live = len(report.created) + len(report.kept)
    mark = OK if report.is_complete and live >= len(WANTED_EVENTS) else WARN
    lines = [
        f"{mark} Webhook subscriptions: {len(report.created)} created, {len(report.kept)} kept, "
        f"{len(report.failed)} failed ({live}/{len(WANTED_EVENTS)} live)."
    ]
    lines += [f"- {inert(name)}: {inert(error)}" for name, error in sorted(report.failed.items())]
    if report.failed:
        lines.append(f"Try {prefix}kick sync again later; Kick may refuse some events for a while.")
    return truncate("\n".join(lines), MESSAGE_LIMIT)


def sync_unreachable(error: Exception) -> str:
    return f"{BAD} Kick did not answer ({inert(str(error))}). Try again in a moment."


# --- !kick status --------------------------------------------------------------------------


def kick_status(status: KickStatus, prefix: str) -> str:
    """One line per item, each with a mark and, when something is wrong, how to fix it."""
    lines = [
        "**Kick connection**",
        _app_line(status),
        _channel_line(status, prefix),
        _chatroom_line_of(status),
        _connection_line(status, prefix),
        _subscriptions_line(status, prefix),
        _pusher_line(status),
        *_last_events_lines(status.last_events),
    ]
    return truncate("\n".join(lines), MESSAGE_LIMIT)


def _app_line(status: KickStatus) -> str:
    if status.client_configured:
        return f"{OK} Kick app: configured"
    return f"{BAD} Kick app: not configured: {APP_FIX}"


def _channel_line(status: KickStatus, prefix: str) -> str:
    channel = status.channel
    if channel is None:
        return f"{BAD} Channel: not set up: run {prefix}kick setup <channel>"
    slug = inert(channel.channel_slug)
    return f"{OK} Channel: {slug} (broadcaster id {channel.broadcaster_user_id})"


def _chatroom_line_of(status: KickStatus) -> str:
    channel = status.channel
    if channel is None:
        return f"{BAD} Chatroom id (needed for Pusher): set up the channel first"
    if channel.chatroom_id is None:
        return (
            f"{WARN} Chatroom id (needed for Pusher): unknown, so Pusher can't listen "
            f"(webhooks work without it): {chatroom_hint(channel.channel_slug)}"
        )
    return f"{OK} Chatroom id (needed for Pusher): {channel.chatroom_id}"


def _connection_line(status: KickStatus, prefix: str) -> str:
    connection = status.connection
    slug = status.channel.channel_slug if status.channel else "<channel>"
    setup = f"{prefix}kick setup {inert(slug)}"
    if connection.needs_reauthorization:
        return (
            f"{BAD} Streamer account: needs re-authorization: run {setup} again "
            "and open the new link"
        )
    if not connection.is_connected:
        return f"{BAD} Streamer account: not connected: run {setup} and open the link I send you"
    name = inert(connection.username or "an unknown account")
    if status.channel is not None and connection.broadcaster_user_id not in (
        None,
        status.channel.broadcaster_user_id,
    ):
        return (
            f"{WARN} Streamer account: connected as {name}, which is not the channel's owner: "
            f"run {setup} again and sign in to Kick as {inert(slug)}"
        )
    expires = (
        f", token expires {relative(connection.expires_at)} (renewed automatically)"
        if connection.expires_at is not None
        else ""
    )
    return f"{OK} Streamer account: connected as {name}{expires}"


def _subscriptions_line(status: KickStatus, prefix: str) -> str:
    wanted = len(WANTED_EVENTS)
    live = wanted - len(status.missing)
    if not status.missing:
        return f"{OK} Webhook subscriptions: {live}/{wanted} live"
    fix = (
        f"run {prefix}kick sync"
        if status.connection.is_connected
        else "connect the streamer account first"
    )
    mark = BAD if live == 0 else WARN
    missing = ", ".join(inert(name) for name in status.missing)
    return f"{mark} Webhook subscriptions: {live}/{wanted} live; missing {missing}: {fix}"


def _pusher_line(status: KickStatus) -> str:
    pusher = status.pusher
    if pusher is None:
        if status.channel is None or status.channel.chatroom_id is None:
            return f"{WARN} Pusher: off: it needs the chatroom id"
        if not status.missing:
            return f"{OK} Pusher: off (webhooks carry the events)"
        return f"{WARN} Pusher: off: set KICK_PUSHER_ENABLED=true to hear the chat without webhooks"
    return _pusher_state_line(pusher)


def _pusher_state_line(pusher: PusherState) -> str:
    error = f" (last error: {inert(pusher.last_error)})" if pusher.last_error else ""
    match pusher.status:
        case "connected":
            return f"{OK} Pusher: connected"
        case "connecting":
            return f"{WARN} Pusher: connecting{error}"
        case "backing_off":
            tries = f", {pusher.reconnects} reconnects" if pusher.reconnects else ""
            return f"{WARN} Pusher: backing off before reconnecting{error}{tries}"
        case "refused":
            reason = inert(pusher.last_error or "no reason given")
            return (
                f"{BAD} Pusher: refused: {reason}; tried again after a wait (5 minutes, "
                "growing to an hour); restart the bot to try at once after fixing it"
            )
        case _:
            return f"{WARN} Pusher: {inert(str(pusher.status))}{error}"


def event_name(kind: str) -> str:
    return kind.replace("_", " ")


def _last_events_lines(last_events: Mapping[str, datetime]) -> list[str]:
    if not last_events:
        return [f"{WARN} Last events: no events yet (since the bot started)"]
    newest_first = sorted(last_events.items(), key=lambda item: item[1], reverse=True)
    return [
        f"{OK} Last events (since the bot started):",
        *(f"- {inert(event_name(kind))}: {relative(moment)}" for kind, moment in newest_first),
    ]
