"""Discord's limits on an embed, which dpytest does not check, and the name that tests them."""

from __future__ import annotations

import discord

LONGEST_ODD_NAME = "_*" * 50  # 100 characters (a name's bound), each one escaped on Discord


def fits_discords_embed_limits(embed: discord.Embed) -> bool:
    """Discord refuses the whole message (HTTP 400) past these."""
    return (
        len(embed.title or "") <= 256
        and len(embed.description or "") <= 4096
        and len(embed.fields) <= 25
        and all(len(field.name) <= 256 and len(field.value) <= 1024 for field in embed.fields)
        and len(embed.footer.text or "") <= 2048
        and len(embed) <= 6000
    )
