"""What every event is made of: the platform, the viewer, the :class:`Event` base with its
checks (:class:`InvalidEvent`), and UTC time."""

from __future__ import annotations

import dataclasses
import enum
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

ID_MAX = 64  # a platform's user ids, message ids (the columns are String(64))
EVENT_ID_MAX = 128  # the key "<platform>:<kind>:<event_id>" must fit String(255)
NAME_MAX = 100  # usernames (String(100))
TEXT_MAX = 2000  # any other text
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_ID_FIELDS = {"event_id": EVENT_ID_MAX, "broadcaster_user_id": ID_MAX}
_ID_SUFFIXES = ("_id",)


class InvalidEvent(ValueError):
    """An event (or viewer) holding a value no store accepts; the adapter should have refused it."""


def check_text(name: str, value: str, limit: int) -> None:
    """Raise :class:`InvalidEvent` unless ``value`` is storable text of at most ``limit``."""
    if len(value) > limit:
        raise InvalidEvent(f"{name} is over {limit} characters")
    if "\x00" in value:
        raise InvalidEvent(f"{name} holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidEvent(f"{name} holds a lone surrogate") from exc


def _check_value(name: str, value: Any) -> None:
    if isinstance(value, str):
        limit = _ID_FIELDS.get(name) or (ID_MAX if name.endswith(_ID_SUFFIXES) else TEXT_MAX)
        check_text(name, value, limit)
    elif isinstance(value, bool | float):
        return
    elif isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise InvalidEvent(f"{name} is outside the 64-bit range")
    elif isinstance(value, tuple):
        for item in value:
            _check_value(name, item)


# Characters that show as nothing: two names differing only by them look alike on a board and
# cannot be typed. The zero-width joiner also glues emoji into one ("\U0001f469\u200d\U0001f4bb"),
# and is kept there.
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
_JOINER = "\u200d"


def _is_emoji_part(char: str) -> bool:
    """An emoji, a skin tone or the variation selector that asks for an emoji's colour form."""
    return char == "\ufe0f" or unicodedata.category(char) in ("So", "Sk")


def visible_name(name: str) -> str:
    """``name`` without zero-width characters (U+200B-U+200D, U+2060, U+FEFF), keeping a
    zero-width joiner between two parts of an emoji; what a viewer's name is stored and looked
    up as."""
    if not _ZERO_WIDTH.intersection(name):
        return name
    kept = [
        char
        for at, char in enumerate(name)
        if char not in _ZERO_WIDTH
        or (
            char == _JOINER
            and 0 < at < len(name) - 1
            and _is_emoji_part(name[at - 1])
            and unicodedata.category(name[at + 1]) == "So"
        )
    ]
    return "".join(kept)


class Platform(enum.StrEnum):
    KICK = "kick"
    TWITCH = "twitch"


@dataclass(frozen=True)
class Viewer:
    """A platform account. ``platform_user_id`` is stable; ``username`` can change.

    The id is None only when a source names the viewer without one (Kick's Pusher subscription
    and gift events); a feature that needs the id resolves it by username.
    """

    platform_user_id: str | None
    username: str

    def __post_init__(self) -> None:
        if self.platform_user_id is not None:
            check_text("platform_user_id", self.platform_user_id, ID_MAX)
        check_text("username", self.username, NAME_MAX)
        object.__setattr__(self, "username", visible_name(self.username))


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: ClassVar[str] = "event"

    platform: Platform
    event_id: str
    broadcaster_user_id: str
    occurred_at: datetime
    # Set by a source that reads one Kick chatroom (the Pusher socket): the chatroom a guild chose,
    # which only that guild's choice vouches for. The dispatcher then hands the event only to the
    # guilds whose stored chatroom id is this one. None: the platform itself vouches (a webhook).
    via_chatroom_id: int | None = None

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            _check_value(field.name, getattr(self, field.name))

    @property
    def key(self) -> str:
        """Idempotency key, unique across platforms and event kinds."""
        return f"{self.platform}:{self.kind}:{self.event_id}"


def utc(moment: datetime) -> datetime:
    """Return ``moment`` as an aware UTC datetime (naive values are taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def system_clock() -> datetime:
    """Now, in UTC: the clock everything runs on unless a test gives another."""
    return datetime.now(UTC)
