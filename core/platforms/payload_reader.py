"""How both platforms' event parsers read a verified payload (Kick's ``webhook_events.py``,
Twitch's ``notifications.py``): a field by its path, an id or a number that refuses the delivery
when it is there but unacceptable, bounded text, and a time never later than the delivery.

Each platform's reader adds what only its payloads have (Kick's user objects, Twitch's
``<prefix>_id`` users and the fields every event shares).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from core.platforms.lenient import TEXT_MAX, BadValue, as_mapping, as_text, as_time, checked_id
from core.platforms.lenient import checked_int as _checked_int
from core.platforms.webhook_checks import InvalidPayload


@dataclass(frozen=True)
class PayloadReader:
    """One verified payload: ``data`` is the object the event is read from, ``message_id`` the
    delivery's, ``delivered_at`` when it was sent (aware UTC). ``label`` starts the field name
    in an :class:`InvalidPayload` message (Twitch's fields sit under ``event.``)."""

    data: Mapping[str, Any]
    message_id: str
    delivered_at: datetime
    broadcaster_user_id: str

    label: ClassVar[str] = ""

    def get(self, *path: str) -> Any:
        value: Any = self.data
        for key in path:
            value = as_mapping(value).get(key)
        return value

    def id(self, *path: str) -> str | None:
        """The id at ``path``; :class:`InvalidPayload` when it is there but no valid id."""
        try:
            return checked_id(self.get(*path))
        except BadValue as exc:
            raise InvalidPayload(f"{self.label}{'.'.join(path)} {exc}") from exc

    def int(self, *path: str) -> int | None:
        try:
            return _checked_int(self.get(*path))
        except BadValue as exc:
            raise InvalidPayload(f"{self.label}{'.'.join(path)} {exc}") from exc

    def text(self, *path: str, limit: int = TEXT_MAX) -> str:
        return as_text(self.get(*path), limit) or ""

    def occurred_at(self, value: Any) -> datetime:
        """The time in ``value``, unless it is unreadable or later than the delivery."""
        moment = as_time(value)
        if moment is None or moment > self.delivered_at:
            return self.delivered_at
        return moment


__all__ = ["PayloadReader"]
