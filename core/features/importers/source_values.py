"""Single values read from another bot's database, checked before anything is made of them.

A column there may have been retyped by hand, so a checker takes whatever the database driver
handed over (any Python type: ``Decimal``, ``float``, ``bytes``, ``memoryview``, text, huge
integers, naive or aware datetimes) and returns the typed value, or raises :class:`Unfit` whose
message says why in words an operator understands. Nothing is rounded, cut or cleaned: a value
that does not fit is refused, never changed.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from core.features import quoting

MINUTES_MAX = 100 * 365 * 24 * 60  # 52,560,000: a hundred years of watching, the ceiling
TICKETS_MAX = 100_000_000  # raffle tickets in one row; the ledger's amount is a 32-bit integer
SNOWFLAKE_MAX = 2**63 - 1  # Discord ids fit in a signed 64-bit integer
NAME_MAX = 100  # usernames (viewers.username, imported_winners.username: String(100))
ROLE_NAME_MAX = 100  # Discord's limit on a role's name
PRIZE_MAX = 200  # imported_winners.prize: String(200)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # the other bot's rows are all far later
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

_WHOLE = re.compile(r"[+-]?[0-9]+")
_SURROGATES = re.compile("[\ud800-\udfff]")


class Unfit(ValueError):
    """A value that is not what its column should hold; the message is the reason."""


def whole_number(value: Any, what: str, *, high: int, low: int = 0) -> int:
    """A whole number in ``low .. high``; text of digits counts. :class:`Unfit` for a fraction
    (12.5), a negative or over-``high`` number, NaN, infinity, a bool or anything else."""
    if value is None:
        raise Unfit(f"{what} is empty (NULL)")
    if isinstance(value, bool):
        raise Unfit(f"{what} is {value} (true/false), not a number")
    number: int | Decimal | float
    if isinstance(value, int):
        number = value
    elif isinstance(value, Decimal | float):
        if isinstance(value, Decimal) and not value.is_finite():
            raise Unfit(f"{what} is {value}, not a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise Unfit(f"{what} is {value}, not a number")
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not _WHOLE.fullmatch(text):
            raise Unfit(f"{what} is {shown(value)}, not a whole number")
        if len(text) > 30:
            raise Unfit(f"{what} is a number of {len(text)} digits, over the ceiling of {high:,}")
        number = int(text)
    else:
        raise Unfit(f"{what} is {kind(value)}, not a number")
    # Range first: a Decimal of 1E+999999999 is never turned into an int of that size.
    if number < low:
        below = "negative" if low == 0 else f"below {low:,}"
        raise Unfit(f"{what} is {_number(number)}, {below}")
    if number > high:
        raise Unfit(f"{what} is {_number(number)}, over the ceiling of {high:,}")
    if not isinstance(number, int):
        if number != int(number):
            raise Unfit(f"{what} is {_number(number)}, not a whole number")
        number = int(number)
    return number


def snowflake(value: Any, what: str) -> int:
    """A Discord id: a whole number from 1 to 2^63-1."""
    return whole_number(value, what, low=1, high=SNOWFLAKE_MAX)


def text(value: Any, what: str, *, limit: int, blank: bool = False, name: bool = False) -> str:
    """Text of at most ``limit`` characters that a database can store: not bytes (a ``bytea``
    column), no NUL, no lone surrogate; blank only when ``blank``; a ``name`` is also one line
    without control characters (it is quoted in the report's lines)."""
    if value is None:
        raise Unfit(f"{what} is empty (NULL)")
    if isinstance(value, bytes | bytearray | memoryview):
        raise Unfit(f"{what} is binary data ({len(bytes(value)):,} bytes), not text")
    if not isinstance(value, str):
        raise Unfit(f"{what} is {kind(value)}, not text")
    if "\x00" in value:
        raise Unfit(f"{what} {shown(value)} holds a NUL character")
    if _SURROGATES.search(value):
        raise Unfit(f"{what} {shown(value)} holds characters that are not valid text")
    if len(value) > limit:
        raise Unfit(f"{what} is {len(value):,} characters long; at most {limit} fit")
    if name and not value.isprintable():
        raise Unfit(f"{what} {shown(value)} holds a line break or a control character")
    if not blank and not value.strip():
        raise Unfit(f"{what} is blank")
    return value


def moment(value: Any, what: str) -> datetime | None:
    """A UTC instant, or None for NULL. Naive times are the other bot's UTC; text is read when
    it is an ISO time ("2026-09-01 12:00:00", "2026-09-01T12:00:00+02:00"); a date without a
    time, 'infinity', or a year outside 2000-2099 is :class:`Unfit`."""
    if value is None:
        return None
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, date):
        raise Unfit(f"{what} is a date without a time ({value.isoformat()})")
    elif isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value.strip()) if len(value) <= 64 else None
        except ValueError:
            instant = None
        if instant is None:
            raise Unfit(f"{what} is {shown(value)}, not a date and time")
    else:
        raise Unfit(f"{what} is {kind(value)}, not a date and time")
    try:
        if instant.utcoffset() is None:
            instant = instant.replace(tzinfo=UTC)
        else:
            instant = instant.astimezone(UTC)
    except (OverflowError, ValueError):
        raise Unfit(f"{what} is {shown(str(value))}, not a date and time") from None
    if not EARLIEST <= instant < LATEST:
        raise Unfit(f"{what} is in the year {instant.year}, not a date the other bot wrote")
    return instant


def flag(value: Any, what: str) -> bool:
    """True or False; NULL is True (the other bot's column defaults to TRUE)."""
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    raise Unfit(f"{what} is {shown(value) if isinstance(value, str) else kind(value)}, not yes/no")


def shown(value: Any) -> str:
    """A value quoted safely on one line (text as :func:`core.features.quoting.shown` quotes it),
    or what sort of value it is."""
    if isinstance(value, str):
        return quoting.shown(value)
    if value is None:
        return "(none)"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"(binary data, {len(bytes(value)):,} bytes)"
    if isinstance(value, int) and not isinstance(value, bool):
        return _number(value)
    return f"({kind(value)})"


def kind(value: Any) -> str:
    """What sort of value it is, in words."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float | Decimal):
        return "a decimal number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bytes | bytearray | memoryview):
        return "binary data"
    if isinstance(value, datetime):
        return "a date and time"
    if isinstance(value, date):
        return "a date"
    return f"a value of type {type(value).__name__}"


def _number(number: int | Decimal | float) -> str:
    if isinstance(number, int):
        if number.bit_length() > 100:
            return f"a number of about {int(number.bit_length() * 0.30103)} digits"
        return f"{number:,}"
    if isinstance(number, Decimal):
        if abs(number.adjusted()) > 30:
            return f"a number of about 10^{number.adjusted()}"
        return str(number)
    if abs(number) >= 1e30 or (number and abs(number) < 1e-6):
        return f"{number:.3g}"
    return repr(number)
