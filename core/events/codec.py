"""Events across process boundaries: :func:`event_to_dict` and :func:`event_from_dict`, JSON-ready
and back, by each event's ``kind`` (:data:`EVENT_TYPES`)."""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from datetime import datetime
from typing import Any

from core.events.base import Event, Platform, Viewer, utc
from core.events.channel import CHANNEL_EVENTS
from core.events.guild import GUILD_EVENTS

EVENT_TYPES: dict[str, type[Event]] = {cls.kind: cls for cls in (*CHANNEL_EVENTS, *GUILD_EVENTS)}


def event_to_dict(event: Event) -> dict[str, Any]:
    """A JSON-ready dict of the event, with its ``kind``."""
    return {"kind": event.kind, **{f.name: _encode(getattr(event, f.name)) for f in _fields(event)}}


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """An event class's field types (``get_type_hints`` evaluates them anew on every call:
    a millisecond per decoded event, the dispatcher's largest cost after the database)."""
    return typing.get_type_hints(cls)


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from :func:`event_to_dict` output; ``ValueError`` if it is not one."""
    try:
        cls = EVENT_TYPES[data["kind"]]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a known event kind: {data!r:.80}") from exc
    hints = _type_hints(cls)
    try:
        values = {
            f.name: _decode(hints[f.name], data[f.name]) for f in _fields(cls) if f.name in data
        }
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"malformed {cls.kind} event: {exc}") from exc


def _fields(event_or_cls: Any) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(event_or_cls)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, Viewer):
        return {"platform_user_id": value.platform_user_id, "username": value.username}
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _decode(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _decode(inner, value)
    if origin is tuple:
        item_hint = typing.get_args(hint)[0]
        return tuple(_decode(item_hint, item) for item in value)
    if hint is datetime:
        return utc(datetime.fromisoformat(value))
    if hint is Viewer:
        user_id = value["platform_user_id"]
        return Viewer(None if user_id is None else str(user_id), str(value["username"]))
    if hint is Platform:
        return Platform(value)
    return value
