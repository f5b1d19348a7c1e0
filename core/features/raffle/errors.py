"""The raffle's refusals (see :mod:`core.features.refusals`)."""

from core.features.refusals import Refused


class RaffleRefused(Refused):
    """The raffle request cannot be done as asked; the message is for the user."""


class WagerRefused(Refused):
    """The wager request cannot be done; the message is for the user."""


class DrawNotDue(RaffleRefused):
    """The period's automatic draw was requested already (by another process, say)."""
