"""Events across process boundaries: :func:`event_to_dict` and :func:`event_from_dict`, JSON-ready
and back, by each event's ``kind`` (:data:`EVENT_TYPES`)."""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any

from core.events.base import Event, Platform, Viewer, utc
from core.events.channel import CHANNEL_EVENTS
from core.events.guild import GUILD_EVENTS

EVENT_TYPES: dict[str, type[Event]] = {cls.kind: cls for cls in (*CHANNEL_EVENTS, *GUILD_EVENTS)}


def event_to_dict(event: Event) -> dict[str, Any]:
    """A JSON-ready dict of the event, with its ``kind``."""
    return {"kind": event.kind, **{name: _encode(getattr(event, name)) for name in _names(event)}}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from :func:`event_to_dict` output; ``ValueError`` if it is not one."""
    try:
        cls = EVENT_TYPES[data["kind"]]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a known event kind: {data!r:.80}") from exc
    try:
        values = {name: decode(data[name]) for name, decode in _decoders(cls) if name in data}
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"malformed {cls.kind} event: {exc}") from exc


Decoder = Callable[[Any], Any]


@functools.cache
def _decoders(cls: type) -> tuple[tuple[str, Decoder], ...]:
    """Each field's name and its decoder, worked out once per event class from its type hints:
    reading the hints and matching them for every value was most of what the dispatcher spent
    on an event outside the database (``python -m benchmarks --only embedded`` under py-spy)."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls))


def _names(event: Event) -> tuple[str, ...]:
    return tuple(name for name, _ in _decoders(type(event)))


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


def _decoder(hint: Any) -> Decoder:
    """A function of a JSON value that gives the field's value (None stays None)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _decoder(inner)
    if origin is tuple:
        item = _decoder(typing.get_args(hint)[0])
        return _none_kept(lambda value: tuple(item(one) for one in value))
    if hint is datetime:
        return _none_kept(lambda value: utc(datetime.fromisoformat(value)))
    if hint is Viewer:
        return _none_kept(_viewer)
    if hint is Platform:
        return _none_kept(Platform)
    return _same


def _none_kept(decode: Decoder) -> Decoder:
    return lambda value: None if value is None else decode(value)


def _viewer(value: Any) -> Viewer:
    user_id = value["platform_user_id"]
    return Viewer(None if user_id is None else str(user_id), str(value["username"]))


def _same(value: Any) -> Any:
    return value
