"""What a feature offers to ``python -m core export --what NAME``.

A feature that has something to export declares ``EXPORTS`` in its own ``export.py``
(``core/features/<feature>/export.py``); the command line finds them by looking, so a new export
touches only its feature's folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Export:
    """Records of one guild as plain values (times in ISO 8601), each with exactly ``fields``
    as keys, in that order. ``rows`` gets the running runtime and the guild id. ``found``
    says whether the records hold anything of the guild's (records of zeros, as analytics give
    for any guild, do not): a guild nobody set up with nothing found is refused, as a mistyped
    id."""

    fields: tuple[str, ...]
    rows: Callable[[Any, int], list[dict[str, Any]]]
    help: str = ""
    found: Callable[[list[dict[str, Any]]], bool] = bool
