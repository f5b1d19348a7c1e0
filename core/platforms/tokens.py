"""An OAuth token answer as both platforms' clients hand it on (Kick's ``oauth_client.py``,
Twitch's ``oauth_client.py``): the same fields, never shown in a repr, and one rule for reading
the scopes a reply names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

# The most scopes, and characters in one, taken from a token reply: Twitch and Kick each define
# fewer than a hundred, none long, so a reply naming 100,000 cannot swell what is kept and stored.
MAX_SCOPES = 100
MAX_SCOPE_CHARS = 100


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


def bounded_scopes(names: Iterable[Any]) -> tuple[str, ...]:
    """The first :data:`MAX_SCOPES` names that are printable text, each cut to
    :data:`MAX_SCOPE_CHARS`. Anything else (not text, empty, with a NUL or a lone surrogate,
    which the database cannot store) is no scope."""
    kept = (
        name[:MAX_SCOPE_CHARS]
        for name in names
        if isinstance(name, str) and name and name.isprintable()
    )
    return tuple(islice(kept, MAX_SCOPES))
