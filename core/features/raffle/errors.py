"""The raffle's refusals."""


class RaffleRefused(Exception):
    """The request cannot be done as asked; the message is for the user."""


class WagerRefused(Exception):
    """The wager request cannot be done; the message is for the user."""
