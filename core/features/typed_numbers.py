"""Numbers and Discord ids as people type them, bounded before anything reads them.

``int()`` refuses more than 4,300 digits and the database refuses more than its BIGINT holds
(2**63 - 1), each with an exception, not an answer. Text from a command or a form goes through
here first: anything that is not a plain number in range is ``None``, and the caller words the
refusal.

A Discord id (a snowflake) is typed bare, as Developer Mode's Copy ID gives it, or as the
mention Discord puts in a message: ``<#…>`` a channel, ``<@&…>`` a role, ``<@…>`` or ``<@!…>`` a
member. Which kind of thing it is, and whether it belongs to the server, is the caller's check.
"""

from __future__ import annotations

import re

BIGINT_MAX = 2**63 - 1
_DISCORD_ID = re.compile(r"<(?:#|@&|@!?)([0-9]+)>|([0-9]+)", flags=re.ASCII)


def whole_in(text: str | None, low: int = 0, high: int = BIGINT_MAX) -> int | None:
    """The whole number ``text`` is (ASCII digits, leading zeros allowed) when it lies in
    ``low`` .. ``high``; None for anything else, however long."""
    raw = (text or "").strip()
    if not (raw.isascii() and raw.isdecimal()):
        return None
    digits = raw.lstrip("0") or "0"
    if len(digits) > len(str(high)):
        return None
    number = int(digits)
    return number if low <= number <= high else None


def discord_id(text: str | None) -> int | None:
    """The Discord id typed bare or as a mention; None when it is neither or cannot be one."""
    match = _DISCORD_ID.fullmatch((text or "").strip())
    if match is None:
        return None
    return whole_in(match.group(1) or match.group(2), low=1)
