"""One check for what a platform reply parser gives back: every string, number, time and list in
it, however deeply nested in tuples, mappings and dataclasses, within the bounds a test names."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.platforms.lenient import INT_MAX, INT_MIN, ITEMS_MAX, TEXT_MAX


def assert_within(
    value: Any,
    *,
    text_max: int = TEXT_MAX,
    low: int = INT_MIN,
    high: int = INT_MAX,
    storable: bool = False,
) -> None:
    """``storable``: text without NULs or lone surrogates, which no database column takes."""

    def check(value: Any) -> None:
        if isinstance(value, str):
            assert len(value) <= text_max
            if storable:
                assert "\x00" not in value
                assert not any("\ud800" <= char <= "\udfff" for char in value)
        elif isinstance(value, bool) or value is None:
            pass
        elif isinstance(value, int):
            assert low <= value <= high
        elif isinstance(value, datetime):
            assert value.tzinfo is not None
        elif isinstance(value, tuple | list):
            assert len(value) <= ITEMS_MAX
            for item in value:
                check(item)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                check(key)
                check(item)
        elif dataclasses.is_dataclass(value):
            for field in dataclasses.fields(value):
                check(getattr(value, field.name))
        else:
            raise AssertionError(f"unexpected {type(value)!r}")

    check(value)
