"""The one way a feature says no.

A service raises :class:`Refused` (or a feature's subclass of it) when a request cannot be done as
asked: an unknown name, a value out of range, a state that does not allow it. ``str(refusal)`` is
the message for the person who asked, in plain words; it may quote what they typed, so front ends
show it literally. The Discord bot's error handler and the web app's error handler each turn a
refusal into a reply once, so commands and views just call the service.
"""

from __future__ import annotations


class Refused(Exception):
    """The request cannot be done as asked; the message is for the user."""
