"""Reading the affiliate statistics reply: a JSON list of ``{username, campaignCode,
wagerAmount}``-like rows, each a lifetime total in US dollars.

Field names and types vary between what Shuffle has sent and what affiliates have seen, so the
reader is lenient: amounts may be numbers or strings (``"1234.56"``, ``"$1,234.56"``), and a row
without a name or a readable amount is skipped rather than failing the whole reply (a reply of
rows none of which has the fields the reader knows is not statistics at all). Money is
kept as whole cents (an ``int``) read through ``Decimal``, never a float, so that totals and
the differences between polls are exact. Fractions of a cent are dropped, which is harmless:
tickets always come from the newest total, never from a sum of differences.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

RATE_LIMIT_MARKER = "TOO_MANY_REQUEST"
_NAME_FIELDS = ("username", "userName", "user_name", "name", "user")
_CODE_FIELDS = ("campaignCode", "campaign_code", "campaign", "code", "referralCode")
_AMOUNT_FIELDS = ("wagerAmount", "wager_amount", "wagered", "wager", "totalWagered", "amount")
_LIST_FIELDS = ("data", "stats", "results", "rows", "users")
_CENT = Decimal("0.01")
# Far beyond anything real; keeps a garbage value from overflowing a BIGINT column.
_MAX_CENTS = 10**15
_MAX_AMOUNT = Decimal(_MAX_CENTS) / 100
# What a Shuffle username is (the one shape !linkshuffle takes), and its case folded as ASCII
# alone: casefold() or lower() would also fold the Kelvin sign into "k" and "ß" into "ss",
# making two players one.
NAME = re.compile(r"^[A-Za-z0-9_.\-]{2,32}$")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


class NotStatistics(ValueError):
    """The reply is not a statistics list. ``is_rate_limit`` is True when it says to slow down
    (Shuffle answers some rate limits with 200 and a ``TOO_MANY_REQUEST`` body)."""

    def __init__(self, message: str, *, is_rate_limit: bool = False) -> None:
        super().__init__(message)
        self.is_rate_limit = is_rate_limit


@dataclass(frozen=True)
class WagerRow:
    username: str
    campaign_code: str
    wagered_cents: int

    @property
    def account_key(self) -> str:
        """Shuffle names are compared without regard to case."""
        return account_key(self.username)

    @property
    def is_account_name(self) -> bool:
        """Whether the row names a Shuffle username (one !linkshuffle would take)."""
        return NAME.match(self.username) is not None


def account_key(username: str) -> str:
    """The name without regard to ASCII case (Shuffle names are ASCII: see :data:`NAME`)."""
    return username.strip().translate(_ASCII_LOWER)


def parse_statistics(body: bytes | str) -> list[WagerRow]:
    """The rows of a statistics reply; raises :class:`NotStatistics` for anything else.

    JSON numbers are read as ``Decimal`` so that ``1234.56`` stays exactly that.
    """
    try:
        document = json.loads(body, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise NotStatistics(
            "the reply is not JSON", is_rate_limit=_mentions_rate_limit(body)
        ) from None
    except ArithmeticError:  # an exponent Decimal cannot hold: 1e9999999999999999999
        raise NotStatistics("the reply holds a number past any amount") from None
    rows = _rows_of(document)
    if rows is None:
        raise NotStatistics(
            "the reply is not a list of wager rows", is_rate_limit=_mentions_rate_limit(body)
        )
    parsed = [row for item in rows if (row := _parse_row(item)) is not None]
    if rows and not parsed and _mentions_rate_limit(body):
        # e.g. [{"error": "TOO_MANY_REQUEST"}]: a refusal dressed as a list, not "no wagers".
        raise NotStatistics("the reply is a rate-limit notice", is_rate_limit=True)
    if rows and not parsed and not any(_has_known_fields(item) for item in rows):
        # Fields renamed, or rows of something else: not "no wagers", which would take a
        # period's baseline from nothing (and then pay every player's lifetime as new).
        raise NotStatistics(
            f"the reply lists {len(rows)} row(s) but none has a username and amount "
            "this bot can read"
        )
    return parsed


def parse_amount_cents(value: Any) -> int | None:
    """Whole cents from a JSON number or a string such as ``"1,234.56"``; None if unreadable,
    negative or too large for our cents."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None  # a list would be read as Decimal's (sign, digits, exponent) tuple
    if isinstance(value, str):
        value = value.strip().replace(",", "").replace("$", "").replace("_", "")
        if not value:
            return None
    try:
        amount = Decimal(value) if not isinstance(value, float) else Decimal(repr(value))
    except (InvalidOperation, ValueError, TypeError, OverflowError):
        return None
    # Compared before rounding: rounding 1e26 to cents needs more digits than Decimal keeps.
    if not amount.is_finite() or amount < 0 or amount >= _MAX_AMOUNT:
        return None
    return int(amount.quantize(_CENT, rounding=ROUND_DOWN) * 100)


def _rows_of(document: Any) -> list[Any] | None:
    if isinstance(document, list):
        return document
    if isinstance(document, Mapping):
        for field in _LIST_FIELDS:
            if isinstance(document.get(field), list):
                return document[field]
    return None


def _parse_row(item: Any) -> WagerRow | None:
    if not isinstance(item, Mapping):
        return None
    name = _first_text(item, _NAME_FIELDS)
    cents = next(
        (c for f in _AMOUNT_FIELDS if (c := parse_amount_cents(item.get(f))) is not None), None
    )
    if not name or cents is None:
        return None
    return WagerRow(name, _first_text(item, _CODE_FIELDS) or "", cents)


def _has_known_fields(item: Any) -> bool:
    """A row naming a player under a field the reader knows, with an amount field (maybe empty:
    a player who has not wagered yet)."""
    if not isinstance(item, Mapping) or not _first_text(item, _NAME_FIELDS):
        return False
    return any(field in item for field in _AMOUNT_FIELDS)


def _first_text(item: Mapping[str, Any], fields: tuple[str, ...]) -> str | None:
    for field in fields:
        value = item.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _mentions_rate_limit(body: bytes | str) -> bool:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return RATE_LIMIT_MARKER in text.upper()
