"""The permissions the bot asks for when it is added to a server, and the invite link that
carries exactly them (the landing page, the setup page, the bot's own replies).

Each permission is named by its discord.py flag, with the feature that needs it and its bit in
Discord's permission integer (https://discord.com/developers/docs/topics/permissions), so the
web side builds the link without discord.py; ``tests/discord_bot/test_permissions.py`` checks
every name and bit against discord.py's flags.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import quote, urlencode


class Permission(NamedTuple):
    bit: int
    why: str


PERMISSIONS: dict[str, Permission] = {
    # Every command and post: the bot sees the channel it answers in or posts to.
    "view_channel": Permission(10, "see the channels it answers and posts in"),
    # Replies to commands, raffle and slot-call announcements, link logs, heist results.
    "send_messages": Permission(11, "answer commands and post announcements"),
    # The same in a thread: Discord asks for this one there, not Send Messages, and an admin
    # may point announcements, VIP notices or the link log at a thread.
    "send_messages_in_threads": Permission(38, "answer commands and post announcements in threads"),
    # Slot calls, the heist, the raffle board and proofs, link panels and link logs are embeds.
    "embed_links": Permission(14, "post embeds (slot calls, raffle, heist, link panels)"),
    # Reacting to a link panel and reading reactions on it need the message history.
    "read_message_history": Permission(16, "react to and read reactions on link panels"),
    # The reaction link panel: the bot adds the emoji members react with.
    "add_reactions": Permission(6, "add the emoji of a reaction link panel"),
    # A panel's emoji may come from another server.
    "use_external_emojis": Permission(18, "use another server's emoji on a link panel"),
    # Deleting an admin's message that carries a secret (the Shuffle statistics link with its
    # key, a points backend's token such as a StreamElements JWT) and taking members' reactions
    # off a link panel.
    "manage_messages": Permission(
        13, "delete messages that carry a secret, remove reactions on link panels"
    ),
    # Pinning a new link panel (Discord moved pinning out of Manage Messages in 2025).
    "pin_messages": Permission(51, "pin link panels"),
    # Watchtime roles, the linked role, the Shuffle verified role.
    "manage_roles": Permission(28, "give and take watchtime, linked and verified roles"),
}

BOT_PERMISSIONS: dict[str, str] = {name: p.why for name, p in PERMISSIONS.items()}
PERMISSIONS_VALUE = sum(1 << p.bit for p in PERMISSIONS.values())
SCOPES = "bot applications.commands"


def invite_url(client_id: str, oauth_base_url: str = "https://discord.com/oauth2") -> str:
    """The link that adds the bot to a server with :data:`PERMISSIONS` and slash commands."""
    query = urlencode(
        {"client_id": client_id, "scope": SCOPES, "permissions": PERMISSIONS_VALUE},
        quote_via=quote,
    )
    return f"{oauth_base_url.rstrip('/')}/authorize?{query}"
