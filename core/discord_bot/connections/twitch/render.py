"""What the bot says about the Twitch connection: pure functions from plain values to text.

Logins and Twitch's error text pass through :func:`~core.discord_bot.render.inert`. A connect
link is text the caller posts only in a DM or an ephemeral reply, never in a channel.
"""

from __future__ import annotations

from core.discord_bot.connections.checks import fix_words
from core.discord_bot.connections.setup_words import replaced_warning
from core.discord_bot.render import MESSAGE_LIMIT, inert, truncate, works_until
from core.features.connections.channel_setup import SetupResult, given_back_words
from core.features.connections.checks import consent_words, twitch_checks
from core.features.connections.streamer_tokens import GivenBack
from core.features.connections.twitch.setup import Disconnected, TwitchStatus
from core.features.connections.twitch.subscriptions import TwitchSyncReport

OK = "\N{WHITE HEAVY CHECK MARK}"
BAD = "\N{CROSS MARK}"
WARN = "\N{WARNING SIGN}\N{VARIATION SELECTOR-16}"


def twitch_usage(prefix: str) -> str:
    return (
        f"Usage: {prefix}twitch setup <channel> | {prefix}twitch status | {prefix}twitch sync | "
        f"{prefix}twitch disconnect"
    )


def _follows(result: SetupResult) -> str:
    return (
        f"{OK} This server now follows the Twitch channel **{inert(result.channel.channel_slug)}**"
    )


def setup_done(result: SetupResult) -> str:
    return (
        f"{_follows(result)}. I sent you the link to connect it by DM: the streamer opens it and "
        f"signs in on Twitch (it works once; {works_until(result.connect_link)})."
        f"{replaced(result)}"
    )


def setup_done_dms_closed(result: SetupResult, prefix: str) -> str:
    return (
        f"{_follows(result)}, but your DMs are closed to me, so I could not send the link to "
        f"connect it. Open them and run {prefix}twitch setup again, or use /twitch setup."
        f"{replaced(result)}"
    )


def connect_link_dm(result: SetupResult, guild_name: str) -> str:
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
        f"{(WARN if check.degraded else OK) if check.ok else BAD} {check.detail}"
        for check in twitch_checks(status, fix_words(prefix))
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


def sync_report(report: TwitchSyncReport) -> str:
    lines = [
        f"{OK} Twitch subscriptions: {len(report.kept)} kept, {len(report.created)} created, "
        f"{len(report.removed)} removed."
    ]
    for kind, why in sorted(report.failed.items()):
        lines.append(f"{BAD} {inert(kind)}: {inert(why)}")
    if report.skipped:
        lines.append(f"{WARN} The streamer must {consent_words(report.skipped)} (a new link).")
    return truncate("\n".join(lines), MESSAGE_LIMIT)


def disconnected(done: Disconnected | None) -> str:
    """After ``!twitch disconnect``: what Twitch did with the tokens and the server's VIP
    rewards (None: no connection)."""
    if done is None:
        return "This server had no Twitch connection."
    given_back = done.given_back
    mark = OK if given_back is GivenBack.TAKEN_BACK else WARN
    text = (
        f"{mark} Twitch disconnected. {given_back_words('Twitch', given_back)} The channel "
        "stays followed; run !twitch setup to connect again."
    )
    if done.rewards is not None:
        text += f"\n{inert(done.rewards)}"
    return truncate(text, MESSAGE_LIMIT)


def replaced(result: SetupResult) -> str:
    """The warning when the setup disconnected the streamer of another channel, if it did."""
    if result.replaced is None:
        return ""
    return "\n" + replaced_warning("Twitch", result.channel.channel_slug, result.replaced)
