"""Which Helix requests count in a shared rate-limit window (``core/ratelimits/``), and its
figure; every request sent counts, a resend after a 429 or a 401 included.

- Twitch allows 10 VIP additions and 10 removals per 10 s per channel (Add VIP and Remove VIP
  answer 429 past that): ``twitch:vip:add:<broadcaster_id>``, ``twitch:vip:remove:<...>``.
- Send Chat Message keeps chat's own throttle, per sender: 100 lines per 30 s for a broadcaster
  or moderator (20 for anyone else). StreamKeeper speaks as the broadcaster in their own
  channel: ``twitch:chat:<sender_id>``, 100 per 30 s (what the streamer types by hand counts
  at Twitch too, and is not seen here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.ratelimits import Limit

VIP_CHANGES = Limit(10, 10.0)
CHAT_LINES = Limit(100, 30.0)
_VIP_KINDS = {"POST": "add", "DELETE": "remove"}


def window_of(method: str, path: str, params: Any, body: Any) -> tuple[str, Limit] | None:
    """The window (key, limit) a request to ``path`` (below ``/helix``) with query ``params``
    and JSON ``body`` counts in, or None."""
    kind = _VIP_KINDS.get(method.upper())
    if kind is not None and path == "/channels/vips":
        broadcaster_id = _param(params, "broadcaster_id")
        return f"twitch:vip:{kind}:{broadcaster_id}", VIP_CHANGES
    if method.upper() == "POST" and path == "/chat/messages" and isinstance(body, Mapping):
        return f"twitch:chat:{body.get('sender_id', '')}", CHAT_LINES
    return None


def _param(params: Any, name: str) -> str:
    if isinstance(params, Mapping):
        return str(params.get(name, ""))
    for key, value in params or ():
        if key == name:
            return str(value)
    return ""


__all__ = ["CHAT_LINES", "VIP_CHANGES", "window_of"]
