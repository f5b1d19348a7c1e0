"""What the slot call settings and blacklist refuse."""


class InvalidSetting(ValueError):
    """A setting value out of range; the message says which values work."""
