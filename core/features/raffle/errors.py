"""The raffle's refusals (see :mod:`core.features.refusals`)."""

from core.features.refusals import Refused

MAX_TEXT = 200  # characters of a prize or a reason: what the database keeps


class RaffleRefused(Refused):
    """The raffle request cannot be done as asked; the message is for the user."""


class WagerRefused(Refused):
    """The wager request cannot be done; the message is for the user."""


class DrawNotDue(RaffleRefused):
    """The period's automatic draw was requested already (by another process, say)."""


def checked_text(text: str, what: str) -> str:
    """``text`` (a prize, a reason) as typed, refused when longer than the database keeps: cut
    where it falls, it would be announced or recorded as nobody wrote it."""
    if len(text) > MAX_TEXT:
        raise RaffleRefused(f"Keep the {what} to {MAX_TEXT} characters or fewer.")
    return text


def visible(text: str) -> bool:
    """Whether ``text`` shows anything: not only spaces and invisible characters (a zero-width
    space, a soft hyphen), which say nothing as a reason."""
    return any(char.isprintable() and not char.isspace() for char in text)
