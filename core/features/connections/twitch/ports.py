"""What a Twitch connection's callers may meet, beside the service: the platform adapters that
act with a guild's connection (the VIP channel in ``core/platforms/twitch/``) raise these."""

from __future__ import annotations


class TwitchNotConnected(Exception):
    """The guild has no working Twitch connection: none, or its grant is dead (the streamer
    must connect again with a new ``!twitch setup`` link)."""


class TwitchStillUnauthorized(TwitchNotConnected):
    """Twitch answered 401 even to a token it had just issued (a scope the call needs is
    missing, or a client id mismatch): the connection is marked as needing re-authorization."""
