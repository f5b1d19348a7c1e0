"""Which Helix requests count in a shared rate-limit window (``core/ratelimits/``), and its
figure. Twitch allows 10 VIP additions and 10 removals per 10 s per channel (Add VIP and Remove
VIP answer 429 past that); every request sent counts, a resend after a 429 or a 401 included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.ratelimits import Limit

VIP_CHANGES = Limit(10, 10.0)
_VIP_KINDS = {"POST": "add", "DELETE": "remove"}


def window_of(method: str, path: str, params: Any) -> tuple[str, Limit] | None:
    """The window (key, limit) a request to ``path`` (below ``/helix``) counts in, or None."""
    kind = _VIP_KINDS.get(method.upper())
    if kind is not None and path == "/channels/vips":
        broadcaster_id = _param(params, "broadcaster_id")
        return f"twitch:vip:{kind}:{broadcaster_id}", VIP_CHANGES
    return None


def _param(params: Any, name: str) -> str:
    if isinstance(params, Mapping):
        return str(params.get(name, ""))
    for key, value in params or ():
        if key == name:
            return str(value)
    return ""


__all__ = ["VIP_CHANGES", "window_of"]
