"""An OAuth token answer as both platforms' clients hand it on (Kick's ``oauth_client.py``,
Twitch's ``oauth_client.py``): the same fields, never shown in a repr."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, repr=False)
class TokenSet:
    access_token: str
    refresh_token: str | None  # None for app tokens
    expires_at: datetime  # aware, UTC
    scopes: tuple[str, ...]
    token_type: str

    def __repr__(self) -> str:
        refresh = "None" if self.refresh_token is None else "'***'"
        return (
            f"TokenSet(access_token='***', refresh_token={refresh}, "
            f"expires_at={self.expires_at.isoformat()}, scopes={self.scopes!r}, "
            f"token_type={self.token_type!r})"
        )

    def is_expiring(self, now: datetime, *, margin: timedelta = timedelta(minutes=5)) -> bool:
        """Whether the access token expires within ``margin`` of ``now``."""
        return self.expires_at - margin <= now
