"""How both platforms' event parsers read a verified payload (Kick's ``webhook_events.py``,
Twitch's ``notifications.py``): a field by its path, an id or a number that refuses the delivery
when it is there but unacceptable, bounded text, a time never later than the delivery, the
fields every event shares, and a reward redemption (both platforms send it alike).

Each platform's reader adds what only its payloads have (Kick's user objects, Twitch's
``<prefix>_id`` users).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from core.events import Platform, RewardRedeemed, Viewer
from core.platforms.lenient import (
    TEXT_MAX,
    TITLE_MAX,
    BadValue,
    as_mapping,
    as_text,
    as_time,
    checked_id,
)
from core.platforms.lenient import checked_int as _checked_int
from core.platforms.webhook_checks import InvalidPayload


def strict_id(data: Any, *path: str, label: str = "") -> str | None:
    """The id at ``path`` in ``data``; None when absent; :class:`InvalidPayload` naming the field
    (``label``, else the path) when it is there and no valid id."""
    value: Any = data
    for key in path:
        value = as_mapping(value).get(key)
    try:
        return checked_id(value)
    except BadValue as exc:
        raise InvalidPayload(f"{label or '.'.join(path)} {exc}") from exc


@dataclass(frozen=True)
class PayloadReader:
    """One verified payload: ``data`` is the object the event is read from, ``message_id`` the
    delivery's, ``delivered_at`` when it was sent (aware UTC). ``label`` starts the field name
    in an :class:`InvalidPayload` message (Twitch's fields sit under ``event.``); ``platform`` is
    the one the events are of."""

    data: Mapping[str, Any]
    message_id: str
    delivered_at: datetime
    broadcaster_user_id: str

    label: ClassVar[str] = ""
    platform: ClassVar[Platform]

    def get(self, *path: str) -> Any:
        value: Any = self.data
        for key in path:
            value = as_mapping(value).get(key)
        return value

    def id(self, *path: str) -> str | None:
        """The id at ``path``; :class:`InvalidPayload` when it is there but no valid id."""
        return strict_id(self.data, *path, label=self.label + ".".join(path))

    def int(self, *path: str) -> int | None:
        try:
            return _checked_int(self.get(*path))
        except BadValue as exc:
            raise InvalidPayload(f"{self.label}{'.'.join(path)} {exc}") from exc

    def text(self, *path: str, limit: int = TEXT_MAX) -> str:
        return as_text(self.get(*path), limit) or ""

    def common(self, event_id: str | None = None) -> dict[str, Any]:
        """The fields every event shares: the platform, the event id (``event_id`` where the
        event has its own, else the delivery's message id) and the broadcaster."""
        return {
            "platform": self.platform,
            "event_id": event_id or self.message_id,
            "broadcaster_user_id": self.broadcaster_user_id,
        }

    def required_viewer(self, key: str) -> Viewer:
        """The user ``key`` names (each platform names its users its own way);
        :class:`~core.platforms.webhook_checks.UnusablePayload` without one."""
        raise NotImplementedError

    def reward_redeemed(self, status: str, redeemer: str, **more: Any) -> RewardRedeemed:
        """A reward redemption, as both platforms send one: ``id``, ``reward`` (``id``,
        ``title``, ``cost``), ``user_input``, ``redeemed_at`` and the user ``redeemer`` names.
        The same redemption arrives once per status, so the event id is its id plus ``status``,
        and ``redemption_id`` its id alone; ``more`` are the fields only one platform gives."""
        redemption_id = self.id("id")
        return RewardRedeemed(
            **self.common(f"{redemption_id}:{status}" if redemption_id else None),
            redemption_id=redemption_id,
            occurred_at=self.occurred_at(self.get("redeemed_at")),
            viewer=self.required_viewer(redeemer),
            reward_id=self.id("reward", "id"),
            reward_title=self.text("reward", "title", limit=TITLE_MAX),
            cost=self.int("reward", "cost"),
            user_input=self.text("user_input"),
            status=status,
            **more,
        )

    def occurred_at(self, value: Any) -> datetime:
        """The time in ``value``, unless it is unreadable or later than the delivery."""
        moment = as_time(value)
        if moment is None or moment > self.delivered_at:
            return self.delivered_at
        return moment


__all__ = ["PayloadReader", "strict_id"]
