"""What the bot says about the Twitch connection: pure functions from plain values to text.

Logins and Twitch's error text pass through :func:`~core.discord_bot.render.inert`. A connect
link is text the caller posts only in a DM or an ephemeral reply, never in a channel.
"""

from __future__ import annotations

from core.discord_bot.connections.kick.render import works_until
from core.discord_bot.render import MESSAGE_LIMIT, inert, truncate
from core.features.connections.twitch.setup import TwitchSetupResult, TwitchStatus
from core.features.connections.twitch.subscriptions import WANTED_TYPES, TwitchSyncReport
from core.health import Check

OK = "\N{WHITE HEAVY CHECK MARK}"
BAD = "\N{CROSS MARK}"
WARN = "\N{WARNING SIGN}\N{VARIATION SELECTOR-16}"


def twitch_usage(prefix: str) -> str:
    return (
        f"Usage: {prefix}twitch setup <channel> | {prefix}twitch status | {prefix}twitch sync | "
        f"{prefix}twitch disconnect"
    )


def setup_done(result: TwitchSetupResult) -> str:
    return (
        f"{OK} This server now follows the Twitch channel **{inert(result.channel.channel_slug)}**."
        " I sent you the link to connect it by DM: the streamer opens it and signs in on "
        f"Twitch (it works once; {works_until(result.connect_link)})."
    )


def setup_done_dms_closed(result: TwitchSetupResult, prefix: str) -> str:
    return (
        f"{OK} This server now follows the Twitch channel **{inert(result.channel.channel_slug)}**,"
        " but your DMs are closed to me, so I could not send the link to connect it. Open "
        f"them and run {prefix}twitch setup again, or use /twitch setup."
    )


def connect_link_dm(result: TwitchSetupResult, guild_name: str) -> str:
    return (
        f"Link to connect the Twitch channel {inert(result.channel.channel_slug)} to "
        f"{inert(guild_name)}: {result.connect_link}\n"
        "The streamer must sign in on Twitch as that channel. It works once; "
        f"{works_until(result.connect_link)}."
    )


def reconsent_link_dm(link: str, guild_name: str) -> str:
    return (
        f"Link to connect Twitch again for {inert(guild_name)} and grant every permission "
        f"StreamKeeper needs: {link}\nThe streamer opens it. It works once; "
        f"{works_until(link)}."
    )


def twitch_status(status: TwitchStatus, prefix: str, *, link_sent: bool) -> str:
    lines = ["**Twitch**"]
    if not status.client_configured:
        lines.append(f"{BAD} No Twitch app: set TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET.")
    lines += [
        f"{OK if check.ok else BAD} {check.detail}" for check in twitch_checks(status, prefix)
    ]
    if status.revocations:
        lines.append(f"{WARN} Twitch stopped these subscriptions:")
        lines += [
            f"- {inert(r.subscription_type)}: {inert(r.status)}" for r in status.revocations[:10]
        ]
    if status.reconsent_link is not None:
        lines.append(
            "I sent you a link by DM to connect Twitch again."
            if link_sent
            else f"Open your DMs to me and run {prefix}twitch status again for a new link."
        )
    return truncate("\n".join(lines), MESSAGE_LIMIT)


def twitch_checks(status: TwitchStatus, prefix: str) -> list[Check]:
    """The Twitch lines of ``!health`` and ``!twitch status``."""
    channel, connection = status.channel, status.connection
    if channel is None:
        return [
            Check("twitch", False, f"no Twitch channel set up: run {prefix}twitch setup <channel>")
        ]
    setup = f"{prefix}twitch setup {channel.channel_slug}"
    slug = inert(channel.channel_slug)
    if connection.needs_reauthorization:
        link = Check(
            "twitch connection",
            False,
            f"{slug}: needs re-authorization (Twitch no longer accepts the grant): run {setup}",
        )
    elif not connection.is_connected:
        link = Check("twitch connection", False, f"{slug}: streamer not connected: run {setup}")
    else:
        link = Check(
            "twitch connection", True, f"{slug}, connected as {inert(connection.login or '?')}"
        )
    checks = [link]
    if connection.is_connected and connection.missing_scopes:
        checks.append(
            Check(
                "twitch scopes",
                False,
                f"the streamer has not granted {', '.join(connection.missing_scopes)}: "
                "they must connect again with a new link",
            )
        )
    live = len(WANTED_TYPES) - len(status.missing)
    if not status.upkeep_enabled:
        checks.append(
            Check(
                "twitch subscriptions",
                False,
                "no EventSub webhooks: set OAUTH_BASE_URL (public HTTPS) and "
                "TWITCH_EVENTSUB_SECRET",
            )
        )
    elif status.missing:
        fix = f"run {prefix}twitch sync" if connection.is_connected else "connect first"
        checks.append(
            Check(
                "twitch subscriptions",
                False,
                f"{live}/{len(WANTED_TYPES)} subscribed, missing {', '.join(status.missing)}: "
                f"{fix}",
            )
        )
    else:
        checks.append(Check("twitch subscriptions", True, f"{live}/{len(WANTED_TYPES)} subscribed"))
    return checks


def sync_report(report: TwitchSyncReport) -> str:
    lines = [
        f"{OK} Twitch subscriptions: {len(report.kept)} kept, {len(report.created)} created, "
        f"{len(report.removed)} removed."
    ]
    for kind, why in sorted(report.failed.items()):
        lines.append(f"{BAD} {inert(kind)}: {inert(why)}")
    return truncate("\n".join(lines), MESSAGE_LIMIT)


def disconnected(was_connected: bool) -> str:
    if not was_connected:
        return "This server had no Twitch connection."
    return (
        f"{OK} Twitch disconnected: the streamer's tokens were given back to Twitch and "
        "forgotten. The channel stays followed; run !twitch setup to connect again."
    )
