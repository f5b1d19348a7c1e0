"""Signed, expiring links: HMAC-SHA256 over what the link is for, who may use it and until when.

A link says "Discord user U of guild G may start <purpose> until E". It is checked in constant
time, and its parts travel as plain query parameters so a person can read what it grants.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

LINK_LIFETIME = timedelta(hours=1)


class LinkInvalid(Exception):
    """The link cannot be used; ``reason`` is ``expired``, ``tampered`` or ``malformed``.

    An expired link's signature was checked, so its ``claims`` (who it was for) can be trusted;
    for the other reasons ``claims`` is None.
    """

    def __init__(self, reason: str, claims: LinkClaims | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.claims = claims


@dataclass(frozen=True)
class LinkClaims:
    purpose: str
    discord_user_id: int
    guild_id: int
    expires_at: datetime


def _signature(secret: str, purpose: str, user: int, guild: int, expires: int) -> str:
    message = f"{purpose}\n{user}\n{guild}\n{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_link_params(secret: str, claims: LinkClaims) -> dict[str, str]:
    expires = int(claims.expires_at.timestamp())
    return {
        "guild": str(claims.guild_id),
        "user": str(claims.discord_user_id),
        "expires": str(expires),
        "sig": _signature(secret, claims.purpose, claims.discord_user_id, claims.guild_id, expires),
    }


def signed_link(base_url: str, path: str, secret: str, claims: LinkClaims) -> str:
    return f"{base_url.rstrip('/')}{path}?{urlencode(sign_link_params(secret, claims))}"


def new_claims(purpose: str, discord_user_id: int, guild_id: int, now: datetime) -> LinkClaims:
    return LinkClaims(purpose, discord_user_id, guild_id, now + LINK_LIFETIME)


def verify_link_params(
    secret: str, purpose: str, params: dict[str, str], now: datetime
) -> LinkClaims:
    """The claims of a valid link for ``purpose``; raises :class:`LinkInvalid` otherwise."""
    try:
        user, guild, expires = int(params["user"]), int(params["guild"]), int(params["expires"])
        given = params["sig"]
    except (KeyError, ValueError, TypeError) as exc:
        raise LinkInvalid("malformed") from exc
    expected = _signature(secret, purpose, user, guild, expires)
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise LinkInvalid("tampered")
    claims = LinkClaims(purpose, user, guild, datetime.fromtimestamp(expires, UTC))
    if now >= claims.expires_at:
        raise LinkInvalid("expired", claims)
    return claims
