"""The permissions the bot asks for when it is added to a server: each named by its
discord.py flag, with the feature that needs it. The invite link (the landing page, the setup
page) carries exactly these; ``tests/discord_bot/test_permissions.py`` keeps the integer honest.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import discord

BOT_PERMISSIONS: dict[str, str] = {
    # Every command and post: the bot sees the channel it answers in or posts to.
    "view_channel": "see the channels it answers and posts in",
    # Replies to commands, raffle and slot-call announcements, link logs, heist results.
    "send_messages": "answer commands and post announcements",
    # Slot calls, the heist, the raffle board and proofs, link panels and link logs are embeds.
    "embed_links": "post embeds (slot calls, raffle, heist, link panels)",
    # Reacting to a link panel and reading reactions on it need the message history.
    "read_message_history": "react to and read reactions on link panels",
    # The reaction link panel: the bot adds the emoji members react with.
    "add_reactions": "add the emoji of a reaction link panel",
    # A panel's emoji may come from another server.
    "use_external_emojis": "use another server's emoji on a link panel",
    # Deleting an admin's message that carries a secret (the Shuffle statistics link with its
    # key, a points backend's token such as a StreamElements JWT) and taking members' reactions
    # off a link panel.
    "manage_messages": "delete messages that carry a secret, remove reactions on link panels",
    # Pinning a new link panel (Discord moved pinning out of Manage Messages in 2025).
    "pin_messages": "pin link panels",
    # Watchtime roles, the linked role, the Shuffle verified role.
    "manage_roles": "give and take watchtime, linked and verified roles",
}

SCOPES = "bot applications.commands"


def bot_permissions() -> discord.Permissions:
    return discord.Permissions(**dict.fromkeys(BOT_PERMISSIONS, True))


def invite_url(client_id: str, oauth_base_url: str = "https://discord.com/oauth2") -> str:
    """The link that adds the bot to a server with :data:`BOT_PERMISSIONS` and slash commands."""
    query = urlencode(
        {"client_id": client_id, "scope": SCOPES, "permissions": bot_permissions().value},
        quote_via=quote,
    )
    return f"{oauth_base_url.rstrip('/')}/authorize?{query}"
