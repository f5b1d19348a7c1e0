"""Lenient readers for platform JSON (Kick, Twitch): every field may be missing, null or of
another type.

Each returns None (or an empty container) for anything it cannot read, and never raises (the
``checked_*`` forms raise :class:`BadValue` for a value that is there but unacceptable); the
platform adapters read the platforms' data through these.

Every string they accept is bounded and clean, because what they return ends up in SQL, Redis
and Discord (see docs/architecture.md, "Parsing bounds"):

- an **id** is 1 to :data:`ID_MAX` printable ASCII characters without spaces, or a whole number
  in the 64-bit range; anything else (``"\\ud800"``, a NUL, 300 characters, ``1e308``) is not an
  id. :func:`checked_id` says why (:class:`BadValue`); :func:`as_id` answers None.
- **text** keeps what a person typed, minus what no database stores: lone surrogates become
  U+FFFD, NULs are dropped, and it is cut to the field's limit (:func:`clean_text`).
- a **number** is a whole number within the 64-bit range (:func:`checked_int` / :func:`as_int`);
  a **count** is cut to 0 .. :data:`COUNT_MAX` (:func:`as_count`).
- a **list** is read up to :data:`ITEMS_MAX` entries.

A reply's body is read by :func:`parsed_json`, as strictly as JSON itself: Python's own reader
also takes ``Infinity`` and ``NaN`` and numbers past a float's range (as infinity), and raises
``RecursionError`` for deep nesting, none of which a caller's ``except ValueError`` catches.

Both platforms' webhook, socket and API reply parsers use these same readers.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

ID_MAX = 64  # the id columns (core/storage/schema.py: UserId = String(64))
NAME_MAX = 100  # usernames, channel slugs (String(100))
TITLE_MAX = 200  # stream titles, reward titles, categories
TEXT_MAX = 2000  # chat messages, reward input, ban reasons, gift messages
WORD_MAX = 32  # badge types, statuses, languages
ITEMS_MAX = 1000  # entries read from one list (a reply's page holds at most 100)
COUNT_MAX = 10**9  # counts: viewers, costs, totals
INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # BIGINT

_ID = re.compile(r"[\x21-\x7e]+", re.ASCII)
_SURROGATES = re.compile("[\ud800-\udfff]")
_FLOAT_EXACT = 2.0**53
_DIGITS = re.compile(r"[+-]?[0-9]{1,30}", re.ASCII)

T = TypeVar("T")


class BadValue(ValueError):
    """A value of a readable type that still cannot be accepted (too long, NUL, surrogate, ...)."""


def parsed_json(body: str | bytes) -> Any:
    """``body`` as JSON; ValueError when it is not JSON, holds ``Infinity``, ``NaN`` or a number
    no float holds, or nests deeper than Python reads."""
    try:
        return json.loads(body, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise ValueError("the JSON nests too deeply to read") from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("a number past a float's range")
    return number


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any, limit: int = ITEMS_MAX) -> list[Any]:
    """The list in ``value``, at most ``limit`` entries of it; [] when it is no list."""
    return value[:limit] if isinstance(value, list) else []


def parse_each(entries: Iterable[Any], parse: Callable[[Any], T | None]) -> list[T]:
    """What ``parse`` makes of each entry, leaving out those it answers None for (a reply's item
    without its id, say): both platforms' list replies are read this way."""
    return [item for entry in entries if (item := parse(entry)) is not None]


def checked_id(value: Any, *, limit: int = ID_MAX) -> str | None:
    """The id in ``value``; None when it is missing or of another type (a dict, a bool, ...).

    Raises :class:`BadValue` for a string or number that is no id: empty after trimming is
    missing, but over ``limit`` characters, control or non-ASCII characters, a fraction, or a
    number outside 64 bits (``1e308``) are refused rather than cut or ``str()``'d.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise BadValue("is a number too large for an id")
        return str(value)
    if isinstance(value, float):
        if not value.is_integer() or abs(value) > _FLOAT_EXACT:
            raise BadValue("is not a whole number that can be an id")
        return str(int(value))
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if len(text) > limit:
            raise BadValue(f"is over {limit} characters")
        if not _ID.fullmatch(text):
            raise BadValue("holds characters an id cannot have (control, space or non-ASCII)")
        return text
    return None


def as_id(value: Any, *, limit: int = ID_MAX) -> str | None:
    try:
        return checked_id(value, limit=limit)
    except BadValue:
        return None


def clean_text(text: str, limit: int = TEXT_MAX) -> str:
    """``text`` as storable text: lone surrogates replaced, NULs dropped, at most ``limit`` long."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    text = _SURROGATES.sub("\ufffd", text)
    return text[:limit]


def as_text(value: Any, limit: int = TEXT_MAX) -> str | None:
    if isinstance(value, str):
        return clean_text(value, limit)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (as_id(value) or str(value))[:limit]
    return None


def as_word(value: Any, limit: int = WORD_MAX) -> str | None:
    """A short lowercase keyword (a status, a tier, a notice type): the text in ``value``
    trimmed, lowercased and at most ``limit`` characters; None when blank or no text."""
    word = (as_text(value) or "").strip().lower()[:limit].rstrip()
    return word or None


def as_str(value: Any, limit: int = TEXT_MAX) -> str:
    """:func:`as_text`, with "" where there is none."""
    return as_text(value, limit) or ""


def checked_int(value: Any) -> int | None:
    """The whole number in ``value``; None when missing or unreadable; :class:`BadValue` when it
    is a whole number outside the 64-bit range."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:  # digits exactly (an id past 2**53 would lose its last digits as a float)
            value = int(text) if _DIGITS.fullmatch(text) else float(text)
        except ValueError:
            return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise BadValue("is a number outside the 64-bit range")
        return value
    return None


def as_int(value: Any) -> int | None:
    try:
        return checked_int(value)
    except BadValue:
        return None


def as_count(value: Any, *, high: int = COUNT_MAX) -> int | None:
    """A whole number of things, cut to 0 .. ``high``; None when there is no number."""
    number = as_int(value)
    return None if number is None else max(0, min(number, high))


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        return {"true": True, "1": True, "false": False, "0": False}.get(value.strip().lower())
    return None


def as_flag(value: Any, default: bool = False) -> bool:
    """A yes/no field: what :func:`as_bool` reads in ``value``, else ``default``."""
    flag = as_bool(value)
    return default if flag is None else flag


def as_time(value: Any) -> datetime | None:
    if isinstance(value, str):
        return parse_time_text(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


_RFC3339 = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt ]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?"
    r"(?:(?P<zulu>[Zz])|(?P<sign>[+-])(?P<offset_hours>\d{2}):?(?P<offset_minutes>\d{2}))?",
    re.ASCII,
)


def parse_time_text(text: str) -> datetime | None:
    """RFC 3339, leniently: any fractional digits, a leap second read as :59, no offset = UTC."""
    match = _RFC3339.fullmatch(text.strip())
    if match is None:
        return None
    zone = UTC
    if match["sign"]:
        offset = timedelta(hours=int(match["offset_hours"]), minutes=int(match["offset_minutes"]))
        try:
            zone = timezone(-offset if match["sign"] == "-" else offset)
        except ValueError:
            return None
    try:
        moment = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            min(int(match["second"]), 59),
            int((match["fraction"] or "")[:6].ljust(6, "0")),
            tzinfo=zone,
        )
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
