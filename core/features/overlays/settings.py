"""A guild's overlay settings and how typed values become them (the dashboard's form, tests).

Every reader refuses with words for the person who typed the value (``OverlayRefused``), never
with an exception of its own, so the form shows the words next to the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.features.refusals import Refused

KINDS = ("heist", "raffle", "alerts", "goal")
ALERT_SECONDS = (2, 60)  # how long an alert stays, seconds
MAX_MILESTONES = 8
MAX_MILESTONE = 1_000_000_000
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


class OverlayRefused(Refused):
    """An overlay request or setting that cannot be used; the message says why, and ``field``
    names the setting when one is at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class OverlaySettings:
    alert_vip: bool = True  # VIP granted or extended
    alert_gifts: bool = True  # gifted subscriptions
    alert_milestones: bool = True  # a viewer's raffle tickets reach a milestone
    milestones: tuple[int, ...] = (100, 500, 1000)
    alert_seconds: int = 6
    accent_colour: str = "#9146ff"
    text_colour: str = "#ffffff"


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise OverlayRefused(
            f"There is no {kind[:32]!r} overlay; choose heist, raffle, alerts or goal."
        )
    return kind


def parse_colour(text: str) -> str:
    """``#rrggbb`` (any case; stored lower case)."""
    value = text.strip()
    if not _HEX.match(value):
        raise OverlayRefused("A colour is # and six hex digits, like #9146ff.")
    return value.lower()


def parse_seconds(text: str) -> int:
    value = text.strip()
    low, high = ALERT_SECONDS
    if not value.isascii() or not value.isdecimal() or len(value) > 4:
        raise OverlayRefused(f"How long an alert stays is a whole number of seconds, {low}-{high}.")
    seconds = int(value)
    if not low <= seconds <= high:
        raise OverlayRefused(f"An alert stays between {low} and {high} seconds.")
    return seconds


def parse_milestones(text: str) -> tuple[int, ...]:
    """Ticket counts separated by commas or spaces (``100, 500 1000``): sorted, repeats dropped;
    empty text is no milestones."""
    parts = [part for part in re.split(r"[,\s]+", text.strip()) if part]
    if len(parts) > MAX_MILESTONES:
        raise OverlayRefused(f"At most {MAX_MILESTONES} milestones.")
    found = set()
    for part in parts:
        if not part.isascii() or not part.isdecimal() or len(part) > 10:
            raise OverlayRefused(f"{part[:20]!r} is not a whole number of tickets.")
        number = int(part)
        if not 1 <= number <= MAX_MILESTONE:
            raise OverlayRefused(f"A milestone is between 1 and {MAX_MILESTONE:,} tickets.")
        found.add(number)
    return tuple(sorted(found))


# A number grouped with thousands commas ("1,500"), standing alone: as a typed milestone list
# it is two milestones or one, so it is refused rather than guessed.
_GROUPED = re.compile(r"(?<![0-9,])[0-9]{1,3}(?:,[0-9]{3})+(?![0-9,])", re.ASCII)


def read_milestones(text: str) -> tuple[int, ...]:
    """Milestones as typed in a form (:func:`parse_milestones`), refusing a number grouped with
    thousands commas, which every other number field reads as one number."""
    grouped = _GROUPED.search(text)
    if grouped is not None:
        raise OverlayRefused(
            f"{grouped.group()!r} can be read two ways: type one milestone without commas "
            "(1500), and separate milestones with a space or a comma and a space (100, 500)."
        )
    return parse_milestones(text)


def milestones_text(milestones: tuple[int, ...]) -> str:
    """As stored (``100,500``); :func:`milestones_words` is how a form shows them."""
    return ",".join(str(number) for number in milestones)


def milestones_words(milestones: tuple[int, ...]) -> str:
    """As a form shows them (``100, 500``), which :func:`read_milestones` reads back."""
    return ", ".join(str(number) for number in milestones)


def crossed(milestones: tuple[int, ...], before: int, after: int) -> list[int]:
    """The milestones a balance passed moving from ``before`` to ``after`` (reached, not just
    touched from above)."""
    return [m for m in milestones if before < m <= after]
