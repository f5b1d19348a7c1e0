"""Signed, expiring links: HMAC-SHA256 over what the link is for, who may use it and until when.

A link says "Discord user U of guild G may start <purpose> until E". It is checked in constant
time, and its parts travel as plain query parameters so a person can read what it grants.
Each link carries a random id (``id``), also signed, so that the one who stores used ids can
let a link start a flow only once (``core/features/connections`` does, for the Kick sign-in).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from core.security.compare import same_secret

LINK_LIFETIME = timedelta(hours=1)  # the default of LINK_EXPIRY_MINUTES
_LINK_ID = re.compile(r"^[A-Za-z0-9_-]{8,43}$")


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
    link_id: str  # random, unique per link: what a used link is remembered by


def _signature(secret: str, purpose: str, user: int, guild: int, expires: int, link_id: str) -> str:
    message = f"{purpose}\n{user}\n{guild}\n{expires}\n{link_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_link_params(secret: str, claims: LinkClaims) -> dict[str, str]:
    expires = int(claims.expires_at.timestamp())
    signature = _signature(
        secret, claims.purpose, claims.discord_user_id, claims.guild_id, expires, claims.link_id
    )
    return {
        "guild": str(claims.guild_id),
        "user": str(claims.discord_user_id),
        "expires": str(expires),
        "id": claims.link_id,
        "sig": signature,
    }


def signed_link(base_url: str, path: str, secret: str, claims: LinkClaims) -> str:
    return f"{base_url.rstrip('/')}{path}?{urlencode(sign_link_params(secret, claims))}"


def new_claims(
    purpose: str,
    discord_user_id: int,
    guild_id: int,
    now: datetime,
    lifetime: timedelta = LINK_LIFETIME,
) -> LinkClaims:
    """Claims for a new link that works from ``now`` for ``lifetime`` (``LINK_EXPIRY_MINUTES``)."""
    return LinkClaims(purpose, discord_user_id, guild_id, now + lifetime, secrets.token_urlsafe(16))


def verify_link_params(
    secret: str, purpose: str, params: dict[str, str], now: datetime
) -> LinkClaims:
    """The claims of a valid link for ``purpose``; raises :class:`LinkInvalid` otherwise."""
    try:
        user, guild, expires = int(params["user"]), int(params["guild"]), int(params["expires"])
        given, link_id = str(params["sig"]), str(params["id"])
        expires_at = datetime.fromtimestamp(expires, UTC)
    except (KeyError, ValueError, TypeError, OverflowError, OSError) as exc:
        raise LinkInvalid("malformed") from exc
    if not _LINK_ID.match(link_id):
        raise LinkInvalid("malformed")
    expected = _signature(secret, purpose, user, guild, expires, link_id)
    if not same_secret(expected, given):
        raise LinkInvalid("tampered")
    claims = LinkClaims(purpose, user, guild, expires_at, link_id)
    if now >= claims.expires_at:
        raise LinkInvalid("expired", claims)
    return claims
