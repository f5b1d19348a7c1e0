"""What ``!kick setup``, ``!twitch setup`` and ``!twitch disconnect`` say alike: a streamer
disconnected, and what their platform did with the tokens."""

from __future__ import annotations

from core.discord_bot.render import inert
from core.features.connections.channel_setup import Replaced, given_back_words

WARN = "\N{WARNING SIGN}\N{VARIATION SELECTOR-16}"


def replaced_warning(platform: str, channel_slug: str, replaced: Replaced) -> str:
    """After a setup of another channel: the streamer of the one before disconnected, what the
    platform did with their tokens, and that the new channel waits for its owner."""
    slug = inert(channel_slug)
    return (
        f"{WARN} I disconnected the {platform} account {inert(replaced.account)}, connected for "
        f"the channel before. {given_back_words(platform, replaced.given_back)} No events come "
        f"from {slug} until its owner opens the link and signs in to {platform} as {slug}."
    )
