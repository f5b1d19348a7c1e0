"""What the bot says about heists on Discord, built from plain values. Viewer names come from
stream chat and are shown literally."""

from __future__ import annotations

import discord

from core.discord_bot.render import inert, truncate
from core.events import utc
from core.features.heist.history_repository import HeistStats
from core.features.heist.ports import HeistResult
from core.features.heist.rules import typed_name
from core.features.heist.setting_words import LABELS

WIN_COLOUR = discord.Colour.gold()
LOSS_COLOUR = discord.Colour.dark_red()
FIELD_LIMIT = 1024
LISTED = 10  # winners named in the embed


def literal(text: str) -> str:
    return inert(text).replace("<", "\\<")


def tier_label(tier: str | None) -> str:
    if tier is None:
        return ""
    return " (Prime)" if tier == "prime" else f" (Tier {tier})"


def result_embed(result: HeistResult) -> discord.Embed:
    winners = result.winners
    platform = str(result.platform).capitalize()
    if winners:
        title = f"Heist #{result.heist_id}: {len(winners)} of {len(result.crew)} got away"
    else:
        title = f"Heist #{result.heist_id}: the whole crew was caught"
    embed = discord.Embed(
        title=title,
        description=(
            f"{result.total_stake:,} {inert(result.currency)} staked in {platform} chat, "
            f"{result.total_payout:,} paid out."
        ),
        colour=WIN_COLOUR if winners else LOSS_COLOUR,
        timestamp=utc(result.resolved_at),
    )
    if winners:
        lines = [
            f"**{literal(member.username)}**{tier_label(member.tier)}: +{member.payout:,} "
            f"({member.stake:,} at {member.risk} risk)"
            for member in winners[:LISTED]
        ]
        if len(winners) > LISTED:
            lines.append(f"and {len(winners) - LISTED} more")
        embed.add_field(
            name="Got away", value=truncate("\n".join(lines), FIELD_LIMIT), inline=False
        )
    caught = len(result.crew) - len(winners)
    if caught:
        embed.add_field(name="Caught", value=f"{caught:,}", inline=True)
    return embed


def settings_text(listing: list[tuple[str, str]], prefix: str) -> str:
    """Each setting by its label, its value in words and the name ``!heistset`` takes."""
    rows = "\n".join(
        f"{LABELS.get(name, name)}: **{value}** (`{typed_name(name)}`)" for name, value in listing
    )
    return f"**Heist settings**\n{rows}\nChange one with `{prefix}heistset <name> <value>`."


def setting_changed(name: str, shown: str) -> str:
    return f"{LABELS.get(name, name)} is now **{shown}**."


def stats_text(stats: HeistStats, currency: str) -> str:
    if not stats.heists:
        return "No heist has been pulled off here yet."
    return (
        f"**{stats.heists:,}** heists, **{stats.participants:,}** joins, "
        f"{stats.staked:,} {inert(currency)} staked, {stats.paid:,} paid out; "
        f"the biggest haul was {stats.biggest_win:,}."
    )
