"""The tie rule of the boards people compare: viewers with as many tickets (or as much
watchtime) share the place of the first of them, shown "=2"; one alone is "#2". So the raffle's
board says what ``!tickets`` and the /me page say of a viewer's rank, as ``!leaderboard`` and
``!watchtime`` agree (``core/features/watchtime/standings_repository.py``)."""

from __future__ import annotations

from collections.abc import Sequence


def place_labels(amounts: Sequence[int], *, after: int | None = None) -> list[str]:
    """The places of a board read from the top, ``amounts`` most first. ``after``: the amount
    of the first one past the board, so that a tie across its last line shows there too."""
    labels: list[str] = []
    place = 0
    for index, amount in enumerate(amounts):
        if index == 0 or amount != amounts[index - 1]:
            place = index + 1
        following = amounts[index + 1] if index + 1 < len(amounts) else after
        tied = place != index + 1 or following == amount
        labels.append(f"={place}" if tied else f"#{place}")
    return labels
