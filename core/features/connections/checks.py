"""A guild's Kick and Twitch connection as health checks, for ``!health``, ``!twitch status``
and the dashboard's overview alike.

The checks are the same everywhere; how a streamer is told to fix one is not: Discord names its
commands ("run !kick sync"), the dashboard its pages and buttons. So each front end passes its
:class:`FixWords`, and the words of a name (a channel, a login) pass through its ``name`` (Discord
escapes markdown, the web's templates escape HTML).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from core.events.words import subscription_types
from core.features.connections.kick.setup import KickSetup, KickStatus
from core.features.connections.kick.subscriptions import WANTED_EVENTS
from core.features.connections.twitch.setup import TwitchSetup, TwitchStatus
from core.features.connections.twitch.subscriptions import REQUIRED_SCOPES, WANTED_TYPES
from core.health import Check, unless_down, unread
from core.platforms.kick.pusher import PusherState
from core.platforms.twitch.eventsub_ws import EventSubState


@dataclass(frozen=True)
class FixWords:
    """How a front end says what to do. ``setup(platform, slug)`` connects the streamer (slug
    None: no channel is followed yet), ``sync(platform)`` subscribes again, ``when`` tells a
    moment, ``name`` makes a platform's text safe to show."""

    setup: Callable[[str, str | None], str]
    sync: Callable[[str], str]
    when: Callable[[datetime], str]
    name: Callable[[str], str] = str


CONNECTION_LINES = "kick and twitch"  # the name of the lines' stand-in when they are unread


def stored_platform_checks(
    kick: KickSetup | None, twitch: TwitchSetup | None, guild_id: int, words: FixWords
) -> list[Check]:
    """The server's Kick and Twitch lines (:func:`platform_checks`) from its stored connection,
    of each platform this process serves (None: not Kick; Twitch without an app: not Twitch);
    while the database does not answer, one line saying they could not be read."""

    def read() -> list[Check]:
        twitch_status = None
        if twitch is not None and twitch.client_configured:
            twitch_status = twitch.status(guild_id)
        kick_status = kick.status(guild_id) if kick is not None else None
        return platform_checks(kick_status, twitch_status, words)

    checks = unless_down(read)
    return [unread(CONNECTION_LINES)] if checks is None else checks


def platform_checks(
    kick: KickStatus | None, twitch: TwitchStatus | None, words: FixWords
) -> list[Check]:
    """A server's Kick and Twitch lines (``!health``, the dashboard's overview), of each
    platform the bot serves (None: it does not). A server may follow Kick alone or Twitch alone:
    the platform it does not follow is then no failure, only a line that says how to add it."""
    statuses = {"kick": kick, "twitch": twitch}
    followed = [name for name, status in statuses.items() if status and status.channel]
    checks = []
    for platform, status in statuses.items():
        if status is None:
            continue
        if status.channel is None and followed:
            checks.append(_not_followed(platform, followed[0], words))
        elif isinstance(status, KickStatus):
            checks += kick_checks(status, words)
        else:
            checks += twitch_checks(status, words)
    return checks


def _not_followed(platform: str, followed: str, words: FixWords) -> Check:
    name, other = platform.capitalize(), followed.capitalize()
    return Check(
        platform,
        True,
        f"this server follows no {name} channel, only {other} (to follow one: "
        f"{words.setup(platform, None)})",
    )


def kick_checks(status: KickStatus, words: FixWords) -> list[Check]:
    channel, connection = status.channel, status.connection
    if channel is None:
        return [Check("kick", False, f"no Kick channel set up: {words.setup('kick', None)}")]
    slug = words.name(channel.channel_slug)
    if not status.client_configured:
        return _pusher_only(status, slug, words)
    setup = words.setup("kick", channel.channel_slug)
    if connection.needs_reauthorization:
        link = Check("kick connection", False, f"needs re-authorization: {setup}")
    elif not connection.is_connected:
        link = Check("kick connection", False, f"streamer not connected: {setup}")
    elif connection.broadcaster_user_id != channel.broadcaster_user_id:
        who = words.name(connection.username or "an unknown account")
        link = Check(
            "kick connection", False, f"connected as {who}, who does not own {slug}: {setup}"
        )
    else:
        who = words.name(connection.username or "an unknown account")
        link = Check("kick connection", True, f"{slug}, connected as {who}")
    live = len(WANTED_EVENTS) - len(status.missing)
    if status.missing:
        fix = words.sync("kick") if connection.is_connected else "connect the streamer first"
        subscriptions = Check(
            "kick subscriptions",
            False,
            f"{live}/{len(WANTED_EVENTS)} live, missing "
            f"{subscription_types('kick', status.missing)}: {fix}",
        )
    else:
        subscriptions = Check("kick subscriptions", True, f"{live}/{len(WANTED_EVENTS)} live")
    checks = [link, subscriptions]
    if status.pusher is not None:
        checks.append(_pusher_check(status.pusher, words))
    checks += last_event_checks(status.last_events, words)
    return checks


def _pusher_only(status: KickStatus, slug: str, words: FixWords) -> list[Check]:
    """Without a Kick app (behind NAT) no streamer connects and no webhook is subscribed:
    Pusher alone brings the channel's events, so its line is the one that may fail."""
    link = Check(
        "kick connection",
        True,
        f"{slug}: no Kick app (KICK_CLIENT_ID and KICK_CLIENT_SECRET), so no webhooks: events "
        "come over Pusher",
    )
    checks = [link]
    if status.channel is not None and status.channel.chatroom_id is None:
        checks.append(
            Check(
                "kick pusher",
                False,
                "the channel's chatroom id is unknown, so Pusher cannot listen: with no Kick app, "
                "no Kick event reaches the bot (set the channel up again with its chatroom id)",
            )
        )
    elif status.pusher is not None:  # else another process may listen: no state here
        checks.append(_pusher_check(status.pusher, words))
    return [*checks, *last_event_checks(status.last_events, words)]


def _pusher_check(pusher: PusherState, words: FixWords) -> Check:
    ok = pusher.status == "connected"
    detail = pusher.status.replace("_", " ")
    if not ok and pusher.last_error:
        detail += f" ({words.name(pusher.last_error)})"
    return Check("kick pusher", ok, detail)


def last_event_checks(last_events: Mapping[str, datetime], words: FixWords) -> list[Check]:
    if not last_events:
        return [Check("last event", True, "none since the bot started (normal while offline)")]
    newest_first = sorted(last_events.items(), key=lambda item: item[1], reverse=True)
    return [
        Check(f"last {kind.replace('_', ' ')}", True, words.when(moment))
        for kind, moment in newest_first
    ]


def twitch_checks(status: TwitchStatus, words: FixWords) -> list[Check]:
    """The Twitch lines of ``!health``, ``!twitch status`` and the dashboard's overview."""
    channel, connection = status.channel, status.connection
    if channel is None:
        return [Check("twitch", False, f"no Twitch channel set up: {words.setup('twitch', None)}")]
    setup = words.setup("twitch", channel.channel_slug)
    slug = words.name(channel.channel_slug)
    if connection.needs_reauthorization:
        link = Check(
            "twitch connection",
            False,
            f"{slug}: needs re-authorization (Twitch no longer accepts the grant): {setup}",
        )
    elif not connection.is_connected:
        link = Check("twitch connection", False, f"{slug}: streamer not connected: {setup}")
    else:
        who = words.name(connection.username or "?")
        link = Check("twitch connection", True, f"{slug}, connected as {who}")
    checks = [link]
    if connection.is_connected and connection.missing_scopes:
        # Only the scopes of follow and cheer alerts: all else works, they are one consent away.
        only_alerts = set(connection.missing_scopes) <= set(REQUIRED_SCOPES.values())
        checks.append(
            Check(
                "twitch scopes",
                only_alerts,
                f"the streamer has not granted {', '.join(connection.missing_scopes)}: "
                "they must connect again with a new link",
                degraded=only_alerts,
            )
        )
    checks += vip_waiting_checks(status, setup)
    live = len(WANTED_TYPES) - len(status.missing)
    if not status.upkeep_enabled and status.socket_enabled:
        # The socket skips what the grant lacks a scope for, as the webhook upkeep does.
        lacking = ""
        if status.needs_consent:
            lacking = f"; {consent_words(status.needs_consent)}: {setup}"
        checks.append(
            Check(
                "twitch events",
                True,
                "over the EventSub WebSocket (this server has no public HTTPS address for "
                "EventSub webhooks; OAUTH_BASE_URL and TWITCH_EVENTSUB_SECRET would add them)"
                + lacking,
                degraded=bool(lacking),
            )
        )
        if status.socket is not None:
            checks.append(_socket_check(status.socket, status.needs_consent, words))
    elif not status.upkeep_enabled:
        checks.append(
            Check(
                "twitch subscriptions",
                False,
                "no EventSub webhooks: set TWITCH_EVENTSUB_SECRET (OAUTH_BASE_URL is public, "
                "so Twitch delivers to it)",
            )
        )
    elif status.missing:
        checks.append(_missing_subscriptions(status, words, setup, live))
    else:
        checks.append(
            Check(
                "twitch subscriptions",
                True,
                f"{live}/{len(WANTED_TYPES)} subscribed: events come as EventSub webhooks",
            )
        )
    return checks


def _socket_check(socket: EventSubState, needs_consent: Iterable[str], words: FixWords) -> Check:
    """The channel's EventSub WebSocket: connected or why not, and the types Twitch refused
    on it (those a new consent brings, ``needs_consent``, are told by the line above)."""
    ok = socket.status == "connected"
    detail = socket.status.replace("_", " ")
    if not ok and socket.last_error:
        detail += f" ({words.name(socket.last_error)})"
    refused = [(kind, why) for kind, why in socket.refused if kind not in set(needs_consent)]
    if refused:
        detail += "; Twitch refused " + "; ".join(
            f"{subscription_types('twitch', [kind])} ({words.name(why)})" for kind, why in refused
        )
    return Check("twitch socket", ok, detail, degraded=ok and bool(refused))


def _missing_subscriptions(status: TwitchStatus, words: FixWords, setup: str, live: int) -> Check:
    """What is not subscribed: a sync brings back what the grant allows, connecting again what
    it lacks a scope for (only that: ok, but degraded)."""
    fix = words.sync("twitch") if status.connection.is_connected else "connect first"
    by_sync = [t for t in status.missing if t not in status.needs_consent]
    parts = []
    if by_sync:
        parts.append(f"missing {subscription_types('twitch', by_sync)}: {fix}")
    if status.needs_consent:
        parts.append(f"{consent_words(status.needs_consent)}: {setup}")
    return Check(
        "twitch subscriptions",
        not by_sync,
        f"{live}/{len(WANTED_TYPES)} subscribed, " + "; ".join(parts),
        degraded=not by_sync,
    )


_ALERT_WORDS = {"channel.follow": "follow", "channel.cheer": "cheer"}


def consent_words(types: Iterable[str]) -> str:
    """What a new consent brings, for types skipped for a scope: "connect again to get follow
    and cheer alerts"."""
    alerts = " and ".join(_ALERT_WORDS.get(t, "other") for t in types)
    return f"connect again to get {alerts} alerts"


def vip_waiting_checks(status: TwitchStatus, setup: str) -> list[Check]:
    """What temporary VIP could not do as the streamer: redemptions that wait for them to
    connect again, refunds not told in chat (both are handled when they connect); rules whose
    reward the streamer deleted on twitch.tv."""
    checks = []
    if status.vip_broken:
        rules = _viewers(status.vip_broken, "VIP rule")
        checks.append(
            Check(
                "twitch vip rewards",
                False,
                f"{rules} lost {'its' if status.vip_broken == 1 else 'their'} reward, deleted on "
                "twitch.tv: viewers cannot redeem it. Remove the rule, or make its reward again "
                "(the VIP page)",
            )
        )
    if status.vip_waiting:
        checks.append(
            Check(
                "twitch vip redemptions",
                False,
                f"{_viewers(status.vip_waiting, 'redemption')} of the VIP reward "
                f"{'waits' if status.vip_waiting == 1 else 'wait'} for the streamer to connect "
                f"again (handled then): {setup}",
            )
        )
    if status.vip_untold:
        checks.append(
            Check(
                "twitch vip refunds",
                False,
                f"{_viewers(status.vip_untold, 'viewer')} "
                f"{'was' if status.vip_untold == 1 else 'were'} refunded but not told in chat "
                f"(it is said when the streamer connects again): {setup}",
            )
        )
    return checks


def _viewers(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
